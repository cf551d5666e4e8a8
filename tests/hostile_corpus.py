"""Hostile text for the hardening tests: a fixed corpus, a Hypothesis strategy, HTML checks.

Every string here is *data* that a research database or a plan may hold. On
a kbgen site it must render literally: no markup, no raw HTML, no directive,
no link, no substitution. The helpers below

* tag a payload with unique ASCII markers (:func:`tagged`) so a test can find
  where it landed and check that it arrived whole;
* compute what a reader must see (:func:`visible`): the text after
  :func:`kbgen.render.escape.clean` (control characters dropped, bidi
  controls as ``<U+202E>``), compared with all whitespace removed — where the
  text is markdown (not a title), text between matching backticks is a code
  span, shown without its backticks;
* scan built HTML for anything a payload could have injected
  (:func:`dangerous_signatures`, :func:`structure_counts`).
"""

from __future__ import annotations

import random
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from kbgen.render import escape

#: A 100 kB single token (no whitespace, nothing to break it on).
LONG_TOKEN = "LONG" + "".join(random.Random(7).choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(100_000))

#: name → payload. HTML payloads name the marker ``kbevil`` so any element or
#: attribute that came from a payload can be found in the built HTML.
CORPUS: dict[str, str] = {
    "script": "<script>alert('kbevil-1')</script>",
    "img-onerror": "<img src=\"x\" onerror=\"alert('kbevil-2')\" class=\"kbevil\">",
    "img-unquoted": "<img src=x onerror=alert(2) class=kbevil>",
    "iframe": '<iframe src="javascript:alert(\'kbevil-3\')" class="kbevil"></iframe>',
    "html-block": "<div class=\"kbevil\" onclick=\"alert('kbevil-4')\">\nblock html\n</div>",
    "style": "<style>body{display:none} /* kbevil */</style>",
    "md-link-js": "[click me](javascript:alert('kbevil-5')) [ref][r]\n\n[r]: javascript:alert('kbevil-6')",
    "autolink-js": "<javascript:alert('kbevil-7')> <https://example.invalid/kbevil> www.example.invalid",
    "md-image": "![kbevil](javascript:alert('kbevil-8')) ![x](https://example.invalid/kbevil.png)",
    "eval-rst": "```{eval-rst}\n.. raw:: html\n\n   <script>alert('kbevil-9')</script>\n```",
    "raw-fence": "```{raw} html\n<b class=kbevil onmouseover=alert('kbevil-10')>raw</b>\n```",
    "colon-raw": ":::{raw} html\n<iframe class=kbevil></iframe>\n:::",
    "colon-admonition": "::::{admonition} Injected kbevil\n:::{note}\nnested\n:::\n::::",
    "tilde-fence": "~~~{eval-rst}\n.. include:: /etc/passwd\n~~~",
    "rst-at-line-start": ".. raw:: html\n\n   <script>alert('kbevil-11')</script>\n\n.. include:: /etc/passwd",
    "roles": "{eval-rst}`x` {raw}`html <b class=kbevil>` {need}`F1` {ref}`genindex` {doc}`/index` :need:`F1`",
    "substitutions": "{{ env.config.project }} {{kbevil}} {% for x in y %} |kbevil| ${HOME} %(name)s {0}",
    "needs-dynamic": "[[copy('id')]] [[test('kbevil')]] <<meta('title')>> << kbevil >>",
    "table-pipes": "| a | b |\n|---|---|\n| kbevil \\| y | z |",
    "lone-pipes": "a | b || c \\| d |",
    "block-structure": "# Heading kbevil\n## Sub\n---\n===\n> quote\n- item\n* item\n+ item\n1. one\n2) two",
    "targets-comments": "(kbevil-target)=\n% a comment\n+++ block break\n[^1]\n\n[^1]: footnote kbevil",
    "math": "$$\n\\int kbevil\n$$ and $x^2$ and \\(y\\) and {math}`z`",
    "emphasis": "**bold** *em* _u_ ~~strike~~ `code` ``a`b`` ```` ``` ```` \\*not\\*",
    "front-matter": "---\norphan: true\nkbgen-domain: evil\n---",
    "attrs": "{#kbevil-id} {.kbevil} {attr=1} [span]{.kbevil}",
    "entities": "&lt;script&gt; &amp; &#60;b&#62; &#x3C;i&#x3E; &nbsp; &copy; <!-- kbevil --> ]]> -->",
    "kbgen-markers": "<!-- kbgen:begin header -->\n<!-- kbgen:end header -->",
    "line-breaks": "line1\nline2\r\nline3\rline4\n\n\n\nparagraph\\\nafter a backslash",
    "indented-code": "    four spaces of indent\n\ttabbed line\n        eight",
    "control-chars": "ctrl\x00\x01\x07\x08\x1b[31mred\x1b[0m\x7f\x85\x9f\x0b\x0c\x1c\x1d\x1e\x1fend",
    "zero-width": "zero\u200bwidth\u200c\u200d\u2060\ufeff joiners",
    "bidi": "rtl \u202eevil\u202c \u2066isolate\u2069 \u200fmark\u200e \u061c",
    "unicode-separators": "line\u2028separator\u2029paragraph separator",
    "unicode": "Ünïcödé — 日本語テキスト, emoji 🚀🔥, עברית, combining é, NBSP\u00a0here",
    "backslashes": "C:\\Windows\\System32\\ \\` \\* \\| trailing backslash \\",
    "url": "http://example.invalid/?a=1&b=<2> mailto:kbevil@example.invalid",
    "long-token": LONG_TOKEN,
    "shifts": "memory_size(4 << 30) and x >> 2, a[[0]] <<= b[[1]], 1<<n, kbevil<<5",
    "braces": "}}}{{{ }} {{ {%%} <<<>>> [[[ ]]] ::: ``` ~~~",
    "numbers": "1. 2) 3.14 10) #1 (1)=",
    # Backticks: matched runs are inert code spans (markup inside them stays text), unmatched ones
    # literal; a role or inline attributes around a code span must not come alive.
    "code-spans": "`<script>alert('kbevil-12')</script>` ``a ` b`` `[x](javascript:y)` `{{kbevil}}` `**no**`",
    "code-span-roles": "{raw}`<b class=kbevil>` {eval-rst}`.. raw:: html` `x`{.kbevil #kbevil-id} `y`{onclick=z}",
    "backticks-unmatched": "a ` lone, `` a double `` `` then ``` three ``` and `one``two` `end",
    "code-span-breaks": "`starts here\nends here` then `|pipe|` and `<!-- kbgen:end files -->`",
}

