"""Database URLs read without SQLAlchemy, for the paths that must answer at once.

A ``kbgen build`` or ``kbgen sync`` with nothing to do only needs the SQLite file of the
configured URL to fingerprint it (:mod:`kbgen.sync_state`); importing SQLAlchemy for that
costs more than the rest of the check. The plain forms a project uses
(``sqlite:///db/research.db``, ``sqlite:////abs/path.db``, with or without ``+pysqlite``)
are read here; any other URL goes to :mod:`kbgen.db.engine`, which parses it with
SQLAlchemy's ``make_url``, and both give the same answer for the forms read here
(tests/test_db_urls.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: How long a SQLite connection waits for another writer before giving up
#: (``KBGEN_SQLITE_BUSY_TIMEOUT`` in the environment overrides it, in seconds).
SQLITE_BUSY_TIMEOUT_S = 10.0
ENV_BUSY_TIMEOUT = "KBGEN_SQLITE_BUSY_TIMEOUT"
LOCKED_HINT = f"another program is writing it; retry when it finishes, or wait longer with {ENV_BUSY_TIMEOUT}=SECONDS"

#: A SQLite URL whose path needs no decoding: no query, no percent escapes, not in memory.
_PLAIN_SQLITE = re.compile(r"^sqlite(\+pysqlite)?:///([^?%#]+)$")


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None for other backends and memory."""
    match = _PLAIN_SQLITE.match(url)
    if match and match.group(2) != ":memory:" and not match.group(2).startswith("file:"):
        return Path(match.group(2))
    if not url.startswith("sqlite"):
        return None
    from kbgen.db import engine

    return engine.sqlite_path(url)


def resolve_url(url: str, base: Path) -> str:
    """Make a relative SQLite path relative to the project folder, not the cwd."""
    match = _PLAIN_SQLITE.match(url)
    if match and match.group(2) != ":memory:" and not match.group(2).startswith("file:"):
        path = Path(match.group(2))
        if path.is_absolute():
            return url
        return f"sqlite{match.group(1) or ''}:///{(base / path).resolve()}"
    if not url.startswith("sqlite"):
        return url
    from kbgen.db import engine

    return engine.resolve_url(url, base)


def default_busy_timeout() -> float:
    """The SQLite busy timeout in seconds: the environment's, else :data:`SQLITE_BUSY_TIMEOUT_S`."""
    try:
        value = float(os.environ.get(ENV_BUSY_TIMEOUT) or SQLITE_BUSY_TIMEOUT_S)
    except ValueError:
        return SQLITE_BUSY_TIMEOUT_S
    return value if value >= 0 else SQLITE_BUSY_TIMEOUT_S
