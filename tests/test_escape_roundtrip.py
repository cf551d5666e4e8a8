"""Escaped text parses back to the same text: the round-trip property of kbgen's minimal escaping.

The escaper writes a backslash only where markdown would read a character as
syntax, so the proof that it escapes *enough* is a parse: every escaped
string, in every place kbgen's templates put one (a paragraph, a heading, a
list item, a table cell, link text, a Session Log heading made of three
fragments, a block of lines), is parsed by MyST's own markdown-it parser with
every syntax extension a project may switch on, and must give back exactly
the text — as plain text, and as code where the text had a pair of matching
backticks. What "exactly" means comes from an independent reference: the
same text parsed by a markdown-it that knows nothing but code spans.

The docutils renderer (HTML, ``<code>`` for code spans) is checked on the
hostile corpus by ``test_hostile_escape.py``; whole sites by ``test_hostile_site.py``.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

from kbgen.render import escape
from kbgen.render.myst import Md, bullet_list, heading, need_link, table
from tests.hostile_corpus import CORPUS, hostile_text
from tests.test_hostile_escape import EXTENSIONS

MYST = create_md_parser(MdParserConfig(enable_extensions=set(EXTENSIONS)), RendererHTML)
REFERENCE = MarkdownIt("zero").enable("backticks")
MANY = settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))

#: Text dense in markdown syntax: every ASCII punctuation character, spaces, a letter, a digit.
syntax_text = st.text(string.punctuation + "  aZ1\t\u00a0é", max_size=24)
texts = st.one_of(syntax_text, hostile_text)

Segments = list[tuple[str, str]]


def _normal(segments: Segments) -> Segments:
    """Adjacent text merged, whitespace runs in text as one space, the ends trimmed."""
    merged: Segments = []
    for kind, content in segments:
        if kind == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + content)
            continue
        merged.append((kind, content))
    merged = [(kind, re.sub(r"\s+", " ", content) if kind == "text" else content) for kind, content in merged]
    if merged and merged[0][0] == "text":
        merged[0] = ("text", merged[0][1].lstrip())
    if merged and merged[-1][0] == "text":
        merged[-1] = ("text", merged[-1][1].rstrip())
    return [s for s in merged if s != ("text", "")]


def expected(*parts: str) -> Segments:
    """What a reader must see of ``parts`` (database text or template text) on one line."""
    segments: Segments = []
    for part in parts:
        line = " ".join(escape.clean(part).split("\n")).replace("\t", " ")
        # Sentinels keep the part's own leading and trailing spaces (a paragraph trims its ends).
        for tok in REFERENCE.parse(f"\x01{line}\x01"):
            for child in tok.children or ():
                segments.append(("code" if child.type == "code_inline" else "text", child.content))
        first, last = segments.index(next(s for s in segments if "\x01" in s[1])), len(segments) - 1
        segments[first] = ("text", segments[first][1].replace("\x01", "", 1))
        segments[last] = ("text", segments[last][1][:-1])
    return _normal(segments)


def _children(inline: Token, allowed: frozenset[str] = frozenset({"text", "code_inline"})) -> Segments:
    out: Segments = []
    for child in inline.children or ():
        assert child.type in allowed, f"markup {child.type} in {inline.content!r}"
        out.append(("code" if child.type == "code_inline" else "text", child.content))
    return out


def _single_block(source: str, kind: str) -> Token:
    tokens = MYST.parse(source)
    assert [t.type for t in tokens] == [f"{kind}_open", "inline", f"{kind}_close"], (source, tokens)
    return tokens[1]


def parsed_paragraph(source: str) -> Segments:
    return _normal(_children(_single_block(source, "paragraph")))


# -- one fragment in every place a template puts one ---------------------------------------

def check_inline(text: str) -> None:
    want = expected(text)
    if escape.inline(text).strip():
        assert parsed_paragraph(escape.inline(text)) == want
    assert parsed_paragraph("before " + escape.inline(text) + " after") == expected("before ", text, " after")
    assert _normal(_children(_single_block("## " + escape.inline(text), "heading"))) == want
    # (after a heading: kbgen's pages never start with a list, where MyST's front-matter rule
    # would read "x--" as an opening "---" whatever is escaped)
    tokens = MYST.parse("# T\n\n" + bullet_list([text, "second"]))
    items = [t for t in tokens if t.type == "inline"][1:]
    assert [t.type for t in tokens].count("list_item_open") == 2, tokens
    assert _normal(_children(items[0])) == want if len(items) == 2 else not want


def check_cells(a: str, b: str) -> None:
    source = table(["A", "B"], [[a, Md(escape.code(b))]])
    cells = [t for t in MYST.parse(source) if t.type == "inline"]
    assert len(cells) == 4, source  # two header cells, two body cells: no extra row or column
    assert _normal(_children(cells[2])) == expected(a)
    assert _normal(_children(cells[3])) == ([("code", c)] if (c := expected_code(b)) else [])


def expected_code(text: str) -> str:
    """The content of :func:`escape.code`'s span as CommonMark reads it."""
    tokens = REFERENCE.parse(escape.code(text))
    children = tokens[1].children if len(tokens) > 1 and tokens[1].children else []
    return children[0].content if children else ""


