"""The findings-by-category table the dashboard, its detail page and ``kbgen report`` share.

A category row groups every spelling a finding was recorded as (case,
separators and the vocabulary's aliases folded, :class:`kbgen.vocab.Vocabulary`);
the *Recorded as* column keeps the original text visible wherever it differs,
since the research rows themselves are never rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

from kbgen import vocab
from kbgen.analysis import CategoryRow
from kbgen.render.myst import Md, table

#: Recorded spellings listed per category before "… n more".
SPELLINGS_SHOWN = 6


def recorded_as(row: CategoryRow, limit: int = SPELLINGS_SHOWN) -> str:
    """The spellings a category was recorded as, where they differ from it: ``Fabrication 5, FABRICATED 1``."""
    others = row.other_spellings
    text = ", ".join(f"{spelling or '(none)'} {n:,}" for spelling, n in others[:limit])
    more = f", … {len(others) - limit:,} more" if len(others) > limit else ""
    return text + more or "—"


def category_table(rows: Sequence[CategoryRow], *, by_severity: bool = True) -> Md:
    """One row per category; ``by_severity=False`` leaves out the columns a severity change would alter
    (the dashboard's head of the table: the landing page then changes only when categories do)."""
    if not by_severity:
        return table(["Category", "Findings", "Positive", "Recorded as"],
                     [[r.category, r.total, "yes" if r.positive else "—", recorded_as(r)] for r in rows])
    return table(["Category", "Findings", *vocab.SEVERITIES[:3], "Open CRITICAL/HIGH", "Positive", "Recorded as"],
                 [[r.category, r.total, *r.counts[:3], r.open, "yes" if r.positive else "—", recorded_as(r)]
                  for r in rows])
