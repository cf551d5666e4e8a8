"""The escape functions against the hostile corpus and generated text, through the real MyST parser.

Fast (docutils only, no Sphinx): every escaped string is rendered by
myst-parser's docutils parser with many MyST extensions switched on (a
project may enable them in its conf.py), and the HTML must hold exactly the
expected elements and exactly the input's text (text between matching
backticks as a code span, the one markup database text may carry). The site-level tests
(``test_hostile_site.py``) repeat this through sphinx-needs and a full build.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from bs4 import BeautifulSoup, Tag
from docutils.core import publish_parts
from docutils.parsers.rst import Directive, directives
from hypothesis import HealthCheck, given, settings
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.directives import parse_directive_text
from myst_parser.parsers.docutils_ import Parser
from myst_parser.parsers.mdit import create_md_parser

from kbgen.render import escape
from kbgen.render.myst import Md, bullet_list, heading, joined, need, table
from tests.hostile_corpus import CORPUS, dangerous_signatures, hostile_text, squash, visible

#: Every MyST syntax extension that could turn text into markup (linkify needs an extra package).
EXTENSIONS = ["colon_fence", "substitution", "dollarmath", "amsmath", "deflist", "html_image", "html_admonition",
              "attrs_inline", "attrs_block", "fieldlist", "tasklist", "strikethrough"]
# (smartquotes and replacements only change typography: a project that enables them gets curly quotes.)
SETTINGS = {"myst_enable_extensions": EXTENSIONS, "myst_substitutions": {"kbevil": "<b>SUBSTITUTED</b>"},
            "report_level": 2, "halt_level": 5, "raw_enabled": True, "file_insertion_enabled": True,
            "warning_stream": False, "myst_suppress_warnings": [],
            # Sphinx does not limit line length; docutils alone stops at 10,000 characters.
            "line_length_limit": 1_000_000}
FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def render(source: str) -> BeautifulSoup:
    """MyST source → the HTML body docutils writes, parsed."""
    html = publish_parts(source, parser=Parser(), writer_name="html5", settings_overrides=SETTINGS)["body"]
    return BeautifulSoup(html, "html.parser")


def tags(soup: BeautifulSoup) -> set[str]:
    return {t.name for t in soup.find_all(True)}


def assert_inert(soup: BeautifulSoup, allowed: set[str], original: str, mode: str) -> None:
    """Only the allowed elements (and code spans: ``span.literal``), and exactly the text a reader must see."""
    found = tags(soup)
    assert found <= allowed | {"span"}, f"markup from {original!r}: {sorted(found - allowed)}\n{soup}"
    for span in soup.find_all("span"):  # a code span: span.literal, words in span.pre, nothing else
        inner = span.get("class") == ["pre"] and span.parent.get("class") == ["docutils", "literal"]
        assert inner or span.get("class") == ["docutils", "literal"], f"markup from {original!r}:\n{soup}"
        assert all(child.get("class") == ["pre"] for child in span.find_all(True)), soup
    assert squash(soup.get_text()) == visible(original, mode), f"text of {original!r} changed:\n{soup}"
    assert not list(dangerous_signatures(soup))


CASES = sorted(CORPUS.items())
#: docutils' own HTML writer (not Sphinx's) takes quadratic time on a long literal:
#: code spans get a 5 kB token here; the site test renders the 100 kB one through Sphinx.
CODE_CASES = [(n, v[:5000]) for n, v in CASES]


# -- the checker itself must be able to fail ----------------------------------------------

@pytest.mark.parametrize("name", ["script", "img-onerror", "raw-fence", "eval-rst", "colon-raw", "colon-admonition",
                                  "html-block", "iframe", "indented-code", "block-structure"])
def test_unescaped_payloads_are_detected(name: str) -> None:
    """Without escaping, the same payloads do inject: proof that the checks below can fail."""
    soup = render(CORPUS[name])
    assert list(dangerous_signatures(soup)) or tags(soup) - {"p", "br"}, soup


# -- block, inline, table cells, headings, lists, code ------------------------------------

@pytest.mark.parametrize(("name", "payload"), CASES, ids=[n for n, _ in CASES])
def test_block_is_inert(name: str, payload: str) -> None:
    assert_inert(render(escape.block(payload)), {"p", "br"}, payload, "block")


@pytest.mark.parametrize(("name", "payload"), CASES, ids=[n for n, _ in CASES])
def test_inline_is_inert_in_a_paragraph_and_a_heading(name: str, payload: str) -> None:
    assert_inert(render("before " + escape.inline(payload)), {"p"}, "before " + payload, "inline")
    soup = render("# Title\n\nintro\n\n" + heading(2, payload) + "\ntext\n")
    assert tags(soup) <= {"h1", "h2", "p", "section", "span"} and len(soup.find_all("section")) == 1, soup
    assert squash(soup.get_text()) == "intro" + visible(payload, "inline") + "text"  # (the title is not in the body)


@pytest.mark.parametrize(("name", "payload"), CODE_CASES, ids=[n for n, _ in CODE_CASES])
def test_table_cells_stay_one_cell(name: str, payload: str) -> None:
    """Escaped text and code spans (paths) in a pipe table: one row, two cells, the text intact."""
    soup = render(table(["Text", "Path"], [[payload, Md(escape.code(payload))]]))
    rows = soup.find_all("tr")
    assert len(rows) == 2, soup
    cells = rows[1].find_all("td")
    assert len(cells) == 2, soup
    assert squash(cells[0].get_text()) == visible(payload, "inline")
    assert squash(cells[1].get_text()) == visible(payload)
    assert tags(soup) <= {"table", "thead", "tbody", "tr", "th", "td", "p", "span", "colgroup", "col"}
    assert not list(dangerous_signatures(soup))


@pytest.mark.parametrize(("name", "payload"), CODE_CASES, ids=[n for n, _ in CODE_CASES])
def test_code_span_is_one_literal(name: str, payload: str) -> None:
    soup = render("path: " + escape.code(payload))
    literals = soup.select("span.literal")
    assert len(literals) == (1 if visible(payload) else 0), soup
    assert squash(soup.get_text()) == "path:" + visible(payload)
    assert tags(soup) <= {"p", "span"}


@pytest.mark.parametrize(("name", "payload"), CASES, ids=[n for n, _ in CASES])
def test_bullet_items_stay_one_item(name: str, payload: str) -> None:
    soup = render("# Page\n\n" + bullet_list([payload, "second"]))  # (a page never starts with a list)
    items = soup.find_all("li")
    assert len(items) == 2 and squash(items[0].get_text()) == visible(payload, "inline"), soup


# -- need directives: title and options ---------------------------------------------------

class NeedLike(Directive):  # type: ignore[misc]
    """The directive shape of a sphinx-needs need (optional free-text title, options, content)."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        name: directives.unchanged for name in ("id", "severity", "category", "status", "label")}


