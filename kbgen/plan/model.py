"""The plan model: what an execution plan says, as plain frozen data.

Parsing (``kbgen.plan.parser``) and storing/rendering plans are separate jobs;
this module is the contract between them. It holds no markdown, no tokens
and no I/O, so the importer, the CLI's ``plan parse --json`` and the page
renderer can all work from the same values. Text fields are plain text: the
parser has already dropped inline markup (backticks, emphasis).

Line numbers are 1-based lines of the plan file, so a message can point a
user at the exact place to fix.

``to_json()`` gives the ``plan parse --json`` shape (the plan format of the
reference docs, docs/reference/plans.md). Keys listed there are never
renamed; extra keys (``repo``, ``rationale``, warning ``code`` and
``severity``...) only add. ``from_json()`` reads that shape back: kbgen stores
it in ``kbgen_plans.data`` and the snapshot holds plans as these types. It
accepts what earlier kbgen versions stored (missing keys take their defaults).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kbgen.errors import KbWarning

# Warning codes. A code lets a user silence one kind of warning; the message
# says what is wrong. Codes in INFO_CODES are informational: they are kept
# and shown, but a plan with only those "imports with no warnings".
CLUSTER_FILES_MISMATCH = "plan.cluster-files-mismatch"
CLUSTER_LOC_MISMATCH = "plan.cluster-loc-mismatch"
TARGET_FILES_MISMATCH = "plan.target-files-mismatch"
TARGET_LOC_MISMATCH = "plan.target-loc-mismatch"
TARGET_CLUSTERS_MISMATCH = "plan.target-clusters-mismatch"
QUESTION_UNKNOWN_FILE = "plan.question-unknown-file"
QUESTION_AMBIGUOUS_FILE = "plan.question-ambiguous-file"
DUPLICATE_FILE_ID = "plan.duplicate-file-id"
DATE_PLACEHOLDER = "plan.date-placeholder"
DATE_UNREADABLE = "plan.date-unreadable"
LOC_UNREADABLE = "plan.loc-unreadable"
FACT_CONFLICT = "plan.fact-conflict"
FULL_PATH_UNMATCHED = "plan.full-path-unmatched"
FILE_NOT_IN_DATABASE = "plan.file-not-in-database"
PATH_AMBIGUOUS = "plan.path-ambiguous"
SESSION_REPLACED = "plan.session-replaced"
SESSION_ID_UNREADABLE = "plan.session-id-unreadable"
QUESTION_PLACEHOLDER = "plan.placeholder-question"

#: The mark ``kbgen plan draft`` writes where a researcher has to write the question; a key
#: question still carrying it is a template slot, not a question (``QUESTION_PLACEHOLDER``).
PLACEHOLDER_MARK = "TODO (researcher):"

# A placeholder question is a note, as a placeholder date is: a drafted plan is a template with
# slots to fill, and "plan parse reads a draft with no warnings" still holds. plan import and
# session start --plan say, once, how many questions are still placeholders.
INFO_CODES = frozenset({DATE_PLACEHOLDER, QUESTION_PLACEHOLDER})


@dataclass(frozen=True)
class PlanWarning:
    """Something odd in a plan that did not stop the parse."""

    code: str
    line: int | None
    message: str

    @property
    def informational(self) -> bool:
        """True for notes such as an unfilled date template, which are not problems."""
        return self.code in INFO_CODES

    @property
    def severity(self) -> str:
        return "info" if self.informational else "warning"

    def to_kb_warning(self, path: str | None = None) -> KbWarning:
        """The project-wide warning type, for the CLI's common reporting path."""
        return KbWarning(code=self.code, message=self.message, path=path, line=self.line)

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message, "code": self.code,
                "severity": self.severity}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanWarning:
        return cls(code=str(data.get("code") or ""), line=_opt_int(data.get("line")),
                   message=str(data.get("message") or ""))


@dataclass(frozen=True)
class PlannedFile:
    """One planned file, merged from its table row, full-path entry and template comment.

    ``file_id`` is None for a file the plan knows by path only (a dash, ``?``
    or ``TBD`` in the File ID column: new since the inventory). ``plan
    import`` looks such a file up by package root and path and, when the
    database has it, stores the plan with that ID and ``resolved_by="path"``.
    """

    file_id: int | None
    path: str
    loc: int | None
    context: str | None
    package: str | None
    tier: str | None
    repo: str | None
    domain: str | None
    cluster: str
    line: int
    repo_path: str | None = None
    """Path from the repository root, when the plan's full paths say it."""
    extra: dict[str, str] = field(default_factory=dict, hash=False)
    """Cells of columns the parser does not interpret (e.g. ``Connects To``)."""
    resolved_by: str | None = None
    """``"path"`` when the plan gave no ID and ``plan import`` found the file by its path."""

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "path": self.path, "loc": self.loc,
                "context": self.context, "package": self.package, "tier": self.tier,
                "cluster": self.cluster, "repo": self.repo, "repo_path": self.repo_path,
                "domain": self.domain, "line": self.line, "extra": dict(self.extra),
                "resolved_by": self.resolved_by}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedFile:
        return cls(file_id=_opt_int(data.get("file_id")), path=str(data.get("path") or ""),
                   loc=_opt_int(data.get("loc")), context=data.get("context"), package=data.get("package"),
                   tier=data.get("tier"), repo=data.get("repo"), domain=data.get("domain"),
                   cluster=str(data.get("cluster") or ""), line=int(data.get("line") or 0),
                   repo_path=data.get("repo_path"),
                   extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
                   resolved_by=data.get("resolved_by"))


