"""``kbgen db copy``: a whole research database from SQLite to PostgreSQL, or back.

A team that outgrows one researcher's SQLite file moves it to a shared
PostgreSQL server (and a PostgreSQL database can be taken home as a file).
The copy is the whole database: every table with its ids and whatever extra
columns the source has, kbgen's own ``kbgen_*`` tables and their version
table, and the views that the target can run. It is made so that nothing is
half-done and nothing is taken on trust:

* **One transaction on the target.** Tables are created, filled, indexed and
  checked inside it; any failure (including a failed verification) rolls it
  all back, and a SQLite target file the copy created is removed again.
* **A non-empty target is refused** unless ``replace`` is given: a research or
  kbgen table there holding rows would be replaced by the source's.
* **The source is read in one snapshot** (a SQLite read transaction, a
  PostgreSQL repeatable-read transaction), so a writer in the middle of the
  copy cannot make it inconsistent.
* **Types follow the data.** SQLite declares types loosely and stores what it
  is given; each column's PostgreSQL type is chosen from its declared
  affinity *and* what its values are (an INTEGER column holding text becomes
  TEXT, integers beyond 32 bits BIGINT), and every such decision is reported.
* **IDs continue.** On PostgreSQL every integer primary key gets a sequence
  set past the copied ids (and past SQLite's AUTOINCREMENT high-water mark),
  so the team's scripts can insert rows without naming ids.
* **Verified.** Row counts and a type-normalised checksum per table
  (:mod:`kbgen.db.checksum`) are compared between source and target before
  the commit.

Research tables are copied as they are: the copy never adds or renames a
column. Views are recreated from their SQL where the target accepts it and
reported as not copied otherwise (PostgreSQL rejects SQLite-only SQL and the
reverse); triggers are reported, not copied.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Index,
    MetaData,
    Table,
    column,
    func,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select
from sqlalchemy.sql.expression import ColumnClause

from kbgen.db.checksum import Checksum, table_checksum
from kbgen.db.copy_plan import KNOWN_TABLES, TablePlan, TableResult, build_table, plan_table, quote
from kbgen.db.copy_views import create_views, first_line, skipped_objects, source_views, target_views
from kbgen.db.engine import database_error, open_engine, sqlite_path
from kbgen.db.kbtables import VERSION_TABLE
from kbgen.db.migrate import check_research_schema
from kbgen.errors import DatabaseError, UsageError

#: Rows per executemany batch (and per streamed fetch from the source).
BATCH_ROWS = 5000

#: A progress callback: (table name, rows done in that table, rows of that table).
Progress = Callable[[str, int, int], None]


# -- results ---------------------------------------------------------------------------------


@dataclass
class CopyReport:
    """Everything ``kbgen db copy`` prints: per-table verification, views, sequences, what was left out."""

    source: str
    target: str
    tables: list[TableResult] = field(default_factory=list)
    views: list[tuple[str, str]] = field(default_factory=list)  # (name, status)
    sequences: list[tuple[str, int]] = field(default_factory=list)  # (table, next id)
    skipped: list[str] = field(default_factory=list)  # triggers, materialised views, ...
    replaced: list[str] = field(default_factory=list)  # target tables dropped first
    kept: list[str] = field(default_factory=list)  # target tables the copy left alone
    created_file: bool = False
    seconds: float = 0.0
    committed: bool = False

    @property
    def verified(self) -> bool:
        return all(t.matches for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)


class CopyVerificationError(DatabaseError):
    """The target's rows do not match the source's after the copy (rolled back)."""

    def __init__(self, report: CopyReport) -> None:
        bad = [t.name for t in report.tables if not t.matches]
        super().__init__(f"the copy does not match the source in {', '.join(bad)}; nothing was written",
                         hint="run with --debug and report it: this is a kbgen bug")
        self.report = report


# -- the target -----------------------------------------------------------------------------------


def _occupied(tconn: Connection, names: list[str]) -> list[tuple[str, int]]:
    """Target tables among ``names`` that hold rows (kbgen's version table does not count)."""
    out = []
    for name in names:
        if name == VERSION_TABLE:
            continue
        n = tconn.execute(select(func.count()).select_from(table(name))).scalar_one()
        if n:
            out.append((name, int(n)))
    return out


def _drop(tconn: Connection, target: str, name: str, kind: str) -> None:
    cascade = " CASCADE" if target == "postgresql" else ""
    tconn.exec_driver_sql(f"DROP {kind} IF EXISTS {quote(name)}{cascade}")


def _advance_sequence(tconn: Connection, plan: TablePlan) -> int | None:
    """Move a PostgreSQL serial sequence past the copied ids; the next id it will give."""
    key = plan.primary_key[0]
    seq = tconn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                        {"t": quote(plan.name), "c": key}).scalar()
    if seq is None:
        return None
    top = tconn.exec_driver_sql(f"SELECT COALESCE(MAX({quote(key)}), 0) FROM {quote(plan.name)}").scalar_one()
    following = max(int(top), plan.high_water or 0) + 1
    tconn.execute(text("SELECT setval(:s, :v, false)"), {"s": seq, "v": following})
    return following