_MDIT = create_md_parser(MdParserConfig(enable_extensions=set(EXTENSIONS)), RendererHTML)


def parse_need(source: str) -> tuple[list[str], dict[str, Any], str]:
    """(arguments, options, body) of the single colon-fence directive in ``source``."""
    fences = [t for t in _MDIT.parse(source) if t.type == "colon_fence"]
    assert len(fences) == 1, source
    name, _, first_line = fences[0].info.partition(" ")
    assert name == "{finding}"
    result = parse_directive_text(NeedLike, first_line, fences[0].content)
    assert not result.warnings, result.warnings
    return result.arguments, result.options, "\n".join(result.body)


@pytest.mark.parametrize(("name", "payload"), CASES, ids=[n for n, _ in CASES])
def test_need_title_options_and_content_stay_in_place(name: str, payload: str) -> None:
    source = need("finding", "F1", payload, options={"severity": payload, "category": payload, "label": 7},
                  content=escape.block(payload))
    arguments, options, body = parse_need(source)
    title = escape.title(payload, 160)
    assert arguments == ([title] if title else ["F1"])
    assert options["id"] == "F1"
    assert options["severity"] == escape.plain(payload) == options["category"]
    assert options["label"] == "7"
    assert body == escape.block(payload)


def test_plain_and_title_keep_shifts_and_brackets_literal() -> None:
    """``4 << 30`` stays ``4 << 30`` in a title and an option: sphinx-needs parses no ``[[``/``<<`` in kbgen's
    fields and titles (test_sphinx_extension.py builds one), so nothing needs breaking apart."""
    for text in ("memory_size(4 << 30)", "x >> 2", "a[[0]] <<= b[[1]]", "[[copy('x')]]", "<<<v>>>", "a[[b]]c<<d>>"):
        assert escape.plain(text) == text
        assert escape.title(text) == text
        arguments, options, _ = parse_need(need("finding", "F3", text, options={"severity": text}))
        assert arguments == [text] and options["severity"] == text


