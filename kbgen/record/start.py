"""``kbgen session start``: the session row, the plan, and a prefilled worksheet.

Idempotent on the database: the plan import keeps unchanged plans as they
are, and a session number that already has a row is reused (see
:mod:`kbgen.db.sessions`). The worksheet is never overwritten unless asked
(``force``): it may already hold a session's worth of notes. Beside it goes a
copy of the worksheet schema carrying the project's category vocabulary, which
the worksheet's ``# yaml-language-server: $schema=`` header points editors to.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, select, text

from kbgen.config import Options
from kbgen.db import research as rt
from kbgen.db.aliases import read_aliases
from kbgen.db.ids import IdAllocator
from kbgen.db.migrate import check_research_schema, ensure_kb_tables
from kbgen.db.plans import import_plan, stored_plan
from kbgen.db.sessions import SessionRow, new_session_id, pick_session, session_rows
from kbgen.errors import UsageError
from kbgen.outputs import write_if_changed
from kbgen.plan import Plan, parse_plan_file
from kbgen.record import RECORD_LOCK
from kbgen.vocab import Vocabulary
from kbgen.worksheet.schema import SCHEMA_COPY, project_schema
from kbgen.worksheet.template import PlannedQuestion, PlannedRead, PlannedTag, render_worksheet

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class StartResult:
    session: int
    session_id: int
    session_action: str  #: created | reused
    plan_action: str | None  #: created | updated | unchanged | stored (already imported) | None
    worksheet: Path
    reads: int
    questions: int
    plan: Plan | None = None
    """The plan given with ``--plan``, as parsed (its notes: placeholder questions)."""


def default_worksheet(options: Options, number: int) -> Path:
    return options.worksheets_path / f"R{number}.yaml"


def start_session(engine: Engine, options: Options, number: int, *, output: Path, plan_path: Path | None = None,
                  date: str | None = None, focus: str | None = None, force: bool = False) -> StartResult:
    if output.exists() and not force:
        raise UsageError(f"{output} already exists; it may hold this session's notes",
                         hint="record it with 'kbgen record', or pass --force to start it afresh")
    if output.is_dir():
        raise UsageError(f"{output} is a folder; give the worksheet's file name with -o")
    if date is not None and not _ISO_DATE.match(date):
        raise UsageError(f"--date {date!r} is not an ISO date (2025-10-02)")
    plan: Plan | None = parse_plan_file(plan_path) if plan_path is not None else None
    if plan is not None and plan.session != number:
        raise UsageError(f"{plan_path} is the plan of R{plan.session}, not R{number}")
    check_research_schema(engine, str(engine.url))
    ensure_kb_tables(engine)
    plan_action = None
    if plan is not None and plan_path is not None:
        plan_action = import_plan(engine, plan, _shown(plan_path, options.project_dir)).action
    stored = stored_plan(engine, number)
    data: dict[str, Any] = stored.data if stored is not None else {}
    if stored is not None and plan is None:
        plan_action = "stored"
    plan_date = data.get("date") if isinstance(data.get("date"), str) and _ISO_DATE.match(data["date"]) else None
    session, action = _ensure_session(engine, number, date or plan_date or dt.date.today().isoformat(),
                                      focus or data.get("focus"))
    reads, questions, tags = _prefill(engine, data)
    # An existing session keeps its row; a --date or --focus given for it goes into the worksheet,
    # so recording the worksheet updates the row (visibly, in the list of changes).
    worksheet = render_worksheet(
        session=number, date=date or session.date, focus=focus or session.focus,
        plan=stored.source_path if stored is not None else None, schema_ref=SCHEMA_COPY,
        record_hint=f"kbgen record {_shown(output, options.project_dir)}",
        categories=options.canonical_categories(), reads=reads, questions=questions, tags=tags)
    vocabulary = Vocabulary.from_options(options, read_aliases(engine))  # stored aliases are accepted too
    write_if_changed(output.parent / SCHEMA_COPY, project_schema(
        options.canonical_categories(), dict(vocabulary.aliases)).encode("utf-8"))
    write_if_changed(output, worksheet.encode("utf-8"))
    return StartResult(number, session.id, action, plan_action, output, len(reads), len(questions), plan)


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _ensure_session(engine: Engine, number: int, date: str, focus: str | None) -> tuple[SessionRow, str]:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RECORD_LOCK})
        schema = _schema(conn)
        rows = session_rows(conn, schema)
        found = pick_session(rows, number)
        if found is not None:
            return found, "reused"
        ids = IdAllocator(conn)
        row_id = new_session_id(rows, number)
        if row_id is None:
            row_id = ids.next_id("sessions")
        values = {"name": f"R{number}", "date": date, "focus": focus}
        have = schema.columns.get("sessions", frozenset())
        live = {k: v for k, v in {"id": row_id, **values}.items() if k in have}
        ids.insert("sessions", live)
        ids.after_explicit("sessions", row_id)
        return SessionRow(row_id, f"R{number}", date, focus, None, None), "created"


def _schema(conn: Connection) -> rt.ResearchSchema:
    insp = inspect(conn)
    return rt.ResearchSchema(columns={name: frozenset(c["name"] for c in insp.get_columns(name))
                                      for name in (*rt.REQUIRED_TABLES, *rt.OPTIONAL_TABLES) if insp.has_table(name)})


def _prefill(engine: Engine, data: dict[str, Any]) -> tuple[list[PlannedRead], list[PlannedQuestion],
                                                           list[PlannedTag]]:
    planned = list(data.get("files") or [])
    ids = [int(f["file_id"]) for f in planned if f.get("file_id") is not None]
    rows: dict[int, Any] = {}
    domains: set[str] = set()
    with engine.connect() as conn:
        schema = _schema(conn)
        if ids:
            stmt = (select(rt.files.c.id, rt.packages.c.name.label("package"), rt.files.c.relative_path,
                           schema.col(rt.files, "loc"), schema.col(rt.files, "depth"))
                    .select_from(rt.files.outerjoin(rt.packages, rt.packages.c.id == rt.files.c.package_id))
                    .where(rt.files.c.id.in_(ids)))
            rows = {int(r.id): r for r in conn.execute(stmt)}
        domains = {str(r.name) for r in conn.execute(select(rt.domains.c.name))}
    clusters = {c.get("letter"): c.get("name") for c in data.get("clusters") or []}
    reads = []
    for f in planned:
        fid = int(f["file_id"]) if f.get("file_id") is not None else None
        row = rows.get(fid) if fid is not None else None
        letter = f.get("cluster")
        cluster = f"Cluster {letter}: {clusters[letter]}" if clusters.get(letter) else None
        if row is not None:
            reads.append(PlannedRead(fid, row.package, str(row.relative_path), row.loc, row.depth or "NOT_TOUCHED",
                                     cluster))
        else:
            reads.append(PlannedRead(fid, f.get("package"), str(f.get("repo_path") or f.get("path") or ""),
                                     f.get("loc"), None, cluster))
    questions = [PlannedQuestion(q["id"], q["text"], tuple(int(i) for i in q.get("file_ids") or []))
                 for q in data.get("questions") or []]
    tags = []
    for t in data.get("domain_tags") or []:
        names = [str(d) for d in t.get("domains") or []]
        file_ids = tuple(int(i) for i in t.get("file_ids") or [] if int(i) in rows)
        if not file_ids:
            continue
        tags.append(PlannedTag(tuple(n for n in names if n in domains), file_ids,
                               tuple(n for n in names if n not in domains)))
    return reads, questions, tags