def _carry_counter(tconn: Connection, plan: TablePlan) -> int:
    """SQLite target with AUTOINCREMENT: its counter at the source's high-water mark; the next id."""
    key = plan.primary_key[0]
    top = tconn.exec_driver_sql(f"SELECT COALESCE(MAX({quote(key)}), 0) FROM {quote(plan.name)}").scalar_one()
    value = max(int(top), plan.high_water or 0)
    updated = tconn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (value, plan.name))
    if not updated.rowcount:
        tconn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (plan.name, value))
    return value + 1


def _add_foreign_keys(tconn: Connection, plan: TablePlan) -> None:
    """PostgreSQL: foreign keys after the data; kept NOT VALID (checking new rows only) where old rows break them."""
    for i, fk in enumerate(plan.foreign_keys, 1):
        if not fk.get("referred_table") or not fk.get("constrained_columns"):
            continue
        name = fk.get("name") or f"{plan.name}_fk{i}"
        cols = ", ".join(quote(c) for c in fk["constrained_columns"])
        ref = ", ".join(quote(c) for c in fk["referred_columns"])
        shown = f"{', '.join(fk['constrained_columns'])} → {fk['referred_table']}"
        try:
            with tconn.begin_nested():
                tconn.exec_driver_sql(
                    f"ALTER TABLE {quote(plan.name)} ADD CONSTRAINT {quote(name)} FOREIGN KEY ({cols}) "
                    f"REFERENCES {quote(fk['referred_table'])} ({ref}) NOT VALID")
        except SQLAlchemyError as exc:
            plan.result.notes.append(f"foreign key {shown} not created: {first_line(exc)}")
            continue
        try:
            with tconn.begin_nested():
                tconn.exec_driver_sql(f"ALTER TABLE {quote(plan.name)} VALIDATE CONSTRAINT {quote(name)}")
        except SQLAlchemyError:
            plan.result.notes.append(f"foreign key {shown}: some copied rows refer to missing rows, so it checks "
                                     "new rows only (NOT VALID)")


def _create_indexes(tconn: Connection, table_obj: Table, plan: TablePlan) -> None:
    for name, cols, unique in plan.indexes:
        try:
            with tconn.begin_nested():
                Index(name, *(table_obj.c[c] for c in cols), unique=unique).create(tconn)
        except SQLAlchemyError as exc:
            plan.result.notes.append(f"index {name} not created: {first_line(exc)}")


@contextmanager
def _source_snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read of the source: a SQLite read transaction, a PostgreSQL repeatable read."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _same_database(a: str, b: str) -> bool:
    pa, pb = sqlite_path(a), sqlite_path(b)
    if pa is not None or pb is not None:
        return pa is not None and pb is not None and pa.resolve() == pb.resolve()
    ua, ub = make_url(a), make_url(b)
    return (ua.host or "", ua.port or 5432, ua.database) == (ub.host or "", ub.port or 5432, ub.database)


