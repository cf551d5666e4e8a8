"""Storing parsed plans in kbgen's tables (one transaction per plan).

Research tables are only read (to bind the plan to its session, to find the
files a plan knows by path only, and to warn about planned files missing
from the inventory), never written.

A planned file without an ID (a dash in the File ID column: new since the
inventory) is looked up by package root and path (:func:`resolve_paths`).
When the database has it, the plan is stored with that ID, so the session
page, the question's ``on_file`` link and inferred answers all work; when it
does not, the plan is imported anyway, with a warning at the row's line, and
the next ``plan import`` (after the session recorded the file) binds it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text

from kbgen.db import kbtables as kb
from kbgen.db import research as rt
from kbgen.plan import Plan, PlannedFile, PlanWarning, check_against_inventory
from kbgen.plan.merge import split_repo
from kbgen.plan.model import DUPLICATE_FILE_ID, FILE_NOT_IN_DATABASE, PATH_AMBIGUOUS, SESSION_REPLACED


@dataclass(frozen=True)
class ImportResult:
    session: int
    source: str
    action: str  # created | updated | unchanged
    questions: int
    files: int
    bound_session: str | None
    warnings: tuple[PlanWarning, ...]
    resolved: int = 0
    """Planned files without an ID that were found in the database by their path."""
    replaced: str | None = None
    """Source of another plan file this one replaced as the plan of its session."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lock(conn: Connection, session: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(4242100, :s)"), {"s": session})


@dataclass(frozen=True)
class _Package:
    id: int
    name: str
    repo: str | None
    root: str | None
    """The package's folder inside its repository (``crates/quill-render``; ``""`` at the top)."""


def _packages(conn: Connection, schema: rt.ResearchSchema) -> list[_Package]:
    out: list[_Package] = []
    for row in conn.execute(select(rt.packages.c.id, rt.packages.c.name,
                                   schema.col(rt.packages, "base_path")).order_by(rt.packages.c.id)):
        base = str(row.base_path).strip().rstrip("/") if row.base_path else ""
        repo, within = split_repo(base + "/") if base else (None, "")
        out.append(_Package(int(row.id), str(row.name), repo, within.strip("/") if repo else None))
    return out


def _candidates(planned: PlannedFile, packages: list[_Package]) -> list[tuple[int | None, str]]:
    """(package id, relative path) pairs the planned file may be, most specific first.

    Package root + path when the plan says where the repository is (its full
    paths, ``~/repos/{repo}/...``, against each package's ``base_path``); the
    named package + path when the plan names a package; any package + path
    otherwise (``None`` stands for "any").
    """
    if planned.repo and planned.repo_path:
        rooted: list[tuple[int | None, str]] = []
        for pkg in packages:
            if pkg.repo != planned.repo or pkg.root is None:
                continue
            prefix = pkg.root + "/" if pkg.root else ""
            if planned.repo_path.startswith(prefix):
                rooted.append((pkg.id, planned.repo_path[len(prefix):]))
        if rooted:
            # The deepest root wins: crates/x/ before the repository's top folder.
            return sorted(rooted, key=lambda c: len(c[1]))[:1]
    if planned.package:
        named = [pkg.id for pkg in packages if pkg.name.casefold() == planned.package.casefold()]
        if named:
            return [(named[0], planned.path)]
    return [(None, planned.path)]


def resolve_paths(conn: Connection, plan: Plan, schema: rt.ResearchSchema) -> tuple[Plan, list[PlanWarning]]:
    """The plan with IDs for the files it knows by path only, as far as the database has them.

    A file found once is bound (``resolved_by="path"``); a path that several
    database files share (the same relative path in two packages, with no
    package root to decide) and a path no file has are warnings at the
    row's line, and the file stays without an ID.
    """
    missing = [(i, f) for i, f in enumerate(plan.files) if f.file_id is None]
    if not missing:
        return plan, []
    packages = _packages(conn, schema)
    names = {pkg.id: pkg.name for pkg in packages}
    planned_ids = {f.file_id: f for f in plan.files if f.file_id is not None}
    found: dict[int, int] = {}
    warnings: list[PlanWarning] = []
    for index, planned in missing:
        matches: list[tuple[int, int | None]] = []
        for package_id, rel in _candidates(planned, packages):
            query = select(rt.files.c.id, rt.files.c.package_id).where(rt.files.c.relative_path == rel)
            if package_id is not None:
                query = query.where(rt.files.c.package_id == package_id)
            matches += [(int(r.id), r.package_id) for r in conn.execute(query.order_by(rt.files.c.id))]
        if not matches:
            warnings.append(PlanWarning(
                FILE_NOT_IN_DATABASE, planned.line,
                f"planned file {planned.path} has no File ID and no database file has that path"))
        elif len(matches) > 1:
            where = ", ".join(f"{file_id} ({names.get(pkg or -1, 'no package')})" for file_id, pkg in matches)
            warnings.append(PlanWarning(
                PATH_AMBIGUOUS, planned.line,
                f"planned file {planned.path} has no File ID and several database files have that path: "
                f"{where}; write the ID in the plan"))
        elif matches[0][0] in planned_ids or matches[0][0] in found.values():
            warnings.append(PlanWarning(
                DUPLICATE_FILE_ID, planned.line,
                f"planned file {planned.path} is database file {matches[0][0]}, which the plan already lists; "
                "keeping it without an ID"))
        else:
            found[index] = matches[0][0]
    return plan.with_resolved_ids(found), warnings