@dataclass(frozen=True)
class Cluster:
    """A group of planned files; plans without cluster headings get one implicit cluster."""

    letter: str
    name: str
    stated_files: int | None
    stated_loc: int | None
    line: int | None
    file_ids: tuple[int | None, ...]
    """The IDs of the cluster's files in table order; None for a file known by path only."""
    implicit: bool = False
    paths: tuple[str, ...] = ()
    """The paths of the cluster's files, in the same order as ``file_ids``."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "letter": self.letter, "stated_files": self.stated_files,
                "stated_loc": self.stated_loc, "files": list(self.file_ids), "paths": list(self.paths),
                "implicit": self.implicit, "line": self.line}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cluster:
        return cls(letter=str(data.get("letter") or ""), name=str(data.get("name") or ""),
                   stated_files=_opt_int(data.get("stated_files")), stated_loc=_opt_int(data.get("stated_loc")),
                   line=_opt_int(data.get("line")), file_ids=tuple(_opt_int(i) for i in data.get("files") or ()),
                   implicit=bool(data.get("implicit")), paths=tuple(str(p) for p in data.get("paths") or ()))


@dataclass(frozen=True)
class Question:
    """A key-question bullet, bound to the plan files it names.

    ``id`` follows the traceability contract: ``Q<session>-<file id>`` for the
    first bullet whose first-named file (with an ID) is that file, ``-2``,
    ``-3``... for later ones, ``Q<session>-N<n>`` for the n-th bullet naming
    no plan file with an ID. ``ordinal`` is that n (1 for the first bullet of
    a file). The ID depends on the plan's text only, never on the database,
    so ``plan parse`` and ``plan import`` agree and it does not move when the
    inventory learns a new file.

    ``file_ids`` are the IDs of the planned files the bullet names; ``paths``
    the planned paths of every file it names, those without an ID included
    (a question about a new file is still bound to it). ``planned`` indexes
    the same files in ``Plan.files``.
    """

    id: str
    text: str
    file_ids: tuple[int, ...]
    line: int
    ordinal: int
    cluster: str | None
    paths: tuple[str, ...] = ()
    planned: tuple[int, ...] = ()

    @property
    def bound(self) -> bool:
        """Whether the bullet names at least one planned file (with or without an ID)."""
        return bool(self.planned)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "file_ids": list(self.file_ids),
                "paths": list(self.paths), "line": self.line, "ordinal": self.ordinal,
                "cluster": self.cluster}

    @classmethod
    def from_json(cls, data: dict[str, Any], files: Sequence[PlannedFile] = ()) -> Question:
        """The question of a ``to_json()`` dict; ``files`` (the plan's) give back ``planned``,
        which the JSON shape does not hold: the indexes of the files it names, by path (by ID
        for what earlier versions stored without paths)."""
        file_ids = tuple(int(i) for i in data.get("file_ids") or ())
        paths = tuple(str(p) for p in data.get("paths") or ())
        cluster = data.get("cluster")
        planned: list[int] = []
        for path in paths:
            matches = [i for i, f in enumerate(files) if f.path == path]
            own = [i for i in matches if files[i].cluster == cluster]
            if matches:
                planned.append((own or matches)[0])
        if not paths:
            planned = [i for i, f in enumerate(files) if f.file_id is not None and f.file_id in file_ids]
        return cls(id=str(data["id"]), text=str(data.get("text") or ""), file_ids=file_ids,
                   line=int(data.get("line") or 0), ordinal=int(data.get("ordinal") or 1), cluster=cluster,
                   paths=paths, planned=tuple(planned))


@dataclass(frozen=True)
class ClusterQuestion:
    """A ``**Question:**`` line that asks about a whole cluster, not one file."""

    cluster: str | None
    text: str
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "text": self.text, "line": self.line}

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> ClusterQuestion:
        if isinstance(data, str):  # stored by early versions as bare text
            return cls(cluster=None, text=data, line=0)
        return cls(cluster=data.get("cluster"), text=str(data.get("text") or ""), line=int(data.get("line") or 0))


@dataclass(frozen=True)
class DomainTag:
    """One ``## Domain Tags`` bullet: these files belong to these domains."""

    file_ids: tuple[int, ...]
    domains: tuple[str, ...]
    line: int
    all_files: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"file_ids": list(self.file_ids), "domains": list(self.domains),
                "line": self.line, "all_files": self.all_files}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DomainTag:
        return cls(file_ids=tuple(int(i) for i in data.get("file_ids") or ()),
                   domains=tuple(str(d) for d in data.get("domains") or ()), line=int(data.get("line") or 0),
                   all_files=bool(data.get("all_files")))