def copy_database(source_url: str, target_url: str, *, replace: bool = False,
                  progress: Progress | None = None, batch: int = BATCH_ROWS) -> CopyReport:
    """Copy every table (and the views the target accepts) from one database to another.

    Raises :class:`UsageError` for a non-empty target without ``replace`` or the
    same database twice, :class:`CopyVerificationError` when the verification
    fails (nothing is committed then), :class:`DatabaseError` for the rest.
    """
    if _same_database(source_url, target_url):
        raise UsageError("the source and the target are the same database")
    started = time.perf_counter()
    report = CopyReport(_shown(source_url), _shown(target_url))
    target_file = sqlite_path(target_url)
    fresh_file = target_file is not None and (not target_file.exists() or target_file.stat().st_size == 0)
    existed = target_file is not None and target_file.exists()
    source = open_engine(source_url, readonly=True)
    try:
        check_research_schema(source, report.source)
        target = open_engine(target_url, must_exist=False)
    except BaseException:
        source.dispose()
        raise
    report.created_file = fresh_file and not existed
    try:
        _copy(source, target, report, replace=replace, progress=progress, batch=batch)
    except SQLAlchemyError as exc:
        _discard(target, target_file, report)
        raise database_error(exc, report.target) from exc
    except BaseException:
        _discard(target, target_file, report)
        raise
    finally:
        source.dispose()
        target.dispose()
    report.seconds = time.perf_counter() - started
    return report


def _discard(target: Engine, target_file: Path | None, report: CopyReport) -> None:
    """After a failed copy: a SQLite file this copy created is removed (it holds nothing of anyone's)."""
    target.dispose()
    if report.created_file and target_file is not None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{target_file}{suffix}").unlink(missing_ok=True)


def _copy(source: Engine, target: Engine, report: CopyReport, *, replace: bool, progress: Progress | None,
          batch: int) -> None:
    src_dialect, dst_dialect = source.dialect.name, target.dialect.name
    with _source_snapshot(source) as sconn:
        insp = inspect(sconn)
        names = sorted(n for n in insp.get_table_names() if not n.startswith("sqlite_"))
        counters: dict[str, int] = {}
        if src_dialect == "sqlite" and sconn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first():
            counters = {r[0]: int(r[1]) for r in sconn.exec_driver_sql("SELECT name, seq FROM sqlite_sequence")}
        plans = [plan_table(sconn, insp, n, src_dialect, dst_dialect, counters) for n in names]
        views = source_views(sconn, src_dialect)
        report.skipped = skipped_objects(sconn, src_dialect)
        with target.begin() as tconn:
            if dst_dialect == "postgresql":  # two copies into one server database: one at a time
                tconn.execute(text("SELECT pg_advisory_xact_lock(4242300)"))
            tinsp = inspect(tconn)
            existing = set(tinsp.get_table_names())
            ours = {*names, *KNOWN_TABLES} | {n for n in existing if n.startswith("kbgen_")}
            replaced = sorted(existing & ours)
            occupied = _occupied(tconn, replaced)
            if occupied and not replace:
                biggest = sorted(occupied, key=lambda nc: (-nc[1], nc[0]))
                shown = ", ".join(f"{n} {c:,}" for n, c in biggest[:4]) + (", …" if len(biggest) > 4 else "")
                raise UsageError(f"the target database is not empty: {len(occupied)} of the tables the copy writes "
                                 f"hold rows ({shown})",
                                 hint="pass --replace to replace those tables with the source's")
            report.replaced = replaced
            report.kept = sorted(existing - ours)
            their_views = target_views(tconn, dst_dialect)
            for name in sorted(their_views):
                _drop(tconn, dst_dialect, name, "VIEW")
            for name in replaced:
                _drop(tconn, dst_dialect, name, "TABLE")
            metadata = MetaData()
            tables = {p.name: build_table(metadata, p, dst_dialect) for p in plans}
            metadata.create_all(tconn)
            for plan in plans:
                _copy_rows(sconn, tconn, tables[plan.name], plan, progress, batch)
            for plan in plans:
                _create_indexes(tconn, tables[plan.name], plan)
                if dst_dialect == "postgresql":
                    _add_foreign_keys(tconn, plan)
                    if plan.autoincrement:
                        following = _advance_sequence(tconn, plan)
                        if following is not None:
                            report.sequences.append((plan.name, following))
                elif plan.keep_counter:
                    report.sequences.append((plan.name, _carry_counter(tconn, plan)))
            report.views = create_views(tconn, views, from_postgres=src_dialect == "postgresql")
            kept_views = {n: sql for n, sql in their_views.items() if n not in views}
            for name, status in create_views(tconn, kept_views):
                report.views.append((name, f"target's own view, {status.replace('copied', 'recreated')}"))
            for plan in plans:
                check = table_checksum(tconn, plan.name, plan.names, batch=batch)
                plan.result.target_rows, plan.result.target_checksum = check.rows, check.hexdigest
                report.tables.append(plan.result)
            if not report.verified:
                raise CopyVerificationError(report)
        report.committed = True


