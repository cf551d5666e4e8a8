"""Views and triggers in a copy: recreated where the target accepts their SQL, reported otherwise."""

from __future__ import annotations

import re

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from kbgen.db.copy_plan import quote


def source_views(sconn: Connection, source: str) -> dict[str, str]:
    """View name → a CREATE VIEW statement in the source's own SQL."""
    if source == "sqlite":
        return {r[0]: r[1] for r in sconn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name")}
    return {r[0]: f"CREATE VIEW {quote(r[0])} AS {r[1].strip().rstrip(';')}" for r in sconn.exec_driver_sql(
        "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema() ORDER BY viewname")}


def skipped_objects(sconn: Connection, source: str) -> list[str]:
    if source == "sqlite":
        return [f"trigger {r[0]} (on {r[1]}): not copied" for r in sconn.exec_driver_sql(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")]
    out = [f"materialized view {r[0]}: not copied" for r in sconn.exec_driver_sql(
        "SELECT matviewname FROM pg_matviews WHERE schemaname = current_schema() ORDER BY matviewname")]
    out += [f"trigger {r[0]} (on {r[1]}): not copied" for r in sconn.exec_driver_sql(
        "SELECT DISTINCT trigger_name, event_object_table FROM information_schema.triggers "
        "WHERE trigger_schema = current_schema() ORDER BY 1")]
    return out


_PG_CASTS = ("timestamp without time zone", "timestamp with time zone", "character varying", "double precision",
             "text", "varchar", "integer", "bigint", "smallint", "numeric", "real", "boolean", "date", "bpchar",
             "name", "regclass")
_PG_CAST = re.compile(r"::(?:" + "|".join(re.escape(t) for t in _PG_CASTS) + r")(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])?"
                      r"(?![\w])", re.IGNORECASE)
_PG_ANY = re.compile(r"=\s*ANY\s*\(\s*ARRAY\[([^\[\]]*)\]\s*\)", re.IGNORECASE)
_PG_ALL = re.compile(r"<>\s*ALL\s*\(\s*ARRAY\[([^\[\]]*)\]\s*\)", re.IGNORECASE)


def sqlite_view_sql(sql: str) -> str:
    """PostgreSQL's printed view definition in SQL SQLite accepts: casts dropped, ``= ANY (ARRAY[..])`` as IN.

    PostgreSQL stores a view as its parse tree and prints it back with explicit
    casts and array comparisons (``upper(x) = ANY (ARRAY['A'::text, 'B'::text])``
    for ``upper(x) IN ('A', 'B')``), which SQLite cannot read: these two
    rewrites bring back most views that were written portably in the first place.
    """
    out = _PG_CAST.sub("", sql)
    out = _PG_ANY.sub(r"IN (\1)", out)
    return _PG_ALL.sub(r"NOT IN (\1)", out)


def create_views(tconn: Connection, views: dict[str, str], *, from_postgres: bool = False) -> list[tuple[str, str]]:
    """Create each view in a savepoint (views on views: retried until nothing more succeeds)."""
    pending = dict(views)
    errors: dict[str, str] = {}
    done: list[tuple[str, str]] = []
    progress = True
    rewrite = from_postgres and tconn.dialect.name == "sqlite"
    while pending and progress:
        progress = False
        for name in sorted(pending):
            sql = pending[name]
            status = "copied"
            try:
                with tconn.begin_nested():
                    tconn.exec_driver_sql(sql)
            except SQLAlchemyError as exc:
                errors[name] = first_line(exc)
                if not rewrite or sqlite_view_sql(sql) == sql:
                    continue
                try:
                    with tconn.begin_nested():
                        tconn.exec_driver_sql(sqlite_view_sql(sql))
                except SQLAlchemyError:
                    continue
                status = "copied (PostgreSQL casts and ANY (ARRAY[...]) rewritten for SQLite)"
            try:
                with tconn.begin_nested():
                    tconn.exec_driver_sql(f"SELECT * FROM {quote(name)} LIMIT 1").fetchall()
            except SQLAlchemyError as exc:
                status = f"copied, but querying it fails (as it may in the source): {first_line(exc)}"
            done.append((name, status))
            del pending[name]
            errors.pop(name, None)
            progress = True
    done += [(name, f"not copied: {errors.get(name, 'not accepted by the target')}") for name in sorted(pending)]
    return sorted(done)


def target_views(tconn: Connection, target: str) -> dict[str, str]:
    if target == "sqlite":
        return {r[0]: r[1] for r in tconn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name")}
    return {r[0]: f"CREATE VIEW {quote(r[0])} AS {r[1].strip().rstrip(';')}" for r in tconn.exec_driver_sql(
        "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema() ORDER BY viewname")}


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__
