"""Checking a worksheet against the database, before anything is written.

Everything a worksheet names must exist and fit the vocabulary: files (by ID
or package + path), domains, the questions of *this* session's plan,
severities, read depths, relationships and categories (the project's
vocabulary, :class:`kbgen.vocab.Vocabulary`: the configured list and aliases,
and the aliases ``kbgen vocab apply`` stored in the database).
Every problem is collected with its line, so one run lists them all; a
single problem means nothing is written.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, inspect, or_, select, tuple_

from kbgen import vocab
from kbgen.config import Options
from kbgen.db import kbtables as kb
from kbgen.db import research as rt
from kbgen.db.aliases import read_aliases
from kbgen.db.sessions import SessionRow, pick_session, session_rows
from kbgen.vocab import Vocabulary
from kbgen.wording import count
from kbgen.worksheet import ranges
from kbgen.worksheet.model import (
    AnswerLink,
    DependencyEntry,
    FileRef,
    FindingEntry,
    QuestionEntry,
    ReadEntry,
    Worksheet,
    line_ranges,
)
from kbgen.worksheet.yamlmarks import Problem


@dataclass(frozen=True)
class FileRow:
    id: int
    package_id: int | None
    package: str
    path: str
    loc: int | None
    depth: str | None
    lines_read: int | None
    last_read_date: str | None

    def describe(self) -> str:
        return f"{self.id} {self.path} ({self.package})"


@dataclass(frozen=True)
class QuestionRow:
    id: str
    session: int
    file_ids: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class KeyRow:
    row_id: int | None
    detail: dict[str, Any]


@dataclass
class Context:
    """What the database holds that the worksheet refers to (read inside the write transaction)."""

    schema: rt.ResearchSchema
    has_kb: bool
    sessions: list[SessionRow]
    session: SessionRow | None
    plan_imported: bool
    questions: dict[str, QuestionRow]
    planned: list[tuple[int, str]]  #: (file id, path) of the session's plan, for suggestions
    domains: dict[str, int]
    keys: dict[tuple[str, str], KeyRow]
    files: dict[int, FileRow] = field(default_factory=dict)
    by_path: dict[tuple[str, str], FileRow] = field(default_factory=dict)


@dataclass(frozen=True)
class Read:
    entry: ReadEntry
    file: FileRow
    ranges: list[ranges.Range] | None

    @property
    def key(self) -> str:
        return str(self.file.id)


@dataclass(frozen=True)
class Finding:
    entry: FindingEntry
    file: FileRow
    key: str
    category: str
    line_start: int | None
    line_end: int | None


@dataclass(frozen=True)
class Tag:
    file: FileRow
    domain: str
    domain_id: int

    @property
    def key(self) -> str:
        return f"{self.file.id} {self.domain_id}"


@dataclass(frozen=True)
class Edge:
    entry: DependencyEntry
    source: FileRow
    target: FileRow

    @property
    def key(self) -> str:
        return f"{self.source.id} {self.target.id} {self.entry.relationship}"


@dataclass
class Checked:
    """A worksheet that passed every check, resolved against the database."""

    worksheet: Worksheet
    context: Context
    reads: list[Read]  #: reads with a depth (entries left empty are not reads)
    unread: list[Read]  #: entries listed without a depth (planned, not read)
    findings: list[Finding]
    questions: list[QuestionEntry]
    tags: list[Tag]
    edges: list[Edge]
    warnings: list[Problem]


def load_context(conn: Connection, ws: Worksheet) -> Context:
    insp = inspect(conn)
    schema = rt.ResearchSchema(columns={
        name: frozenset(c["name"] for c in insp.get_columns(name))
        for name in (*rt.REQUIRED_TABLES, *rt.OPTIONAL_TABLES) if insp.has_table(name)})
    has_kb = insp.has_table(kb.record_keys.name)
    sessions = session_rows(conn, schema)
    session = pick_session(sessions, ws.session)
    questions: dict[str, QuestionRow] = {}
    planned: list[tuple[int, str]] = []
    plan_imported = False
    if insp.has_table(kb.questions.name):
        plan_imported = conn.execute(select(kb.plans.c.id).where(kb.plans.c.session == ws.session)).first() is not None
        for r in conn.execute(select(kb.questions).where(kb.questions.c.session == ws.session)
                              .order_by(kb.questions.c.ordinal)):
            questions[r.id] = QuestionRow(r.id, r.session, tuple(int(x) for x in (r.file_ids or "").split()), r.text)
        planned = [(int(r.file_id), str(r.path or "")) for r in conn.execute(
            select(kb.plan_files.c.file_id, kb.plan_files.c.path)
            .join(kb.plans, kb.plans.c.id == kb.plan_files.c.plan_id)
            .where(kb.plans.c.session == ws.session).order_by(kb.plan_files.c.ordinal)) if r.file_id is not None]
    domains = {str(r.name): int(r.id) for r in conn.execute(select(rt.domains.c.id, rt.domains.c.name))}
    keys: dict[tuple[str, str], KeyRow] = {}
    if has_kb and session is not None:
        for r in conn.execute(select(kb.record_keys).where(kb.record_keys.c.session_id == session.id)):
            keys[(r.kind, r.key)] = KeyRow(r.row_id, json.loads(r.detail) if r.detail else {})
    return Context(schema, has_kb, sessions, session, plan_imported, questions, planned, domains, keys)


def _file_rows(conn: Connection, ctx: Context, refs: list[FileRef]) -> None:
    """Load the files the worksheet names (by ID and by package + path) into the context."""
    schema = ctx.schema
    cols = [rt.files.c.id, rt.files.c.package_id, rt.packages.c.name.label("package"), rt.files.c.relative_path,
            schema.col(rt.files, "loc"), schema.col(rt.files, "depth"), schema.col(rt.files, "lines_read"),
            schema.col(rt.files, "last_read_date")]
    base = select(*cols).select_from(rt.files.outerjoin(rt.packages, rt.packages.c.id == rt.files.c.package_id))
    ids = sorted({r.id for r in refs if r.id is not None})
    pairs = sorted({(r.package, r.path) for r in refs if r.package and r.path})
    rows: list[Any] = []
    for start in range(0, len(ids), 500):
        rows += conn.execute(base.where(rt.files.c.id.in_(ids[start:start + 500]))).all()
    for start in range(0, len(pairs), 200):
        chunk = pairs[start:start + 200]
        rows += conn.execute(base.where(or_(*(and_(rt.packages.c.name == p, rt.files.c.relative_path == path)
                                              for p, path in chunk)))).all()
    for r in rows:
        row = FileRow(int(r.id), r.package_id, str(r.package or "(no package)"), str(r.relative_path or ""),
                      _int(r.loc), _str(r.depth), _int(r.lines_read), _str(r.last_read_date))
        ctx.files[row.id] = row
        ctx.by_path[(row.package, row.path)] = row


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


class _Checker:
    def __init__(self, conn: Connection, ws: Worksheet, ctx: Context, options: Options) -> None:
        self.conn = conn
        self.ws = ws
        self.ctx = ctx
        self.options = options
        self.vocabulary = Vocabulary.from_options(options, read_aliases(conn))
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.own_questions = 0  #: question references to this session's plan (known or not)
        self.foreign: list[tuple[int | None, str]] = []  #: (line, ID) of references to other sessions' plans

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(line, message))

    # -- files ---------------------------------------------------------------------
    def file(self, ref: FileRef) -> FileRow | None:
        ctx = self.ctx
        by_id = ctx.files.get(ref.id) if ref.id is not None else None
        by_path = ctx.by_path.get((ref.package, ref.path)) if ref.package and ref.path else None
        if ref.id is not None and by_id is None:
            self.problem(ref.line, f"no file {ref.id} in the files table{self._suggest_id(ref.id)}")
            return None
        if by_id is not None and ref.package and ref.path and by_path is None:
            self.problem(ref.line, f"file {by_id.id} is {by_id.path!r} in {by_id.package!r}, not {ref.path!r} in "
                                   f"{ref.package!r}; fix one of them")
            return None
        if ref.package and ref.path and by_path is None:
            self.problem(ref.line, f"no file {ref.path!r} in package {ref.package!r}{self._suggest_path(ref)}")
            return None
        if ((ref.package and not ref.path) or (ref.path and not ref.package)) and by_id is None:
            self.problem(ref.line, "name the file by 'file' (its ID) or by both 'package' and 'path'")
            return None
        if by_id is not None and by_path is not None and by_id.id != by_path.id:
            self.problem(ref.line, f"file {by_id.id} is {by_id.path!r} in {by_id.package!r}, not {ref.path!r} in "
                                   f"{ref.package!r} (file {by_path.id}); fix one of them")
            return None
        if by_id is not None and ref.path and not ref.package and by_id.path != ref.path:
            self.problem(ref.line, f"file {by_id.id} is {by_id.path!r}, not {ref.path!r}")
            return None
        return by_id or by_path

    def _suggest_id(self, file_id: int) -> str:
        planned = {fid: path for fid, path in self.ctx.planned}
        close = difflib.get_close_matches(str(file_id), [str(i) for i in planned], n=2, cutoff=0.7)
        if close:
            names = " or ".join(f"{c} {planned[int(c)]}" for c in close)
            return f" (did you mean {names}, planned for R{self.ws.session}?)"
        row = self.conn.execute(
            select(rt.files.c.id, rt.files.c.relative_path).where(rt.files.c.id.between(file_id - 2, file_id + 2))
            .order_by(rt.files.c.id)).first()
        if row is not None:
            return f" (did you mean {row.id} {row.relative_path}?)"
        return ""

    def _suggest_path(self, ref: FileRef) -> str:
        package = self.conn.execute(select(rt.packages.c.id).where(rt.packages.c.name == ref.package)).first()
        if package is None:
            names = [str(r.name) for r in self.conn.execute(select(rt.packages.c.name))]
            close = difflib.get_close_matches(ref.package or "", names, n=1)
            return f" (no such package; did you mean {close[0]!r}?)" if close else " (no such package)"
        paths = [str(r.relative_path) for r in self.conn.execute(
            select(rt.files.c.relative_path).where(rt.files.c.package_id == package.id))]
        close = difflib.get_close_matches(ref.path or "", paths, n=1, cutoff=0.6)
        if not close:
            tail = (ref.path or "").rsplit("/", 1)[-1]
            close = sorted(p for p in paths if p.endswith("/" + tail) or p == tail)[:1]
        return f" (did you mean {close[0]!r}?)" if close else ""

    # -- vocabularies --------------------------------------------------------------
    def in_vocabulary(self, line: int | None, what: str, value: str | None, allowed: tuple[str, ...]) -> bool:
        if value in allowed:
            return True
        self.problem(line, f"{what} {value!r} is not allowed (allowed: {', '.join(allowed)})")
        return False

    def category(self, line: int | None, value: str) -> str | None:
        canonical = self.vocabulary.canonical(value)
        if canonical is None:
            allowed = ", ".join(self.options.canonical_categories())
            close = difflib.get_close_matches(vocab.category(value, {}), [
                *self.options.canonical_categories(), *self.vocabulary.aliases], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            self.problem(line, f"category {value!r} is outside the vocabulary ({hint}allowed: {allowed}; "
                               "or an alias from category_aliases in conf/kbgen.yaml)")
        return canonical

    def question(self, line: int | None, question_id: str) -> bool:
        if question_id in self.ctx.questions:
            self.own_questions += 1
            return True
        n = self.ws.session
        prefix = question_id.split("-", 1)[0]
        if prefix != f"Q{n}":
            self.foreign.append((line, question_id))  # reported by foreign_questions(), once or one by one
            return False
        self.own_questions += 1
        if not self.ctx.plan_imported:
            self.problem(line, f"{question_id}: R{n} has no imported plan "
                               f"(kbgen plan import PATH, or kbgen session start R{n} --plan PATH)")
        else:
            close = difflib.get_close_matches(question_id, list(self.ctx.questions), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            self.problem(line, f"no question {question_id} in R{n}'s plan ({hint}its questions: "
                               f"{', '.join(self.ctx.questions) or 'none'})")
        return False

    def foreign_questions(self) -> None:
        """References to other sessions' questions: one problem at ``session:`` when they all are.

        A worksheet whose every question belongs to another plan has the wrong
        ``session:`` (a copied worksheet, a typo), and 21 identical lines, one per
        question, would hide that one mistake. A worksheet that also answers its
        own session's questions (or names one other question only) has a stray ID
        instead: that one is named at its line, as are a one-off command's.
        """
        n = self.ws.session
        if not self.foreign:
            return
        if self.own_questions or not self.ws.complete or len(self.foreign) < 2:
            for line, question_id in self.foreign:
                prefix = question_id.split("-", 1)[0]
                self.problem(line, f"{question_id} is a question of {prefix.replace('Q', 'R', 1)}'s plan, not "
                                   f"R{n}'s (a worksheet answers its own session's questions)")
            return
        sessions = list(dict.fromkeys(qid.split("-", 1)[0].replace("Q", "R", 1) for _, qid in self.foreign))
        plans = (f"{sessions[0]}'s plan" if len(sessions) == 1
                 else ", ".join(f"{s}'s" for s in sessions[:-1]) + f" and {sessions[-1]}'s plans")
        first_line, first = min(self.foreign, key=lambda f: f[0] or 0)
        where = f", first {first} at line {first_line}" if first_line else f", first {first}"
        fix = (f"write 'session: {sessions[0]}' if this is {sessions[0]}'s worksheet" if len(sessions) == 1
               else "set 'session:' to the session this worksheet records")
        self.problem(self.ws.marks.get("session") or 1,
                     f"session is R{n}, but every question ID in the worksheet belongs to {plans} "
                     f"({count(len(self.foreign), 'reference')}{where}): {fix}; a worksheet answers its own "
                     "session's questions")

    # -- entries -------------------------------------------------------------------
    def run(self) -> Checked:
        ws, ctx = self.ws, self.ctx
        refs = [r.file for r in ws.reads] + [f.file for f in ws.findings]
        refs += [f for t in ws.tags for f in t.files] + [x for d in ws.dependencies for x in (d.source, d.target)]
        _file_rows(self.conn, ctx, refs)
        if ctx.session is None and not ws.complete:
            self.problem(None, f"no session R{ws.session} in the database (start it with "
                               f"'kbgen session start R{ws.session}')")
        date = ws.date or (ctx.session.date if ctx.session else None)
        reads, unread = self.reads()
        if reads and not date:
            self.problem(ws.marks.get("date") or 1, f"R{ws.session} has no date: set 'date' (reads set the files' "
                                                    "last_read_date from it)")
        findings = self.findings()
        self.questions_()
        self.foreign_questions()
        tags = self.tags()
        edges = self.edges()
        return Checked(ws, ctx, reads, unread, findings, list(ws.questions), tags, edges, self.warnings)

    def reads(self) -> tuple[list[Read], list[Read]]:
        reads: list[Read] = []
        unread: list[Read] = []
        seen: dict[int, int | None] = {}
        for entry in self.ws.reads:
            row = self.file(entry.file)
            depth_line = entry.marks.get("depth", entry.line)
            if entry.depth is not None and not self.in_vocabulary(depth_line, "depth", entry.depth, vocab.READ_DEPTHS):
                continue
            if row is None:
                continue
            if row.id in seen:
                self.problem(entry.line, f"file {row.id} is listed twice (also line {seen[row.id]}): "
                                         "one entry per file, with all the ranges read")
                continue
            seen[row.id] = entry.line
            lines_line = entry.marks.get("lines", entry.line)
            try:
                parsed = line_ranges(entry.lines, row.loc)
            except ranges.RangeError as exc:
                self.problem(lines_line, f"lines: {exc}")
                continue
            if entry.depth is None:
                if parsed:
                    self.problem(depth_line, f"file {row.id} has lines but no depth: say how deep it was read "
                                             f"({', '.join(vocab.READ_DEPTHS)})")
                unread.append(Read(entry, row, None))
                continue
            if entry.depth == "MENTIONED" and parsed:
                self.problem(lines_line, "a MENTIONED file was not opened: leave 'lines' empty, or give the depth "
                                         "it was read at")
                continue
            if parsed and row.loc and max(b for _, b in parsed) > row.loc:
                self.warnings.append(Problem(lines_line, f"lines {ranges.render(parsed)} go past the {row.loc} "
                                                         f"lines the inventory gives file {row.id}"))
            if vocab.depth(row.depth) == "EXCLUDED":
                self.warnings.append(Problem(entry.line, f"file {row.id} is EXCLUDED (out of scope): the read is "
                                                         "recorded, the file's depth stays EXCLUDED"))
            reads.append(Read(entry, row, ranges.merge(parsed) if parsed else None))
        return reads, unread

    def findings(self) -> list[Finding]:
        result: list[Finding] = []
        explicit = Counter(f.key for f in self.ws.findings if f.key)
        per_file: Counter[int] = Counter()
        for entry in self.ws.findings:
            row = self.file(entry.file)
            ok = self.in_vocabulary(entry.marks.get("severity", entry.line), "severity", entry.severity,
                                    vocab.RECORD_SEVERITIES)
            category = self.category(entry.marks.get("category", entry.line), entry.category)
            if not entry.description.strip():
                self.problem(entry.marks.get("description", entry.line), "the description is empty")
                ok = False
            if entry.key and explicit[entry.key] > 1:
                self.problem(entry.marks.get("key", entry.line), f"key {entry.key!r} is used by more than one finding")
                ok = False
            start = end = None
            if entry.lines is not None:
                try:
                    parsed = ranges.parse(entry.lines)
                except ranges.RangeError as exc:
                    self.problem(entry.marks.get("lines", entry.line), f"lines: {exc}")
                    ok = False
                else:
                    if len(parsed) != 1:
                        self.problem(entry.marks.get("lines", entry.line), "a finding has one line range (120-180)")
                        ok = False
                    else:
                        start, end = parsed[0]
            ok = self.links(entry.answers) and ok
            if row is None or category is None or not ok:
                continue
            if end is not None and row.loc and end > row.loc:
                self.warnings.append(Problem(entry.marks.get("lines", entry.line),
                                             f"lines {start}-{end} go past the {row.loc} lines the inventory gives "
                                             f"file {row.id}"))
            if entry.key:
                key = entry.key
            elif self.ws.complete:
                per_file[row.id] += 1
                key = f"{row.id}#{per_file[row.id]}"
            else:
                key = ""  # a one-off finding without a key: always a new row, remembered by no key
            result.append(Finding(entry, row, key, category, start, end))
        keys = Counter(f.key for f in result if f.key)
        for f in result:
            if keys[f.key] > 1 and f.entry.key:  # an explicit key that collides with a derived one
                self.problem(f.entry.marks.get("key", f.entry.line),
                             f"key {f.key!r} is also the automatic key of another finding: choose another")
        return result

    def links(self, links: tuple[AnswerLink, ...]) -> bool:
        ok = True
        seen: set[str] = set()
        for link in links:
            if link.question in seen:
                self.problem(link.line, f"{link.question} is listed twice")
                ok = False
            seen.add(link.question)
            ok = self.question(link.line, link.question) and ok
        return ok

    def questions_(self) -> None:
        seen: dict[str, int | None] = {}
        linked = {link.question for f in self.ws.findings for link in f.answers}
        for q in self.ws.questions:
            if q.id in seen:
                self.problem(q.line, f"{q.id} is listed twice (also line {seen[q.id]})")
                continue
            seen[q.id] = q.line
            if not self.question(q.marks.get("id", q.line), q.id):
                continue
            if q.answer is not None and q.answer not in ("full", "partial"):
                self.problem(q.marks.get("answer", q.line), f"answer {q.answer!r} is not allowed (allowed: full, "
                                                            "partial, empty)")
            elif q.verdict and q.answer is None:
                self.problem(q.marks.get("answer", q.line), f"{q.id} has a verdict but no answer: say whether it is "
                                                            "answered in full or in part (answer: full / partial)")
            elif q.answer is not None and not q.verdict and q.id not in linked:
                self.problem(q.marks.get("verdict", q.line), f"{q.id} is answered without findings: write the "
                                                             "verdict (a sentence or two)")

    def tags(self) -> list[Tag]:
        result: dict[str, Tag] = {}
        for entry in self.ws.tags:
            domains = []
            for name, line in entry.domains:
                if name in self.ctx.domains:
                    domains.append(name)
                    continue
                close = difflib.get_close_matches(name, list(self.ctx.domains), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.problem(line, f"no domain {name!r} ({hint}domains: {', '.join(sorted(self.ctx.domains))})")
            for ref in entry.files:
                row = self.file(ref)
                if row is None:
                    continue
                for name in domains:
                    tag = Tag(row, name, self.ctx.domains[name])
                    result.setdefault(tag.key, tag)
        return list(result.values())

    def edges(self) -> list[Edge]:
        result: list[Edge] = []
        seen: dict[str, int | None] = {}
        for entry in self.ws.dependencies:
            source, target = self.file(entry.source), self.file(entry.target)
            if not self.in_vocabulary(entry.line, "relationship", entry.relationship, vocab.RELATIONSHIPS):
                continue
            if source is None or target is None:
                continue
            if source.id == target.id:
                self.problem(entry.line, f"file {source.id} cannot depend on itself")
                continue
            if not self.ctx.schema.has_table("dependencies"):
                self.warnings.append(Problem(entry.line, "the database has no dependencies table: this edge is not "
                                                         "recorded"))
                continue
            edge = Edge(entry, source, target)
            if edge.key in seen:
                self.problem(entry.line, f"the edge {source.id} → {target.id} ({entry.relationship}) is listed twice "
                                         f"(also line {seen[edge.key]})")
                continue
            seen[edge.key] = entry.line
            result.append(edge)
        return result


def check_worksheet(conn: Connection, ws: Worksheet, options: Options) -> Checked | list[Problem]:
    """The worksheet resolved against the database, or every problem found (in line order)."""
    ctx = load_context(conn, ws)
    checker = _Checker(conn, ws, ctx, options)
    checked = checker.run()
    if checker.problems:
        return sorted(checker.problems, key=lambda p: p.line or 0)
    return checked


def existing_pairs(conn: Connection, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (file, domain) pairs file_domains already holds."""
    found: set[tuple[int, int]] = set()
    for start in range(0, len(pairs), 300):
        chunk = pairs[start:start + 300]
        found |= {(int(r.file_id), int(r.domain_id)) for r in conn.execute(
            select(rt.file_domains.c.file_id, rt.file_domains.c.domain_id)
            .where(tuple_(rt.file_domains.c.file_id, rt.file_domains.c.domain_id).in_(chunk)))}
    return found