def _copy_rows(sconn: Connection, tconn: Connection, table_obj: Table, plan: TablePlan,
               progress: Progress | None, batch: int) -> None:
    """Stream the source's rows into the target in batches, hashing them on the way."""
    names = plan.names
    check = Checksum(tuple(names))
    converters = [(i, c.convert) for i, c in enumerate(plan.columns) if c.convert is not None]
    cols: list[ColumnClause[Any]] = [column(n) for n in names]
    stmt: Select[Any] = select(*cols).select_from(table(plan.name, *cols))
    if plan.primary_key:
        stmt = stmt.order_by(*(text(quote(k)) for k in plan.primary_key))
    write = _writer(sconn, tconn, table_obj, names)
    done = 0
    if progress is not None:
        progress(plan.name, 0, plan.rows)
    result = sconn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
    for part in result.partitions():
        rows = []
        for row in part:
            check.add(row)
            values = list(row)
            for i, convert in converters:
                values[i] = convert(values[i])
            rows.append(values)
        write(rows)
        done += len(rows)
        if progress is not None:
            progress(plan.name, done, plan.rows)
    plan.result.source_rows = check.rows
    plan.result.source_checksum = check.hexdigest


def _writer(sconn: Connection, tconn: Connection, table_obj: Table,
            names: list[str]) -> Callable[[list[list[Any]]], None]:
    """How a batch of rows reaches the target.

    From SQLite into PostgreSQL every value is already a plain ``str``, ``int``,
    ``float`` or ``bytes`` (the plan converted it), so the batch goes through
    ``COPY ... FROM STDIN``, several times faster than an INSERT per row. Into
    SQLite it is one prepared INSERT run with ``executemany``; from PostgreSQL
    into PostgreSQL, SQLAlchemy's insert with the reflected types (JSON, arrays).
    """
    columns = ", ".join(quote(n) for n in names)
    if tconn.dialect.name == "postgresql" and sconn.dialect.name == "sqlite":
        copy_sql = f"COPY {quote(table_obj.name)} ({columns}) FROM STDIN"
        raw: Any = tconn.connection.dbapi_connection  # psycopg's own connection, in the same transaction

        def copy_batch(rows: list[list[Any]]) -> None:
            with raw.cursor() as cur, cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        return copy_batch
    if tconn.dialect.name == "sqlite":
        insert_sql = f"INSERT INTO {quote(table_obj.name)} ({columns}) VALUES ({', '.join('?' for _ in names)})"

        def insert_batch(rows: list[list[Any]]) -> None:
            if rows:
                tconn.exec_driver_sql(insert_sql, [tuple(r) for r in rows])
        return insert_batch
    insert = table_obj.insert()

    def insert_dicts(rows: list[list[Any]]) -> None:
        if rows:
            tconn.execute(insert, [dict(zip(names, r, strict=True)) for r in rows])
    return insert_dicts
