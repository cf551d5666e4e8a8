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
from dataclasses import dataclass, field
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
SESSION_ID_UNREADABLE = "plan.session-id-unreadable"

INFO_CODES = frozenset({DATE_PLACEHOLDER})


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
    """One planned file, merged from its table row, full-path entry and template comment."""

    file_id: int
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

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "path": self.path, "loc": self.loc,
                "context": self.context, "package": self.package, "tier": self.tier,
                "cluster": self.cluster, "repo": self.repo, "repo_path": self.repo_path,
                "domain": self.domain, "line": self.line, "extra": dict(self.extra)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedFile:
        return cls(file_id=int(data["file_id"]), path=str(data.get("path") or ""), loc=_opt_int(data.get("loc")),
                   context=data.get("context"), package=data.get("package"), tier=data.get("tier"),
                   repo=data.get("repo"), domain=data.get("domain"), cluster=str(data.get("cluster") or ""),
                   line=int(data.get("line") or 0), repo_path=data.get("repo_path"),
                   extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()})


@dataclass(frozen=True)
class Cluster:
    """A group of planned files; plans without cluster headings get one implicit cluster."""

    letter: str
    name: str
    stated_files: int | None
    stated_loc: int | None
    line: int | None
    file_ids: tuple[int, ...]
    implicit: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "letter": self.letter, "stated_files": self.stated_files,
                "stated_loc": self.stated_loc, "files": list(self.file_ids),
                "implicit": self.implicit, "line": self.line}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cluster:
        return cls(letter=str(data.get("letter") or ""), name=str(data.get("name") or ""),
                   stated_files=_opt_int(data.get("stated_files")), stated_loc=_opt_int(data.get("stated_loc")),
                   line=_opt_int(data.get("line")), file_ids=tuple(int(i) for i in data.get("files") or ()),
                   implicit=bool(data.get("implicit")))


@dataclass(frozen=True)
class Question:
    """A key-question bullet, bound to the plan files it names.

    ``id`` follows the traceability contract: ``Q<session>-<file id>`` for the
    first bullet whose first-named file is that file, ``-2``, ``-3``... for
    later ones, ``Q<session>-N<n>`` for the n-th bullet naming no plan file.
    ``ordinal`` is that n (1 for the first bullet of a file).
    """

    id: str
    text: str
    file_ids: tuple[int, ...]
    line: int
    ordinal: int
    cluster: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "file_ids": list(self.file_ids),
                "line": self.line, "ordinal": self.ordinal, "cluster": self.cluster}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        return cls(id=str(data["id"]), text=str(data.get("text") or ""),
                   file_ids=tuple(int(i) for i in data.get("file_ids") or ()), line=int(data.get("line") or 0),
                   ordinal=int(data.get("ordinal") or 1), cluster=data.get("cluster"))


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

    @property
    def problems(self) -> tuple[PlanWarning, ...]:
        """Warnings that are not merely informational (what "no warnings" counts)."""
        return tuple(w for w in self.warnings if not w.informational)

    @property
    def file_ids(self) -> tuple[int, ...]:
        return tuple(f.file_id for f in self.files)

    @property
    def loc_total(self) -> int:
        return sum(f.loc or 0 for f in self.files)

    def file(self, file_id: int) -> PlannedFile | None:
        return next((f for f in self.files if f.file_id == file_id), None)

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
            "domain_tags": [t.to_json() for t in self.domain_tags],
            "warnings": [w.to_json() for w in self.warnings],
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """The plan of a ``to_json()`` dict (as stored in ``kbgen_plans.data``)."""
        target = data.get("target") or {}
        return cls(
            source=str(data.get("source") or ""), session=int(data["session"]), title=str(data.get("title") or ""),
            date=data.get("date"), focus=data.get("focus"), strategic_value=data.get("strategic_value"),
            rationale=data.get("rationale"), target_files=_opt_int(target.get("files")),
            target_loc=_opt_int(target.get("loc")), target_clusters=_opt_int(target.get("clusters")),
            clusters=tuple(Cluster.from_json(c) for c in data.get("clusters") or ()),
            files=tuple(PlannedFile.from_json(f) for f in data.get("files") or ()),
            questions=tuple(Question.from_json(q) for q in data.get("questions") or ()),
            cluster_questions=tuple(ClusterQuestion.from_json(q) for q in data.get("cluster_questions") or ()),
            outcomes=tuple(_outcome_text(o) for o in data.get("outcomes") or ()),
            domain_tags=tuple(DomainTag.from_json(t) for t in data.get("domain_tags") or ()),
            warnings=tuple(PlanWarning.from_json(w) for w in data.get("warnings") or ()),
            fields={str(k): str(v) for k, v in (data.get("fields") or {}).items()},
            content_hash=str(data.get("content_hash") or ""),
        )


def _opt_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _outcome_text(item: Any) -> str:
    """An expected outcome; early versions stored some as ``{"text": ...}`` objects."""
    if isinstance(item, dict):
        return str(item.get("text") or item.get("outcome") or json.dumps(item, sort_keys=True))
    return str(item)
