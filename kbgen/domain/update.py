"""Write generated content into a domain document, in place.

A sync calls :func:`render_document` with the document as it is on disk and
the freshly rendered registries. Only the bodies of generated blocks change;
the bytes around them are the author's and come out exactly as they went in
(the document is split into blocks, generated blocks are swapped, and the
blocks are joined, so human text never passes through a transformation). A
block the author deleted is put back, under its section heading, or with its
section when the heading is gone too: the registries are kbgen's contract
with the reader, and a silently missing one would look like "no findings".

The output depends only on the inputs, so a second sync with the same
database writes the same bytes and a write-if-changed sync leaves the file
alone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from kbgen.domain.outline import Heading, is_blank, parse
from kbgen.domain.sections import (
    GENERATED_KEYS,
    GeneratedBlock,
    begin_marker,
    end_marker,
    generated_blocks,
    generated_line_ranges,
    is_marker_line,
    lines_of,
    split,
)
from kbgen.domain.structure import (
    HEADER_KEY,
    PLACEHOLDERS,
    SECTION_BY_KEY,
    SECTIONS,
    section_of_heading,
)
from kbgen.errors import DomainDocError


@dataclass(frozen=True)
class GeneratedSections:
    """The markdown body of every generated block (rendered from the database elsewhere)."""

    header: str
    files: str
    findings: str
    positives: str
    dependencies: str
    gaps: str
    session_log: str

    def body(self, key: str) -> str:
        """The body for a block key (``session-log`` -> :attr:`session_log`)."""
        return str(getattr(self, key.replace("-", "_")))

    @classmethod
    def empty(cls) -> GeneratedSections:
        """Every block empty: markers only (what a migration leaves for the sync to fill)."""
        return cls(**{f.name: "" for f in fields(cls)})


def format_block(key: str, body: str) -> str:
    """A generated block as kbgen writes it: markers, blank-line padding, body.

    The blank lines keep the body a separate markdown block from the comments
    around it (a table right after an HTML comment line would still parse,
    but raw files read better with air). Leading and trailing blank lines of
    the body are dropped so formatting is stable across renders.
    """
    body_lines = lines_of(body)
    for line in body_lines:
        if is_marker_line(line):
            # A programming error upstream (unescaped database text), not a user error.
            raise ValueError(f"generated body for '{key}' contains a kbgen marker line: {line!r}")
    while body_lines and is_blank(body_lines[0]):
        body_lines.pop(0)
    while body_lines and is_blank(body_lines[-1]):
        body_lines.pop()
    if not body_lines:
        return f"{begin_marker(key)}\n{end_marker(key)}\n"
    text = "".join(body_lines)
    if not text.endswith("\n"):
        text += "\n"
    return f"{begin_marker(key)}\n\n{text}\n{end_marker(key)}\n"


def document_title(title: str) -> str:
    """The level-1 heading of a new document (``Build Cache`` -> ``# Build Cache Domain Analysis``)."""
    name = " ".join(title.split())
    if not name.casefold().endswith("domain analysis"):
        name = f"{name} Domain Analysis"
    return f"# {name}"


def skeleton(generated: GeneratedSections, *, title: str) -> str:
    """The canonical document: title, header block, the eight numbered sections."""
    parts = [document_title(title) + "\n", "\n", format_block(HEADER_KEY, generated.header)]
    for section in SECTIONS:
        parts += ["\n", section.heading + "\n", "\n"]
        if section.key is None:
            parts.append(PLACEHOLDERS[section.number] + "\n")
        else:
            parts.append(format_block(section.key, generated.body(section.key)))
    return "".join(parts)


def render_document(existing: str | None, generated: GeneratedSections, *, title: str,
                    path: str = "<document>") -> str:
    """The document with fresh generated content; human text untouched.

    ``existing`` None (or blank) creates the canonical skeleton. A document
    without any kbgen marker is a hand-written one: rewriting it would
    duplicate its registries, so it must be migrated first.
    """
    if existing is None or existing.strip() == "":
        return skeleton(generated, title=title)
    text = existing
    blocks = split(text, path=path)
    if not generated_blocks(blocks):
        raise DomainDocError("not a kbgen-managed document (no kbgen markers)", path=path,
                             hint="convert it once with `kbgen domain migrate`")
    # The document is cut into blocks again only after a block was put back: a sync renders every
    # domain document, and most have all their blocks.
    for key in GENERATED_KEYS:
        if key not in generated_blocks(blocks):
            text = _reinsert(text, key, path=path)
            blocks = split(text, path=path)
    return "".join(
        format_block(b.key, generated.body(b.key)) if isinstance(b, GeneratedBlock) else b.text
        for b in blocks
    )


def _reinsert(text: str, key: str, *, path: str) -> str:
    """Put an empty block for ``key`` back where the canonical document has it."""
    lines = lines_of(text)
    ranges = generated_line_ranges(split(text, path=path))
    headings = [h for h in parse(text).headings
                if not any(start <= h.start < end for start, end in ranges)]
    block = format_block(key, "")
    if key == HEADER_KEY:
        title = next((h for h in headings if h.level == 1), None)
        return _insert_after_heading(lines, title.end, block) if title else _insert(lines, 0, block)
    number = SECTION_BY_KEY[key].number
    top = [(h, _number_of(h)) for h in headings if h.level <= 2]
    own = next((h for h, n in top if n == number and h.level == 2), None)
    if own is not None:
        return _insert_after_heading(lines, own.end, block)
    section_text = f"{SECTION_BY_KEY[key].heading}\n\n{block}"
    return _insert(lines, _section_position(top, number, len(lines)), section_text)


def _number_of(heading: Heading) -> int | None:
    return section_of_heading(heading.text)


def _section_position(top: list[tuple[Heading, int | None]], number: int, eof: int) -> int:
    """Where a missing section goes: before the next higher section, else after the last lower one."""
    higher = [h for h, n in top if n is not None and n > number and h.level == 2]
    if higher:
        return higher[0].start
    lower = [i for i, (h, n) in enumerate(top) if n is not None and n < number and h.level == 2]
    if lower and lower[-1] + 1 < len(top):
        return top[lower[-1] + 1][0].start
    return eof


def _insert_after_heading(lines: list[str], heading_end: int, block: str) -> str:
    pos = heading_end + 1 if heading_end < len(lines) and is_blank(lines[heading_end]) else heading_end
    return _insert(lines, pos, block)


def _insert(lines: list[str], pos: int, new: str) -> str:
    """Insert ``new`` (whole lines) before line ``pos``, adding only blank-line separators."""
    before, after = "".join(lines[:pos]), "".join(lines[pos:])
    lead = ""
    if before and not before.endswith("\n"):
        lead = "\n\n"
    elif before and not is_blank(lines[pos - 1]):
        lead = "\n"
    trail = "\n" if after and not is_blank(lines[pos]) else ""
    return before + lead + new + trail + after
