"""Sentences that mix kbgen's own words with database strings, escaped only when written.

A drafted plan says things like "imported by `src/x.rs` (DEEP)". The
path comes from the database and may hold anything (pipes, backticks,
markup), so drafting code never pastes it into markdown: it builds a
:class:`Phrase` of pieces that say what each part is, and the renderer
escapes each piece for where it lands (a table cell needs its pipes
escaped, a paragraph does not). :meth:`Phrase.plain` is the same sentence
as plain text, for tests and the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TEXT = "text"
"""kbgen's own words: written as they are (they never hold markup)."""
CODE = "code"
"""An identifier from the database (path, package, domain): a code span."""
DATA = "data"
"""Free text from the database (a relationship name): backslash-escaped inline text."""


@dataclass(frozen=True)
class Phrase:
    pieces: tuple[tuple[str, str], ...] = ()

    def __add__(self, other: Phrase | str) -> Phrase:
        if isinstance(other, str):
            other = text(other)
        return Phrase(self.pieces + other.pieces)

    def __bool__(self) -> bool:
        return any(value for _, value in self.pieces)

    def plain(self) -> str:
        return "".join(value for _, value in self.pieces)


def text(value: str) -> Phrase:
    return Phrase(((TEXT, value),))


def code(value: str) -> Phrase:
    return Phrase(((CODE, value),))


def data(value: str) -> Phrase:
    return Phrase(((DATA, value),))


def join(phrases: Iterable[Phrase], sep: str = ", ", last: str | None = None) -> Phrase:
    """``a, b and c`` (``last`` is the separator before the final item; default ``sep``)."""
    items = [p for p in phrases if p]
    out = Phrase()
    for i, p in enumerate(items):
        if i:
            out = out + (last if last is not None and i == len(items) - 1 else sep)
        out = out + p
    return out
