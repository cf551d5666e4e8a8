"""Read an execution plan (markdown) into a ``Plan``.

The parser walks markdown-it-py's top-level blocks in order, keeping track
of which section (``##``) and cluster (``### Cluster A: ...``) it is in, and
collects facts where the plan states them: header fields, target and
cluster headings, file tables, full-path lists, key-question bullets,
template comments in code fences, outcomes and domain tags. Regular
expressions only ever look inside one block's text (a heading, a table
cell, a code block line), never across the document, so layout drift
(blank lines, ``---`` rules, extra sections) does not matter.

Errors versus warnings: only what makes the plan unusable raises
``PlanParseError`` with the line to fix (no session number; title and
Session ID disagreeing; a non-numeric File ID; a file table without a
File/Path column). Everything else is a coded ``PlanWarning`` and the parse
goes on.

Placeholder date: a ``{YYYY-MM-DD}`` date is kept as unknown (``None``) and
reported with code ``plan.date-placeholder``, which is *informational*
(``PlanWarning.informational``; ``Plan.problems`` leaves it out). The
canonical R95 seed has such a date and must still import "with no
warnings": an unfilled template field loses no information the rest of the
plan or the database would not supply (the session's date is in the
``sessions`` table), so it is a note, not a problem.

Placeholder questions: a key question still carrying ``kbgen plan draft``'s
``TODO (researcher):`` mark is noted at its line (``plan.placeholder-question``,
informational too): a draft reads back with no warnings, and ``plan import``
and ``session start --plan`` add one warning saying how many are left.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from kbgen.errors import PlanParseError
from kbgen.plan.blocks import (
    Block,
    FieldLine,
    ListItem,
    code_spans,
    collapse_space,
    field_line,
    inline_children,
    list_items,
    normalise_newlines,
    parse_blocks,
    plain_text,
    span_text,
    split_lines,
)
from kbgen.plan.checks import Stated, check_cluster, check_target
from kbgen.plan.merge import FullPath, RepoPath, TemplateFact, join_base, merge_files, template_facts
from kbgen.plan.model import (
    DATE_PLACEHOLDER,
    DATE_UNREADABLE,
    DUPLICATE_FILE_ID,
    LOC_UNREADABLE,
    SESSION_ID_UNREADABLE,
    Cluster,
    ClusterQuestion,
    Plan,
    PlanWarning,
    Results,
)
from kbgen.plan.outcomes import expectations
from kbgen.plan.questions import Bullet, bind_questions, placeholder_notes
from kbgen.plan.results import results_blocks
from kbgen.plan.tables import FileRow, file_rows, has_id_column, has_path_column, is_unknown_id_mark, read_table
from kbgen.plan.tags import domain_tags

_TITLE = re.compile(
    r"^\s*(?:R(?P<session>[0-9]+)\b)?\s*(?:[:—–-]\s*)?(?:Execution\s+Plan\b)?\s*[:—–-]?\s*(?P<title>.*)$",
    re.IGNORECASE)
_SESSION_FIELD = re.compile(r"^\s*R?([0-9]+)\b", re.IGNORECASE)
_CLUSTER = re.compile(r"^Cluster\s+(?P<letter>[A-Za-z0-9]+)\b\s*[:.—–-]?\s*(?P<rest>.*)$", re.IGNORECASE)
_STATS = re.compile(r"\(([^()]*)\)\s*$")
_FILES = re.compile(r"(~?[0-9][0-9,]*)\s*files?\b", re.IGNORECASE)
_LOC = re.compile(r"(~?[0-9][0-9,]*)\s*LOC\b", re.IGNORECASE)
_CLUSTERS = re.compile(r"([0-9]+)\s*clusters?\b", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*([0-9]+)[.)]\s+")

_IMPLICIT = "\0implicit"  # stands for the implicit cluster until it gets its letter
_SECTIONS = {"rationale": "rationale", "context": "rationale", "background": "rationale",
             "target": "target", "targets": "target", "expected outcomes": "outcomes",
             "outcomes": "outcomes", "domain tags": "domain_tags", "key questions": "questions"}
#: A ``##`` heading that opens the session's own report in a plan written after its session.
_RESULTS = re.compile(r"^(?:session\s+|actual\s+)?results?\b", re.IGNORECASE)


def _stated(pattern: re.Pattern[str], text: str) -> Stated | None:
    match = pattern.search(text)
    if match is None:
        return None
    raw = match.group(1)
    return Stated(int(raw.lstrip("~").replace(",", "")), raw)


@dataclass
class _ClusterDraft:
    letter: str
    name: str
    line: int | None
    files: Stated | None = None
    loc: Stated | None = None
    implicit: bool = False
    rows: list[FileRow] = field(default_factory=list)


@dataclass
class _Draft:
    """Facts collected during the walk, merged when the whole plan is read."""

    path: str
    title: str = ""
    title_line: int | None = None
    title_session: int | None = None
    session_field: FieldLine | None = None
    date: str | None = None
    focus: str | None = None
    strategic_value: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    rationale: list[str] = field(default_factory=list)
    target_line: int | None = None
    target_files: Stated | None = None
    target_loc: Stated | None = None
    target_clusters: Stated | None = None
    clusters: list[_ClusterDraft] = field(default_factory=list)
    implicit: _ClusterDraft | None = None
    full_paths: list[FullPath] = field(default_factory=list)
    repo_paths: list[RepoPath] = field(default_factory=list)
    facts: list[TemplateFact] = field(default_factory=list)
    bullets: list[Bullet] = field(default_factory=list)
    cluster_questions: list[ClusterQuestion] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    outcome_lines: list[int] = field(default_factory=list)
    tag_items: list[ListItem] = field(default_factory=list)
    results_heading: tuple[str, int] | None = None
    results_blocks: list[Block] = field(default_factory=list)
    results_end: int | None = None
    warnings: list[PlanWarning] = field(default_factory=list)


class _Walker:
    """One pass over the blocks; ``section``/``cluster``/``pending`` say where we are."""

    def __init__(self, path: str) -> None:
        self.draft = _Draft(path)
        self.section = "header"
        self.cluster: _ClusterDraft | None = None
        self.pending: str | None = None
        self.base: str | None = None
        self.date_seen = False

    # -- where things go -------------------------------------------------
    def _cluster_for_rows(self) -> _ClusterDraft:
        if self.cluster is not None:
            return self.cluster
        if self.draft.implicit is None:
            self.draft.implicit = _ClusterDraft(letter="", name="", line=None, implicit=True)
        return self.draft.implicit

    def _cluster_letter(self) -> str:
        return self.cluster.letter if self.cluster is not None else _IMPLICIT

    # -- blocks ------------------------------------------------------------
    def walk(self, blocks: list[Block]) -> _Draft:
        for block in blocks:
            pending, self.pending = self.pending, None
            if self.section == "results":
                if not _ends_results(block):
                    # The session's own report: kept as text, nothing in it is a planned file,
                    # a question or a cluster (its verdict tables have no File ID column).
                    self.draft.results_blocks.append(block)
                    continue
                self.draft.results_end = block.line
            handler = getattr(self, f"_on_{block.kind}", None)
            if handler is not None:
                handler(block, pending)
        return self.draft

    def _on_heading(self, block: Block, pending: str | None) -> None:
        text = collapse_space(plain_text(inline_children(block.inline)))
        level = int(block.tag[1:]) if block.tag[1:].isdigit() else 6
        if level == 1 and self.draft.title_line is None:
            match = _TITLE.match(text)
            session = match.group("session") if match else None
            self.draft.title_session = int(session) if session else None
            self.draft.title = (match.group("title").strip() if match else "") or text
            self.draft.title_line = block.line
            return
        match = _CLUSTER.match(text)
        if level <= 2:
            self.cluster = None
            key = text.split(":")[0].strip().lower()
            self.section = _SECTIONS.get(key, "other")
            if self.section == "target":
                self._target(text, block.line)
            elif self.section == "other" and _RESULTS.match(text) and self.draft.results_heading is None:
                self.section = "results"
                self.draft.results_heading = (text, block.line)
                return
        if level in (2, 3) and match:
            self._start_cluster(match, block.line)
        elif level == 3:
            self.cluster = None
        elif level > 3 and text.lower().startswith("key question"):
            self.pending = "questions"

    def _target(self, text: str, line: int) -> None:
        self.draft.target_line = line
        self.draft.target_files = _stated(_FILES, text)
        self.draft.target_loc = _stated(_LOC, text)
        self.draft.target_clusters = _stated(_CLUSTERS, text)

    def _start_cluster(self, match: re.Match[str], line: int) -> None:
        rest = match.group("rest").strip()
        stats = _STATS.search(rest)
        files = loc = None
        if stats and (_FILES.search(stats.group(1)) or _LOC.search(stats.group(1))):
            files, loc = _stated(_FILES, stats.group(1)), _stated(_LOC, stats.group(1))
            rest = rest[:stats.start()].strip()
        self.cluster = _ClusterDraft(letter=match.group("letter").upper(), name=rest, line=line,
                                     files=files, loc=loc)
        self.draft.clusters.append(self.cluster)

    def _on_paragraph(self, block: Block, pending: str | None) -> None:
        lines = split_lines(inline_children(block.inline))
        prose: list[str] = []
        for offset, children in enumerate(lines):
            line = block.line + offset
            if self.pending == "full_paths":
                numbered = _NUMBERED.match(plain_text(children))
                if numbered:
                    # "5. `path`" after "**Full paths**:" cannot start a list in
                    # CommonMark (only 1. may interrupt a paragraph): it stays here.
                    spans = code_spans(children)
                    text = spans[0] if spans else plain_text(children)[numbered.end():]
                    self._full_path(text, int(numbered.group(1)), line)
                    continue
            fld = field_line(children, line)
            if fld is None:
                prose.append(span_text(children))  # (only the rationale keeps prose: with its code spans)
            else:
                self._field(fld)
        if prose and self.section == "rationale":
            self.draft.rationale.append(collapse_space(" ".join(prose)))

    def _field(self, fld: FieldLine) -> None:
        name = fld.name.lower()
        draft = self.draft
        if name == "session id" or name == "session":
            draft.session_field = draft.session_field or fld
        elif name == "date" and not self.date_seen:
            self._date(fld)
        elif name == "focus" and draft.focus is None:
            draft.focus = fld.value
        elif name == "strategic value" and draft.strategic_value is None:
            draft.strategic_value = fld.value
        elif name.startswith("key question"):
            self.pending = "questions"
        elif name.startswith("full path"):
            bases = [s for s in code_spans(fld.rest) if s.startswith(("~", "/")) or "repos/" in s]
            if bases:
                self.base = bases[0]
            self.pending = "full_paths"
        elif name.startswith("repo path"):
            spans = code_spans(fld.rest)
            self.draft.repo_paths.append(RepoPath(spans[0] if spans else fld.value, fld.line,
                                                  self._cluster_letter()))
        elif name == "question":
            self.draft.cluster_questions.append(
                ClusterQuestion(self._cluster_letter(), collapse_space(fld.value), fld.line))
        elif name.startswith("target") and draft.target_line is None:
            self._target(fld.value, fld.line)
        elif self.section == "header" and self.cluster is None:
            draft.fields[fld.name] = fld.value

    def _date(self, fld: FieldLine) -> None:
        self.date_seen = True
        value = fld.value.strip()
        if "{" in value or "YYYY" in value.upper():
            self.draft.warnings.append(PlanWarning(
                DATE_PLACEHOLDER, fld.line, f"date is an unfilled placeholder {value}; treated as unknown"))
            return
        try:
            self.draft.date = _dt.date.fromisoformat(value[:10]).isoformat() if value else None
        except ValueError:
            self.draft.warnings.append(PlanWarning(
                DATE_UNREADABLE, fld.line, f"date {value!r} is not YYYY-MM-DD; treated as unknown"))

    def _full_path(self, text: str, number: int | None, line: int) -> None:
        self.draft.full_paths.append(FullPath(join_base(self.base, text), number, line,
                                              self._cluster_letter()))

    def _on_table(self, block: Block, pending: str | None) -> None:
        table = read_table(block)
        # Every table of a cluster is a file table; elsewhere only one that has
        # a File ID column (or, under the target heading, a File/Path column)
        # is: a summary table in a boilerplate section is not an error.
        wanted = (self.cluster is not None or has_id_column(table)
                  or (self.section == "target" and has_path_column(table)))
        if not wanted:
            return
        cluster = self._cluster_for_rows()
        for row in file_rows(table, self.draft.path):
            # A dash or "?" says the LOC is not known (the database has NULL): stated, not unreadable.
            if row.loc is None and not is_unknown_id_mark(row.loc_text):
                self.draft.warnings.append(PlanWarning(
                    LOC_UNREADABLE, row.line, f"file {row.file_id}: LOC {row.loc_text!r} is not a number"))
            cluster.rows.append(row)

    def _on_bullet_list(self, block: Block, pending: str | None) -> None:
        items = list_items(block)
        if pending == "questions" or self.section == "questions":
            self.draft.bullets.extend(Bullet(i.children, i.line, self._cluster_letter()) for i in items)
        elif pending == "full_paths":
            for item in items:
                spans = code_spans(item.children)
                self._full_path(spans[0] if spans else item.text, item.number, item.line)
        elif self.section == "outcomes":
            self.draft.outcomes.extend(i.text for i in items)
            self.draft.outcome_lines.extend(i.line for i in items)
        elif self.section == "domain_tags":
            self.draft.tag_items.extend(items)
        elif self.section == "rationale":
            # A list stays a list (one "- item" line per item), its code spans with their backticks:
            # the session page shows it as the plan wrote it (kbgen.render.pages.rationale_md).
            ordered = block.kind == "ordered_list"
            self.draft.rationale.append("\n".join(
                f"{(i.number or n) if ordered else '-'}{'.' if ordered else ''} {collapse_space(span_text(i.children))}"
                for n, i in enumerate(items, start=1)))

    _on_ordered_list = _on_bullet_list

    def _on_fence(self, block: Block, pending: str | None) -> None:
        self.draft.facts.extend(template_facts(block.content, block.line + 1))

    def _on_code_block(self, block: Block, pending: str | None) -> None:
        self.draft.facts.extend(template_facts(block.content, block.line))


def _ends_results(block: Block) -> bool:
    """A heading of level 1 or 2 closes a Results section (``### Cluster A Verdict`` stays in it)."""
    return block.kind == "heading" and block.tag in ("h1", "h2")


def _session(draft: _Draft, given: int | None) -> int:
    """The session number from the title and/or the Session ID field, which must agree.

    ``given`` is the user's ``--session``: it numbers a plan that states no
    session (a dated plan) and must agree with one that does.
    """
    title_line = draft.title_line or 1
    fld = draft.session_field
    field_session: int | None = None
    if fld is not None:
        match = _SESSION_FIELD.match(fld.value)
        if match is None and draft.title_session is None:
            raise PlanParseError(f"Session ID {fld.value!r} is not a number",
                                 path=draft.path, line=fld.line)
        if match is None:
            draft.warnings.append(PlanWarning(
                SESSION_ID_UNREADABLE, fld.line,
                f"Session ID {fld.value!r} is not a number; using the title's R{draft.title_session}"))
        field_session = int(match.group(1)) if match else None
    if draft.title_session is not None and field_session is not None \
            and draft.title_session != field_session and fld is not None:
        raise PlanParseError(f"Session ID {field_session} contradicts the title's R{draft.title_session}",
                             path=draft.path, line=fld.line)
    session = draft.title_session if draft.title_session is not None else field_session
    if session is None and given is None:
        raise PlanParseError("no session number: the title has no R<n> and there is no Session ID field",
                             path=draft.path, line=title_line,
                             hint="give it on the command line: --session N")
    if session is not None and given is not None and session != given:
        where = fld.line if fld is not None and field_session == session else title_line
        raise PlanParseError(f"--session {given} contradicts the plan's own R{session}",
                             path=draft.path, line=where)
    return session if session is not None else int(given or 0)


def parse_plan(text: str, source: str, *, session: int | None = None) -> Plan:
    """Parse the markdown ``text`` of one plan; ``source`` names it in messages and output.

    ``session`` is the number the user gives for a plan that states none
    (``--session``). Raises ``PlanParseError`` (with ``path=source`` and a
    1-based line) when the plan cannot be used; everything else becomes
    ``Plan.warnings``.
    """
    text = normalise_newlines(text)
    blocks = parse_blocks(text)
    draft = _Walker(source).walk(blocks)
    stated = draft.title_session is not None or draft.session_field is not None
    number = _session(draft, session)
    warnings = list(draft.warnings)

    clusters = list(draft.clusters)
    if draft.implicit is not None:
        implicit = draft.implicit
        implicit.letter = "A" if not clusters else "0"
        implicit.name = draft.title
        implicit.line = implicit.rows[0].line if implicit.rows else None
        clusters.insert(0, implicit)
    rows: list[tuple[FileRow, str]] = []
    first_seen: dict[int | str, int] = {}
    for cluster in clusters:
        for row in cluster.rows:
            key: int | str = row.file_id if row.file_id is not None else f"{cluster.letter}:{row.path}"
            if key in first_seen:
                what = f"File ID {row.file_id}" if row.file_id is not None else f"the file {row.path} (no ID)"
                warnings.append(PlanWarning(
                    DUPLICATE_FILE_ID, row.line,
                    f"{what} appears twice (first at line {first_seen[key]}); keeping the first row"))
                continue
            first_seen[key] = row.line
            rows.append((row, cluster.letter))
    full_paths = [FullPath(p.text, p.number, p.line, _real_letter(p.cluster, clusters))
                  for p in draft.full_paths]
    repo_paths = [RepoPath(p.text, p.line, _real_letter(p.cluster, clusters)) for p in draft.repo_paths]
    files, merge_warnings = merge_files(rows, full_paths, repo_paths, draft.facts)
    warnings.extend(merge_warnings)

    for cluster in clusters:
        warnings.extend(check_cluster(cluster.letter, cluster.line, cluster.files, cluster.loc,
                                      [r.loc for r in cluster.rows]))
    warnings.extend(check_target(draft.target_line, draft.target_files, draft.target_loc,
                                 draft.target_clusters, [f.loc for f in files], len(clusters)))
    bullets = [Bullet(b.children, b.line, _real_letter(b.cluster, clusters)) for b in draft.bullets]
    questions, question_warnings = bind_questions(bullets, files, number)
    warnings.extend(question_warnings)
    warnings.extend(placeholder_notes(questions))

    file_ids = tuple(f.file_id for f in files if f.file_id is not None)
    cluster_questions = [ClusterQuestion(_real_letter(q.cluster, clusters), q.text, q.line)
                         for q in draft.cluster_questions]
    warnings.sort(key=lambda w: (w.line if w.line is not None else 0))
    return Plan(
        source=source, session=number, title=draft.title, date=draft.date, focus=draft.focus,
        strategic_value=draft.strategic_value,
        rationale="\n\n".join(draft.rationale) or None,
        target_files=draft.target_files.value if draft.target_files else None,
        target_loc=draft.target_loc.value if draft.target_loc else None,
        target_clusters=draft.target_clusters.value if draft.target_clusters else None,
        clusters=tuple(Cluster(c.letter, c.name, c.files.value if c.files else None,
                               c.loc.value if c.loc else None, c.line,
                               tuple(f.file_id for f in files if f.cluster == c.letter), c.implicit,
                               tuple(f.path for f in files if f.cluster == c.letter))
                       for c in clusters),
        files=tuple(files), questions=tuple(questions), cluster_questions=tuple(cluster_questions),
        outcomes=tuple(draft.outcomes), domain_tags=tuple(domain_tags(draft.tag_items, file_ids)),
        warnings=tuple(warnings), fields=dict(draft.fields),
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        expectations=tuple(expectations(draft.outcomes, draft.outcome_lines)),
        results=_results(draft, text), session_given=not stated)


def _real_letter(letter: str | None, clusters: list[_ClusterDraft]) -> str | None:
    """Facts gathered outside any cluster belong to the implicit one, once it has a letter."""
    if letter == _IMPLICIT:
        implicit = next((c for c in clusters if c.implicit), None)
        return implicit.letter if implicit else None
    return letter


def _results(draft: _Draft, text: str) -> Results | None:
    """The Results section as the plan wrote it (source lines) and as plain-text blocks."""
    if draft.results_heading is None:
        return None
    title, line = draft.results_heading
    lines = text.split("\n")
    end = len(lines)
    if draft.results_end is not None:
        end = draft.results_end - 1
    body = "\n".join(lines[line:end]).strip("\n")
    return Results(title=title, line=line, text=body, blocks=tuple(results_blocks(draft.results_blocks)))


def parse_plan_file(path: str | Path, *, session: int | None = None) -> Plan:
    """Read and parse one plan file; an unreadable file is a ``PlanParseError`` too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanParseError(f"cannot read plan: {exc}", path=path) from exc
    return parse_plan(text, str(path), session=session)
