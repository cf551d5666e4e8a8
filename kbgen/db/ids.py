"""New ids for research rows, on databases made by anyone's scripts.

The research tables were created by the teams' own scripts, so kbgen cannot
assume how ids are made: SQLite tables may or may not alias ``rowid``
(``id INT PRIMARY KEY`` does not), some use ``AUTOINCREMENT``; PostgreSQL
tables may have a sequence (``serial``, identity) or none at all. kbgen
therefore always inserts an explicit id:

* SQLite: ``max(id) + 1`` (past ``sqlite_sequence`` for AUTOINCREMENT tables,
  so a deleted id is never reused there). The caller's transaction began with
  ``BEGIN IMMEDIATE``, so no other writer can take the same id.
* PostgreSQL with a sequence: ``nextval`` — shared with every other writer,
  so concurrent inserts never collide. A sequence left behind the table's ids
  (rows inserted with explicit ids, a copy that did not move it) is first
  moved past ``max(id)``, or its next value would collide.
* PostgreSQL without a sequence: the table is locked against other writers
  (``SHARE ROW EXCLUSIVE``, readers unaffected) until the transaction ends,
  then ``max(id) + 1``.

An identity column declared ``GENERATED ALWAYS`` refuses an explicit id unless
the INSERT says ``OVERRIDING SYSTEM VALUE`` (:meth:`IdAllocator.overrides`
tells the writer); its sequence is used like any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, column, insert, table, text


class IdAllocator:
    """Hands out ids per table within one write transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self._next: dict[str, int] = {}
        self._sequence: dict[str, str | None] = {}
        self._always: dict[str, bool] = {}

    def overrides(self, table: str) -> bool:
        """Whether an explicit id needs ``OVERRIDING SYSTEM VALUE`` (a ``GENERATED ALWAYS`` identity)."""
        if not self.postgres:
            return False
        if table not in self._always:
            generation = self.conn.execute(text(
                "SELECT identity_generation FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :t AND column_name = 'id'"),
                {"t": table}).scalar()
            self._always[table] = generation == "ALWAYS"
        return self._always[table]

    def insert(self, name: str, values: dict[str, Any]) -> None:
        """INSERT exactly these columns into research table ``name``, an explicit id included.

        A ``GENERATED ALWAYS`` identity takes the id only with ``OVERRIDING SYSTEM VALUE``,
        which goes between the column list and ``VALUES``.
        """
        statement = insert(table(name, *(column(c) for c in values))).values(**values)
        if "id" not in values or not self.overrides(name):
            self.conn.execute(statement)
            return
        compiled = statement.compile(dialect=self.conn.dialect)
        sql = str(compiled).replace(") VALUES (", ") OVERRIDING SYSTEM VALUE VALUES (", 1)
        self.conn.exec_driver_sql(sql, compiled.params)

    def next_id(self, table: str) -> int:
        if self.postgres:
            sequence = self._sequence_of(table)
            if sequence is not None:
                result = self.conn.execute(text("SELECT nextval(CAST(:s AS regclass))"), {"s": sequence})
                return int(result.scalar_one())
        if table not in self._next:
            self._next[table] = self._start(table)
        value = self._next[table]
        self._next[table] = value + 1
        return value

    def _start(self, table: str) -> int:
        if self.postgres:
            self.conn.execute(text(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE'))
        top = int(self.conn.execute(text(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')).scalar_one())
        if not self.postgres and self.conn.execute(text(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")).first():
            seq = self.conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}).scalar()
            top = max(top, int(seq or 0))
        return top + 1

    def _sequence_of(self, table: str) -> str | None:
        if table not in self._sequence:
            sequence = self.conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
            if sequence is not None:
                self._catch_up(table, str(sequence))
            self._sequence[table] = str(sequence) if sequence is not None else None
        return self._sequence[table]

    def _catch_up(self, table: str, sequence: str) -> None:
        """Move a sequence that lags behind the table's ids past them (else nextval collides)."""
        top = self.conn.execute(text(f'SELECT MAX(id) FROM "{table}"')).scalar()
        if top is None:
            return
        row = self.conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
        current = int(row.last_value) if row.is_called else int(row.last_value) - 1
        if current < int(top):
            self.conn.execute(text("SELECT setval(CAST(:s AS regclass), :v)"), {"s": sequence, "v": int(top)})

    def after_explicit(self, table: str, value: int) -> None:
        """An id chosen by convention (a session's number) was inserted: keep allocation past it."""
        if table in self._next:
            self._next[table] = max(self._next[table], value + 1)
        if self.postgres:
            sequence = self._sequence_of(table)
            if sequence is not None:
                self._catch_up(table, sequence)
