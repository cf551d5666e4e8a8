"""Build the example research database that ``kbgen demo`` works on.

The demo is SQLite-only, which keeps loading simple and honest: the schema
comes from :data:`kbgen.db.research.research_metadata` (through
:func:`kbgen.db.migrate.init_research_db`, which also creates kbgen's own
tables), and ``research.sql`` is then run with the sqlite3 driver's
``executescript`` on the raw DBAPI connection, each part wrapped in
``BEGIN`` / ``COMMIT``. ``executescript`` is SQLite-specific; that is
acceptable here because the example database is always a fresh local file.
Foreign keys are switched on for the load, so a dangling ID in
``research.sql`` fails loudly instead of producing a quietly inconsistent
example.

One session of the example is recorded the way a team records sessions with
kbgen: where ``research.sql`` has a line ``-- kbgen:record worksheets/R3.yaml``
the loader imports the example's plans and runs ``kbgen record`` on that
worksheet (:func:`kbgen.record.record`, the same checks and writes), then
runs the rest of the script. A failure anywhere removes the half-made file.

The loader never overwrites data by accident: an existing non-empty file is
refused unless ``replace=True``, and even then only a SQLite file is
replaced, never some other file that happens to sit at that path.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine

from kbgen.db.engine import SQLITE_HEADER, open_engine, sqlite_path
from kbgen.db.migrate import init_research_db
from kbgen.errors import DatabaseError
from kbgen.example import PLANS_DIR, RESEARCH_SQL, example_dir

#: Files SQLite keeps beside a database; stale ones must not meet a new file.
_SIDECAR_SUFFIXES = ("-journal", "-wal", "-shm")


def research_sql() -> str:
    """The text of the bundled ``research.sql``."""
    return resources.files("kbgen.example").joinpath(RESEARCH_SQL).read_text(encoding="utf-8")


def load_example(url: str, *, replace: bool = False) -> None:
    """Create a fresh SQLite research database at ``url`` holding the example data.

    Raises :class:`~kbgen.errors.DatabaseError` when ``url`` is not a SQLite
    file URL, when the file exists and is not empty (unless ``replace``),
    when ``replace`` would delete something that is not a SQLite database,
    or when the data fails to load (the half-made file is then removed).
    """
    path = sqlite_path(url)
    if path is None:
        raise DatabaseError(f"the example database must be a SQLite file, not {url!r}",
                            hint="use a URL such as sqlite:///kb/example.db")
    _make_room(path, replace=replace)
    engine = open_engine(url, must_exist=False)
    try:
        init_research_db(engine)
        for kind, part in script_parts(research_sql()):
            if kind == "sql":
                _run_script(engine, part)
            else:
                _record(engine, url, part)
    except BaseException:
        engine.dispose()
        _remove_database(path)
        raise
    engine.dispose()


_RECORD = re.compile(r"^-- kbgen:record (\S+)\s*$", re.MULTILINE)


def script_parts(script: str) -> list[tuple[str, str]]:
    """``research.sql`` as ``("sql", text)`` parts and ``("record", worksheet)`` steps, in order."""
    parts: list[tuple[str, str]] = []
    start = 0
    for match in _RECORD.finditer(script):
        parts.append(("sql", script[start:match.start()]))
        parts.append(("record", match.group(1)))
        start = match.end()
    parts.append(("sql", script[start:]))
    return [(kind, text) for kind, text in parts if kind == "record" or text.strip()]


def _record(engine: Engine, url: str, worksheet: str) -> None:
    """Import the example's plans, then record one of its worksheets (as ``kbgen record`` does)."""
    from kbgen.config import Options
    from kbgen.db.plans import import_plan_folder
    from kbgen.record import record
    from kbgen.worksheet import WorksheetInvalid, parse_worksheet

    import_plan_folder(url, example_dir() / PLANS_DIR, source_prefix=f"kbgen/example/{PLANS_DIR}/")
    text = resources.files("kbgen.example").joinpath(worksheet).read_text(encoding="utf-8")
    try:
        record(engine, parse_worksheet(text, f"kbgen/example/{worksheet}"), Options(example_dir()))
    except WorksheetInvalid as exc:
        raise DatabaseError("the bundled example worksheet failed to record: " + "; ".join(exc.lines())) from exc


def _make_room(path: Path, *, replace: bool) -> None:
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a SQLite database file")
    if not path.exists() or path.stat().st_size == 0:
        return
    if not replace:
        raise DatabaseError(f"{path} already exists and is not empty",
                            hint="choose another path, or replace it explicitly")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise DatabaseError(f"{path} is not a SQLite database; refusing to replace it",
                                hint="choose another path for the example database")
    _remove_database(path)


def _remove_database(path: Path) -> None:
    """Delete a database file and its journal/WAL sidecars, if present."""
    for candidate in (path, *(path.with_name(path.name + s) for s in _SIDECAR_SUFFIXES)):
        candidate.unlink(missing_ok=True)


def _run_script(engine: Engine, script: str) -> None:
    """Run ``script`` in one transaction on the raw sqlite3 connection."""
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        if not isinstance(dbapi, sqlite3.Connection):
            raise DatabaseError("the example loader needs the sqlite3 driver")
        try:
            # PRAGMA foreign_keys is a no-op inside a transaction: set it first.
            dbapi.executescript(f"PRAGMA foreign_keys = ON;\nBEGIN;\n{script}\nCOMMIT;")
        except sqlite3.Error as exc:
            if dbapi.in_transaction:
                dbapi.rollback()
            raise DatabaseError(f"the bundled example data failed to load: {exc}") from exc
        finally:
            dbapi.execute("PRAGMA foreign_keys = OFF")
    finally:
        raw.close()
