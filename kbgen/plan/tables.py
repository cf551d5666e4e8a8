"""File tables: recognise the columns, read each row into a planned-file draft.

Plans drift in their table layout (``File`` or ``Path``, with or without
``Context``, extra ``Domain``/``Package``/``Tier``/``Repo``/``Connects To``
columns), so columns are recognised by header name, never by position.

A File ID cell is either a number or a "not yet known" mark (``—``, ``-``,
``?``, ``TBD``, an empty cell...): plans list files that are new since the
inventory that way, and such a row is a planned file known by its path
only (``plan import`` resolves it against the database). Anything else
(``x77``) is an error: the row cannot be tied to the research database, and
guessing would silently lose a planned file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kbgen.errors import PlanParseError
from kbgen.plan.blocks import Block, collapse_space, inline_children, plain_text, token_line

_NUMBER = re.compile(r"^~?\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\s*LOC)?$", re.IGNORECASE)


_FILE_ID = re.compile(r"^\s*#?([0-9]+)\s*$")
#: File ID cells that say "this file has no ID yet" (compared case-insensitively, spaces dropped).
UNKNOWN_ID_MARKS = frozenset({"", "—", "–", "-", "--", "---", "?", "??", "???", "tbd", "tba", "n/a", "na",
                              "new", "none"})


def is_unknown_id_mark(text: str) -> bool:
    """Whether a File ID cell marks a file not yet in the inventory (``—``, ``?``, ``TBD``, empty)."""
    return "".join(text.split()).lower() in UNKNOWN_ID_MARKS


def parse_number(text: str) -> int | None:
    """``~4,129`` → 4129; anything that is not a plain count → None."""
    match = _NUMBER.match(text.strip())
    return int(match.group(1).replace(",", "")) if match else None


# Header name (lower case, punctuation and spaces dropped) → role.
_ROLES: dict[str, str] = {
    "#": "number", "no": "number", "n": "number",
    "fileid": "id", "id": "id", "fid": "id",
    "file": "path", "path": "path", "filepath": "path", "filename": "path",
    "loc": "loc", "lines": "loc", "size": "loc",
    "context": "context", "notes": "context", "note": "context", "why": "context",
    "description": "context", "purpose": "context",
    "domain": "domain", "domains": "domain",
    "package": "package", "pkg": "package",
    "tier": "tier", "priority": "tier", "prioritytier": "tier",
    "repo": "repo", "repository": "repo",
}


def column_role(header: str) -> str | None:
    key = header.strip().lower()
    if key != "#":
        key = re.sub(r"[^a-z0-9]", "", key)
    return _ROLES.get(key)


@dataclass(frozen=True)
class TableRow:
    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    line: int
    header: tuple[str, ...]
    rows: tuple[TableRow, ...]


def read_table(block: Block) -> Table:
    """Header and body cells of a table block, as plain text.

    markdown-it's table rule has already split the row at unescaped pipes and
    turned ``\\|`` into a literal ``|`` (also inside code spans), so a cell's
    text is what the author meant.
    """
    header: list[str] = []
    rows: list[TableRow] = []
    in_head = False
    row_line = block.line
    cells: list[str] = []
    for tok in block.tokens:
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row_line = token_line(tok, row_line)
            cells = []
        elif tok.type == "inline":
            cells.append(collapse_space(plain_text(inline_children(tok))))
        elif tok.type == "tr_close":
            if in_head:
                header = cells
            else:
                rows.append(TableRow(row_line, tuple(cells)))
    return Table(block.line, tuple(header), tuple(rows))


@dataclass(frozen=True)
class FileRow:
    """A planned file as its table row states it (merged with other facts later).

    ``file_id`` is None for a file the plan knows by path only.
    """

    file_id: int | None
    path: str
    loc: int | None
    loc_text: str
    context: str | None
    package: str | None
    tier: str | None
    repo: str | None
    domain: str | None
    number: int | None
    line: int
    extra: dict[str, str] = field(default_factory=dict)


def has_id_column(table: Table) -> bool:
    """Whether the header names a File ID column (so the table lists planned files)."""
    return any(column_role(h) == "id" for h in table.header)


def has_path_column(table: Table) -> bool:
    return any(column_role(h) == "path" for h in table.header)


def file_rows(table: Table, path: str) -> list[FileRow]:
    """The planned files of a file table; raises on a table that cannot be read."""
    roles: dict[str, int] = {}
    extra_columns: list[tuple[int, str]] = []
    for index, name in enumerate(table.header):
        role = column_role(name)
        if role is not None and role not in roles:
            roles[role] = index
        elif role is None and name:
            extra_columns.append((index, name))
    if "path" not in roles:
        raise PlanParseError(
            "file table has no recognisable File/Path column (header: "
            + " | ".join(table.header) + ")", path=path, line=table.line)
    if "id" not in roles:
        raise PlanParseError(
            "file table has no File ID column (header: " + " | ".join(table.header) + ")",
            path=path, line=table.line)

    def cell(row: TableRow, role: str) -> str | None:
        index = roles.get(role)
        if index is None or index >= len(row.cells):
            return None
        return row.cells[index] or None

    result: list[FileRow] = []
    for row in table.rows:
        if not any(c.strip() for c in row.cells):
            continue  # an empty spacer row
        id_text = cell(row, "id") or ""
        id_match = _FILE_ID.match(id_text)
        if id_match is None and not is_unknown_id_mark(id_text):
            raise PlanParseError(
                f"File ID '{id_text}' is not a number", path=path, line=row.line,
                hint="for a file that has no ID yet write a dash, ? or TBD, or leave the cell empty")
        row_path = (cell(row, "path") or "").strip()
        if id_match is None and not row_path:
            raise PlanParseError("table row has neither a File ID nor a path", path=path, line=row.line,
                                 hint="a line right after a table continues it: leave a blank line after the table")
        loc_text = cell(row, "loc") or ""
        number_text = cell(row, "number")
        result.append(FileRow(
            file_id=int(id_match.group(1)) if id_match else None,
            path=row_path,
            loc=parse_number(loc_text),
            loc_text=loc_text,
            context=cell(row, "context"),
            package=cell(row, "package"),
            tier=cell(row, "tier"),
            repo=cell(row, "repo"),
            domain=cell(row, "domain"),
            number=parse_number(number_text) if number_text else None,
            line=row.line,
            extra={name: row.cells[i] for i, name in extra_columns
                   if i < len(row.cells) and row.cells[i]},
        ))
    return result
