"""The snapshot: what the database says, resolved into plain frozen data.

Pages are pure functions of a :class:`Snapshot`; nothing downstream talks to
the database. Every collection is in a deterministic order (by id or by an
explicit key) so the same database always renders to the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kbgen import vocab

if TYPE_CHECKING:  # the plan parser (markdown-it) is imported only by what reads plans
    from kbgen.plan.model import Plan


@dataclass(frozen=True)
class Package:
    id: int
    name: str
    base_path: str | None
    repo_url: str | None
    description: str | None
    total_files: int | None
    total_loc: int | None


@dataclass(frozen=True)
class File:
    id: int
    package_id: int | None
    package: str
    path: str
    loc: int | None
    depth: str
    depth_raw: str | None
    lines_read: int | None
    last_read_date: str | None
    notes: str | None

    @property
    def need_id(self) -> str:
        return f"FILE{self.id}"

    @property
    def depth_shown(self) -> str:
        return vocab.depth_shown(self.depth, self.depth_raw)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Domain:
    id: int
    name: str
    description: str | None
    priority: str
    priority_raw: str | None
    synthesis_path: str | None


@dataclass(frozen=True)
class Session:
    id: int
    name: str
    number: int
    date: str | None
    focus: str | None
    agent_count: int | None
    notes: str | None

    @property
    def need_id(self) -> str:
        return f"S{self.id}"

    @property
    def label(self) -> str:
        return self.name or f"R{self.number}"


@dataclass(frozen=True)
class FileRead:
    id: int
    file_id: int
    session_id: int | None
    depth: str
    depth_raw: str | None
    lines_read: int | None
    line_ranges: str | None
    notes: str | None

    @property
    def depth_shown(self) -> str:
        return vocab.depth_shown(self.depth, self.depth_raw)


@dataclass(frozen=True)
class Finding:
    id: int
    file_id: int | None
    session_id: int | None
    line_start: int | None
    line_end: int | None
    severity: str
    severity_raw: str | None
    category: str
    category_raw: str | None
    description: str
    followed_up: bool

    @property
    def need_id(self) -> str:
        return f"F{self.id}"

    @property
    def category_shown(self) -> str:
        """The category a finding is grouped under, and the recorded text where it differs:
        ``fabricated-data (Fabrication)``."""
        raw = (self.category_raw or "").strip()
        return self.category if not raw or raw == self.category else f"{self.category} ({raw})"

    @property
    def severity_shown(self) -> str:
        """The normalised severity, and the recorded spelling where it is another word: ``MEDIUM (moderate)``.

        Case and spacing are no other spelling of a severity (``High`` is HIGH), as the
        vocabulary folds them; a recorded ``Med`` or ``moderate`` is worth showing.
        """
        raw = (self.severity_raw or "").strip()
        return self.severity if not raw or vocab.severity_key(raw) == self.severity else f"{self.severity} ({raw})"

    @property
    def lines(self) -> str:
        if self.line_start is None:
            return ""
        if self.line_end is None or self.line_end == self.line_start:
            return str(self.line_start)
        return f"{self.line_start}-{self.line_end}"


@dataclass(frozen=True)
class Dependency:
    id: int
    source_file_id: int
    target_file_id: int
    relationship: str
    evidence: str | None
    verified: bool


@dataclass(frozen=True)
class PackageDependency:
    source_package_id: int
    target_package_id: int
    relationship: str
    notes: str | None


@dataclass(frozen=True)
class ExcludePath:
    pattern: str
    reason: str | None


@dataclass(frozen=True)
class PlanRecord:
    """A stored plan: where it was imported from, and what it says (typed, :mod:`kbgen.plan.model`)."""

    session: int
    source_path: str
    content_hash: str
    data: dict[str, Any]
    """The plan as stored (the ``plan parse --json`` shape)."""

    @cached_property
    def plan(self) -> Plan:
        """The same plan, typed."""
        from kbgen.plan.model import Plan

        return Plan.from_json(self.data)


@dataclass(frozen=True)
class Question:
    id: str
    session: int
    file_id: int | None
    file_ids: tuple[int, ...]
    cluster: str | None
    text: str
    ordinal: int
    line: int | None
    paths: tuple[str, ...] = ()
    """Planned paths the bullet names, files without an ID included (from the stored plan)."""

    @property
    def need_id(self) -> str:
        return self.id

    @property
    def cluster_level(self) -> bool:
        """A question that names no planned file: it asks about its cluster as a whole."""
        return not self.file_ids and not self.paths


#: Kinds of inferred answers (``Answer.inferred_from``, the question need's ``inferred_from`` option).
FROM_FILE = "file"
FROM_CLUSTER = "cluster"

#: How a question's status reads on pages and in the terminal, by (status, inferred_from).
#: The label of a question answered explicitly but only in part (status ``answered``).
PARTLY_ANSWERED = "partly answered"
STATUS_LABELS: dict[tuple[str, str | None], str] = {
    ("open", None): "open",
    ("answered", None): "answered",
    ("inferred", FROM_FILE): "inferred from the file",
    ("inferred", FROM_CLUSTER): "inferred from the cluster",
}


@dataclass(frozen=True)
class Answer:
    """A finding that answers a question.

    ``inferred`` answers come from the data, not from ``kbgen answer``:
    ``inferred_from`` says how — ``"file"``, a finding on the question's file
    from the question's session; ``"cluster"``, a finding from that session on
    a file of the question's cluster, for a question that names no file.
    """

    question_id: str
    finding_id: int
    inferred: bool
    partial: bool = False
    note: str | None = None
    inferred_from: str | None = None


@dataclass(frozen=True)
class RecordedRow:
    """A research row ``kbgen record`` wrote for a session (``kbgen_record_keys``).

    The research tables do not say which session added a dependency edge, nor what a file's
    depth was before a session read it; kbgen's record of the worksheet does.
    """

    session_id: int
    kind: str  # "read" (file_reads.id) or "dependency" (dependencies.id)
    row_id: int
    created: bool  # dependency: this session's worksheet added the edge (not found again)
    prior_depth: str | None  # read: the file's depth in the files table before the read


@dataclass(frozen=True)
class TextAnswer:
    """A question answered in words (``kbgen record``): full or partial, with a short verdict."""

    question_id: str
    answer: str  # full | partial
    verdict: str | None

    @property
    def partial(self) -> bool:
        return self.answer == "partial"


@dataclass(frozen=True)
class Label:
    domain: str
    letter: str
    number: int
    finding_id: int

    @property
    def text(self) -> str:
        return f"{self.letter}{self.number}"


@dataclass(frozen=True)
class FindingStatus:
    finding_id: int
    status: str  # resolved | superseded
    session_id: int | None
    superseded_by: int | None
    reason: str | None


@dataclass(frozen=True)
class Snapshot:
    """Everything a sync renders, loaded in one pass."""

    packages: tuple[Package, ...]
    files: tuple[File, ...]
    domains: tuple[Domain, ...]
    file_domains: tuple[tuple[int, int], ...]
    sessions: tuple[Session, ...]
    reads: tuple[FileRead, ...]
    findings: tuple[Finding, ...]
    dependencies: tuple[Dependency, ...]
    package_dependencies: tuple[PackageDependency, ...]
    exclude_paths: tuple[ExcludePath, ...]
    plans: tuple[PlanRecord, ...] = ()
    questions: tuple[Question, ...] = ()
    explicit_answers: tuple[Answer, ...] = ()
    labels: tuple[Label, ...] = ()
    statuses: tuple[FindingStatus, ...] = ()
    text_answers: tuple[TextAnswer, ...] = ()
    recorded: tuple[RecordedRow, ...] = ()
    positive_categories: frozenset[str] = field(default_factory=frozenset)

    # -- lookups -----------------------------------------------------------------
    @cached_property
    def package_by_id(self) -> dict[int, Package]:
        return {p.id: p for p in self.packages}

    @cached_property
    def file_by_id(self) -> dict[int, File]:
        return {f.id: f for f in self.files}

    @cached_property
    def session_by_id(self) -> dict[int, Session]:
        return {s.id: s for s in self.sessions}

    @cached_property
    def session_by_number(self) -> dict[int, Session]:
        """R-number → session; an exact ``id`` match wins over a parsed name."""
        result: dict[int, Session] = {}
        for s in self.sessions:
            result.setdefault(s.number, s)
        for s in self.sessions:
            if s.name and s.name.upper() == f"R{s.id}":
                result[s.id] = s
        return result

    @cached_property
    def domain_by_id(self) -> dict[int, Domain]:
        return {d.id: d for d in self.domains}

    @cached_property
    def domain_by_name(self) -> dict[str, Domain]:
        return {d.name: d for d in self.domains}

    @cached_property
    def finding_by_id(self) -> dict[int, Finding]:
        return {f.id: f for f in self.findings}

    @cached_property
    def domains_of_file(self) -> dict[int, tuple[str, ...]]:
        acc: dict[int, list[str]] = defaultdict(list)
        for file_id, domain_id in self.file_domains:
            domain = self.domain_by_id.get(domain_id)
            if domain is not None:
                acc[file_id].append(domain.name)
        return {k: tuple(sorted(set(v))) for k, v in acc.items()}

    @cached_property
    def files_of_domain(self) -> dict[str, tuple[File, ...]]:
        acc: dict[str, list[File]] = defaultdict(list)
        for file_id, names in self.domains_of_file.items():
            f = self.file_by_id.get(file_id)
            if f is not None:
                for name in names:
                    acc[name].append(f)
        return {k: tuple(sorted(v, key=file_sort_key)) for k, v in acc.items()}

    @cached_property
    def findings_of_file(self) -> dict[int, tuple[Finding, ...]]:
        return _group(self.findings, lambda f: f.file_id)

    @cached_property
    def findings_of_session(self) -> dict[int | None, tuple[Finding, ...]]:
        return _group(self.findings, lambda f: f.session_id)

    @cached_property
    def reads_of_session(self) -> dict[int | None, tuple[FileRead, ...]]:
        return _group(self.reads, lambda r: r.session_id)

    @cached_property
    def reads_of_file(self) -> dict[int, tuple[FileRead, ...]]:
        return _group(self.reads, lambda r: r.file_id)

    @cached_property
    def deps_out(self) -> dict[int, tuple[Dependency, ...]]:
        return _group(self.dependencies, lambda d: d.source_file_id)

    @cached_property
    def deps_in(self) -> dict[int, tuple[Dependency, ...]]:
        return _group(self.dependencies, lambda d: d.target_file_id)

    @cached_property
    def plan_by_session(self) -> dict[int, PlanRecord]:
        return {p.session: p for p in self.plans}

    @cached_property
    def questions_of_session(self) -> dict[int, tuple[Question, ...]]:
        return _group(self.questions, lambda q: q.session)

    @cached_property
    def questions_of_file(self) -> dict[int, tuple[Question, ...]]:
        acc: dict[int, list[Question]] = defaultdict(list)
        for q in self.questions:
            for fid in q.file_ids:
                acc[fid].append(q)
        return {k: tuple(v) for k, v in acc.items()}

    @cached_property
    def text_answer_of(self) -> dict[str, TextAnswer]:
        """question id → its answer in words, for questions of imported plans."""
        return {a.question_id: a for a in self.text_answers}

    @cached_property
    def status_of_finding(self) -> dict[int, FindingStatus]:
        return {s.finding_id: s for s in self.statuses}

    @cached_property
    def superseded_by_me(self) -> dict[int, tuple[int, ...]]:
        """finding id → the findings it supersedes (the reverse of superseded_by)."""
        acc: dict[int, list[int]] = defaultdict(list)
        for s in self.statuses:
            if s.status == "superseded" and s.superseded_by is not None:
                acc[s.superseded_by].append(s.finding_id)
        return {k: tuple(sorted(v)) for k, v in acc.items()}

    @cached_property
    def labels_of_finding(self) -> dict[int, tuple[Label, ...]]:
        return _group(self.labels, lambda lab: lab.finding_id)

    @cached_property
    def labels_of_domain(self) -> dict[str, tuple[Label, ...]]:
        return _group(self.labels, lambda lab: lab.domain)

    @cached_property
    def domains_of_finding(self) -> dict[int, tuple[str, ...]]:
        return {f.id: self.domains_of_file.get(f.file_id or -1, ()) for f in self.findings}

    @cached_property
    def first_deep_read(self) -> dict[int, tuple[int, int]]:
        """File id → (number, id) of the first session that read it DEEP (sessions in R-number order)."""
        first: dict[int, tuple[int, int]] = {}
        for read in self.reads:
            session = self.session_by_id.get(read.session_id) if read.session_id is not None else None
            if read.depth != "DEEP" or session is None:
                continue
            key = (session.number, session.id)
            if read.file_id not in first or key < first[read.file_id]:
                first[read.file_id] = key
        return first

    @cached_property
    def deep_file_ids(self) -> tuple[int, ...]:
        """Files at depth DEEP today (the ``files`` table's own depth)."""
        return tuple(f.id for f in self.files if f.depth == "DEEP")

    @cached_property
    def cluster_files(self) -> dict[tuple[int, str], tuple[int, ...]]:
        """(session number, cluster letter) → the IDs of the cluster's planned files, from the stored plans."""
        result: dict[tuple[int, str], tuple[int, ...]] = {}
        for plan in self.plans:
            for cluster in plan.data.get("clusters") or []:
                letter = cluster.get("letter")
                if letter is None:
                    continue
                ids = [int(i) for i in cluster.get("files") or [] if i is not None]
                result[(plan.session, str(letter))] = tuple(dict.fromkeys(ids))
        return result

    # -- answers -----------------------------------------------------------------
    @cached_property
    def answers_of_question(self) -> dict[str, tuple[Answer, ...]]:
        """Explicit links take precedence; otherwise infer from the session's findings.

        A question that names files is answered by the session's findings on
        those files (``inferred_from="file"``); a question that names no file
        (a cluster-level question) by the session's findings on any file of
        its cluster (``inferred_from="cluster"``). A question about a file the
        database does not know yet stays open.

        A question answered in words (a text answer) is answered explicitly: only the findings
        linked to it explicitly are its answers, none are inferred.
        """
        explicit = _group(
            [a for a in self.explicit_answers if a.finding_id in self.finding_by_id],
            lambda a: a.question_id)
        result: dict[str, tuple[Answer, ...]] = {}
        for q in self.questions:
            if q.id in explicit:
                result[q.id] = explicit[q.id]
                continue
            if q.id in self.text_answer_of:
                continue
            session = self.session_by_number.get(q.session)
            if session is None:
                continue
            if q.cluster_level:
                file_ids, kind = self.cluster_files.get((q.session, q.cluster or ""), ()), FROM_CLUSTER
            else:
                file_ids, kind = q.file_ids, FROM_FILE
            inferred = {
                f.id
                for fid in file_ids
                for f in self.findings_of_file.get(fid, ())
                if f.session_id == session.id
            }
            if inferred:
                result[q.id] = tuple(Answer(q.id, fid, inferred=True, inferred_from=kind) for fid in sorted(inferred))
        return result

    @cached_property
    def questions_of_finding(self) -> dict[int, tuple[Answer, ...]]:
        acc: dict[int, list[Answer]] = defaultdict(list)
        for answers in self.answers_of_question.values():
            for a in answers:
                acc[a.finding_id].append(a)
        return {k: tuple(sorted(v, key=lambda a: a.question_id)) for k, v in acc.items()}

    def question_status(self, question_id: str) -> str:
        """``answered`` (explicit link or text answer), ``inferred`` or ``open``."""
        answers = self.answers_of_question.get(question_id, ())
        if question_id in self.text_answer_of:
            return "answered"
        if not answers:
            return "open"
        return "inferred" if all(a.inferred for a in answers) else "answered"

    def question_inference(self, question_id: str) -> str | None:
        """How an inferred question was answered (``"file"``/``"cluster"``); None when not inferred."""
        answers = self.answers_of_question.get(question_id, ())
        if not answers or not all(a.inferred for a in answers):
            return None
        return answers[0].inferred_from

    def question_partly(self, question_id: str) -> bool:
        """Answered explicitly, but only in part: its answer in words says ``partial`` (or, without
        one, every finding linked to it was linked ``--partial``). The status stays ``answered``;
        the need's ``answer`` field and the label ("partly answered") say the rest."""
        if self.question_status(question_id) != "answered":
            return False
        text = self.text_answer_of.get(question_id)
        if text is not None:
            return text.partial
        answers = self.answers_of_question.get(question_id, ())
        return bool(answers) and all(a.partial for a in answers)

    def question_label(self, question_id: str) -> str:
        """The status as pages show it: open, answered, partly answered, inferred from the file / from the cluster."""
        if self.question_partly(question_id):
            return PARTLY_ANSWERED
        status = self.question_status(question_id)
        return STATUS_LABELS.get((status, self.question_inference(question_id)), status)

    def is_positive(self, finding: Finding) -> bool:
        return finding.category in self.positive_categories

    def finding_status_text(self, finding_id: int) -> str:
        """``Open`` / ``Resolved in R<n>`` / ``Superseded by R<n>: reason``."""
        status = self.status_of_finding.get(finding_id)
        if status is None:
            return "Open"
        if status.status == "resolved":
            session = self.session_by_id.get(status.session_id or -1)
            return f"Resolved in {session.label}" if session else "Resolved"
        later = self.finding_by_id.get(status.superseded_by or -1)
        session = self.session_by_id.get(later.session_id or -1) if later else None
        where = f" by {session.label}" if session else ""
        reason = f": {status.reason}" if status.reason else ""
        return f"Superseded{where}{reason}"


def file_sort_key(f: File) -> tuple[str, str, int]:
    return (f.package, f.path, f.id)


def _group(items: Any, key: Any) -> dict[Any, tuple[Any, ...]]:
    acc: dict[Any, list[Any]] = defaultdict(list)
    for item in items:
        acc[key(item)].append(item)
    return {k: tuple(v) for k, v in acc.items()}


def strongest(depths: list[str]) -> str:
    return max(depths, key=vocab.depth_rank) if depths else "NOT_TOUCHED"
