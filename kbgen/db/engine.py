"""Opening research databases: SQLite files and PostgreSQL servers.

Every failure to open becomes a :class:`~kbgen.errors.DatabaseError` naming
the cause and the fix (exit code 3), so no command shows a driver traceback
unless ``--debug`` is given.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from kbgen.db.urls import ENV_BUSY_TIMEOUT as ENV_BUSY_TIMEOUT  # re-exported: defined without SQLAlchemy
from kbgen.db.urls import LOCKED_HINT as LOCKED_HINT
from kbgen.db.urls import SQLITE_BUSY_TIMEOUT_S as SQLITE_BUSY_TIMEOUT_S
from kbgen.db.urls import default_busy_timeout as default_busy_timeout
from kbgen.errors import DatabaseError, UsageError

SQLITE_HEADER = b"SQLite format 3\x00"
#: The backends kbgen reads and writes (its SQL, locks and copies are written for these two).
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def database_error(exc: SQLAlchemyError, shown: str = "the database") -> DatabaseError:
    """A driver error met while working with a database, as one line naming cause and fix (exit 3)."""
    orig = getattr(exc, "orig", None)
    reason = (str(orig) if orig is not None else str(exc)).strip().splitlines()
    first = reason[0] if reason else exc.__class__.__name__
    lowered = first.lower()
    if "locked" in lowered or "busy" in lowered:
        error = DatabaseError(f"{shown} is locked: {first}", hint=LOCKED_HINT)
    elif "readonly database" in lowered or "read-only" in lowered or "permission denied" in lowered:
        error = DatabaseError(f"{shown} is read-only for this command: {first}",
                              hint="kbgen sync reads only (kbgen sync --read-only); commands that store plans, "
                                   "answers or statuses need write access to kbgen's own kbgen_* tables")
    else:
        error = DatabaseError(f"database error on {shown}: {first}",
                              hint="run with --debug for the full error")
    error.__cause__ = exc
    return error


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None for other backends and memory."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    database = parsed.database
    if database.startswith("file:"):
        database = database[len("file:"):].split("?", 1)[0]
    return Path(database)


def resolve_url(url: str, base: Path) -> str:
    """Make a relative SQLite path relative to the project folder, not the cwd."""
    path = sqlite_path(url)
    if path is None or path.is_absolute():
        return url
    return str(make_url(url).set(database=str((base / path).resolve())))


def open_engine(url: str, *, readonly: bool = False, must_exist: bool = True,
                busy_timeout: float | None = None) -> Engine:
    """Create an engine and prove it connects.

    ``readonly`` opens SQLite with ``mode=ro`` (works on read-only files and
    guarantees no write, even as root) and makes every PostgreSQL transaction
    read-only (``default_transaction_read_only``), whatever the role's grants.
    ``busy_timeout`` (seconds, default :func:`default_busy_timeout`) is how long SQLite
    waits for another program's lock.
    """
    if busy_timeout is None:
        busy_timeout = default_busy_timeout()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"not a database URL: {url!r}",
                            hint="use sqlite:///path/to/research.db or postgresql+psycopg://user@host/db") from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        # Before any driver import: "MySQLdb is not installed" would send the user to pip for nothing.
        raise UsageError(f"unsupported database {backend!r} in the URL: kbgen works with SQLite "
                         "(sqlite:///path) and PostgreSQL (postgresql+psycopg://…)")
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            _check_sqlite_file(path, must_exist=must_exist)
            if readonly:
                uri = f"file:{path.resolve()}?mode=ro"
                engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(
                    uri, uri=True, timeout=busy_timeout, check_same_thread=False))
                _install_sqlite_pragmas(engine, busy_timeout)
                return _prove(engine, url)
        connect_args["timeout"] = busy_timeout
    elif backend == "postgresql":
        connect_args["connect_timeout"] = 5
        if readonly:  # every transaction read-only, whatever the role may do
            connect_args["options"] = "-c default_transaction_read_only=on"
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, connect_args=connect_args)
    except NoSuchModuleError as exc:
        raise DatabaseError(f"no driver for {parsed.drivername}",
                            hint="pip install 'kbgen[postgres]' for PostgreSQL") from exc
    except ModuleNotFoundError as exc:
        raise DatabaseError(f"the database driver is not installed ({exc.name})",
                            hint="pip install 'kbgen[postgres]' for PostgreSQL") from exc
    if backend == "sqlite":
        _install_sqlite_pragmas(engine, busy_timeout)
        _install_immediate_transactions(engine)
    return _prove(engine, url)


def _install_sqlite_pragmas(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.close()


def _install_immediate_transactions(engine: Engine) -> None:
    """Transactions of a writable SQLite engine take the write lock when they begin.

    pysqlite's default begins a transaction only at the first write, so the
    reads before it (``is this plan stored yet?``) run unlocked and two kbgen
    processes can both decide to insert. ``BEGIN IMMEDIATE`` makes a second
    writer wait (busy timeout) until the first commits, and then see its rows,
    as PostgreSQL's advisory locks do. Readers are unaffected; read-only
    engines (``mode=ro``) never take the lock, which is why ``kbgen sync``
    reads the research tables through one.
    """
    @event.listens_for(engine, "connect")
    def _manual_transactions(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # no implicit BEGIN: the "begin" event below emits it

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _check_sqlite_file(path: Path, *, must_exist: bool) -> None:
    if not path.exists():
        if must_exist:
            raise DatabaseError(f"database file not found: {path}",
                                hint="check --db / conf/kbgen.yaml, or create one with 'kbgen db init'")
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a SQLite database file",
                            hint="point --db at the research database file")
    if path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_HEADER:
            raise DatabaseError(f"{path} is not a SQLite database",
                                hint="point --db at the research database file")


def _prove(engine: Engine, url: str) -> Engine:
    """Connect once so that unreachable servers fail here, clearly."""
    shown = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    # On SQLite, reading the schema takes the shared lock a writer's exclusive lock blocks:
    # a locked database fails here, after the busy timeout, with a clear message.
    probe = "SELECT count(*) FROM sqlite_master" if engine.dialect.name == "sqlite" else "SELECT 1"
    try:
        with engine.connect() as conn:
            conn.execute(text(probe))
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        lines = (str(orig) if orig is not None else str(exc)).strip().splitlines()
        reason = lines[0] if lines else exc.__class__.__name__
        if "locked" in reason or "busy" in reason:
            raise DatabaseError(f"database is locked: {shown}", hint=LOCKED_HINT) from exc
        if "not a database" in reason or "malformed" in reason:
            raise DatabaseError(f"{shown} is not a readable SQLite database: {reason}",
                                hint="point --db at the research database file, or restore it from a backup") from exc
        if isinstance(exc, OperationalError):
            raise DatabaseError(f"cannot connect to {shown}: {reason}",
                                hint="check that the server runs and the URL, user and password are right") from exc
        raise database_error(exc, shown) from exc
    return engine
