"""The expected outcomes of a drafted plan, computed from the database.

* **DEEP count**: files at depth DEEP now, and after the session if every
  pick reaches DEEP (the picks are priority gaps, never DEEP yet, so the
  gain is the number of picks). Counted as :mod:`kbgen.outcomes` counts the
  actual figure afterwards, so the plan's expectation and the session page's
  verdict compare like with like.
* **Domain coverage**: for every domain a pick is tagged with, the share of
  its LOC read MEDIUM or deeper (:func:`kbgen.analysis.coverage_by_domain`,
  the dashboard's figure) now and if every pick reaches DEEP.
* **New findings**: a range, from the campaign's own rate. For each past
  session that read files MEDIUM or deeper, findings recorded per 1,000
  LOC of those files; the middle half of those rates (first to third
  quartile) times the plan's LOC. Given only when at least
  :data:`MIN_SESSIONS` sessions say something: two sessions are not a
  campaign's rate.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from kbgen import analysis, vocab
from kbgen.analysis import Gap
from kbgen.model import Snapshot

#: Sessions with MEDIUM+ reads needed before a findings rate is stated.
MIN_SESSIONS = 3


@dataclass(frozen=True)
class DomainChange:
    name: str
    priority: str
    picks: int
    loc_read: int
    loc_read_after: int
    loc: int
    files: int
    deep: int


@dataclass(frozen=True)
class FindingsRate:
    sessions: int
    low: float  # findings per 1,000 LOC read, first quartile
    high: float  # third quartile

    def expected(self, loc: int) -> tuple[int, int]:
        return math.floor(self.low * loc / 1000), math.ceil(self.high * loc / 1000)


@dataclass(frozen=True)
class Expected:
    deep_now: int
    deep_after: int
    domains: tuple[DomainChange, ...]
    rate: FindingsRate | None


def findings_rate(snap: Snapshot) -> FindingsRate | None:
    """Quartiles of findings per 1,000 LOC read MEDIUM or deeper, over the sessions that read any."""
    rates: list[float] = []
    for session in snap.sessions:
        read = {r.file_id for r in snap.reads_of_session.get(session.id, ())
                if vocab.depth_rank(r.depth) >= vocab.depth_rank("MEDIUM")}
        loc = sum(snap.file_by_id[i].loc or 0 for i in read if i in snap.file_by_id)
        if loc > 0:
            rates.append(1000.0 * len(snap.findings_of_session.get(session.id, ())) / loc)
    if len(rates) < MIN_SESSIONS:
        return None
    q1, _, q3 = statistics.quantiles(sorted(rates), n=4, method="inclusive")
    return FindingsRate(len(rates), q1, q3)


def expected(snap: Snapshot, picks: tuple[Gap, ...]) -> Expected:
    deep_now = sum(1 for f in snap.files if f.depth == "DEEP")
    gain = sum(1 for g in picks if g.file.depth != "DEEP")
    picked_loc: dict[str, int] = {}
    picked_count: dict[str, int] = {}
    for g in picks:
        for name in snap.domains_of_file.get(g.file.id, ()):
            picked_count[name] = picked_count.get(name, 0) + 1
            if not analysis.read_medium_plus(g.file):
                picked_loc[name] = picked_loc.get(name, 0) + (g.file.loc or 0)
    changes = tuple(
        DomainChange(c.name, c.priority, picked_count[c.name], c.loc_read, c.loc_read + picked_loc.get(c.name, 0),
                     c.loc, c.files, c.depth_count("DEEP"))
        for c in analysis.coverage_by_domain(snap) if c.name in picked_count)
    return Expected(deep_now, deep_now + gain, changes, findings_rate(snap))
