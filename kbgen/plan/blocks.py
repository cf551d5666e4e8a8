"""Markdown → top-level blocks and plain-text inline lines.

The plan parser reasons about a plan's structure (headings, paragraphs,
tables, lists, code fences), never about raw lines: markdown-it-py does the
block parsing, so a ``|`` in a code span, a list that interrupts a paragraph
or an escaped pipe in a table cell are handled the way any markdown reader
would. This module turns its token stream into a flat list of top-level
blocks with 1-based line numbers, and inline tokens into plain text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # CommonMark plus GFM tables: the dialect plans are written in. Cached
    # because building the parser costs more than parsing a small plan.
    return MarkdownIt("commonmark").enable("table")


def normalise_newlines(text: str) -> str:
    """Line endings as markdown-it counts them, so line numbers agree with ours."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def line_count(text: str) -> int:
    """Number of lines in the file, counted the way error line numbers are."""
    return normalise_newlines(text).count("\n") + 1


@dataclass(frozen=True)
class Block:
    """One top-level block: a heading, paragraph, table, list, fence, ...

    ``kind`` is the token type without ``_open`` (``heading``, ``paragraph``,
    ``table``, ``bullet_list``, ``ordered_list``, ``fence``...). ``tokens``
    runs from the opening token to the matching closing one.
    """

    kind: str
    line: int
    tokens: tuple[Token, ...]

    @property
    def tag(self) -> str:
        return self.tokens[0].tag

    @property
    def inline(self) -> Token | None:
        """The inline token of a heading or paragraph."""
        return next((t for t in self.tokens if t.type == "inline"), None)

    @property
    def content(self) -> str:
        return self.tokens[0].content


def token_line(token: Token, default: int) -> int:
    return token.map[0] + 1 if token.map else default


def parse_blocks(text: str) -> list[Block]:
    """Split a document into its top-level blocks, in order."""
    tokens = _markdown().parse(normalise_newlines(text))
    blocks: list[Block] = []
    index = 0
    last_line = 1
    while index < len(tokens):
        start = tokens[index]
        end = index
        if start.nesting == 1:
            depth = 0
            for end in range(index, len(tokens)):
                depth += tokens[end].nesting
                if depth == 0:
                    break
        last_line = token_line(start, last_line)
        kind = start.type.removesuffix("_open")
        blocks.append(Block(kind=kind, line=last_line, tokens=tuple(tokens[index:end + 1])))
        index = end + 1
    return blocks


def plain_text(children: Sequence[Token]) -> str:
    """Inline tokens as plain text: markup dropped, code spans kept as their text.

    Inline "HTML" is kept verbatim: in a plan, ``Vec<f32>`` is a type, not a tag.
    """
    parts: list[str] = []
    for tok in children:
        if tok.type in ("text", "code_inline", "image", "html_inline"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def span_text(children: Sequence[Token]) -> str:
    """Inline tokens as text that keeps its code spans: :func:`plain_text`, with each code span
    between backticks again (```Cache::lookup```), so a page can show it as code.

    Emphasis, links and the like are still dropped (their text is kept): what comes back is
    data for :mod:`kbgen.render.escape`, in which only code spans are markup.
    """
    parts: list[str] = []
    for tok in children:
        if tok.type == "code_inline":
            fence = "`" * (max((len(m) for m in re.findall(r"`+", tok.content)), default=0) + 1)
            pad = " " if tok.content.startswith("`") or tok.content.endswith("`") else ""
            parts.append(f"{fence}{pad}{tok.content}{pad}{fence}")
        elif tok.type in ("text", "image", "html_inline"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def inline_children(token: Token | None) -> list[Token]:
    if token is None or token.children is None:
        return []
    return list(token.children)


def split_lines(children: Sequence[Token]) -> list[list[Token]]:
    """Inline tokens cut at line breaks: one list per source line of the paragraph."""
    lines: list[list[Token]] = [[]]
    for tok in children:
        if tok.type in ("softbreak", "hardbreak"):
            lines.append([])
        else:
            lines[-1].append(tok)
    return lines


def collapse_space(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class FieldLine:
    """A ``**Name**: value`` (or ``**Name:** value``) line of a paragraph.

    ``rest`` keeps the inline tokens after the bold name, because some fields
    carry their payload in a code span before the colon
    (``**Full paths** (all under `~/repos/x/`):``).
    """

    name: str
    value: str
    rest: tuple[Token, ...]
    line: int


_AFTER_NAME = re.compile(r"^\s*(?:\([^)]*\)\s*)?:\s*")


def field_line(children: Sequence[Token], line: int) -> FieldLine | None:
    """The field on one paragraph line, or None when the line is prose."""
    toks = [t for t in children if not (t.type == "text" and t.content == "")]
    if len(toks) < 3 or toks[0].type != "strong_open":
        return None
    close = next((i for i, t in enumerate(toks) if t.type == "strong_close"), None)
    if close is None:
        return None
    name = plain_text(toks[1:close]).strip()
    rest = toks[close + 1:]
    if name.endswith(":"):
        return FieldLine(name.rstrip(":").strip(), plain_text(rest).strip(), tuple(rest), line)
    after = plain_text(rest)
    match = _AFTER_NAME.match(after)
    if match is None:
        return None
    return FieldLine(name, after[match.end():].strip(), tuple(rest), line)


@dataclass(frozen=True)
class ListItem:
    """A top-level item of a list (or a ``5. item`` line continuing a paragraph)."""

    children: tuple[Token, ...]
    line: int
    number: int | None

    @property
    def text(self) -> str:
        return collapse_space(plain_text(self.children))


def list_items(block: Block) -> list[ListItem]:
    """Top-level items of a list block, each as the inline tokens of its text.

    An item with several paragraphs is joined with a line break between
    them; nested lists stay with their item.
    """
    items: list[ListItem] = []
    base = block.tokens[0].level + 1
    current: list[Token] | None = None
    for tok in block.tokens:
        if tok.type == "list_item_open" and tok.level == base:
            number = int(tok.info) if tok.info.isdigit() else None
            current = []
            items.append(ListItem((), token_line(tok, block.line), number))
        elif tok.type == "inline" and current is not None:
            if current:
                current.append(Token("softbreak", "br", 0))
            current.extend(inline_children(tok))
            last = items[-1]
            items[-1] = ListItem(tuple(current), last.line, last.number)
    return items


def code_spans(children: Sequence[Token]) -> list[str]:
    return [t.content for t in children if t.type == "code_inline"]
