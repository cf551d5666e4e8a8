"""Per-table checksums that come out the same on SQLite and PostgreSQL for the same content.

``kbgen db copy`` proves a copy by comparing, table by table, the row count
and a checksum computed here, in Python, from the rows each backend returns.
Two things make that portable:

* **Values are normalised for type**, not compared as the driver returns them:
  SQLite may hand back ``3`` where PostgreSQL hands back ``3.0`` or
  ``Decimal('3')``, ``1`` where PostgreSQL has ``True``, ``bytes`` where
  psycopg gives ``memoryview``. Each value becomes one canonical text
  (:func:`normalise`), NULL its own marker, so ``'5'`` and ``5`` are equal
  (a loosely typed SQLite column copied to a TEXT column) while NULL and
  ``''`` are not.
* **Row order does not matter**: each row is hashed (column names included,
  sorted) and the row hashes are added modulo 2**256 (a multiset hash), so
  no ``ORDER BY`` is needed — text ordering differs between SQLite's binary
  comparison and a PostgreSQL collation — and memory stays constant at any
  size.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, column, select, table
from sqlalchemy.sql.expression import ColumnClause

_MOD = 1 << 256
_NULL = b"\x00N"


def normalise(value: Any) -> str | None:
    """The canonical text of a database value (None for NULL), equal across backends and drivers."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | decimal.Decimal):
        return _number(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "x'" + bytes(value).hex() + "'"
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return str(value.total_seconds())
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return json_text(value)
    return str(value)


def _number(value: float | decimal.Decimal) -> str:
    """Integral numbers as integers (``3.0`` → ``3``), others in shortest round-trip form."""
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value).lower()
        if value == value.to_integral_value():
            return str(int(value))
        return format(value.normalize(), "f")
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    if value.is_integer() and abs(value) < 2**63:
        return str(int(value))
    return repr(value)


def json_text(value: Any) -> str:
    """JSON stored as text by a copy: one fixed spelling, so checksums agree on both sides."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _encoded(value: Any) -> bytes:
    """A value's normalised text as the bytes a row digest hashes (NULL has its own marker)."""
    if value is None:
        return _NULL
    kind = type(value)
    if kind is str:  # the common cases first: this runs for every cell of a copy
        return b"\x00V" + str(value).encode("utf-8", "surrogatepass")
    if kind is int:
        return b"\x00V" + str(value).encode()
    text = normalise(value)
    return _NULL if text is None else b"\x00V" + text.encode("utf-8", "surrogatepass")


def row_digest(names: Sequence[str], values: Sequence[Any]) -> int:
    """One row as an integer hash: column names and normalised values, in column-name order."""
    return Checksum(tuple(names)).digest(values)


@dataclass
class Checksum:
    """A running multiset hash of rows: add rows in any order, get the same result."""

    names: tuple[str, ...]
    rows: int = 0
    total: int = 0

    def __post_init__(self) -> None:
        # Column-name order, worked out once per table rather than once per row.
        self._order = sorted(range(len(self.names)), key=lambda i: self.names[i])
        self._keys = [self.names[i].encode("utf-8") for i in self._order]

    def digest(self, values: Sequence[Any]) -> int:
        parts = [key + _encoded(values[i]) + b"\x1e" for i, key in zip(self._order, self._keys, strict=True)]
        return int.from_bytes(hashlib.sha256(b"".join(parts)).digest(), "big")

    def add(self, values: Sequence[Any]) -> None:
        self.total = (self.total + self.digest(values)) % _MOD
        self.rows += 1

    def add_all(self, rows: Iterable[Sequence[Any]]) -> None:
        for values in rows:
            self.add(values)

    @property
    def hexdigest(self) -> str:
        """Column names, row count and the row sum, as hex."""
        h = hashlib.sha256()
        h.update("\x1f".join(sorted(self.names)).encode("utf-8"))
        h.update(f"|{self.rows}|".encode())
        h.update(self.total.to_bytes(32, "big"))
        return h.hexdigest()


def table_checksum(conn: Connection, name: str, columns: Sequence[str], *, batch: int = 5000,
                   on_rows: Callable[[int], None] | None = None) -> Checksum:
    """Checksum of every row of one table, streamed in batches."""
    cols: list[ColumnClause[Any]] = [column(c) for c in columns]
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(select(*cols).select_from(
        table(name, *cols)))
    check = Checksum(tuple(columns))
    for part in result.partitions():
        check.add_all(part)
        if on_rows is not None:
            on_rows(len(part))
    return check
