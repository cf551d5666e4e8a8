"""The no-op shortcut of ``kbgen sync``: skip rendering when no input changed.

A full sync renders every page before it can tell that none changed (seconds
at campaign scale). For a SQLite database the inputs can be fingerprinted
cheaply: the database files' size and modification time (with its ``-wal``
and ``-journal``), kbgen's code (:mod:`kbgen.fingerprint`), the options, the generated blocks of
the domain documents (their narrative is the team's: editing it changes nothing a sync writes) and
every file the last sync wrote (so a deleted or hand-edited generated page
is noticed). PostgreSQL has no such file, but hashes its tables itself in a
fraction of a second: one ``md5`` over the row texts of each research and kbgen
table, computed server-side. The fingerprint is stored after each writing sync
in ``<generated>/.kbgen-state.json`` (machine-local: not for git).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from kbgen.config import Options
from kbgen.db.urls import sqlite_path
from kbgen.fingerprint import code_fingerprint
from kbgen.outputs import read_manifest, write_if_changed

STATE_NAME = ".kbgen-state.json"


def _stat(path: str | Path) -> str:
    """Size and modification time; every generated page's path comes as text (no ``Path`` per page)."""
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}:-"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def _head(path: Path, size: int) -> str:
    """The first bytes of a file: SQLite's header holds a change counter bumped by every
    committed transaction (rollback mode) and a WAL header holds salts renewed on reset —
    exact where a modification time's coarse clock could miss two writes in one tick."""
    try:
        with path.open("rb") as handle:
            return handle.read(size).hex()
    except OSError:
        return "-"


def _postgres_digest(url: str) -> str | None:
    """Row count and an md5 of all row texts of every research and kbgen table, per table."""
    from sqlalchemy import inspect, text

    from kbgen.db.engine import open_engine
    from kbgen.db.kbtables import KB_TABLES
    from kbgen.db.research import OPTIONAL_TABLES, REQUIRED_TABLES

    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            parts = []
            for name in sorted(present & {*REQUIRED_TABLES, *OPTIONAL_TABLES, *KB_TABLES}):
                count, digest = conn.execute(text(
                    f'SELECT count(*), md5(coalesce(string_agg(h, \'\' ORDER BY h), \'\')) '
                    f'FROM (SELECT md5(t::text) AS h FROM "{name}" t) s')).one()
                parts.append(f"{name}:{count}:{digest}")
            return "\n".join(parts)
    finally:
        engine.dispose()


#: A line that claims to be a kbgen marker, well-formed or not (:mod:`kbgen.domain.sections`).
_MARKER_LINE = re.compile(r"^ {0,3}<!--\s*kbgen:[^\n]*$", re.MULTILINE)


def _domain_document(path: Path) -> str:
    """What a sync reads of a domain document: its marker lines and the generated blocks between them.

    The human text around the blocks is kept byte for byte whatever it says, and nothing kbgen
    renders depends on it once every block is in place, so an edited narrative leaves the sync
    nothing to do (Sphinx re-reads the document for the site). A marker line added, removed or
    broken changes this digest, and the full sync that follows reports a broken one.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return _stat(path)
    marks = list(_MARKER_LINE.finditer(text))
    digest = hashlib.sha256(str(len(marks)).encode())
    for begin, end in zip(marks[0::2], marks[1::2], strict=False):
        digest.update(text[begin.start():end.end()].encode("utf-8") + b"\0")
    if len(marks) % 2:
        digest.update(marks[-1].group(0).encode("utf-8"))
    return f"{path}:blocks:{digest.hexdigest()}"


def input_fingerprint(options: Options, url: str, code: str | None = None) -> str | None:
    """A digest of everything a sync reads, or None when it cannot be computed cheaply.

    ``code`` is :func:`kbgen.fingerprint.code_fingerprint` when the caller has it already."""
    parts = [code or code_fingerprint(), repr(options), url]
    db = sqlite_path(url)
    if db is not None:
        parts += [_stat(Path(f"{db}{suffix}")) for suffix in ("", "-wal", "-journal")]
        parts += [_head(db, 100), _head(Path(f"{db}-wal"), 32)]
    elif url.startswith("postgresql"):
        digest = _postgres_digest(url)
        if digest is None:
            return None
        parts.append(digest)
    else:
        return None
    if options.domains_path.is_dir():
        parts += [_domain_document(p) for p in sorted(options.domains_path.rglob("*.md"))]
    root = options.generated_path
    manifest = read_manifest(root)
    parts.append(_stat(root / ".kbgen-manifest.json"))
    folder = str(root)
    parts += [_stat(os.path.join(folder, rel)) for rel in sorted(manifest)]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def stored_fingerprint(options: Options) -> str | None:
    try:
        data = json.loads((options.generated_path / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("inputs") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def store_fingerprint(options: Options, fingerprint: str | None) -> None:
    path = options.generated_path / STATE_NAME
    if fingerprint is None:
        path.unlink(missing_ok=True)
        return
    write_if_changed(path, (json.dumps({"inputs": fingerprint}) + "\n").encode())
