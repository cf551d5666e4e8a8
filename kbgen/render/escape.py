"""The one place where database and plan text becomes inert MyST.

Text from the research database is data: it must render literally and never
become markup, raw HTML, a role, a directive, a substitution or a link. It is
also read raw — domain documents and the master index live in git and are
read on GitHub — so a character is escaped only where CommonMark, MyST or a
MyST extension a project may switch on would read it as syntax *at that
position*; everywhere else it is written as it is (``R2-verify``, ``12:30``,
``NOT_TOUCHED``, ``a%b`` need no backslash). The positions, in CommonMark terms:

* at the start of a line (or of an inline fragment, which may land at the start
  of a line or of a list item): ATX headings (``# x``), block quotes, list
  markers (``-``, ``+``, ``*`` and ``1.``/``1)`` followed by a space), thematic
  breaks and setext underlines (``---``, ``===``, ``* * *``), table delimiter
  rows, MyST comments (``%``), block breaks (``+++``), targets (``(x)=``),
  colon fences, field and definition lists (``:``) and block attributes (``{``);
* emphasis and strong emphasis: a ``*`` or ``_`` run that could open or close
  under CommonMark's flanking rules (``a * b`` and ``snake_case`` stay as they are);
  ``~~`` (strikethrough);
* every ``]`` (a link, image, footnote, reference definition or span needs
  one; inside link text every ``[`` too), and ``[`` before ``^`` (footnotes);
* ``<`` followed by something other than a space (raw HTML, autolinks),
  ``&`` that could start an entity, every ``$`` (dollar math), ``{{``
  (substitutions), ``{name}`` before a backtick (roles), ``{`` right after a
  code span (inline attributes);
* a backslash before punctuation or at the end (it would escape or break the line),
  and a closing ``#`` run at the end (it would be dropped from a heading).

Backticks follow CommonMark's own rule: text between two backtick runs of the
same length is a code span — shown as code, and inert, since nothing inside a
code span is markup — and a run without its match is escaped, so it shows as
the backtick it is (and cannot pair with a backtick elsewhere on the page).

Fragments may be placed next to other text by a template, so what lies beyond
a fragment's ends counts as unknown: a delimiter run at an end is escaped if
any neighbour could make it markup. Never on a page's first line, though: a
page starts with a heading, a target or front matter (the front-matter rule
of MyST would read dashes in a list item there). Besides:

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
off for the need title and every kbgen field (see :mod:`kbgen.sphinxext.extension`). Table cells add one rule
of their own (every ``|`` escaped, inside code spans too): :mod:`kbgen.render.myst`.
"""

from __future__ import annotations

import functools
import re
import unicodedata

#: File names Windows refuses whatever the extension: never used for a generated file.
RESERVED_FILE_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                                 *(f"lpt{i}" for i in range(10))})

_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}
_BIDI_RE = re.compile("[" + "".join(sorted(_BIDI)) + "]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Any character :func:`clean` changes: a carriage return, a Unicode line or paragraph separator, a
#: control character (``_CONTROL``) or a bidi control (``_BIDI``).
_CLEAN_WORK = re.compile("[\r\u2028\u2029\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + "".join(sorted(_BIDI)) + "]")

_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
#: Characters that can be syntax somewhere inside a line; a line without any of them (and
#: without a line-start construct or a closing ``#``) is written unchanged.
_INLINE_SYNTAX = re.compile(r"[\\`*_~\[\]<&${]")
_LINE_START = re.compile(r"[#>\-+*0-9=_:%({|~`]")
_BACKTICKS = re.compile(r"`+")
_DELIMITER_RUN = re.compile(r"\*+|_+")
_TILDES = re.compile(r"~{2,}")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+(?:;|$))")
_ROLE = re.compile(r"\{[A-Za-z0-9_\-+:]+\}(?=`|$)")
_CLOSING_HASHES = re.compile(r"(?:^|(?<=[ \t]))#+[ \t]*$")
_ATX = re.compile(r"#{1,6}(?:[ \t]|$)")
_LIST_ITEM = re.compile(r"(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]|$)")
_BLOCK_BREAK = re.compile(r"(?:\+[ \t]*){3}")
_RULE_OR_UNDERLINE = re.compile(r"(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,}|=+[ \t]*|-+[ \t]*)$")
_DELIMITER_ROW = re.compile(r"\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")