@dataclass(frozen=True)
class Expectation:
    """A figure an expected outcome states, e.g. ``New findings: ~50-70``.

    ``low``..``high`` is the expected range (equal for a single figure);
    ``approx`` is true when the plan wrote ``~``. ``before`` is the starting
    figure of a ``before → after`` outcome (``DEEP count: ~1,366 → ~1,375``):
    a fact the plan quotes, not an expectation. ``outcome`` is the 1-based
    position of the outcome in the plan's list.
    """

    kind: str
    low: int
    high: int
    approx: bool
    text: str
    outcome: int
    line: int | None
    before: int | None = None
    before_approx: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "low": self.low, "high": self.high, "approx": self.approx,
                "before": self.before, "before_approx": self.before_approx, "text": self.text,
                "outcome": self.outcome, "line": self.line}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Expectation:
        return cls(kind=str(data.get("kind") or ""), low=int(data.get("low") or 0), high=int(data.get("high") or 0),
                   approx=bool(data.get("approx")), text=str(data.get("text") or ""),
                   outcome=int(data.get("outcome") or 0), line=_opt_int(data.get("line")),
                   before=_opt_int(data.get("before")), before_approx=bool(data.get("before_approx")))


@dataclass(frozen=True)
class ResultsBlock:
    """One block of a plan's Results section, as plain text (it is shown, never interpreted).

    ``kind`` is ``heading`` (``level``, ``text``), ``paragraph`` (``text``),
    ``table`` (``rows``, the header first), ``list`` (``items``, ``ordered``)
    or ``code`` (``text``).
    """

    kind: str
    text: str = ""
    level: int = 0
    rows: tuple[tuple[str, ...], ...] = ()
    items: tuple[str, ...] = ()
    ordered: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("heading", "paragraph", "code"):
            data["text"] = self.text
        if self.kind == "heading":
            data["level"] = self.level
        if self.kind == "table":
            data["rows"] = [list(r) for r in self.rows]
        if self.kind == "list":
            data["items"] = list(self.items)
            data["ordered"] = self.ordered
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResultsBlock:
        return cls(kind=str(data.get("kind") or ""), text=str(data.get("text") or ""),
                   level=int(data.get("level") or 0),
                   rows=tuple(tuple(str(c) for c in row) for row in data.get("rows") or ()),
                   items=tuple(str(i) for i in data.get("items") or ()), ordered=bool(data.get("ordered")))