def check_link(text: str) -> None:
    children = _single_block(need_link("F1", text), "paragraph").children or []
    assert children[0].type == "link_open" and children[-1].type == "link_close", need_link("F1", text)
    assert children[0].attrs.get("href") == "#need-F1"
    inner = Token("inline", "", 0, children=children[1:-1])
    assert _normal(_children(inner)) == (expected(text) or [("text", "F1")])


def check_log_heading(label: str, date: str, focus: str) -> None:
    """A Session Log heading: three fragments and template text on one line."""
    source = f"### {escape.inline(label)} ({escape.inline(date)}): {escape.inline(focus)}"
    got = _normal(_children(_single_block(source, "heading")))
    assert got == expected(label, " (", date, "): ", focus)


def check_block(text: str) -> None:
    source = escape.block(text)
    lines = [line for line in escape.clean(text).replace("\t", "    ").split("\n") if line.strip()]
    got: list[Segments] = []
    for tok in MYST.parse(source):
        if tok.type == "inline":
            current: Segments = []
            for child in tok.children or ():
                if child.type == "hardbreak":
                    got.append(_normal(current))
                    current = []
                    continue
                assert child.type in ("text", "code_inline"), (child.type, source)
                current.append(("code" if child.type == "code_inline" else "text", child.content))
            got.append(_normal(current))
        else:
            assert tok.type in ("paragraph_open", "paragraph_close"), (tok.type, source)
    assert got == [expected(line) for line in lines], source


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_round_trips(name: str) -> None:
    payload = CORPUS[name][:5000]
    check_inline(payload)
    check_block(payload)
    check_link(payload)
    check_cells(payload, payload)


@MANY
@given(texts)
@example("`code` and `` a`b `` and `unmatched")
@example("{raw}`html <b>` and `x`{.cls} and {{ sub }}")
@example("*a* _b_ **c** ~~d~~ snake_case a*b*c 2*3 $x$")
@example("# h\n- item\n+ item\n* item\n1. one\n2) two\n> q\n---\n===\n%c\n+++\n(t)=\n:::x\n{#id}\n|-|-|\n~~~")
@example("foo #\nbar ##  \n\\\n[x]: y\n<http://a> <b> &amp; &#1;")
@example("^]:")  # as link text: "[^\\]:" at a line start is a footnote definition
@example("\n(x)=")  # indented by a no-break space, which MyST's target rule strips like a space
@example("\u2003(a b)= ")  # an em space before a target
def test_escaped_text_round_trips(text: str) -> None:
    check_inline(text)
    check_block(text)
    check_link(text)


@MANY
@given(texts, texts, texts)
@example("R1", "2025", "javascript:\n# ")  # a closing "#" run followed by a space
def test_fragments_side_by_side_round_trip(a: str, b: str, c: str) -> None:
    check_log_heading(a, b, c)
    check_cells(a, b)


def test_code_spans_are_code_and_unmatched_backticks_literal() -> None:
    assert escape.inline("call `f(x)` now") == "call `f(x)` now"
    assert escape.inline("a ` b") == "a \\` b"
    assert escape.inline("``a`b`` c `d") == "``a`b`` c \\`d"
    assert parsed_paragraph(escape.inline("x `<b>` y")) == [("text", "x "), ("code", "<b>"), ("text", " y")]
    # a code span never swallows a hard break: each line of a block pairs its own backticks
    assert escape.block("a `b\nc` d") == "a \\`b\\\nc\\` d"


def test_minimal_escaping_leaves_ordinary_text_alone() -> None:
    for text in ("R2-verify (2025-09-08): Same-day verification: fingerprints", "NOT_TOUCHED", "9%",
                 "quillc-core", "a * b", "x - y", "C:\\Users\\me", "1.5", "e.g. (see R1)", "a|b", "50% > 40%",
                 "it's \"quoted\"!", "user@example.org", "x = y + 1", "^caret ~tilde", "a < b"):
        assert escape.inline(text) == text, text
    assert heading(1, "Research Knowledge Base: master index") == "# Research Knowledge Base: master index\n"


def test_escapes_only_where_syntax_would_start() -> None:
    assert escape.inline("# not a heading") == "\\# not a heading"
    assert escape.inline("not # a heading") == "not # a heading"
    assert escape.inline("issue #") == "issue \\#"  # a closing sequence would be dropped
    assert escape.inline("1. first") == "1\\. first"
    assert escape.inline("- item") == "\\- item"
    assert escape.inline("a*b") == "a\\*b"
    assert escape.inline("[x](y)") == "[x\\](y)"
    assert escape.link_text("[x](y)") == "\\[x\\](y)"
    assert escape.inline("<b>") == "\\<b>"
    assert escape.inline("&amp;") == "\\&amp;"
    assert escape.inline("{{ x }}") == "\\{{ x }}"
    assert escape.inline("$x$") == "\\$x\\$"
    assert escape.inline("trailing\\") == "trailing\\\\"
    assert escape.cell("- 1. # > x") == "- 1. # > x"  # a table cell has no line starts
