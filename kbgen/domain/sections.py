"""Split a domain document into human text and generated blocks, and join it back.

The marker mechanism
--------------------

A domain analysis document (``domains/<name>/analysis.md``) is one markdown
file written by two authors: people, who own the narrative, and kbgen, which
owns the registries it derives from the research database. kbgen's part sits
between a pair of HTML comment markers, each alone on its line::

    <!-- kbgen:begin findings -->
    ...generated markdown, rewritten on every sync...
    <!-- kbgen:end findings -->

Everything outside a begin/end pair is HUMAN and kbgen keeps it byte for byte,
including the section headings (kbgen writes them once, when it creates the
document). HTML comments were chosen because they read well in the raw file
and disappear from the rendered page (GitHub, and MyST in the built HTML), so
the markers cost nothing to readers. The keys are fixed (``header``,
``files``, ``findings``, ``positives``, ``dependencies``, ``gaps``,
``session-log``); each appears at most once.

A marker is recognised by its line alone (up to three leading spaces, as
markdown allows for an HTML comment), also inside a fenced code block:
human text cannot hide a marker from kbgen and make it rewrite the wrong
bytes. A line that starts like a marker (``<!-- kbgen:``) but is not a
well-formed one, a begin without its end, an end without its begin, nested
blocks, a repeated or an unknown key all make the document one kbgen will not
rewrite: :func:`split` raises :class:`~kbgen.errors.DomainDocError` naming the
line, and the author fixes the markers by hand.

:func:`split` and :func:`join` are exact inverses on every document
``split`` accepts: ``join(split(text)) == text``. The rest of the package
builds on that guarantee: to change generated text it replaces generated
blocks and joins, so human bytes never pass through a transformation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kbgen.errors import DomainDocError

#: The generated blocks, in the order they appear in a canonical document.
GENERATED_KEYS: tuple[str, ...] = (
    "header",
    "files",
    "findings",
    "positives",
    "dependencies",
    "gaps",
    "session-log",
)

# A line that *claims* to be a marker; anything claiming it must parse, so a
# typo is an error instead of silently becoming human text.
_CANDIDATE = re.compile(r"^ {0,3}<!--\s*kbgen:")
_MARKER = re.compile(r"^ {0,3}<!--\s*kbgen:(?P<kind>begin|end)\s+(?P<key>[A-Za-z0-9_-]+)\s*-->[ \t\r]*$")


@dataclass(frozen=True)
class HumanBlock:
    """Text kbgen never changes; ``line`` is its first line (1-based)."""

    text: str
    line: int


@dataclass(frozen=True)
class GeneratedBlock:
    """A kbgen-owned block: the marker lines exactly as written, and the body between them."""

    key: str
    begin: str
    body: str
    end: str
    line: int

    @property
    def text(self) -> str:
        """The block as it stands in the document."""
        return self.begin + self.body + self.end


Block = HumanBlock | GeneratedBlock


def begin_marker(key: str) -> str:
    """The canonical begin marker line for ``key`` (without line ending)."""
    return f"<!-- kbgen:begin {key} -->"


def end_marker(key: str) -> str:
    """The canonical end marker line for ``key`` (without line ending)."""
    return f"<!-- kbgen:end {key} -->"


def is_marker_line(line: str) -> bool:
    """True if ``line`` claims to be a kbgen marker (well-formed or not)."""
    return "kbgen:" in line and _CANDIDATE.match(line) is not None  # the substring test: a faster no


def lines_of(text: str) -> list[str]:
    """Split on ``\\n`` only, keeping line endings, so ``"".join`` restores the text.

    ``str.splitlines`` would also break on ``\\r``, form feeds and Unicode
    separators; markdown and the markers only know ``\\n``.
    """
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def split(text: str, *, path: str = "<document>") -> list[Block]:
    """Cut ``text`` into alternating human and generated blocks.

    Human blocks may be empty only where nothing separates two markers; the
    list always starts and ends with a human block so callers can rely on the
    shape ``human (generated human)*``.
    """
    blocks: list[Block] = []
    human: list[str] = []
    human_start = 1
    open_key: str | None = None
    open_line = 0
    begin_text = ""
    body: list[str] = []
    seen: dict[str, int] = {}

    for number, line in enumerate(lines_of(text), start=1):
        if not is_marker_line(line):
            (body if open_key is not None else human).append(line)
            continue
        match = _MARKER.match(line.rstrip("\n"))
        if match is None:
            raise DomainDocError("malformed kbgen marker", path=path, line=number,
                                 hint="expected '<!-- kbgen:begin KEY -->' or '<!-- kbgen:end KEY -->'")
        kind, key = match.group("kind"), match.group("key")
        if key not in GENERATED_KEYS:
            raise DomainDocError(f"unknown kbgen block '{key}'", path=path, line=number,
                                 hint="known blocks: " + ", ".join(GENERATED_KEYS))
        if kind == "begin":
            if open_key is not None:
                raise DomainDocError(f"kbgen block '{key}' begins inside block '{open_key}' "
                                     f"(opened at line {open_line})", path=path, line=number)
            if key in seen:
                raise DomainDocError(f"kbgen block '{key}' appears twice (first at line {seen[key]})",
                                     path=path, line=number)
            seen[key] = number
            blocks.append(HumanBlock("".join(human), human_start))
            human = []
            open_key, open_line, begin_text, body = key, number, line, []
            continue
        if open_key is None:
            raise DomainDocError(f"end of kbgen block '{key}' without its begin", path=path, line=number)
        if key != open_key:
            raise DomainDocError(f"end of kbgen block '{key}' while block '{open_key}' is open "
                                 f"(opened at line {open_line})", path=path, line=number)
        blocks.append(GeneratedBlock(open_key, begin_text, "".join(body), line, open_line))
        open_key = None
        human_start = number + 1

    if open_key is not None:
        raise DomainDocError(f"kbgen block '{open_key}' has no end marker", path=path, line=open_line)
    blocks.append(HumanBlock("".join(human), human_start))
    return blocks


def join(blocks: Iterable[Block]) -> str:
    """Concatenate blocks back into a document (inverse of :func:`split`)."""
    return "".join(b.text for b in blocks)


def generated_blocks(blocks: Sequence[Block]) -> dict[str, GeneratedBlock]:
    """The generated blocks by key."""
    return {b.key: b for b in blocks if isinstance(b, GeneratedBlock)}


def is_managed(text: str, *, path: str = "<document>") -> bool:
    """True if the document holds at least one kbgen block (malformed markers raise)."""
    return bool(generated_blocks(split(text, path=path)))


def generated_line_ranges(blocks: Sequence[Block]) -> list[tuple[int, int]]:
    """0-based, end-exclusive line ranges covered by generated blocks, markers included."""
    ranges: list[tuple[int, int]] = []
    for b in blocks:
        if isinstance(b, GeneratedBlock):
            count = len(lines_of(b.text))
            ranges.append((b.line - 1, b.line - 1 + count))
    return ranges
