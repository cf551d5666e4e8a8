"""Reading the database into a :class:`~kbgen.model.Snapshot`.

One query per table, each with an explicit ORDER BY, each selecting only
columns the live table has. kbgen's own tables are read when present (a
database nobody ran ``kbgen db upgrade`` on simply has no plans yet).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from kbgen import vocab
from kbgen.config import Options
from kbgen.db import kbtables as kb
from kbgen.db import research as rt
from kbgen.db.aliases import read_aliases
from kbgen.db.migrate import check_kb_schema, check_research_schema
from kbgen.db.values import int_value, text_value
from kbgen.errors import DatabaseError
from kbgen.model import (
    Answer,
    Dependency,
    Domain,
    ExcludePath,
    File,
    FileRead,
    Finding,
    FindingStatus,
    Label,
    Package,
    PackageDependency,
    PlanRecord,
    Question,
    RecordedRow,
    Session,
    Snapshot,
    TextAnswer,
)
from kbgen.vocab import Vocabulary


def _rows(conn: Connection, schema: rt.ResearchSchema, table: Table, cols: list[str], order: list[str]) -> list[Any]:
    if not schema.has_table(table.name):
        return []
    stmt = select(*(schema.col(table, c) for c in cols)).order_by(*(table.c[o] for o in order))
    return list(conn.execute(stmt))


_text = text_value
_int = int_value


def load_project_snapshot(options: Options) -> Snapshot:
    """The project's snapshot, read-only: its database URL resolved against the project folder."""
    from kbgen.db.engine import open_engine, resolve_url

    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url, readonly=True)
    try:
        return load_snapshot(engine, options, url)
    finally:
        engine.dispose()


def load_snapshot(engine: Engine, options: Options, shown_url: str = "") -> Snapshot:
    """Load everything pages need. Raises DatabaseError for non-research databases."""
    schema = check_research_schema(engine, shown_url or str(engine.url))
    has_kb = check_kb_schema(engine) is not None
    try:
        with engine.connect() as conn:
            return _load(conn, schema, options, has_kb)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"reading the research database failed: {exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0]}") from exc


def _load(conn: Connection, schema: rt.ResearchSchema, options: Options, has_kb: bool) -> Snapshot:
    packages = tuple(
        Package(r.id, _text(r.name) or f"package-{r.id}", _text(r.base_path), _text(r.repo_url),
                _text(r.description), _int(r.total_files), _int(r.total_loc))
        for r in _rows(conn, schema, rt.packages,
                       ["id", "name", "base_path", "repo_url", "description", "total_files", "total_loc"], ["id"]))
    pkg_names = {p.id: p.name for p in packages}
    # The big tables' rows are unpacked, not read by column name: a name costs a row lookup per value.
    files = tuple(
        File(id_, package_id, pkg_names.get(package_id, "(no package)"), _text(path) or "", _int(loc),
             vocab.depth(_text(depth)), _text(depth), _int(lines_read), _text(last_read_date), _text(notes))
        for id_, package_id, path, loc, depth, lines_read, last_read_date, notes in _rows(
            conn, schema, rt.files,
            ["id", "package_id", "relative_path", "loc", "depth", "lines_read", "last_read_date", "notes"], ["id"]))
    domains = tuple(
        Domain(r.id, _text(r.name) or f"domain-{r.id}", _text(r.description), vocab.priority(_text(r.priority)),
               _text(r.priority), _text(r.synthesis_path))
        for r in _rows(conn, schema, rt.domains, ["id", "name", "description", "priority", "synthesis_path"], ["id"]))
    file_domains = tuple(
        (file_id, domain_id)
        for file_id, domain_id in _rows(conn, schema, rt.file_domains, ["file_id", "domain_id"],
                                        ["file_id", "domain_id"]))
    sessions = tuple(
        Session(r.id, _text(r.name) or f"R{r.id}", vocab.session_number(_text(r.name), r.id), _text(r.date),
                _text(r.focus), _int(r.agent_count), _text(r.notes))
        for r in _rows(conn, schema, rt.sessions, ["id", "name", "date", "focus", "agent_count", "notes"], ["id"]))
    reads = tuple(
        FileRead(id_, file_id, session_id, vocab.depth(_text(depth)), _text(depth), _int(lines_read),
                 _text(line_ranges), _text(notes))
        for id_, file_id, session_id, depth, lines_read, line_ranges, notes in _rows(
            conn, schema, rt.file_reads,
            ["id", "file_id", "session_id", "depth", "lines_read", "line_ranges", "notes"], ["id"]))
    categories = Vocabulary.from_options(options, read_aliases(conn) if has_kb else None)
    findings = tuple(
        Finding(id_, file_id, session_id, _int(line_start), _int(line_end),
                vocab.severity(_text(severity)), _text(severity),
                categories.normalise(_text(category)), _text(category),
                _text(description) or "", bool(_int(followed_up)))
        for id_, file_id, session_id, line_start, line_end, severity, category, description, followed_up in _rows(
            conn, schema, rt.findings,
            ["id", "file_id", "session_id", "line_start", "line_end", "severity", "category", "description",
             "followed_up"], ["id"]))
    dependencies = tuple(
        Dependency(id_, source, target, _text(relationship) or "related", _text(evidence), bool(_int(verified)))
        for id_, source, target, relationship, evidence, verified in _rows(
            conn, schema, rt.dependencies,
            ["id", "source_file_id", "target_file_id", "relationship", "evidence", "verified"], ["id"]))
    package_dependencies = tuple(
        PackageDependency(r.source_package_id, r.target_package_id, _text(r.relationship) or "depends",
                          _text(r.notes))
        for r in _rows(conn, schema, rt.package_dependencies,
                       ["id", "source_package_id", "target_package_id", "relationship", "notes"], ["id"]))
    exclude = tuple(
        ExcludePath(_text(r.pattern) or "", _text(r.reason))
        for r in _rows(conn, schema, rt.exclude_paths, ["id", "pattern", "reason"], ["id"]) if r.pattern)
    snapshot_kb: dict[str, Any] = {}
    if has_kb:
        snapshot_kb = _load_kb(conn)
    return Snapshot(
        packages=packages, files=files, domains=domains, file_domains=file_domains, sessions=sessions,
        reads=reads, findings=findings, dependencies=dependencies,
        package_dependencies=package_dependencies, exclude_paths=exclude,
        positive_categories=frozenset(categories.normalise(c) for c in options.positive_categories),
        **snapshot_kb)