#: Values for ``domains.synthesis_path`` and other path-like cells that try to escape.
HOSTILE_PATHS: tuple[str, ...] = (
    "../../etc/passwd",
    "domains/../../../outside.md",
    "/etc/passwd.md",
    "/tmp/kbgen-outside.md",
    "domains/x\n```{raw} html\n<script>alert(1)</script>\n```\n.md",
    "domains/..\\..\\outside.md",
    "C:\\Windows\\outside.md",
    "domains/./../outside.md",
    "",
    ".",
    "..",
    "domains/",
    "domains/.kbgen-manifest.json",
    "domains/CON.md",
    "domains/\x00nul.md",
    "domains/a\u202egpj.md",
    "~/outside.md",
    "domains/" + "x" * 300 + ".md",
)

# Mixed case on purpose: slugs (lower case) and need IDs (upper case) made from a
# tagged name do not contain the tag, so only literal text can match it.
_START = "KbQs{:04d}q"
_END = "KbQe{:04d}q"


def tagged(number: int, payload: str) -> str:
    """``payload`` between unique start/end markers (each on its own line, so line-start markup stays at line start)."""
    return f"{_START.format(number)}\n{payload}\n{_END.format(number)}"


def squash(text: str) -> str:
    """Remove all whitespace (HTML collapses and re-wraps it)."""
    return re.sub(r"\s+", "", text)


_CODE_SPANS_ONLY = MarkdownIt("zero").enable("backticks")
#: How database text reaches a reader: as plain text (titles, options, code spans of paths), as
#: one markdown line (escape.inline: line breaks joined) or as markdown lines (escape.block).
MODES = ("plain", "inline", "block")


def _rendered(line: str) -> str:
    """A line's text as markdown shows it when the only markup is code spans."""
    return "".join(child.content for token in _CODE_SPANS_ONLY.parse(line) for child in token.children or ())


def visible(text: str, mode: str = "plain") -> str:
    """What a reader must see of database text, whitespace removed (``mode``: see :data:`MODES`)."""
    cleaned = escape.clean(text)
    if mode == "inline":
        return squash(_rendered(" ".join(cleaned.split("\n")).replace("\t", " ")))
    if mode == "block":
        return squash("".join(_rendered(line) for line in cleaned.replace("\t", "    ").split("\n")))
    return squash(cleaned)


def whole_occurrences(page_text: str, number: int, payload: str) -> tuple[int, int]:
    """(end markers seen, end markers preceded by the whole literal tagged text) in squashed page text.

    A payload rendered literally is found whole before its end marker (as plain text, or as
    markdown whose only markup is code spans); one that became markup (or was cut) is not.
    """
    end = _END.format(number)
    prefixes = {visible(tagged(number, payload), mode)[: -len(end)] for mode in MODES}
    ends = [m.start() for m in re.finditer(re.escape(end), page_text)]
    whole = sum(1 for pos in ends if any(page_text[:pos].endswith(prefix) for prefix in prefixes))
    return len(ends), whole


# -- Hypothesis ---------------------------------------------------------------------

_FRAGMENTS: tuple[str, ...] = (
    "```", "~~~", ":::", "{raw}", "{eval-rst}", "{note}", "<script>", "</script>", "<img src=x onerror=y>",
    "javascript:", "[a](b)", "**", "_", "*", "|", "\n", "\r\n", "\r", "\t", "    ", "\u2028", "\u2029",
    "\x85", "\x0b", "\x0c", "\x1c", "\x00", "\u200b", "\ufeff", "\u202e", "\u2066", "\u00a0", "1.", "2)", "- ",
    "# ", "> ", "{{", "}}", "{%", "%}", "%", "$", "$$", "(x)=", "[^1]", "[^1]:", "\\", "&amp;", "&#x3C;",
    "<!--", "-->", "---", "===", "[[", "]]", "<<", ">>", ".. raw:: html", "{#id}", "{.cls}", "http://x.invalid",
    "www.x.invalid", "<b>", "\"", "'", ":", "`", "=", "+", "~", "^", "@", "!", "é", "日本", "🚀", "e\u0301",
)

