"""What changed in a session, or in a run of sessions, derived from the database alone.

The rules, for readers of the site, are in docs/reference/changes.md.

The research database has no change log, so every change is read off the
columns that say *when*: ``file_reads.session_id``, ``findings.session_id``,
kbgen's own status rows (``kbgen finding resolve --session``; a supersession
belongs to the session of the superseding finding), the answers of plan
questions (a question is answered in the session of its answering finding; an
answer in words, which names no session, in the session of the plan that asks
it) and the notes ``kbgen record`` keeps of what a session's worksheet wrote.
Sessions are taken in campaign order (:func:`kbgen.analysis.ordered_sessions`).

What the database cannot tell is reported as such, never guessed:

* a file's depth *before* a session is the strongest depth earlier sessions
  recorded reading it, or what the files table said when ``kbgen record``
  wrote the session's read (it notes that); with neither it is unknown
  (``None``), not ``NOT_TOUCHED``, because reads may predate the ledger;
* coverage before and after a session counts reads only (the same rule as the
  growth chart), over today's files, LOC and domain tags (``file_domains`` and
  ``files.loc`` are not dated), and follows :func:`kbgen.analysis.in_coverage`;
* ``dependencies`` has no session column: an edge belongs to the session whose
  worksheet added it (``kbgen record``'s note), or to the session its evidence
  text starts with (``R95: …``); the others are counted as not attributable;
* reads and findings without a (known) session belong to no session.

A session's changes depend on that session and the ones before it only, so
adding a later session leaves them, and the pages that show them, unchanged.
Everything here is plain data; renderers live in :mod:`kbgen.render`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from kbgen import analysis, vocab
from kbgen.errors import UsageError
from kbgen.model import Dependency, File, Finding, Question, Session, Snapshot, file_sort_key

#: Severities that get a feed entry of their own and lead every summary.
ALERT_SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH")
_EVIDENCE_HEAD = re.compile(r"^\s*[\[(]?\s*([A-Za-z0-9][A-Za-z0-9_.-]*?)(?=[^A-Za-z0-9_-]|$)")


@dataclass(frozen=True)
class DepthRise:
    """A file read deeper than before: ``before`` is None when the database holds no earlier depth."""

    file_id: int
    file: File | None  # None: the read names a file the files table does not have
    before: str | None
    after: str

    @property
    def before_unknown(self) -> bool:
        return self.before is None


@dataclass(frozen=True)
class CoverageDelta:
    """LOC and files read MEDIUM or deeper in one domain or package, before and after."""

    name: str
    files_before: int
    files_after: int
    loc_before: int
    loc_after: int
    files_total: int  # today's files of the group (the same rule as the coverage tables)
    loc_total: int

    @property
    def loc_gained(self) -> int:
        return self.loc_after - self.loc_before

    @property
    def files_gained(self) -> int:
        return self.files_after - self.files_before


@dataclass(frozen=True)
class Resolved:
    finding: Finding
    session: Session


@dataclass(frozen=True)
class Superseded:
    """``finding`` superseded by ``by``, a finding recorded in the session(s) at hand."""

    finding: Finding
    by: Finding
    reason: str | None


@dataclass(frozen=True)
class AnsweredQuestion:
    """A plan question that findings of the session(s) answer.

    ``earlier`` is the first session before them whose findings already answered it.
    """

    question: Question
    finding_ids: tuple[int, ...]  # empty for an answer in words alone
    kind: str  # "explicit" (kbgen answer), "in words", "inferred from the file" or "inferred from the cluster"
    partial: bool
    earlier: Session | None
    verdict: str | None = None  # an answer in words (kbgen record, kbgen answer --verdict)


@dataclass(frozen=True)
class AttributedEdge:
    dependency: Dependency
    session: Session


@dataclass(frozen=True)
class Changes:
    """What one session, or a run of consecutive sessions, changed."""

    sessions: tuple[Session, ...]
    new_findings: tuple[Finding, ...]  # by severity (CRITICAL first), then id
    resolved: tuple[Resolved, ...]
    superseded: tuple[Superseded, ...]
    depth_rises: tuple[DepthRise, ...]  # by package, path
    domains: tuple[CoverageDelta, ...]  # only groups whose coverage moved, by name
    packages: tuple[CoverageDelta, ...]
    answered: tuple[AnsweredQuestion, ...]
    edges: tuple[AttributedEdge, ...]
    reads: int  # file_reads rows of these sessions
    files_read: int  # distinct files they read
    newly_covered: tuple[File, ...] = ()  # files first read MEDIUM or deeper (the coverage rule's files only)

    @property
    def first(self) -> Session:
        return self.sessions[0]

    @property
    def last(self) -> Session:
        return self.sessions[-1]

    @property
    def label(self) -> str:
        """``R4``, or ``R2-verify–R4`` for a run."""
        return self.first.label if len(self.sessions) == 1 else f"{self.first.label}–{self.last.label}"

    @cached_property
    def severity_counts(self) -> dict[str, int]:
        """Normalised severity → new findings, in vocab order, severities with findings only."""
        counts = Counter(f.severity for f in self.new_findings)
        return {s: counts[s] for s in vocab.SEVERITIES if counts[s]}

    @property
    def alerts(self) -> tuple[Finding, ...]:
        """New CRITICAL and HIGH findings."""
        return tuple(f for f in self.new_findings if f.severity in ALERT_SEVERITIES)

    @property
    def loc_gained(self) -> int:
        """LOC newly read MEDIUM or deeper (each file once, however many domains it has)."""
        return sum(f.loc or 0 for f in self.newly_covered)

    @property
    def files_gained(self) -> int:
        return len(self.newly_covered)

    @property
    def empty(self) -> bool:
        return not (self.new_findings or self.resolved or self.superseded or self.depth_rises
                    or self.answered or self.edges)


@dataclass(frozen=True)
class Attribution:
    """What the database holds that no session can be credited with (campaign-wide)."""

    reads_without_session: int
    findings_without_session: int
    statuses_without_session: int  # resolved with no (known) session, superseded by such a finding
    edges_attributed: int
    edges_total: int

    @property
    def edges_unattributed(self) -> int:
        return self.edges_total - self.edges_attributed


# -- finding sessions ---------------------------------------------------------------

def find_session(snap: Snapshot, ref: str) -> Session:
    """A session by name (``R2-verify``, any case), R-number (``R95``) or number (``95``)."""
    text = ref.strip()
    by_name = [s for s in analysis.ordered_sessions(snap) if s.name and s.name.lower() == text.lower()]
    if by_name:
        return by_name[0]
    match = re.fullmatch(r"[Rr]?(\d+)", text)
    if match and int(match.group(1)) in snap.session_by_number:
        return snap.session_by_number[int(match.group(1))]
    ordered = analysis.ordered_sessions(snap)
    known = (f"sessions run from {ordered[0].label} to {ordered[-1].label}" if ordered
             else "the database has no sessions yet")
    raise UsageError(f"unknown session {ref!r}", hint=known)


def session_run(snap: Snapshot, since: Session, until: Session | None = None) -> list[Session]:
    """The sessions from ``since`` to ``until`` (default: the latest), both included, in campaign order."""
    ordered = analysis.ordered_sessions(snap)
    start = ordered.index(since)
    end = ordered.index(until) if until is not None else len(ordered) - 1
    if end < start:
        raise UsageError(f"{until.label if until else '?'} comes before {since.label}",
                         hint="--since names the first session of the run, SESSION its last")
    return ordered[start:end + 1]


# -- computing ----------------------------------------------------------------------

@dataclass
class _Timeline:
    """Everything the walk over sessions keeps between steps."""

    best: dict[int, int] = field(default_factory=dict)  # file id → strongest depth rank read so far
    loc_read: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))  # (kind, name)
    files_read: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    answered_in: dict[str, Session] = field(default_factory=dict)  # question id → first answering session

    def copy(self) -> _Timeline:
        return _Timeline(dict(self.best), defaultdict(int, self.loc_read), defaultdict(int, self.files_read),
                         dict(self.answered_in))


class ChangeIndex:
    """Per-session facts looked up once, so any number of sessions or runs are cheap to compute."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.ordered = analysis.ordered_sessions(snap)
        self.position = {s.id: i for i, s in enumerate(self.ordered)}

    @cached_property
    def reads(self) -> dict[int, list[tuple[int, int, int]]]:
        """Session id → (read id, file id, depth rank) of its reads."""
        acc: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for r in self.snap.reads:
            if r.session_id in self.position:
                acc[r.session_id].append((r.id, r.file_id, vocab.depth_rank(r.depth)))
        return acc

    @cached_property
    def priors(self) -> dict[int, int]:
        """Read id → depth rank of its file before the read, where ``kbgen record`` noted it."""
        return {r.row_id: vocab.depth_rank(r.prior_depth) for r in self.snap.recorded
                if r.kind == "read" and r.prior_depth is not None}

    @cached_property
    def resolved(self) -> dict[int, list[int]]:
        acc: dict[int, list[int]] = defaultdict(list)
        for st in self.snap.statuses:
            if st.status == "resolved" and st.session_id in self.position and st.finding_id in self.snap.finding_by_id:
                acc[st.session_id].append(st.finding_id)
        return acc

    @cached_property
    def superseded(self) -> dict[int, list[tuple[int, int, str | None]]]:
        """Session of the superseding finding → (superseded id, superseding id, reason)."""
        acc: dict[int, list[tuple[int, int, str | None]]] = defaultdict(list)
        for st in self.snap.statuses:
            if st.status != "superseded" or st.finding_id not in self.snap.finding_by_id:
                continue
            by = self.snap.finding_by_id.get(st.superseded_by or -1)
            if by is not None and by.session_id in self.position:
                acc[by.session_id].append((st.finding_id, by.id, st.reason))
        return acc

    @cached_property
    def answers(self) -> dict[int, list[tuple[Question, tuple[int, ...], bool]]]:
        """Session id → (question, its answering findings from that session, all partial).

        A finding answers in the session that recorded it. An answer in words has no session of
        its own (``kbgen_text_answers`` names only the plan's): it counts for the session of the
        plan that asks the question, with no finding when none of that session's answers it.
        """
        snap = self.snap
        acc: dict[int, list[tuple[Question, tuple[int, ...], bool]]] = defaultdict(list)
        for q in snap.questions:
            per_session: dict[int, list[tuple[int, bool]]] = defaultdict(list)
            for a in snap.answers_of_question.get(q.id, ()):
                f = snap.finding_by_id.get(a.finding_id)
                if f is not None and f.session_id in self.position:
                    per_session[f.session_id].append((a.finding_id, a.partial))
            text = snap.text_answer_of.get(q.id)
            own = snap.session_by_number.get(q.session)
            if text is not None and own is not None and own.id not in per_session:
                acc[own.id].append((q, (), text.partial))
            for sid, items in per_session.items():
                partial = all(p for _, p in items) if text is None or sid != (own.id if own else None) \
                    else text.partial
                acc[sid].append((q, tuple(sorted(i for i, _ in items)), partial))
        return acc

    @cached_property
    def edges(self) -> dict[int, list[Dependency]]:
        """Session id → the edges it added: by ``kbgen record``'s note, else by their evidence's first word."""
        recorded = {r.row_id: r.session_id for r in self.snap.recorded
                    if r.kind == "dependency" and r.created and r.session_id in self.position}
        names: dict[str, Session] = {}
        for s in reversed(self.ordered):  # the earliest session wins a shared name
            names[s.label.lower()] = s
        acc: dict[int, list[Dependency]] = defaultdict(list)
        for d in self.snap.dependencies:
            if d.id in recorded:
                acc[recorded[d.id]].append(d)
                continue
            match = _EVIDENCE_HEAD.match(d.evidence or "")
            session = names.get(match.group(1).lower()) if match else None
            if session is not None:
                acc[session.id].append(d)
        return acc

    @cached_property
    def _package_files(self) -> dict[str, list[File]]:
        acc: dict[str, list[File]] = defaultdict(list)
        for f in self.snap.files:
            acc[self._package_of(f)].append(f)
        return acc

    def total(self, group: tuple[str, str]) -> tuple[int, int]:
        """Today's (files, LOC) of a domain or package, by the coverage rule (asked only for groups that moved)."""
        cache: dict[tuple[str, str], tuple[int, int]] = vars(self).setdefault("_totals", {})
        if group not in cache:
            kind, name = group
            files = self.snap.files_of_domain.get(name, ()) if kind == "domain" else self._package_files.get(name, ())
            counted = [f for f in files if analysis.in_coverage(f)]
            cache[group] = (len(counted), sum(f.loc or 0 for f in counted))
        return cache[group]

    def _package_of(self, f: File) -> str:
        return self.snap.package_by_id[f.package_id].name if f.package_id in self.snap.package_by_id \
            else analysis.NO_PACKAGE

    def groups_of(self, f: File) -> list[tuple[str, str]]:
        """The (kind, name) coverage groups a file counts in."""
        return [*(("domain", d) for d in self.snap.domains_of_file.get(f.id, ())), ("package", self._package_of(f))]

    # -- the walk ---------------------------------------------------------------------
    def walk(self, steps: Sequence[tuple[Sequence[Session], bool]], state: _Timeline | None = None) -> list[Changes]:
        """Apply runs of consecutive sessions in order; return the changes of the recorded ones.

        ``state`` (default: before the first session) is updated in place.
        """
        state = state if state is not None else _Timeline()
        out: list[Changes] = []
        for sessions, record in steps:
            changes = self._step(state, sessions, record)
            if record:
                out.append(changes)  # type: ignore[arg-type]
        return out

    def _step(self, state: _Timeline, sessions: Sequence[Session], record: bool) -> Changes | None:
        snap = self.snap
        threshold = vocab.depth_rank(analysis.COVERAGE_DEPTH)
        after: dict[int, int] = {}
        prior: dict[int, int] = {}  # file → its depth before the step, where kbgen record noted it
        reads = 0
        for s in sessions:
            for read_id, fid, rank in self.reads.get(s.id, ()):
                reads += 1
                if fid not in after and read_id in self.priors:
                    prior[fid] = self.priors[read_id]
                after[fid] = max(after.get(fid, rank), rank)
        rises: list[DepthRise] = []
        covered: list[File] = []
        gained: dict[tuple[str, str], list[int]] = defaultdict(list)  # group → [files, loc]
        for fid, rank in after.items():
            # What the reads say decides coverage (the growth chart's rule); the depth shown before
            # the step also takes what the files table said when kbgen recorded the read.
            read_before = state.best.get(fid)
            shown = [r for r in (read_before, prior.get(fid)) if r is not None]
            before = max(shown) if shown else None
            new = rank if before is None else max(before, rank)
            f = snap.file_by_id.get(fid)
            if record and (before is None or new > before):
                rises.append(DepthRise(fid, f, _depth_name(before), _depth_name(new) or "NOT_TOUCHED"))
            if (f is not None and analysis.in_coverage(f) and rank >= threshold
                    and (read_before is None or read_before < threshold)):
                covered.append(f)
                for group in self.groups_of(f):
                    acc = gained.setdefault(group, [0, 0])
                    acc[0] += 1
                    acc[1] += f.loc or 0
        deltas: dict[str, list[CoverageDelta]] = {"domain": [], "package": []}
        for group, (files, loc) in gained.items():
            if record:
                total_files, total_loc = self.total(group)
                deltas[group[0]].append(CoverageDelta(
                    group[1], state.files_read[group], state.files_read[group] + files,
                    state.loc_read[group], state.loc_read[group] + loc, total_files, total_loc))
            state.files_read[group] += files
            state.loc_read[group] += loc
        answered: list[AnsweredQuestion] = []
        merged: dict[str, tuple[Question, set[int], bool]] = {}
        texts = snap.text_answer_of
        for s in sessions:
            for q, finding_ids, partial in self.answers.get(s.id, ()):
                if q.id in merged:
                    _, ids, was_partial = merged[q.id]
                    merged[q.id] = (q, ids | set(finding_ids), was_partial and partial)
                else:
                    merged[q.id] = (q, set(finding_ids), partial)
        for qid, (q, ids, partial) in merged.items():
            if record:
                text = texts.get(qid)
                kind = ("in words" if text is not None and not ids else
                        "explicit" if snap.question_status(qid) == "answered" else snap.question_label(qid))
                answered.append(AnsweredQuestion(q, tuple(sorted(ids)), kind, partial, state.answered_in.get(qid),
                                                 text.verdict if text is not None else None))
            state.answered_in.setdefault(qid, sessions[0])
        for fid, rank in after.items():
            state.best[fid] = max(state.best.get(fid, rank), rank)
        if not record:
            return None
        return Changes(
            sessions=tuple(sessions),
            new_findings=tuple(sorted((f for s in sessions for f in snap.findings_of_session.get(s.id, ())),
                                      key=lambda f: (vocab.severity_rank(f.severity), f.id))),
            resolved=tuple(Resolved(snap.finding_by_id[fid], s) for s in sessions
                           for fid in sorted(self.resolved.get(s.id, ()))),
            superseded=tuple(Superseded(snap.finding_by_id[old], snap.finding_by_id[by], reason)
                             for s in sessions for old, by, reason in sorted(self.superseded.get(s.id, ()),
                                                                              key=lambda t: (t[0], t[1]))),
            depth_rises=tuple(sorted(rises, key=_rise_key)),
            domains=tuple(sorted(deltas["domain"], key=lambda c: c.name)),
            packages=tuple(sorted(deltas["package"], key=lambda c: c.name)),
            answered=tuple(sorted(answered, key=lambda a: (a.question.session, a.question.ordinal, a.question.id))),
            edges=tuple(AttributedEdge(d, s) for s in sessions for d in sorted(self.edges.get(s.id, ()),
                                                                                key=lambda d: d.id)),
            reads=reads, files_read=len(after), newly_covered=tuple(sorted(covered, key=file_sort_key)))

    # -- entry points -----------------------------------------------------------------
    def every_session(self) -> dict[int, Changes]:
        """Session id → its changes, for every session (one walk)."""
        return {c.first.id: c for c in self.walk([([s], True) for s in self.ordered])}

    def run(self, sessions: Sequence[Session]) -> Changes:
        """The combined changes of consecutive sessions (before the first → after the last)."""
        return self.run_with_breakdown(sessions, breakdown=False)[0]

    def run_with_breakdown(self, sessions: Sequence[Session], *,
                           breakdown: bool = True) -> tuple[Changes, tuple[Changes, ...]]:
        """The combined changes of consecutive sessions and, with ``breakdown``, each one's own.

        The sessions before the run are walked once; both results start from that state.
        """
        if not sessions:
            raise ValueError("a run needs at least one session")
        start = self.position[sessions[0].id]
        if list(sessions) != self.ordered[start:start + len(sessions)]:
            raise ValueError("a run must be consecutive sessions in campaign order")
        before = _Timeline()
        self.walk([([s], False) for s in self.ordered[:start]], before)
        parts = tuple(self.walk([([s], True) for s in sessions], before.copy())) if breakdown else ()
        combined = self.walk([(sessions, True)], before)[0]
        return combined, parts

    def attribution(self) -> Attribution:
        snap = self.snap
        unattributed_status = 0
        for st in snap.statuses:
            if st.status == "resolved":
                unattributed_status += st.session_id not in self.position
            else:
                by = snap.finding_by_id.get(st.superseded_by or -1)
                unattributed_status += by is None or by.session_id not in self.position
        return Attribution(
            reads_without_session=sum(1 for r in snap.reads if r.session_id not in self.position),
            findings_without_session=sum(1 for f in snap.findings if f.session_id not in self.position),
            statuses_without_session=unattributed_status,
            edges_attributed=sum(len(v) for v in self.edges.values()),
            edges_total=len(snap.dependencies))