def import_plan(engine: Engine, plan: Plan, source_path: str,
                schema: rt.ResearchSchema | None = None) -> ImportResult:
    """Store (or replace) the plan of one session; idempotent on unchanged content.

    Another plan file already stored for the same session is replaced, with a
    warning (a session has one plan). ``schema`` saves an inspection when the
    caller already made one.
    """
    if plan.files_without_id and schema is None:
        schema = rt.ResearchSchema.inspect(engine)
    with engine.begin() as conn:
        _lock(conn, plan.session)
        resolve_warnings: list[PlanWarning] = []
        if plan.files_without_id and schema is not None:
            plan, resolve_warnings = resolve_paths(conn, plan, schema)
        known = {row[0] for row in conn.execute(
            select(rt.files.c.id).where(rt.files.c.id.in_(list(plan.file_ids) or [-1])))}
        warnings: list[PlanWarning] = [*plan.warnings, *resolve_warnings, *check_against_inventory(plan, known)]
        session_row = conn.execute(
            select(rt.sessions.c.id, rt.sessions.c.name).where(
                (rt.sessions.c.id == plan.session) | (rt.sessions.c.name == f"R{plan.session}"))
            .order_by(rt.sessions.c.id)).first()
        bound = session_row.name if session_row else None
        existing = conn.execute(select(kb.plans.c.id, kb.plans.c.data, kb.plans.c.source_path)
                                .where(kb.plans.c.session == plan.session)).first()
        replaced = existing.source_path if existing and existing.source_path != source_path else None
        if replaced is not None:
            warnings.append(PlanWarning(
                SESSION_REPLACED, None,
                f"R{plan.session} already had a plan from {replaced}; this plan replaces it "
                "(a session has one plan)"))
        warnings.sort(key=lambda w: w.line if w.line is not None else 0)
        resolved = sum(1 for f in plan.files if f.resolved_by == "path")
        data = plan.to_json()
        data["source"] = source_path
        data_text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        if existing and existing.data == data_text:
            return ImportResult(plan.session, source_path, "unchanged", len(plan.questions), len(plan.files),
                                bound, tuple(warnings), resolved)
        if existing:
            conn.execute(delete(kb.plan_files).where(kb.plan_files.c.plan_id == existing.id))
            conn.execute(delete(kb.questions).where(kb.questions.c.plan_id == existing.id))
            conn.execute(delete(kb.plans).where(kb.plans.c.id == existing.id))
        plan_id = conn.execute(insert(kb.plans).returning(kb.plans.c.id).values(
            session=plan.session, source_path=source_path, content_hash=plan.content_hash, title=plan.title,
            date=plan.date, focus=plan.focus, data=data_text, imported_at=_now())).scalar_one()
        if plan.files:
            conn.execute(insert(kb.plan_files), [
                {"plan_id": plan_id, "ordinal": i, "file_id": f.file_id, "cluster": f.cluster, "path": f.path,
                 "loc": f.loc, "context": f.context, "package": f.package, "tier": f.tier, "repo": f.repo,
                 "resolved_by": f.resolved_by}
                for i, f in enumerate(plan.files, start=1)])
        if plan.questions:
            conn.execute(insert(kb.questions), [
                {"id": q.id, "plan_id": plan_id, "session": plan.session, "ordinal": q.ordinal,
                 "file_id": q.file_ids[0] if q.file_ids else None,
                 "file_ids": " ".join(str(i) for i in q.file_ids), "cluster": q.cluster, "text": q.text,
                 "line": q.line}
                for q in plan.questions])
    return ImportResult(plan.session, source_path, "updated" if existing else "created", len(plan.questions),
                        len(plan.files), bound, tuple(warnings), resolved, replaced)


def import_plan_folder(url: str, folder: Path, *, source_prefix: str = "",
                       sessions: Mapping[str, int] | None = None) -> list[ImportResult]:
    """Create kbgen's tables if needed and import every ``*.md`` plan of a folder, in name order.

    ``sessions`` numbers the plans that state no session (file name → session), as ``plan import
    --session`` does for one. The demo, the benchmarks and the tests load generated or bundled
    plans this way; the ``plan import`` command adds per-file error handling (``--keep-going``).
    """
    from kbgen.db.engine import open_engine
    from kbgen.db.migrate import ensure_kb_tables
    from kbgen.plan import parse_plan_file

    given = dict(sessions or {})
    engine = open_engine(url)
    try:
        ensure_kb_tables(engine)
        return [import_plan(engine, parse_plan_file(path, session=given.get(path.name)),
                            f"{source_prefix}{path.name}")
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
