"""Explicit answer links and finding statuses (kbgen's tables only)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update

from kbgen.db import kbtables as kb
from kbgen.db import research as rt
from kbgen.errors import UsageError


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_finding_id(value: str) -> int:
    text = value.strip()
    digits = text[1:] if text[:1] in "Ff" else text
    if not digits.isdigit():
        raise UsageError(f"not a finding ID: {value!r} (expected F1234 or 1234)")
    return int(digits)


def parse_session_ref(value: str) -> int:
    text = value.strip()
    digits = text[1:] if text[:1] in "RrSs" else text
    if not digits.isdigit():
        raise UsageError(f"not a session: {value!r} (expected R99 or 99)")
    return int(digits)


def _require_finding(conn: Connection, finding_id: int) -> None:
    row = conn.execute(select(rt.findings.c.id).where(rt.findings.c.id == finding_id)).first()
    if row is None:
        raise UsageError(f"unknown finding F{finding_id}: no such row in the findings table")


def set_answer(engine: Engine, question_id: str, finding_ref: str, *, partial: bool = False,
               note: str | None = None, remove: bool = False) -> str:
    """Add, update or remove one explicit question ↔ finding link; returns what happened."""
    finding_id = parse_finding_id(finding_ref)
    with engine.begin() as conn:
        if conn.execute(select(kb.questions.c.id).where(kb.questions.c.id == question_id)).first() is None:
            raise UsageError(f"unknown question {question_id}: import the plan that asks it first "
                             "(kbgen plan import)")
        key = (kb.answers.c.question_id == question_id) & (kb.answers.c.finding_id == finding_id)
        existing = conn.execute(select(kb.answers.c.question_id).where(key)).first()
        if remove:
            if existing is None:
                raise UsageError(f"no explicit link {question_id} ↔ F{finding_id} to remove")
            conn.execute(delete(kb.answers).where(key))
            return "removed"
        _require_finding(conn, finding_id)
        if existing is not None:
            conn.execute(update(kb.answers).where(key).values(partial=int(partial), note=note))
            return "updated"
        conn.execute(insert(kb.answers).values(question_id=question_id, finding_id=finding_id,
                                               partial=int(partial), note=note, created_at=_now()))
        return "added"


def resolve_finding(engine: Engine, finding_ref: str, session_ref: str) -> None:
    finding_id = parse_finding_id(finding_ref)
    session = parse_session_ref(session_ref)
    with engine.begin() as conn:
        _require_finding(conn, finding_id)
        row = conn.execute(select(rt.sessions.c.id).where(
            (rt.sessions.c.id == session) | (rt.sessions.c.name == f"R{session}")).order_by(rt.sessions.c.id)).first()
        if row is None:
            raise UsageError(f"unknown session {session_ref}: no such row in the sessions table")
        _upsert_status(conn, finding_id, status="resolved", session_id=row.id, superseded_by=None, reason=None)


def supersede_finding(engine: Engine, finding_ref: str, by_ref: str, reason: str) -> None:
    finding_id = parse_finding_id(finding_ref)
    by_id = parse_finding_id(by_ref)
    if finding_id == by_id:
        raise UsageError("a finding cannot supersede itself")
    if not reason.strip():
        raise UsageError("--reason must say why the later finding corrects the earlier one")
    with engine.begin() as conn:
        _require_finding(conn, finding_id)
        _require_finding(conn, by_id)
        _upsert_status(conn, finding_id, status="superseded", session_id=None, superseded_by=by_id,
                       reason=reason.strip())


def _upsert_status(conn: Connection, finding_id: int, **values: object) -> None:
    key = kb.finding_status.c.finding_id == finding_id
    if conn.execute(select(kb.finding_status.c.finding_id).where(key)).first() is None:
        conn.execute(insert(kb.finding_status).values(finding_id=finding_id, updated_at=_now(), **values))
    else:
        conn.execute(update(kb.finding_status).where(key).values(updated_at=_now(), **values))


def remove_text_answer(engine: Engine, question_id: str) -> None:
    """Remove a question's answer in words (``kbgen answer QID --remove``); its finding links stay."""
    with engine.begin() as conn:
        key = kb.text_answers.c.question_id == question_id
        if conn.execute(select(kb.text_answers.c.question_id).where(key)).first() is None:
            raise UsageError(f"{question_id} has no answer in words to remove")
        conn.execute(delete(kb.text_answers).where(key))