_DEPTH_OF_RANK = {vocab.depth_rank(name): name for name in vocab.DEPTHS}


def _depth_name(rank: int | None) -> str | None:
    return None if rank is None else _DEPTH_OF_RANK.get(rank, "NOT_TOUCHED")


def _rise_key(r: DepthRise) -> tuple[str, str, int]:
    return file_sort_key(r.file) if r.file is not None else ("~", "", r.file_id)


def changes_index(snap: Snapshot) -> ChangeIndex:
    """The snapshot's :class:`ChangeIndex`, built once and shared by every page of a sync."""
    cached: ChangeIndex | None = vars(snap).get("_kbgen_change_index")
    if cached is None:
        cached = ChangeIndex(snap)
        vars(snap)["_kbgen_change_index"] = cached
    return cached


def latest(snap: Snapshot, count: int) -> list[Session]:
    """The last ``count`` sessions, newest first."""
    return list(reversed(analysis.ordered_sessions(snap)[-count:])) if count > 0 else []


# -- what a command asks for ----------------------------------------------------------

@dataclass(frozen=True)
class ChangeReport:
    """``kbgen changes``: the combined changes, each session's own (for a run) and what no session owns."""

    changes: Changes
    breakdown: tuple[Changes, ...]
    attribution: Attribution


def what_changed(snap: Snapshot, session: str | None = None, since: str | None = None) -> ChangeReport | None:
    """The changes of ``session`` (default: the latest), or of the run from ``since`` to it.

    None when the database has no sessions. Unknown session names raise :class:`UsageError`.
    """
    index = changes_index(snap)
    if not index.ordered:
        return None
    last = find_session(snap, session) if session else index.ordered[-1]
    run = session_run(snap, find_session(snap, since), last) if since else [last]
    combined, parts = index.run_with_breakdown(run, breakdown=len(run) > 1)
    return ChangeReport(combined, parts or (combined,), index.attribution())
