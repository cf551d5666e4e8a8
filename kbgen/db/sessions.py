"""Finding and creating session rows, by the database's own naming convention.

Sessions are known by their R-number. From session 25 on, campaigns name a
session ``R{n}`` and give it id ``n``; earlier names vary (``R3-verify``,
``R22b``). A number is resolved the way the site resolves it
(:attr:`kbgen.model.Snapshot.session_by_number`): a row named exactly
``R{n}`` with id ``n`` wins, else the first row (by id) whose name starts
with ``R{n}``, else the row with id ``n`` and no R-name of its own. A new
session gets name ``R{n}`` and id ``n`` when that id is free, so a number
that already has a row is reused, never duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from kbgen import vocab
from kbgen.db import research as rt


@dataclass(frozen=True)
class SessionRow:
    id: int
    name: str | None
    date: str | None
    focus: str | None
    agent_count: int | None
    notes: str | None

    @property
    def number(self) -> int:
        return vocab.session_number(self.name, self.id)

    @property
    def label(self) -> str:
        return self.name or f"R{self.id}"


def session_rows(conn: Connection, schema: rt.ResearchSchema) -> list[SessionRow]:
    cols = [schema.col(rt.sessions, c) for c in ("id", "name", "date", "focus", "agent_count", "notes")]
    return [SessionRow(int(r.id), _text(r.name), _text(r.date), _text(r.focus), _int(r.agent_count), _text(r.notes))
            for r in conn.execute(select(*cols).order_by(rt.sessions.c.id))]


def pick_session(rows: list[SessionRow], number: int) -> SessionRow | None:
    """The session row an R-number stands for (see the module docstring), or None."""
    exact = [r for r in rows if r.id == number and (r.name or "").upper() == f"R{number}"]
    if exact:
        return exact[0]
    named = [r for r in rows if r.name and vocab.session_number(r.name, r.id) == number]
    if named:
        return named[0]
    return next((r for r in rows if r.id == number and vocab.session_number(r.name, r.id) == number), None)


def new_session_id(rows: list[SessionRow], number: int) -> int | None:
    """``number`` when no row has that id (the convention), else None (the caller allocates one)."""
    return None if any(r.id == number for r in rows) else number


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _int(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