@dataclass(frozen=True)
class Results:
    """The ``## Results`` section of a plan written after its session: the session's own report.

    ``text`` is the section as written (markdown source); ``blocks`` the same
    as plain-text structure, which the session page shows (escaped).
    """

    title: str
    line: int
    text: str
    blocks: tuple[ResultsBlock, ...]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "line": self.line, "text": self.text,
                "blocks": [b.to_json() for b in self.blocks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Results:
        return cls(title=str(data.get("title") or ""), line=int(data.get("line") or 0),
                   text=str(data.get("text") or ""),
                   blocks=tuple(ResultsBlock.from_json(b) for b in data.get("blocks") or ()))


@dataclass(frozen=True)
class Plan:
    """Everything one execution plan states, plus the warnings met reading it."""

    source: str
    session: int
    title: str
    date: str | None
    focus: str | None
    strategic_value: str | None
    rationale: str | None
    target_files: int | None
    target_loc: int | None
    clusters: tuple[Cluster, ...]
    files: tuple[PlannedFile, ...]
    questions: tuple[Question, ...]
    cluster_questions: tuple[ClusterQuestion, ...]
    outcomes: tuple[str, ...]
    domain_tags: tuple[DomainTag, ...]
    warnings: tuple[PlanWarning, ...]
    fields: dict[str, str] = field(hash=False)
    """Header fields the parser does not interpret (``Parallel with``...), as written."""
    content_hash: str
    """SHA-256 of the text (line endings normalised): tells a re-import what changed."""
    target_clusters: int | None = None
    expectations: tuple[Expectation, ...] = ()
    """The figures the expected outcomes state (new findings, DEEP count, files read)."""
    results: Results | None = None
    session_given: bool = False
    """True when the session number came from the user (``--session``), not from the plan."""

    @property
    def problems(self) -> tuple[PlanWarning, ...]:
        """Warnings that are not merely informational (what "no warnings" counts)."""
        return tuple(w for w in self.warnings if not w.informational)

    @property
    def placeholder_questions(self) -> tuple[Question, ...]:
        """Key questions still carrying the draft's ``TODO (researcher):`` mark."""
        lines = {w.line for w in self.warnings if w.code == QUESTION_PLACEHOLDER}
        return tuple(q for q in self.questions if q.line in lines)

    @property
    def file_ids(self) -> tuple[int, ...]:
        """IDs of the planned files that have one (files known by path only are left out)."""
        return tuple(f.file_id for f in self.files if f.file_id is not None)

    @property
    def files_without_id(self) -> tuple[PlannedFile, ...]:
        return tuple(f for f in self.files if f.file_id is None)

    @property
    def loc_total(self) -> int:
        return sum(f.loc or 0 for f in self.files)

    def file(self, file_id: int) -> PlannedFile | None:
        return next((f for f in self.files if f.file_id == file_id), None)

    def with_resolved_ids(self, found: Mapping[int, int]) -> Plan:
        """This plan with IDs filled in for files known by path only.

        ``found`` maps an index of ``files`` to the database file the
        importer found for it. Clusters and questions are bound to those
        files too; question IDs stay as parsed (they come from the text).
        """
        files = tuple(replace(f, file_id=found[i], resolved_by="path") if f.file_id is None and i in found else f
                      for i, f in enumerate(self.files))
        clusters = tuple(replace(c, file_ids=tuple(f.file_id for f in files if f.cluster == c.letter))
                         for c in self.clusters)
        questions = tuple(replace(q, file_ids=tuple(dict.fromkeys(
            fid for fid in (files[i].file_id for i in q.planned) if fid is not None)))
            for q in self.questions)
        return replace(self, files=files, clusters=clusters, questions=questions)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict in the ``plan parse --json`` shape."""
        return {
            "source": self.source,
            "session": self.session,
            "title": self.title,
            "date": self.date,
            "focus": self.focus,
            "strategic_value": self.strategic_value,
            "rationale": self.rationale,
            "fields": dict(self.fields),
            "target": {"files": self.target_files, "loc": self.target_loc,
                       "clusters": self.target_clusters},
            "clusters": [c.to_json() for c in self.clusters],
            "files": [f.to_json() for f in self.files],
            "questions": [q.to_json() for q in self.questions],
            "cluster_questions": [q.to_json() for q in self.cluster_questions],
            "outcomes": list(self.outcomes),
            "expectations": [e.to_json() for e in self.expectations],
            "domain_tags": [t.to_json() for t in self.domain_tags],
            "results": self.results.to_json() if self.results is not None else None,
            "warnings": [w.to_json() for w in self.warnings],
            "content_hash": self.content_hash,
            "session_given": self.session_given,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """The plan of a ``to_json()`` dict (as stored in ``kbgen_plans.data``)."""
        target = data.get("target") or {}
        files = tuple(PlannedFile.from_json(f) for f in data.get("files") or ())
        results = data.get("results")
        return cls(
            source=str(data.get("source") or ""), session=int(data["session"]), title=str(data.get("title") or ""),
            date=data.get("date"), focus=data.get("focus"), strategic_value=data.get("strategic_value"),
            rationale=data.get("rationale"), target_files=_opt_int(target.get("files")),
            target_loc=_opt_int(target.get("loc")), target_clusters=_opt_int(target.get("clusters")),
            clusters=tuple(Cluster.from_json(c) for c in data.get("clusters") or ()),
            files=files,
            questions=tuple(Question.from_json(q, files) for q in data.get("questions") or ()),
            cluster_questions=tuple(ClusterQuestion.from_json(q) for q in data.get("cluster_questions") or ()),
            outcomes=tuple(_outcome_text(o) for o in data.get("outcomes") or ()),
            domain_tags=tuple(DomainTag.from_json(t) for t in data.get("domain_tags") or ()),
            warnings=tuple(PlanWarning.from_json(w) for w in data.get("warnings") or ()),
            fields={str(k): str(v) for k, v in (data.get("fields") or {}).items()},
            content_hash=str(data.get("content_hash") or ""),
            expectations=tuple(Expectation.from_json(e) for e in data.get("expectations") or ()),
            results=Results.from_json(results) if isinstance(results, dict) else None,
            session_given=bool(data.get("session_given")),
        )


def _opt_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _outcome_text(item: Any) -> str:
    """An expected outcome; early versions stored some as ``{"text": ...}`` objects."""
    if isinstance(item, dict):
        return str(item.get("text") or item.get("outcome") or json.dumps(item, sort_keys=True))
    return str(item)