def _load_kb(conn: Connection) -> dict[str, Any]:
    plans = tuple(
        PlanRecord(r.session, r.source_path, r.content_hash, json.loads(r.data))
        for r in conn.execute(select(kb.plans).order_by(kb.plans.c.session)))
    # The planned paths a question names live in the stored plan (plans from before they were
    # recorded have none: their questions' file IDs say the same).
    paths = {str(q.get("id")): tuple(str(x) for x in q.get("paths") or ())
             for plan in plans for q in plan.data.get("questions") or () if isinstance(q, dict)}
    questions = tuple(
        Question(r.id, r.session, r.file_id, tuple(int(x) for x in r.file_ids.split()), r.cluster, r.text,
                 r.ordinal, r.line, paths.get(r.id, ()))
        for r in conn.execute(select(kb.questions).order_by(kb.questions.c.session, kb.questions.c.line,
                                                            kb.questions.c.id)))
    answers = tuple(
        Answer(r.question_id, r.finding_id, inferred=False, partial=bool(r.partial), note=r.note)
        for r in conn.execute(select(kb.answers).order_by(kb.answers.c.question_id, kb.answers.c.finding_id)))
    lc = kb.finding_labels.c
    labels = tuple(
        Label(domain, letter, number, finding_id)
        for domain, letter, number, finding_id in conn.execute(
            select(lc.domain, lc.letter, lc.number, lc.finding_id).order_by(lc.domain, lc.letter, lc.number)))
    statuses = tuple(
        FindingStatus(r.finding_id, r.status, r.session_id, r.superseded_by, r.reason)
        for r in conn.execute(select(kb.finding_status).order_by(kb.finding_status.c.finding_id)))
    text_answers: tuple[TextAnswer, ...] = ()
    if inspect(conn).has_table(kb.text_answers.name):  # revision 0003 on; older kbgen tables have none
        text_answers = tuple(
            TextAnswer(r.question_id, r.answer, r.verdict)
            for r in conn.execute(select(kb.text_answers).order_by(kb.text_answers.c.question_id)))
    recorded: tuple[RecordedRow, ...] = ()
    if inspect(conn).has_table(kb.record_keys.name):  # revision 0003 on
        recorded = tuple(_recorded(conn))
    return {"plans": plans, "questions": questions, "explicit_answers": answers, "labels": labels,
            "statuses": statuses, "text_answers": text_answers, "recorded": recorded}


def _recorded(conn: Connection) -> list[RecordedRow]:
    """The reads and edges ``kbgen record`` wrote, with what its notes say (tolerating bad JSON)."""
    rows = []
    keys = kb.record_keys.c
    for r in conn.execute(select(keys.session_id, keys.kind, keys.row_id, keys.detail)
                          .where(keys.kind.in_(("read", "dependency")), keys.row_id.is_not(None))
                          .order_by(keys.session_id, keys.kind, keys.key)):
        try:
            detail = json.loads(r.detail) if r.detail else {}
        except ValueError:
            detail = {}
        detail = detail if isinstance(detail, dict) else {}
        # A NULL depth is NOT_TOUCHED (as everywhere); a note without one says nothing.
        value = detail.get("depth")
        prior = vocab.depth(None if value is None else str(value)) if r.kind == "read" and "depth" in detail else None
        rows.append(RecordedRow(int(r.session_id), str(r.kind), int(r.row_id), bool(detail.get("created")), prior))
    return rows
