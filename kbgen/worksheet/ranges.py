"""Line ranges as the research database writes them: ``1-50,170-320``.

``file_reads.line_ranges`` is free text in the wild; a worksheet's ranges are
checked and written in one canonical form (sorted, merged, no spaces), and
``files.lines_read`` is the size of the union of every read's ranges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Range = tuple[int, int]

_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


class RangeError(ValueError):
    """Text that is not a list of line ranges."""


def parse(text: str | int) -> list[Range]:
    """``"1-50, 170-320"`` → ``[(1, 50), (170, 320)]``; ``"42"`` and ``42`` → ``[(42, 42)]``."""
    if isinstance(text, int):
        text = str(text)
    ranges: list[Range] = []
    for part in text.split(","):
        match = _PART.match(part)
        if not match:
            raise RangeError(f"{part.strip()!r} is not a line range (write 1-50 or 1-50,170-320)")
        start = int(match.group(1))
        end = int(match.group(2) or start)
        if start < 1 or end < start:
            raise RangeError(f"{part.strip()!r} is not a line range (lines count from 1 and a range ends "
                             "at or after its start)")
        ranges.append((start, end))
    return ranges


def merge(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, with overlapping and touching ranges joined."""
    out: list[Range] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def render(ranges: Iterable[Range]) -> str:
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges)


def count(ranges: Iterable[Range]) -> int:
    """Lines covered by ``ranges`` (overlaps counted once)."""
    return sum(b - a + 1 for a, b in merge(ranges))


def lenient(text: str | None) -> list[Range]:
    """Ranges from a database value written by anyone: unreadable parts are skipped."""
    result: list[Range] = []
    for part in (text or "").split(","):
        try:
            result += parse(part)
        except RangeError:
            continue
    return result
