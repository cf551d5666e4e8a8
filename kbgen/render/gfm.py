"""Database text as GitHub-flavoured markdown that reads like a person wrote it.

``kbgen changes --markdown`` output is pasted into pull requests and release
notes and read raw as often as rendered, so it escapes only what GitHub would
otherwise turn into something else at that position, instead of every
punctuation character (:mod:`kbgen.render.escape` does that for MyST, whose
roles, directives and substitutions GitHub does not have):

* text between matching backticks stays a code span (inert by definition);
  an unmatched backtick is literal already;
* ``*`` and ``_`` only where they could open or close emphasis (``snake_case``
  and ``a * b`` stay as they are); ``~`` and ``$`` only when the line has a
  pair (strikethrough, math);
* ``]`` before ``(`` or ``[`` (no link can form), ``<`` before a letter,
  ``/``, ``!`` or ``?`` (no tag, comment or autolink), ``&`` of an entity, and
  ``\\`` before punctuation;
* ``@name`` and ``#123`` (GitHub would notify a person or link an issue);
* ``|`` inside table cells, and line-start markers when text starts a line.

The text is always one line: runs of whitespace, line breaks included,
become one space.
"""

from __future__ import annotations

import re
import string

from kbgen.render import escape

_PUNCT = set(string.punctuation)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_LINE_START = re.compile(r"^(?:[#>+=-]|\d{1,9}[.)])")
_TICKS = re.compile(r"`+")


def code_spans(text: str) -> list[tuple[bool, str]]:
    """Split one line into (is_code, piece) as CommonMark pairs backtick strings of equal length."""
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(text)]
    pieces: list[tuple[bool, str]] = []
    pos = 0
    i = 0
    while i < len(runs):
        start, end = runs[i]
        width = end - start
        close = next((j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] == width), None)
        if close is None:
            i += 1
            continue
        if start > pos:
            pieces.append((False, text[pos:start]))
        pieces.append((True, text[start:runs[close][1]]))
        pos = runs[close][1]
        i = close + 1
    if pos < len(text):
        pieces.append((False, text[pos:]))
    return pieces


def one_line(value: object) -> str:
    return " ".join(escape.clean(value).split())


def text(value: object, *, cell: bool = False, line_start: bool = False) -> str:
    """``value`` as inline GitHub markdown: list item text, or a table cell with ``cell``."""
    line = one_line(value)
    out: list[str] = []
    offset = 0
    for is_code, piece in code_spans(line):
        if is_code:
            out.append(piece.replace("|", "\\|") if cell else piece)
        else:
            out.append(_prose(line, offset, offset + len(piece), cell))
        offset += len(piece)
    result = "".join(out)
    if line_start and _LINE_START.match(result):
        match = re.match(r"\d+", result)
        cut = match.end() if match else 0
        result = result[:cut] + "\\" + result[cut:]
    return result


def _prose(line: str, start: int, end: int, cell: bool) -> str:
    pairs = {ch for ch in "~$" if line.count(ch) >= 2}
    out: list[str] = []
    for i in range(start, end):
        ch = line[i]
        prev = line[i - 1] if i > 0 else " "
        nxt = line[i + 1] if i + 1 < len(line) else " "
        if _needs_escape(ch, prev, nxt, line, i, pairs, cell):
            out.append("\\")
        out.append(ch)
    return "".join(out)


def _needs_escape(ch: str, prev: str, nxt: str, line: str, i: int, pairs: set[str], cell: bool) -> bool:
    if ch == "\\":
        return nxt in _PUNCT
    if ch == "*":
        return not (prev.isspace() and nxt.isspace())
    if ch == "_":
        return not (prev.isalnum() and nxt.isalnum()) and not (prev.isspace() and nxt.isspace())
    if ch in pairs:
        return not (prev.isspace() and nxt.isspace())
    if ch == "]":
        return nxt in "(["
    if ch == "<":
        return nxt.isalpha() or nxt in "/!?"
    if ch == "&":
        return _ENTITY.match(line, i) is not None
    if ch == "|":
        return cell
    if ch == "@":
        return not (prev.isalnum() or prev in "._-") and (nxt.isalnum() or nxt == "_")
    if ch == "#":
        return not prev.isalnum() and nxt.isdigit()
    return False


def code(value: object) -> str:
    """A code span that cannot close early (paths, identifiers)."""
    return escape.code(value)