#: Text a database could hold: hostile fragments mixed with arbitrary characters
#: (surrogates excluded: they cannot be stored as UTF-8 at all).
hostile_text = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(st.characters(exclude_categories=["Cs"]), max_size=6)),
    min_size=1, max_size=14).map("".join)


# -- HTML checks ----------------------------------------------------------------------

_URL_ATTRS = ("href", "src", "action", "formaction", "data", "xlink:href", "poster", "background", "srcset")
#: Attributes that legitimately carry slugs or text derived from data (page names, anchors, tooltips).
_TEXT_ATTRS = ("href", "id", "title", "alt", "name")
_DANGEROUS_TAGS = ("script", "iframe", "frame", "object", "embed", "img", "style", "link", "meta", "base",
                   "form", "input", "button", "svg", "math", "video", "audio", "source")
#: Elements kbgen's own rendering of data never produces more of: a payload that
#: became structure shows up as a difference against the clean build.
STRUCTURE_TAGS = ("pre", "blockquote", "hr", "ol", "dl", "table", "img", "iframe", "script", "style", "aside",
                  "h1", "h2", "h3", "h4", "h5", "h6")
STRUCTURE_CLASSES = ("admonition", "highlight", "math", "footnote", "footnote-list", "raw", "rubric")


def html_pages(root: Path) -> dict[str, BeautifulSoup]:
    """Every HTML page and SVG image of a built site, parsed, by path relative to ``root``.

    SVG images count: graphs and charts carry database names, and an SVG shown
    through ``<object>`` runs its scripts.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return {p.relative_to(root).as_posix(): BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser")
                for p in sorted([*root.rglob("*.html"), *root.rglob("*.svg")])}


def _script_signature(tag: Tag) -> str:
    src = str(tag.get("src") or "")
    if src:
        return "src:" + re.sub(r"\?.*$", "", src.rsplit("/", 1)[-1])
    # Inline scripts differ between pages only in their string literals (page names).
    code = re.sub(r"'[^']*'|\"[^\"]*\"", "''", tag.get_text())
    return "inline:" + re.sub(r"\s+", " ", code)[:80]


def dangerous_signatures(soup: BeautifulSoup) -> Iterator[str]:
    """Everything in a page that could run code or load content, as comparable strings."""
    for tag in soup.find_all(True):
        assert isinstance(tag, Tag)
        if tag.name in _DANGEROUS_TAGS:
            if tag.name == "script":
                yield "script " + _script_signature(tag)
            else:
                yield f"{tag.name} " + " ".join(f"{k}" for k in sorted(tag.attrs))
        for name, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if name.lower().startswith("on"):
                yield f"event-handler {tag.name}.{name}"
            if name.lower() in _URL_ATTRS and re.sub(r"[\s\x00-\x1f]+", "", text).lower().startswith(
                    ("javascript:", "vbscript:", "data:text/html")):
                yield f"script-url {tag.name}.{name}"
            local = name.lower().rsplit(":", 1)[-1]
            if "kbevil" in name.lower() or ("kbevil" in text.lower() and local not in _TEXT_ATTRS):
                # A payload's marker inside markup: an attribute it created or filled.
                yield f"payload-attribute {tag.name}.{name}"
        if tag.name == "script" and "alert(" in tag.get_text():
            yield "payload-script"


def structure_counts(pages: dict[str, BeautifulSoup], names: Iterable[str] | None = None) -> Counter[str]:
    """Site-wide counts of structural elements and classes (see :data:`STRUCTURE_TAGS`)."""
    counts: Counter[str] = Counter()
    for name, soup in pages.items():
        if names is not None and name not in names:
            continue
        body = soup.find("article") or soup.body or soup
        assert isinstance(body, Tag)
        for tag in body.find_all(True):
            assert isinstance(tag, Tag)
            if tag.name in STRUCTURE_TAGS:
                counts[tag.name] += 1
            for cls in tag.get("class") or ():
                if cls in STRUCTURE_CLASSES:
                    counts["." + cls] += 1
    return counts


def page_text(soup: BeautifulSoup) -> str:
    """The squashed visible text of a page's main content (scripts, styles and inline SVG excluded).

    A graph's labels and tooltips are shortened on purpose, so a payload in
    them is not whole; :func:`dangerous_signatures` checks every SVG element.
    """
    body = soup.find("article") or soup.body or soup
    assert isinstance(body, Tag)
    parts = [s for s in body.find_all(string=True)
             if (s.parent is None or s.parent.name not in ("script", "style")) and s.find_parent("svg") is None]
    return squash("".join(parts))