# -- generated text -----------------------------------------------------------------------

@FAST
@given(hostile_text)
def test_generated_block_and_inline_are_inert(text: str) -> None:
    assert_inert(render(escape.block(text)), {"p", "br"}, text, "block")
    assert_inert(render("x " + escape.inline(text)), {"p"}, "x " + text, "inline")


@FAST
@given(hostile_text, hostile_text)
def test_generated_table_cells_and_needs_are_inert(a: str, b: str) -> None:
    soup = render(table(["A", "B"], [[a, Md(escape.code(b))]]))
    cells = soup.find_all("tr")[1].find_all("td")
    assert [squash(c.get_text()) for c in cells] == [visible(a, "inline"), visible(b)]
    arguments, options, body = parse_need(need("finding", "F2", a, options={"severity": b}, content=escape.block(b)))
    assert arguments == [escape.title(a, 160) or "F2"]
    assert options.get("severity", "") == escape.plain(b)
    assert body == escape.block(b)


@FAST
@given(hostile_text)
def test_plain_is_one_line_without_controls(text: str) -> None:
    out = escape.plain(text)
    assert "\n" not in out and out == out.strip()
    assert len(out.splitlines()) <= 1, "splitlines() would break a directive line"
    assert not any(ch in out for ch in "\x00\x0b\x0c\x1c\x85\u2028\u2029\u202e")


def test_tag_attributes_of_html_payloads_never_survive() -> None:
    """A direct check on the corpus: not one payload element reaches the HTML."""
    for payload in CORPUS.values():
        soup = render(escape.block(payload))
        assert not soup.find_all(["script", "img", "iframe", "style", "b", "div"]), payload
        assert not any(isinstance(t, Tag) and any(k.startswith("on") for k in t.attrs) for t in soup.find_all(True))


# -- clean() is the character loop it replaced, faster ----------------------------------------

def _reference_clean(text: object) -> str:
    """clean() as first written: a loop over the characters (kept here as the specification)."""
    value = "" if text is None else str(text)
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    value = escape._CONTROL.sub("", value)
    if any(ch in escape._BIDI for ch in value):
        value = "".join(f"<U+{ord(ch):04X}>" if ch in escape._BIDI else ch for ch in value)
    return value


@FAST
@given(hostile_text)
def test_regex_clean_matches_the_character_loop(text: str) -> None:
    assert escape.clean(text) == _reference_clean(text)


def test_joined_values_keep_their_own_backticks_and_emphasis() -> None:
    # Two domain names with one backtick each: joined first and escaped after, the two backticks
    # paired into a code span across the separator (found by test_hostile_site's generated strings).
    names = ["a`2) x", "<!--**<img src=x onerror=y>*`y", "*lone", "under_"]
    soup = render(str(table(["Domains"], [[joined(names)]])))
    assert not soup.find_all("span"), soup
    assert not soup.find_all(["em", "strong"]), soup
    cell = soup.find("td")
    assert cell is not None and squash(cell.get_text()) == squash(", ".join(names))
    escaped_together = render(str(table(["Domains"], [[", ".join(names)]])))
    assert escaped_together.find_all("span"), "the test no longer shows the pairing it guards against"
