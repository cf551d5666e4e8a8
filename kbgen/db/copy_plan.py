"""Planning a copy's target tables: column types from what the source's data holds.

SQLite declares types loosely and stores whatever it is given, so a column's
target type cannot be read off its declaration alone: :func:`plan_table`
scans each SQLite column once (storage classes present, integer range, NUL
characters) and picks the PostgreSQL type that holds every value, reporting
each decision that departs from the declaration. From PostgreSQL, types are
kept for PostgreSQL and mapped to their SQLite kin otherwise (booleans as 0/1,
exact decimals as text so nothing is rounded, JSON as text). Converters turn
values into what the chosen type takes; text conversions use the checksum's
normalised spelling so the verification compares like with like.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    table,
    text,
)
from sqlalchemy.types import TypeEngine

from kbgen.db import research as rt
from kbgen.db.checksum import json_text, normalise
from kbgen.errors import UsageError

_INT32 = 2**31
#: The research tables of the documented schema (their primary keys are known).
KNOWN_TABLES = frozenset(rt.research_metadata.tables)


@dataclass
class TableResult:
    """One copied table: counts and checksums on both sides, and what the copy decided for it."""

    name: str
    source_rows: int = 0
    target_rows: int = 0
    source_checksum: str = ""
    target_checksum: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


@dataclass
class ColumnPlan:
    name: str
    type: TypeEngine[Any]
    nullable: bool
    default: str | None
    convert: Callable[[Any], Any] | None = None


@dataclass
class TablePlan:
    name: str
    columns: list[ColumnPlan]
    primary_key: list[str]
    uniques: list[tuple[str | None, list[str]]]
    indexes: list[tuple[str, list[str], bool]]
    foreign_keys: list[dict[str, Any]]
    rows: int
    autoincrement: bool = False
    # The largest id the source ever handed out, where it knows more than MAX(id): SQLite's
    # AUTOINCREMENT counter, a PostgreSQL sequence. Ids up to it are never given again.
    high_water: int | None = None
    keep_counter: bool = False  # SQLite target: declare AUTOINCREMENT and carry the counter
    result: TableResult = field(default_factory=lambda: TableResult(""))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _affinity(declared: str) -> str:
    """SQLite's column affinity rules (datatype3.html, 3.1), in their order."""
    decl = declared.upper()
    if "INT" in decl:
        return "INTEGER"
    if any(k in decl for k in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in decl or not decl.strip():
        return "BLOB"
    if any(k in decl for k in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def _to_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else normalise(value)


def _to_int(value: Any) -> Any:
    return None if value is None else int(value)


def _to_float(value: Any) -> Any:
    return None if value is None else float(value)


def _to_bytes(value: Any) -> Any:
    return None if value is None else bytes(value)


def _to_json_text(value: Any) -> Any:
    return None if value is None or isinstance(value, str) else json_text(value)


def _kind_type(kind: str, *, big: bool = False) -> TypeEngine[Any]:
    if kind == "integer":
        return BigInteger() if big else Integer()
    if kind == "float":
        return Float(precision=53)
    if kind == "blob":
        return LargeBinary()
    return Text()


def _sqlite_stats(conn: Connection, name: str, columns: list[str]) -> dict[str, dict[str, Any]]:
    """Per column: how many values of each storage class, and the integer range (one table scan)."""
    parts = []
    for c in columns:
        q = quote(c)
        parts += [f"SUM(typeof({q}) = 'integer')", f"SUM(typeof({q}) = 'real')", f"SUM(typeof({q}) = 'text')",
                  f"SUM(typeof({q}) = 'blob')", f"MIN(CASE WHEN typeof({q}) = 'integer' THEN {q} END)",
                  f"MAX(CASE WHEN typeof({q}) = 'integer' THEN {q} END)",
                  f"SUM(typeof({q}) = 'text' AND instr({q}, char(0)) > 0)"]
    row = conn.exec_driver_sql(f"SELECT {', '.join(parts)} FROM {quote(name)}").one()
    out = {}
    for i, c in enumerate(columns):
        n_int, n_real, n_text, n_blob, lo, hi, nul = row[i * 7:i * 7 + 7]
        out[c] = {"integer": n_int or 0, "real": n_real or 0, "text": n_text or 0, "blob": n_blob or 0,
                  "min": lo, "max": hi, "nul": nul or 0}
    return out


def _sqlite_column(name: str, table_name: str, declared: str, stats: dict[str, Any],
                   notes: list[str], target: str) -> tuple[TypeEngine[Any], Callable[[Any], Any] | None]:
    """The target type of one SQLite column, from its affinity and the values it actually holds."""
    affinity = _affinity(declared)
    n_int, n_real, n_text, n_blob = stats["integer"], stats["real"], stats["text"], stats["blob"]
    big = stats["min"] is not None and (stats["min"] < -_INT32 or stats["max"] >= _INT32)
    shown = f"{name} ({declared or 'no type'})"
    if n_blob and (n_text or n_int or n_real):
        raise UsageError(f"{table_name}.{name} mixes binary and other values; no single {target} column type "
                         "holds both", hint="fix those rows in the source first")
    if stats["nul"] and target == "postgresql":
        raise UsageError(f"{table_name}.{name}: {stats['nul']} text values contain a NUL character, which "
                         "PostgreSQL text cannot store", hint="remove the NUL characters in the source first")
    if n_blob:
        if affinity not in ("BLOB",):
            notes.append(f"{shown} holds binary values: copied as binary")
        return _kind_type("blob"), _to_bytes
    if n_text:
        dated = affinity == "NUMERIC" and any(k in declared.upper() for k in ("DATE", "TIME"))
        if (affinity in ("INTEGER", "REAL", "NUMERIC") and not dated) or n_int or n_real:
            notes.append(f"{shown} holds text values: copied as text")
        return _kind_type("text"), _to_text
    if n_real:
        if affinity == "INTEGER":
            notes.append(f"{shown} holds fractional values: copied as double precision")
        return _kind_type("float"), _to_float
    if n_int:
        if affinity == "REAL":
            return _kind_type("float"), _to_float
        if affinity == "TEXT":
            return _kind_type("text"), _to_text
        if big and target == "postgresql":
            notes.append(f"{shown} holds integers beyond 32 bits: copied as bigint")
        return _kind_type("integer", big=big), _to_int
    # No value at all: the declared affinity decides.
    kind = {"INTEGER": "integer", "REAL": "float", "NUMERIC": "float", "TEXT": "text", "BLOB": "text"}[affinity]
    return _kind_type(kind), None


def _postgres_column(col: dict[str, Any], target: str) -> tuple[TypeEngine[Any], Callable[[Any], Any] | None]:
    """The target type of one PostgreSQL column (same types to PostgreSQL, their SQLite kin otherwise)."""
    from sqlalchemy import types as t

    typ = col["type"]
    if target == "postgresql":
        return typ, None
    if isinstance(typ, t.Boolean):
        return Integer(), _to_int
    if isinstance(typ, t.BigInteger):
        return BigInteger(), _to_int
    if isinstance(typ, t.Integer):
        return Integer(), _to_int
    if isinstance(typ, t.Float):
        return Float(precision=53), _to_float
    if isinstance(typ, t.Numeric):  # exact decimals stay exact: text in their normalised spelling
        return Text(), _to_text
    if isinstance(typ, t.LargeBinary):
        return LargeBinary(), _to_bytes
    if isinstance(typ, t.JSON):
        return Text(), _to_json_text
    return Text(), _to_text


_PORTABLE_DEFAULT = re.compile(
    r"^\s*\(?\s*(-?\d+(\.\d+)?|'([^']|'')*'|NULL|CURRENT_TIMESTAMP|CURRENT_DATE|CURRENT_TIME|TRUE|FALSE)\s*\)?\s*$",
    re.IGNORECASE)


def _portable_default(default: str | None) -> str | None:
    """A column default both backends understand (literals, CURRENT_*), else None."""
    if default is None:
        return None
    value = re.sub(r"::[a-z ]+(\[\])?$", "", default.strip(), flags=re.IGNORECASE)  # PostgreSQL's 'x'::text
    if not _PORTABLE_DEFAULT.match(value):
        return None
    upper = value.strip("() ").upper()
    return {"TRUE": "1", "FALSE": "0"}.get(upper, value.strip())


def plan_table(sconn: Connection, insp: Any, name: str, source: str, target: str,
               counters: dict[str, int]) -> TablePlan:
    """How one source table is created and filled on the target. ``counters``: the source's
    AUTOINCREMENT counters (SQLite, by table); PostgreSQL sequences are read here."""
    notes: list[str] = []
    cols = insp.get_columns(name)
    names = [c["name"] for c in cols]
    rows = sconn.execute(select(func.count()).select_from(table(name))).scalar_one()
    plans: list[ColumnPlan] = []
    if source == "sqlite":
        declared = {r[1]: (r[2] or "") for r in sconn.exec_driver_sql(f"PRAGMA table_info({quote(name)})")}
        stats = _sqlite_stats(sconn, name, names) if names else {}
    for c in cols:
        if source == "sqlite":
            typ, convert = _sqlite_column(c["name"], name, declared.get(c["name"], ""), stats[c["name"]], notes,
                                          target)
        else:
            typ, convert = _postgres_column(c, target)
        raw_default = c.get("default")
        default = None if raw_default is None or "nextval(" in str(raw_default) else _portable_default(
            str(raw_default))
        if raw_default is not None and default is None and "nextval(" not in str(raw_default):
            notes.append(f"default of {c['name']} ({raw_default}) is not portable: not copied")
        plans.append(ColumnPlan(c["name"], typ, bool(c.get("nullable", True)), default, convert))
    pk = list(insp.get_pk_constraint(name).get("constrained_columns") or [])
    if not pk and name in KNOWN_TABLES:
        pk = _de_facto_key(sconn, name, names, rows, notes)
    uniques = [(u.get("name"), list(u["column_names"])) for u in insp.get_unique_constraints(name)]
    indexes = []
    for ix in insp.get_indexes(name):
        if ix.get("duplicates_constraint") or not ix.get("name"):
            continue
        if any(c is None for c in ix["column_names"]):
            notes.append(f"index {ix['name']} is on an expression: not copied")
            continue
        indexes.append((str(ix["name"]), list(ix["column_names"]), bool(ix.get("unique"))))
    plan = TablePlan(name, plans, pk, uniques, indexes, list(insp.get_foreign_keys(name)), int(rows))
    if len(pk) == 1:
        col = next(c for c in plan.columns if c.name == pk[0])
        if isinstance(col.type, Integer):  # BigInteger is an Integer too
            plan.autoincrement = True
            top = sconn.exec_driver_sql(f"SELECT MAX({quote(pk[0])}) FROM {quote(name)}").scalar()
            plan.high_water = counters.get(name) if source == "sqlite" else _sequence_value(sconn, name, pk[0])
            # Into SQLite: AUTOINCREMENT where the source had it, or where a PostgreSQL sequence is past
            # the largest id (rows deleted at the top), so those ids stay unused as they were.
            plan.keep_counter = target == "sqlite" and (
                name in counters if source == "sqlite" else (plan.high_water or 0) > int(top or 0))
            if target == "sqlite" and isinstance(col.type, BigInteger):
                col.type = Integer()  # SQLite's rowid alias must be declared INTEGER (it is 64-bit anyway)
    plan.result = TableResult(name, notes=notes)
    return plan


def _sequence_value(sconn: Connection, name: str, key: str) -> int | None:
    """The last value a PostgreSQL serial or identity sequence handed out (None: the column has none).

    After ``setval(s, n, false)`` (what a copy leaves) nothing was handed out at ``n`` yet: ``n - 1``.
    """
    seq = sconn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": quote(name), "c": key}).scalar()
    if seq is None:
        return None
    last, called = sconn.exec_driver_sql(f"SELECT last_value, is_called FROM {seq}").one()
    return int(last) if called else int(last) - 1


def _de_facto_key(sconn: Connection, name: str, columns: list[str], rows: int, notes: list[str]) -> list[str]:
    """The documented primary key of a research table whose source declares none, when the data allows it."""
    key = [c.name for c in rt.research_metadata.tables[name].primary_key.columns]
    if not key or not set(key) <= set(columns):
        return []
    cols = ", ".join(quote(c) for c in key)
    not_null = " AND ".join(f"{quote(c)} IS NOT NULL" for c in key)
    distinct = sconn.exec_driver_sql(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT {cols} FROM {quote(name)} WHERE {not_null}) d").scalar_one()
    if distinct != rows:
        notes.append(f"no primary key in the source and ({', '.join(key)}) is not unique: none created")
        return []
    notes.append(f"no primary key in the source: ({', '.join(key)}) declared, as the research schema documents")
    return key


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_table(metadata: MetaData, plan: TablePlan, target: str) -> Table:
    columns = [Column(c.name, c.type, nullable=c.nullable or c.name in plan.primary_key,
                      server_default=text(c.default) if c.default is not None else None,
                      autoincrement=plan.autoincrement if c.name in plan.primary_key else False)
               for c in plan.columns]
    constraints: list[Any] = []
    if plan.primary_key:
        constraints.append(PrimaryKeyConstraint(*plan.primary_key))
    for uname, ucols in plan.uniques:
        constraints.append(UniqueConstraint(*ucols, name=uname))
    if target == "sqlite":  # SQLite takes foreign keys only in CREATE TABLE (and enforces none by default)
        for fk in plan.foreign_keys:
            if fk.get("referred_table") and fk.get("constrained_columns"):
                constraints.append(ForeignKeyConstraint(
                    fk["constrained_columns"], [f"{fk['referred_table']}.{c}" for c in fk["referred_columns"]],
                    name=fk.get("name"), use_alter=False))
    kwargs: dict[str, Any] = {}
    if plan.keep_counter:
        kwargs["sqlite_autoincrement"] = True
    return Table(plan.name, metadata, *columns, *constraints, **kwargs)
