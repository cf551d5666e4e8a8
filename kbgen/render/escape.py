"""The one place where database and plan text becomes inert MyST.

Text from the research database is data: it must render literally and never
become markup, raw HTML, a role, a directive, a substitution or a link. The
rules, in CommonMark terms (MyST is CommonMark plus extensions):

* every ASCII punctuation character that can start or close markup is
  backslash-escaped (CommonMark allows escaping any ASCII punctuation, so the
  character itself is what renders). That covers emphasis, code spans, links,
  raw HTML and entities (``<``, ``&``), headings, block quotes, lists, tables
  (``|``), MyST roles and directives (`` ` ``, ``{``, ``:``), substitutions
  (``{{``), comments (``%``), targets (``(x)=`` needs ``=``) and math (``$``);
* ``.`` and ``)`` are escaped after a digit (ordered-list markers);
* Unicode line and paragraph separators (U+2028, U+2029) become line
  breaks (``str.splitlines`` splits on them, so they would otherwise start a
  new MyST line where kbgen's escaping does not expect one);
* control characters are dropped (they are invalid in HTML/XML), bidi
  override/isolate characters are shown as visible ``<U+202E>`` notation so
  text cannot reorder itself on screen ("Trojan source"); other characters,
  including zero-width ones and all non-ASCII text, pass through unchanged;
* line breaks become hard breaks in block text and spaces in table cells;
  leading spaces become no-break spaces so no line turns into a code block.

Option values of need directives and titles are single-line by construction
(:func:`plain`) and sphinx-needs' dynamic functions and variants are switched
off for every kbgen field (see :mod:`kbgen.sphinxext.extension`).
"""

from __future__ import annotations

import functools
import re

#: File names Windows refuses whatever the extension: never used for a generated file.
RESERVED_FILE_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                                 *(f"lpt{i}" for i in range(10))})

_ALWAYS = set("\\`*_{}[]<>#+-=|!~:$%^&@")
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}
# Regular expressions do the per-character work of clean() and _escape_line() in C: a sync
# escapes a few hundred thousand strings at campaign scale.
_ALWAYS_RE = re.compile("[" + re.escape("".join(sorted(_ALWAYS))) + "]")
_AFTER_CHAR_RE = re.compile(r"(?<=(.))[.)]", re.S)  # "1." and "1)" would start an ordered list
_BIDI_RE = re.compile("[" + "".join(sorted(_BIDI)) + "]")
_BRACKET_PAIR = re.compile(r"([\[\]<>])(?=\1)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(text: object) -> str:
    """Drop control characters and make bidi controls visible; normalise newlines."""
    value = "" if text is None else str(text)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    # Unicode line/paragraph separators are line breaks to Python's splitlines(),
    # which docutils uses on included files: make them the line breaks they are.
    value = value.replace("\u2028", "\n").replace("\u2029", "\n")
    value = _CONTROL.sub("", value)
    return _BIDI_RE.sub(_visible_code_point, value)


def _visible_code_point(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def _escape_after_digit(match: re.Match[str]) -> str:
    return "\\" + match.group() if match.group(1).isdigit() else match.group()


def _escape_line(line: str) -> str:
    """Backslash every character markdown could read as markup, and "." or ")" after a digit."""
    # The second pass sees the digits unchanged: digits, "." and ")" are never escaped by the first.
    text = _AFTER_CHAR_RE.sub(_escape_after_digit, _ALWAYS_RE.sub(r"\\\g<0>", line))
    stripped = text.lstrip(" \t")
    if len(stripped) != len(text):
        text = "\u00a0" * (len(text) - len(stripped)) + stripped
    return text


def inline(text: object) -> str:
    """Inert text for a single line (table cell, list item, heading): newlines → spaces."""
    return _inline(text) if type(text) is str else _inline_uncached(text)


@functools.lru_cache(maxsize=1 << 16)
def _inline(text: str) -> str:
    """Cached: a sync escapes the same package names, paths and severities thousands of times."""
    return _inline_uncached(text)


def _inline_uncached(text: object) -> str:
    return _escape_line(" ".join(clean(text).split("\n")).replace("\t", " "))


def block(text: object) -> str:
    """Inert text for a paragraph: line breaks kept as hard breaks, blank lines as paragraph breaks."""
    lines = clean(text).replace("\t", "    ").split("\n")
    escaped = [_escape_line(line) for line in lines]
    out: list[str] = []
    for i, line in enumerate(escaped):
        last = i == len(escaped) - 1
        nxt_blank = not last and escaped[i + 1].strip() == ""
        if line.strip() == "":
            out.append("")
        elif last or nxt_blank:
            out.append(line)
        else:
            out.append(line + "\\")
    while out and out[-1] == "":
        out.pop()
    while out and out[0] == "":
        out.pop(0)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


def plain(text: object, limit: int = 0) -> str:
    """One line of plain text for titles and option values (no markup is parsed there).

    Sequences sphinx-needs would treat as dynamic functions (``[[``) or
    variants (``<<``) are broken with a space between every pair of equal
    brackets (``[[[`` becomes ``[ [ [``), so they stay visible but inert:
    sphinx-needs parses dynamic functions in need titles whatever the
    configuration says.
    """
    value = " ".join(clean(text).split())
    value = _BRACKET_PAIR.sub(r"\1 ", value)
    if limit and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def code(text: object) -> str:
    """A literal code span whose content can never close early."""
    value = " ".join(clean(text).split("\n"))
    if not value:
        return ""
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or longest else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def slug(text: object, fallback: str = "x") -> str:
    """A safe file/ID fragment: lowercase letters, digits and hyphens only."""
    value = re.sub(r"[^a-z0-9]+", "-", clean(text).lower()).strip("-")
    return value[:80] or fallback
