"""Expected outcomes versus what a session actually did.

Plans state figures they expect (``New findings: ~50-70``, ``DEEP count:
~1,366 → ~1,375``, ``Files read: 9``; :mod:`kbgen.plan.outcomes` reads them).
After the session the research database says what happened; this module
puts the two side by side with a verdict, for the session page, ``kbgen
plan show`` and ``kbgen session finish``:

* **new findings** — findings recorded with the session's ``session_id``;
* **files read** — distinct files the session read at SURFACE or deeper;
* **DEEP count** — files at depth DEEP (the ``files`` table) once the
  session was done, and before it: today's DEEP count minus the files whose
  first DEEP read came in a later session (and, for "before", in this one).
  Later sessions thus do not blur an earlier session's figures, and for the
  latest session the "after" figure is today's count, as the plan's author
  would have counted it.

Verdicts are plain: an expectation is **met** when the actual figure reaches
the low end of the expected range (above the range is met too, and says so);
otherwise it is **missed**, with the shortfall. ``~`` is shown but grants no
tolerance: "expected at least 50, got 48" is a miss the reader can weigh.
For ``DEEP count: before → after`` the verdict is on the gain (after minus
before), so a stale "before" figure in the plan does not decide it.
Outcomes that state no figure stay prose and get no row.

Library entry point: :func:`expected_vs_actual` (a snapshot and a session
number in, one :class:`OutcomeRow` per stated figure out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kbgen import vocab
from kbgen.model import Session, Snapshot
from kbgen.plan.outcomes import DEEP_COUNT, FILES_READ, KIND_LABELS, NEW_FINDINGS

MET = "met"
MISSED = "missed"
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class SessionActuals:
    """What the database says a session did (the figures plans set expectations for)."""

    new_findings: int
    files_read: int
    deep_before: int
    deep_after: int


@dataclass(frozen=True)
class OutcomeRow:
    """One stated figure beside the actual one.

    ``expected`` and ``actual`` are display texts (``~50-70``, ``1,366 →
    1,375 (+9)``); ``actual_value`` is the compared number (the gain for a
    DEEP count stated as before → after), None when the session is not in
    the database yet. ``verdict`` is ``met``, ``missed`` or ``not recorded``;
    ``note`` says by how much (``3 short``, ``12 above the range``).
    """

    kind: str
    label: str
    outcome: str
    expected: str
    actual: str
    actual_value: int | None
    verdict: str
    note: str

    @property
    def result(self) -> str:
        """``met``, ``met (12 above the range)``, ``missed (3 short)``, ``not recorded``."""
        return f"{self.verdict} ({self.note})" if self.note else self.verdict

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "outcome": self.outcome, "expected": self.expected,
                "actual": self.actual, "actual_value": self.actual_value, "verdict": self.verdict,
                "note": self.note}


def session_actuals(snap: Snapshot, session: Session) -> SessionActuals:
    """New findings, files read and the DEEP count before and after one session."""
    first = snap.first_deep_read
    here = (session.number, session.id)
    later = sum(1 for fid in snap.deep_file_ids if fid in first and first[fid] > here)
    this = sum(1 for fid in snap.deep_file_ids if first.get(fid) == here)
    after = len(snap.deep_file_ids) - later
    reads = snap.reads_of_session.get(session.id, ())
    return SessionActuals(
        new_findings=len(snap.findings_of_session.get(session.id, ())),
        files_read=len({r.file_id for r in reads if vocab.is_read(r.depth)}),
        deep_before=after - this,
        deep_after=after)


def _figure(low: int, high: int, approx: bool) -> str:
    tilde = "~" if approx else ""
    return f"{tilde}{low:,}" if low == high else f"{tilde}{low:,}-{high:,}"


def _verdict(actual: int, low: int, high: int) -> tuple[str, str]:
    if actual < low:
        return MISSED, f"{low - actual:,} short"
    if actual > high:
        return MET, f"{actual - high:,} above the range" if high > low else f"{actual - high:,} more"
    return MET, ""


def compare(expectations: Sequence[Mapping[str, Any]], actuals: SessionActuals | None) -> list[OutcomeRow]:
    """Rows for the stated figures (``plan parse --json``'s ``expectations``) against the actuals."""
    rows: list[OutcomeRow] = []
    for e in expectations:
        kind = str(e.get("kind"))
        if kind not in KIND_LABELS:
            continue
        low, high, approx = int(e["low"]), int(e["high"]), bool(e.get("approx"))
        before = e.get("before")
        expected = _figure(low, high, approx)
        target_low, target_high = low, high
        if kind == DEEP_COUNT and before is not None:
            tilde = "~" if e.get("before_approx") else ""
            gain_low, gain_high = low - int(before), high - int(before)
            expected = f"{tilde}{int(before):,} → {expected} ({_signed(gain_low, gain_high)})"
            target_low, target_high = gain_low, gain_high
        if actuals is None:
            rows.append(OutcomeRow(kind, KIND_LABELS[kind], str(e.get("text") or ""), expected, "—", None,
                                   NOT_RECORDED, ""))
            continue
        if kind == NEW_FINDINGS:
            value, shown = actuals.new_findings, f"{actuals.new_findings:,}"
        elif kind == FILES_READ:
            value, shown = actuals.files_read, f"{actuals.files_read:,}"
        elif before is not None:
            value = actuals.deep_after - actuals.deep_before
            shown = f"{actuals.deep_before:,} → {actuals.deep_after:,} ({_signed(value, value)})"
        else:
            value, shown = actuals.deep_after, f"{actuals.deep_after:,}"
        verdict, note = _verdict(value, target_low, target_high)
        rows.append(OutcomeRow(kind, KIND_LABELS[kind], str(e.get("text") or ""), expected, shown, value,
                               verdict, note))
    return rows


def _signed(low: int, high: int) -> str:
    def one(n: int) -> str:
        return f"+{n:,}" if n >= 0 else f"−{-n:,}"
    return one(low) if low == high else f"{one(low)} to {one(high)}"


def expected_vs_actual(snap: Snapshot, session_number: int) -> list[OutcomeRow]:
    """Expected-versus-actual rows for the plan of session ``session_number`` (R-number).

    Empty when the session has no imported plan or its plan states no
    figure. Rows say ``not recorded`` while the session is not in the
    research database yet. This is what ``kbgen session finish`` prints.
    """
    plan = snap.plan_by_session.get(session_number)
    if plan is None:
        return []
    session = snap.session_by_number.get(session_number)
    actuals = session_actuals(snap, session) if session is not None else None
    return compare(plan.data.get("expectations") or [], actuals)
