"""Storing parsed plans in kbgen's tables (one transaction per plan).

Research tables are only read (to bind the plan to its session and to warn
about planned files missing from the inventory), never written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text

from kbgen.db import kbtables as kb
from kbgen.db import research as rt
from kbgen.plan import Plan, PlanWarning, check_against_inventory


@dataclass(frozen=True)
class ImportResult:
    session: int
    source: str
    action: str  # created | updated | unchanged
    questions: int
    files: int
    bound_session: str | None
    warnings: tuple[PlanWarning, ...]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lock(conn: Connection, session: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(4242100, :s)"), {"s": session})


def import_plan(engine: Engine, plan: Plan, source_path: str) -> ImportResult:
    """Store (or replace) the plan of one session; idempotent on unchanged content."""
    with engine.begin() as conn:
        _lock(conn, plan.session)
        known = {row[0] for row in conn.execute(
            select(rt.files.c.id).where(rt.files.c.id.in_(list(plan.file_ids) or [-1])))}
        warnings = (*plan.warnings, *check_against_inventory(plan, known))
        session_row = conn.execute(
            select(rt.sessions.c.id, rt.sessions.c.name).where(
                (rt.sessions.c.id == plan.session) | (rt.sessions.c.name == f"R{plan.session}"))
            .order_by(rt.sessions.c.id)).first()
        bound = session_row.name if session_row else None
        existing = conn.execute(select(kb.plans.c.id, kb.plans.c.content_hash, kb.plans.c.source_path)
                                .where(kb.plans.c.session == plan.session)).first()
        if existing and existing.content_hash == plan.content_hash and existing.source_path == source_path:
            return ImportResult(plan.session, source_path, "unchanged", len(plan.questions), len(plan.files),
                                bound, warnings)
        if existing:
            conn.execute(delete(kb.plan_files).where(kb.plan_files.c.plan_id == existing.id))
            conn.execute(delete(kb.questions).where(kb.questions.c.plan_id == existing.id))
            conn.execute(delete(kb.plans).where(kb.plans.c.id == existing.id))
        data = plan.to_json()
        data["source"] = source_path
        plan_id = conn.execute(insert(kb.plans).returning(kb.plans.c.id).values(
            session=plan.session, source_path=source_path, content_hash=plan.content_hash, title=plan.title,
            date=plan.date, focus=plan.focus, data=json.dumps(data, sort_keys=True, ensure_ascii=False),
            imported_at=_now())).scalar_one()
        if plan.files:
            conn.execute(insert(kb.plan_files), [
                {"plan_id": plan_id, "ordinal": i, "file_id": f.file_id, "cluster": f.cluster, "path": f.path,
                 "loc": f.loc, "context": f.context, "package": f.package, "tier": f.tier, "repo": f.repo}
                for i, f in enumerate(plan.files, start=1)])
        if plan.questions:
            conn.execute(insert(kb.questions), [
                {"id": q.id, "plan_id": plan_id, "session": plan.session, "ordinal": q.ordinal,
                 "file_id": q.file_ids[0] if q.file_ids else None,
                 "file_ids": " ".join(str(i) for i in q.file_ids), "cluster": q.cluster, "text": q.text,
                 "line": q.line}
                for q in plan.questions])
    return ImportResult(plan.session, source_path, "updated" if existing else "created", len(plan.questions),
                        len(plan.files), bound, warnings)


def import_plan_folder(url: str, folder: Path, *, source_prefix: str = "") -> list[ImportResult]:
    """Create kbgen's tables if needed and import every ``*.md`` plan of a folder, in name order.

    The demo, the benchmarks and the tests load generated or bundled plans this way; the
    ``plan import`` command adds per-file error handling (``--keep-going``) on top.
    """
    from kbgen.db.engine import open_engine
    from kbgen.db.migrate import ensure_kb_tables
    from kbgen.plan import parse_plan_file

    engine = open_engine(url)
    try:
        ensure_kb_tables(engine)
        return [import_plan(engine, parse_plan_file(path), f"{source_prefix}{path.name}")
                for path in sorted(folder.glob("*.md"))]
    finally:
        engine.dispose()


@dataclass(frozen=True)
class StoredPlan:
    session: int
    source_path: str
    content_hash: str
    imported_at: str
    data: dict[str, Any]


def stored_plans(engine: Engine) -> list[StoredPlan]:
    with engine.connect() as conn:
        return [StoredPlan(r.session, r.source_path, r.content_hash, r.imported_at, json.loads(r.data))
                for r in conn.execute(select(kb.plans).order_by(kb.plans.c.session))]


def stored_plan(engine: Engine, session: int) -> StoredPlan | None:
    return next((p for p in stored_plans(engine) if p.session == session), None)
