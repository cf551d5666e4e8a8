"""MyST building blocks: need directives, roles, tables, headings.

Every argument that may carry database text goes through :mod:`escape`;
values already rendered as MyST are wrapped in :class:`Md` so that the page
templates (Jinja2, with :func:`finalize` as their ``finalize`` hook) escape
everything else by default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

from kbgen.render import escape


class Md(str):
    """A string that is already MyST (made by this module), not database text."""

    __slots__ = ()


def finalize(value: object) -> str:
    """Jinja ``finalize``: MyST passes, everything else is escaped inline text."""
    if isinstance(value, Md):
        return value
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return escape.inline(value)


def heading(level: int, text: str, *, anchor: str | None = None) -> Md:
    target = f"({anchor})=\n" if anchor else ""
    return Md(f"{target}{'#' * level} {escape.inline(text)}\n")


def need_link(need_id: str, text: str) -> Md:
    """A link to a need whose text is written here, in this page's source, escaped.

    A markdown link (``[text](#need-F12)``; kbgen.sphinxext registers every need as a label) rather
    than a ``{need}`` role: link text is ordinary escaped markdown, so database text renders
    literally, and it never comes from the target need at build time — a page shows only what
    its own source says, so when the text changes ``kbgen sync`` rewrites the page.
    """
    label = escape.link_text(text)
    return Md(f"[{label if label.strip() else need_id}](#need-{need_id})")


_NEED_REF = re.compile(r"\]\(#need-([A-Za-z0-9-]+)\)")


def referenced_needs(text: str) -> list[str]:
    """The need IDs a page's :func:`need_link` links point to (repeats kept)."""
    return _NEED_REF.findall(text)


def doc_link(text: str, docname: str) -> Md:
    """A link to another page by its absolute docname (``/kb/files/FILE12``)."""
    return Md(f"[{escape.link_text(text)}](project:{docname}.md)")


def need(kind: str, need_id: str, title: str, *, options: Mapping[str, object] | None = None,
         links: Mapping[str, Sequence[str]] | None = None, content: str = "",
         collapse: bool = False) -> Md:
    """A sphinx-needs object. Options are single-line plain text, JSON-quoted.

    Link options list need IDs only (made by kbgen), never database text.
    """
    lines = [f":::{{{kind}}} {escape.title(title, 160) or need_id}", f":id: {need_id}"]
    for key, value in (options or {}).items():
        if value is None or value == "":
            continue
        lines.append(f":{key}: {_option(value)}")
    for key, ids in (links or {}).items():
        if ids:
            lines.append(f":{key}: {', '.join(ids)}")
    if collapse:
        lines.append(":collapse: true")
    lines.append("")
    if content:
        lines.append(content.rstrip("\n"))
    lines.append(":::")
    return Md("\n".join(lines) + "\n")


def _option(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    text = escape.plain(value)
    # JSON quoting keeps leading/trailing spaces, colons and quotes literal.
    return json.dumps(text, ensure_ascii=False)


def joined(items: Iterable[object], sep: str = ", ") -> Md:
    """Database values listed in one cell or line, each escaped on its own.

    Escaping the joined text would be wrong: a backtick in one value and one in the
    next would pair up across the separator into a code span (and likewise
    ``*``/``_`` runs into emphasis), though neither value has markup of its own.
    """
    return Md(sep.join(escape.cell(item) for item in items))


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, widths: str = "") -> Md:
    """A GFM pipe table. Cells that are not :class:`Md` are escaped."""
    head = "| " + " | ".join(escape.cell(h).replace("|", "\\|") for h in headers) + " |"
    sep = "|" + "|".join("---" for _ in headers) + "|"
    body = ["| " + " | ".join(_table_cell(c) for c in row) + " |" for row in rows]
    if not body:
        return Md("")
    return Md("\n".join([head, sep, *body]) + "\n")


def _table_cell(value: object) -> str:
    """A cell of a pipe table.

    The table rule splits a row on every ``|`` not preceded by a backslash,
    *before* inline parsing, even inside code spans, and then drops the
    backslash of each ``\\|``. So every ``|`` of a cell — in escaped text,
    in a code span of a path, in a link — gets a backslash here, which the
    table rule turns back into the same character. (Escaped text never has a
    ``|`` after a single backslash: a ``\\`` of the data before a ``|`` is doubled.)
    """
    if isinstance(value, Md):
        text = value.replace("\n", " ")
    elif value is None:
        text = ""
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = escape.cell(value)
    return text.replace("|", "\\|")


def _cell(value: object) -> str:
    if isinstance(value, Md):
        return value.replace("\n", " ")
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    return escape.inline(value)


def bullet_list(items: Iterable[object]) -> Md:
    return Md("".join(f"- {_cell(i)}\n" for i in items))


def fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def pct(part: float, whole: float) -> str:
    return "—" if not whole else f"{100.0 * part / whole:.0f}%"


def code_block(text: object) -> Md:
    """A literal ``text`` code block; the fence is longer than any backtick run inside."""
    value = escape.clean(text).rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`{3,}", value)), default=2)
    fence = "`" * (longest + 1)
    return Md(f"{fence}text\n{value}\n{fence}\n")