# Character classes for CommonMark's flanking rules. Implementations differ on Unicode
# symbols (punctuation since CommonMark 0.31, not before) and on a few space characters,
# so those count as either; a neighbour beyond a fragment's end may be anything.
_WS, _PUNCT, _OTHER = "ws", "punct", "other"
_ANY = frozenset({_WS, _PUNCT, _OTHER})


def clean(text: object) -> str:
    """Drop control characters and make bidi controls visible; normalise newlines."""
    value = "" if text is None else str(text)
    if (value.isascii() and value.isprintable()) or _CLEAN_WORK.search(value) is None:
        # Nothing below can apply (no control, separator or bidi character, no carriage return): most
        # database text; one test spares the four replacements and two substitutions.
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    # Unicode line/paragraph separators are line breaks to Python's splitlines(),
    # which docutils uses on included files: make them the line breaks they are.
    value = value.replace("\u2028", "\n").replace("\u2029", "\n")
    value = _CONTROL.sub("", value)
    return _BIDI_RE.sub(_visible_code_point, value)


def _visible_code_point(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


@functools.lru_cache(maxsize=4096)
def _classes(ch: str) -> frozenset[str]:
    """What a neighbour of a delimiter run may count as: whitespace, punctuation or other."""
    if ch in " \t\n\r\f\v":
        return frozenset({_WS})
    if ch in _ASCII_PUNCT:
        return frozenset({_PUNCT})
    category = unicodedata.category(ch)
    if category == "Zs":
        return frozenset({_WS})
    if category.startswith("P"):
        return frozenset({_PUNCT})
    if category.startswith("S"):
        return frozenset({_PUNCT, _OTHER})
    if ch.isspace():
        return frozenset({_WS, _OTHER})
    return frozenset({_OTHER})


def _may_be_emphasis(marker: str, before: frozenset[str], after: frozenset[str]) -> bool:
    """True if a ``*``/``_`` run between such neighbours could open or close emphasis."""
    for prev in before:
        for nxt in after:
            left = nxt != _WS and (nxt != _PUNCT or prev in (_WS, _PUNCT))
            right = prev != _WS and (prev != _PUNCT or nxt in (_WS, _PUNCT))
            if marker == "*" and (left or right):
                return True
            if marker == "_" and ((left and (not right or prev == _PUNCT))
                                  or (right and (not left or nxt == _PUNCT))):
                return True
    return False


def _code_spans(line: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(code spans, unmatched backtick runs) of a line, as CommonMark pairs backtick runs.

    A run opens a code span that the next run of the same length closes; a run
    without one is literal text, and the scan goes on after it.
    """
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(line)]
    spans: list[tuple[int, int]] = []
    unmatched: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        start, end = runs[i]
        close = next((j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] == end - start), None)
        if close is None:
            unmatched.append(runs[i])
            i += 1
        else:
            spans.append((start, runs[close][1]))
            i = close + 1
    return spans, unmatched


def _line_start_escape(text: str) -> int | None:
    """The index of the character to escape so ``text`` starts no block construct, if any."""
    first = text[0]
    if _RULE_OR_UNDERLINE.match(text) or (_DELIMITER_ROW.match(text) and "-" in text):
        return 0
    if first == "#":
        return 0 if _ATX.match(text) else None
    if first in "-+*" or first.isdigit():
        match = _LIST_ITEM.match(text)
        if match:
            return 0 if first in "-+*" else match.end() - 1 - (match.group().endswith((" ", "\t")))
        return 0 if first == "+" and _BLOCK_BREAK.match(text) else None
    if first in ">:%{":
        return 0
    if first == "(":
        return 0 if text.rstrip().endswith(")=") else None
    return None


def _target_paren(text: str) -> int | None:
    """The index of the ``(`` that makes ``text`` a MyST target (``(name)=``), if it is one.

    The target rule strips the line with ``str.strip()``, so a ``(`` after any Unicode space (the
    no-break spaces that keep a line's indent, an em space from the database) starts one too.
    """
    core = text.lstrip()
    if core.startswith("(") and core.rstrip().endswith(")="):
        return len(text) - len(core)
    return None


def _escape_line(line: str, *, boundary: frozenset[str] = _ANY, link_text: bool = False,
                 line_start: bool = True) -> str:
    """Escape one line of text where markdown would read it as markup (see the module docstring).

    ``boundary`` is what may lie beyond the line's ends: anything for a fragment
    (the default), whitespace for a whole line of a block. ``line_start`` False:
    the text cannot start a block (a table cell holds inline content only).
    """
    stripped = line.lstrip(" \t")
    lead = len(line) - len(stripped)
    text = stripped
    at_start = line_start and not lead and bool(text) and _LINE_START.match(text) is not None
    target = _target_paren(text) if line_start else None
    if (not at_start and target is None and not _INLINE_SYNTAX.search(text)
            and not (line_start and text.rstrip(" \t").endswith("#"))):
        return "\u00a0" * lead + text if lead else text
    escaped = [False] * len(text)
    spans, unmatched = _code_spans(text) if "`" in text else ([], [])
    in_code = [False] * len(text)
    span_ends = set()
    for start, end in spans:
        for k in range(start, end):
            in_code[k] = True
        span_ends.add(end)
    for start, end in unmatched:
        for k in range(start, end):
            escaped[k] = True
    if at_start:
        first = _line_start_escape(text)
        if first is not None and not in_code[first]:
            escaped[first] = True
    if target is not None:
        escaped[target] = True
    n = len(text)

    def neighbour(k: int) -> frozenset[str]:
        return boundary if k < 0 or k >= n else _classes(text[k])

    for m in _DELIMITER_RUN.finditer(text):
        if not in_code[m.start()] and _may_be_emphasis(m.group()[0], neighbour(m.start() - 1), neighbour(m.end())):
            for k in range(m.start(), m.end()):
                escaped[k] = True
    for m in _TILDES.finditer(text):
        for k in range(m.start(), m.end()):
            escaped[k] = escaped[k] or not in_code[k]
    for m in _ROLE.finditer(text):
        escaped[m.start()] = escaped[m.start()] or not in_code[m.start()]
    for m in _ENTITY.finditer(text):
        escaped[m.start()] = escaped[m.start()] or not in_code[m.start()]
    closing = _CLOSING_HASHES.search(text) if line_start else None  # (a table cell is no heading)
    if closing and not in_code[closing.start()]:
        escaped[closing.start()] = True
    for k, ch in enumerate(text):
        if in_code[k] or escaped[k]:
            continue
        if ch == "\\":
            escaped[k] = k + 1 >= n or text[k + 1] in _ASCII_PUNCT
        elif ch in "]$":
            escaped[k] = True
        elif ch == "[":  # the footnote plugin reads ``[^x\\]`` as a reference all the same
            escaped[k] = link_text or (k + 1 < n and text[k + 1] == "^")
        elif ch == "<":
            escaped[k] = k + 1 >= n or text[k + 1] not in " \t"
        elif ch == "{":
            escaped[k] = (k + 1 < n and text[k + 1] == "{") or k in span_ends
    out = "".join("\\" + ch if esc else ch for ch, esc in zip(text, escaped, strict=True))
    return "\u00a0" * lead + out if lead else out


def inline(text: object) -> str:
    """Inert text for a single line (table cell, list item, heading): newlines → spaces."""
    return _inline(text) if type(text) is str else _inline_uncached(text)


@functools.lru_cache(maxsize=1 << 16)
def _inline(text: str) -> str:
    """Cached: a sync escapes the same package names, paths and severities thousands of times."""
    return _inline_uncached(text)


def _inline_uncached(text: object) -> str:
    return _escape_line(" ".join(clean(text).split("\n")).replace("\t", " "))


def cell(text: object) -> str:
    """Inert text for a pipe-table cell, before the table escapes its ``|``: :func:`inline` without
    the line-start escapes (a cell holds inline content only, so ``- x`` or ``1.`` is plain text)."""
    return _cell(text) if type(text) is str else _cell_uncached(text)


@functools.lru_cache(maxsize=1 << 16)
def _cell(text: str) -> str:
    return _cell_uncached(text)


def _cell_uncached(text: object) -> str:
    return _escape_line(" ".join(clean(text).split("\n")).replace("\t", " "), line_start=False)


def link_text(text: object) -> str:
    """Inert text for the inside of ``[...](target)``: :func:`inline`, with every ``[`` escaped too.

    An unescaped ``[`` inside link text would need a matching ``]`` before the
    link's own, so a lone one would break the link.
    """
    return _link_text(text) if type(text) is str else _link_text_uncached(text)


@functools.lru_cache(maxsize=1 << 16)
def _link_text(text: str) -> str:
    """Cached: the same file paths and finding references link from many pages."""
    return _link_text_uncached(text)


def _link_text_uncached(text: object) -> str:
    out = _escape_line(" ".join(clean(text).split("\n")).replace("\t", " "), link_text=True)
    # After the link's own ``[``, a leading ``^`` opens a footnote (``[^x]: ...`` at a line start
    # is a footnote definition whatever the escapes inside the label).
    return "\\" + out if out.startswith("^") else out


_LINE_BOUNDARY = frozenset({_WS})


def block(text: object) -> str:
    """Inert text for a paragraph: line breaks kept as hard breaks, blank lines as paragraph breaks.

    Each line is escaped on its own, so a code span never runs across a line
    break (the hard-break backslash would land inside it).
    """
    lines = clean(text).replace("\t", "    ").split("\n")
    escaped = [_escape_line(line, boundary=_LINE_BOUNDARY) for line in lines]
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

    The text is kept as it is — ``memory_size(4 << 30)``, ``a[[0]]`` — since
    sphinx-needs' dynamic functions (``[[...]]``) and variants (``<<...>>``)
    are switched off for every field kbgen writes, the need title included
    (:mod:`kbgen.sphinxext.extension`).
    """
    return shorten(text, limit)


def title(text: object, limit: int = 0) -> str:
    """A need title: :func:`plain`, with the backticks of its code spans dropped.

    Titles are plain text (sphinx-needs parses no markup there), so where the
    need's text shows ```Cache::lookup``` as code, its title shows
    ``Cache::lookup`` — the code without its delimiters — rather than the
    backticks; unmatched backticks stay.
    """
    value = " ".join(clean(text).split())
    spans, _ = _code_spans(value)
    if spans:
        parts, last = [], 0
        for start, end in spans:
            run = len(value[start:]) - len(value[start:].lstrip("`"))
            inner = value[start + run:end - run]
            if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
                inner = inner[1:-1]  # CommonMark strips one space on each side
            parts += [value[last:start], inner]
            last = end
        value = "".join([*parts, value[last:]])
    return plain(value, limit)


def shorten(text: object, limit: int = 0) -> str:
    """One line of text (spacing collapsed), cut to at most ``limit`` characters at a word boundary.

    The cut ends in "…"; it falls on a space, before a code span rather than
    inside it (half a code span would show its backtick), unless that would
    drop more than half the text, then mid-word. Unescaped: a table cell or a
    heading escapes it like any other text.
    """
    value = " ".join(clean(text).split())
    if not limit or len(value) <= limit:
        return value
    room = value[: limit - 1]
    cut = len(room) if value[limit - 1] == " " else room.rfind(" ")
    inside = next((start for start, end in _code_spans(value)[0] if start < cut < end), None)
    if inside is not None:  # the cut splits a code span: end before it
        cut = room.rfind(" ", 0, inside + 1)
    if cut < limit // 2:
        cut = len(room)
    return room[:cut].rstrip() + "…"


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
