"""The block outline of a markdown document, with 0-based line numbers.

The linter, the updater and the migration all need to know where headings,
tables and other blocks are, and they must agree: a ``## 3.`` inside a fenced
code block or a blockquote is not a section, a ``|`` line inside a code block
is not a table row. One parse with markdown-it-py (CommonMark plus tables, the
core MyST builds on) answers that for all three; only top-level blocks count,
because only they shape the document's sections.
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

from kbgen.domain.sections import lines_of

_MD = MarkdownIt("commonmark").enable("table")


@dataclass(frozen=True)
class Heading:
    """A top-level heading; ``text`` is its plain text, ``raw`` its inline markdown."""

    level: int
    text: str
    raw: str
    start: int
    end: int
    setext: bool


@dataclass(frozen=True)
class TableRow:
    """A body row: the plain text of each cell and the row's line."""

    cells: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Table:
    """A top-level table: normalised header cells and its body rows."""

    header: tuple[str, ...]
    rows: tuple[TableRow, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Node:
    """A top-level block and the lines it spans (``end`` exclusive).

    ``kind`` is the markdown-it block type without ``_open`` (``heading``,
    ``table``, ``paragraph``, ``bullet_list``, ``fence``...), or ``other`` for
    non-blank lines that produce no token (link reference definitions).
    """

    kind: str
    start: int
    end: int
    heading: Heading | None = None
    table: Table | None = None


@dataclass(frozen=True)
class Outline:
    """A document cut into lines (with their endings) and top-level nodes."""

    lines: tuple[str, ...]
    nodes: tuple[Node, ...]

    @property
    def headings(self) -> list[Heading]:
        """Top-level headings in document order."""
        return [n.heading for n in self.nodes if n.heading is not None]

    @property
    def tables(self) -> list[Table]:
        """Top-level tables in document order."""
        return [n.table for n in self.nodes if n.table is not None]


def plain_text(token: Token | None) -> str:
    """The visible text of an inline token: markup, links and HTML dropped."""
    if token is None:
        return ""
    if not token.children:
        return token.content.strip()
    parts: list[str] = []
    for child in token.children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(plain_text(child))
    return " ".join("".join(parts).split())


def parse(text: str) -> Outline:
    """Outline ``text``; line numbers match :func:`kbgen.domain.sections.lines_of`."""
    lines = tuple(lines_of(text))
    # markdown-it treats a lone \r as a line break; lines_of does not. Dropping
    # \r keeps both line counts equal (and \r\n files parse as usual).
    tokens = _MD.parse(text.replace("\r", ""))
    nodes: list[Node] = []
    covered = [False] * len(lines)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            i += 1
            continue
        start, end = tok.map
        for n in range(start, min(end, len(lines))):
            covered[n] = True
        kind = tok.type.removesuffix("_open")
        close = _closing_index(tokens, i)
        if kind == "heading":
            nodes.append(Node(kind, start, end, heading=_heading(tok, tokens[i + 1], start, end)))
        elif kind == "table":
            nodes.append(Node(kind, start, end, table=_table(tokens[i:close + 1], start, end)))
        else:
            nodes.append(Node(kind, start, end))
        i = close + 1
    nodes.extend(_uncovered(lines, covered))
    nodes.sort(key=lambda n: n.start)
    return Outline(lines, tuple(nodes))


def _closing_index(tokens: list[Token], i: int) -> int:
    if tokens[i].nesting != 1:
        return i
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


def _heading(tok: Token, inline: Token, start: int, end: int) -> Heading:
    return Heading(level=int(tok.tag[1]), text=plain_text(inline), raw=inline.content.strip(),
                   start=start, end=end, setext=not tok.markup.startswith("#"))


def _table(tokens: list[Token], start: int, end: int) -> Table:
    header: list[str] = []
    rows: list[TableRow] = []
    cells: list[str] = []
    in_head = False
    row_line = start
    for j, tok in enumerate(tokens):
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            cells = []
            row_line = tok.map[0] if tok.map else row_line
        elif tok.type in ("th_open", "td_open"):
            cells.append(plain_text(tokens[j + 1] if tokens[j + 1].type == "inline" else None))
        elif tok.type == "tr_close":
            if in_head:
                header = [c.casefold() for c in cells]
            else:
                rows.append(TableRow(tuple(cells), row_line))
    return Table(tuple(header), tuple(rows), start, end)


def _uncovered(lines: tuple[str, ...], covered: list[bool]) -> list[Node]:
    nodes: list[Node] = []
    run_start: int | None = None
    for n, line in enumerate(lines):
        loose = not covered[n] and line.strip() != ""
        if loose and run_start is None:
            run_start = n
        elif not loose and run_start is not None:
            nodes.append(Node("other", run_start, n))
            run_start = None
    if run_start is not None:
        nodes.append(Node("other", run_start, len(lines)))
    return nodes


def is_blank(line: str) -> bool:
    """A line with nothing but whitespace."""
    return line.strip() == ""
