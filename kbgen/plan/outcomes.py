"""The figures a plan's expected outcomes state, read out of their prose.

Plans end with a numbered list of expected outcomes. Most are prose
("Verdict on the sandbox claim") and stay prose; a few state figures that
the research database can check afterwards:

* new findings, as a number or a range: ``New findings: ~50-70 expected``,
  ``~15 new findings``;
* the DEEP count, before and after: ``DEEP count: ~1,366 → ~1,375``
  (``->`` and ``to`` work too; a single figure is the expected "after");
* files read: ``Files read: 9``, ``9 files read``, ``all 9 files read``.

Numbers may carry ``~`` and thousands separators. An outcome that states
none of these gives no :class:`Expectation`; comparing with what happened
is :mod:`kbgen.outcomes`' job, which needs the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kbgen.plan.model import Expectation

NEW_FINDINGS = "new_findings"
DEEP_COUNT = "deep_count"
FILES_READ = "files_read"

#: Human names of the kinds, for tables.
KIND_LABELS: dict[str, str] = {
    NEW_FINDINGS: "New findings",
    DEEP_COUNT: "DEEP count",
    FILES_READ: "Files read",
}

_NUM = r"~?\s*(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"
_RANGE = rf"(?P<lo>{_NUM})(?:\s*(?:-|–|—|to)\s*(?P<hi>{_NUM}))?"
_ARROW = r"\s*(?:→|->|=>|⟶|\bto\b)\s*"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (NEW_FINDINGS, re.compile(rf"\bnew\s+findings?\b\s*(?:\(\s*expected\s*\))?\s*[:=]?\s*(?:expected\s*)?{_RANGE}",
                              re.IGNORECASE)),
    (NEW_FINDINGS, re.compile(rf"{_RANGE}\s+(?:new\s+)findings?\b", re.IGNORECASE)),
    (DEEP_COUNT, re.compile(rf"\bDEEP(?:\s+(?:count|files|total))?\s*[:=]\s*(?P<before>{_NUM}){_ARROW}{_RANGE}",
                            re.IGNORECASE)),
    (DEEP_COUNT, re.compile(rf"\bDEEP(?:\s+(?:count|files|total))?\s*[:=]\s*{_RANGE}(?![0-9])", re.IGNORECASE)),
    (FILES_READ, re.compile(rf"\bfiles\s+read\b\s*[:=]\s*{_RANGE}", re.IGNORECASE)),
    (FILES_READ, re.compile(rf"(?:\ball\s+)?{_RANGE}\s+(?:planned\s+)?files\s+read\b", re.IGNORECASE)),
)


def _number(text: str) -> tuple[int, bool]:
    """``~1,366`` → (1366, True)."""
    approx = "~" in text
    return int(text.replace("~", "").replace(",", "").strip()), approx


def expectation(text: str, outcome: int, line: int | None) -> list[Expectation]:
    """The figures one outcome states (one per kind at most), in kind order."""
    found: dict[str, Expectation] = {}
    for kind, pattern in _PATTERNS:
        if kind in found:
            continue
        match = pattern.search(text)
        if match is None:
            continue
        low, approx_low = _number(match.group("lo"))
        high, approx_high = _number(match.group("hi")) if match.group("hi") else (low, approx_low)
        if high < low:
            low, high = high, low
        before, before_approx = None, False
        if "before" in pattern.groupindex and match.group("before"):
            before, before_approx = _number(match.group("before"))
        found[kind] = Expectation(kind=kind, low=low, high=high, approx=approx_low or approx_high,
                                  text=text, outcome=outcome, line=line, before=before,
                                  before_approx=before_approx)
    return [found[k] for k in KIND_LABELS if k in found]


def expectations(outcomes: Sequence[str], lines: Sequence[int] = ()) -> list[Expectation]:
    """Every figure the outcomes state; a kind stated twice keeps its first statement."""
    result: list[Expectation] = []
    seen: set[str] = set()
    for index, text in enumerate(outcomes):
        line = lines[index] if index < len(lines) else None
        for item in expectation(text, index + 1, line):
            if item.kind not in seen:
                seen.add(item.kind)
                result.append(item)
    return result
