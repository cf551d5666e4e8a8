"""Convert a hand-maintained domain document into the managed form, once.

Legacy documents mix three kinds of text: narrative (worth keeping as it is),
hand-copied registries (tables and cumulative lists the database now
produces) and chronological debris (``## R44: ...`` sections, out-of-order
session logs). The migration keeps the first, replaces the second with empty
generated blocks for the next sync to fill, and re-files the third where the
canonical structure wants it. Its one hard rule: no line of prose is lost.
What it cannot place goes under a clearly marked appendix, and every decision
is listed in the report so the author can check it.

Where things go:

* title: kept; the ``>`` header lines (priority, coverage, status, last
  update) become the empty ``header`` block; other preamble text is kept
  under it.
* sections 1 and 5 (human): kept as written. Older section titles are
  recognised (``Overview`` -> 1, ``Architecture`` -> 5, ``Key Findings`` -> 3,
  ...) and become a ``###`` subsection of their canonical section.
* sections 2, 3, 4, 6, 7, 8 (generated): registry tables, severity
  sub-headings and cumulative ``Updated ... Findings`` lists are replaced by
  the empty block; any other text is moved right after the block under
  ``### Notes kept from the hand-written document``.
* per-session headings anywhere (``## R44: ...``, the ``### R<n>`` entries of
  the old Session Log): become ``**R44 ...**`` paragraphs in the Session Log
  notes, in ascending session order, so the linter's ordering and
  placement checks hold.
* any other section: set aside under ``## Appendix: text kept by kbgen domain
  migrate`` after section 8 (unnumbered, so the numbered-section check holds).

A document that already has kbgen markers is returned unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kbgen.domain.outline import Node, Outline, Table, is_blank, parse
from kbgen.domain.sections import generated_blocks, split
from kbgen.domain.structure import (
    HEADER_KEY,
    PLACEHOLDERS,
    SECTION_BY_NUMBER,
    SECTIONS,
    SESSION_LOG,
    CanonicalSection,
    canonical_number,
    is_canonical_heading,
    is_cumulative,
    is_file_table,
    is_findings_table,
    is_header_line,
    is_registry_table,
    is_severity_subheading,
    session_log_name,
    session_of,
)
from kbgen.domain.update import format_block
from kbgen.vocab import SessionKey, session_order_key

KEPT, MOVED, REPLACED, SET_ASIDE = "kept", "moved", "replaced", "set-aside"
NOTES_HEADING = "### Notes kept from the hand-written document"
APPENDIX_TITLE = "Appendix: text kept by kbgen domain migrate"
_NOTES_LEVEL = 4  # headings kept in a notes area sit below its ### heading
_ATX = re.compile(r"^( {0,3})(#{1,6})(?=[ \t\r\n]|$)")


@dataclass(frozen=True)
class MigrationEntry:
    """One decision: what was found at ``from_line`` and where it went."""

    action: str
    what: str
    from_line: int
    to_section: str


@dataclass(frozen=True)
class MigrationResult:
    """The migrated text and the decisions that produced it."""

    path: str
    old_text: str
    new_text: str
    report: list[MigrationEntry]

    @property
    def changed(self) -> bool:
        """False when the document was already managed."""
        return self.new_text != self.old_text

    def format(self) -> str:
        """The report for a terminal: one line per decision, by source line."""
        if not self.changed:
            return f"{self.path}: already managed by kbgen; nothing to migrate"
        counts = {a: sum(e.action == a for e in self.report) for a in (KEPT, MOVED, REPLACED, SET_ASIDE)}
        lines = [f"{self.path}: migrated ({', '.join(f'{n} {a}' for a, n in counts.items())})"]
        for e in self.report:
            lines.append(f"  {e.action:<9} {self.path}:{e.from_line}  {e.what} -> {e.to_section}")
        return "\n".join(lines)


def migrate_text(text: str, path: str) -> MigrationResult:
    """Managed form of a legacy document (unchanged if it is managed already)."""
    if generated_blocks(split(text, path=path)):
        return MigrationResult(path, text, text, [])
    migration = _Migration(parse(text))
    new_text = migration.render()
    return MigrationResult(path, text, new_text, sorted(migration.report, key=lambda e: e.from_line))


@dataclass
class _Piece:
    """Kept lines of one node (``start``/``end`` in the source, for spacing)."""

    start: int
    end: int
    lines: list[str]
    paragraph_after: bool = False  # a heading turned into a bold line needs a blank line after


@dataclass
class _Ctx:
    """How a run of nodes is treated: drop registries? shift headings by how much?"""

    generated: bool
    shift: int
    to_section: str


@dataclass
class _Entry:
    key: SessionKey  # natural order of the session name (vocab.session_order_key)
    order: int
    lines: list[str]


@dataclass
class _Migration:
    outline: Outline
    report: list[MigrationEntry] = field(default_factory=list)
    # Where kept text goes: ("human", n), ("notes", n) or ("appendix", 0), each
    # chunk with its first source line so a destination keeps source order.
    placed: dict[tuple[str, int], list[tuple[int, list[str]]]] = field(default_factory=dict)
    entries: list[_Entry] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)

    # -- reading ---------------------------------------------------------

    def render(self) -> str:
        nodes = list(self.outline.nodes)
        tops = [i for i, n in enumerate(nodes) if n.heading is not None and n.heading.level <= 2]
        title_at = tops[0] if tops and _level(nodes[tops[0]]) == 1 else None
        first_section = next((i for i in tops if i != title_at), len(nodes))
        if title_at is None:
            pre_title: list[str] = []
            title: list[str] = []
            preamble = self._preamble(nodes[:first_section])
        else:
            pre_title = self._chunk(self._process(nodes[:title_at], _Ctx(False, 0, "before the title")))
            title = self._source(nodes[title_at])
            preamble = self._preamble(nodes[title_at + 1:first_section])
        i = first_section
        while i < len(nodes):
            j = self._subtree_end(nodes, i)
            self._section(nodes[i], nodes[i + 1:j])
            i = j
        return self._assemble(pre_title, title, preamble)

    def _source(self, node: Node) -> list[str]:
        """The node's source lines, without trailing blank lines, the last one ending in a newline."""
        lines = list(self.outline.lines[node.start:node.end])
        while lines and is_blank(lines[-1]):
            lines.pop()
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        return lines

    def _piece(self, node: Node) -> _Piece:
        lines = self._source(node)
        return _Piece(node.start, node.start + len(lines), lines)

    @staticmethod
    def _subtree_end(nodes: list[Node], i: int) -> int:
        """End of the heading's subtree; a level-1 heading after the title ends like a section."""
        first = nodes[i].heading
        level = max(first.level, 2) if first is not None else 0
        j = i + 1
        while j < len(nodes):
            h = nodes[j].heading
            if h is not None and h.level <= level:
                break
            j += 1
        return j

    def _place(self, where: tuple[str, int], pieces: list[_Piece]) -> None:
        self.placed.setdefault(where, []).append((pieces[0].start, self._chunk(pieces)))

    def _chunks(self, where: tuple[str, int]) -> list[list[str]]:
        return [chunk for _, chunk in sorted(self.placed.get(where, []), key=lambda c: c[0])]

    def _note(self, action: str, what: str, node: Node, to_section: str) -> None:
        self.report.append(MigrationEntry(action, what, node.start + 1, to_section))

    def _preamble(self, nodes: list[Node]) -> list[str]:
        """Text between the title and the first section; header ``>`` lines are dropped."""
        where = "under the title"
        kept: list[Node] = []
        pieces: list[_Piece] = []
        for node in nodes:
            source = self._source(node)
            header = [line for line in source if is_header_line(line)] if node.kind == "blockquote" else []
            if not header:
                kept.append(node)
                continue
            self._note(REPLACED, f"header lines ({len(header)})", node, "header (generated)")
            rest = [line for line in source if not is_header_line(line)]
            # An empty quote line (">") only parts the header's lines (kbgen writes one between them).
            if any(not is_blank(line.strip().lstrip(">")) for line in rest):
                pieces.append(_Piece(node.start, node.end, rest))
                self._note(KEPT, "other quoted lines of the header", node, where)
        text = self._process(kept, _Ctx(False, 0, where))
        if text:
            self._note(KEPT, "text before the first section", _pieces_node(text, nodes[0]), where)
        return self._chunk(sorted(pieces + text, key=lambda p: p.start))

    # -- sections --------------------------------------------------------

    def _section(self, node: Node, body: list[Node]) -> None:
        h = node.heading
        assert h is not None
        if session_of(h.text) is not None:
            self._session_entry(node, body, f"per-session section '{h.text}'")
            return
        if is_cumulative(h.text):
            self._cumulative(node, body)
            return
        number = canonical_number(h.text)
        if number is None:
            self._set_aside(node, body)
            return
        section = SECTION_BY_NUMBER[number]
        direct = is_canonical_heading(h.text, section)
        if direct and number in self.seen:
            self._note(MOVED, f"repeated heading '{h.text}' (its text is merged)", node, _label(section))
        self.seen.add(number)
        if section.key is None:
            self._human_section(section, node, body, direct)
        else:
            self._generated_section(section, node, body, direct)

    def _human_section(self, section: CanonicalSection, node: Node, body: list[Node], direct: bool) -> None:
        target = _label(section)
        if direct:
            pieces = self._process(body, _Ctx(False, 0, target))
            action, where = KEPT, target
        else:
            shift = 3 - _level(node)
            pieces = [self._heading_piece(node, shift), *self._process(body, _Ctx(False, shift, target))]
            action, where = MOVED, f"{target} (as a ### subsection)"
        if pieces:
            self._place(("human", section.number), pieces)
            self._note(action, f"section '{_text(node)}'", node, where)

    def _generated_section(self, section: CanonicalSection, node: Node, body: list[Node],
                           direct: bool) -> None:
        target = f"{_label(section)} (notes)"
        if section.number == SESSION_LOG:
            self._session_log(section, node, body, direct)
            return
        if direct:
            ctx = _Ctx(True, _notes_shift(body), target)
            pieces = self._process(body, ctx)
        else:
            shift = _NOTES_LEVEL - _level(node)
            sub = self._process(body, _Ctx(True, shift, target))
            pieces = [self._heading_piece(node, shift), *sub] if sub else []
        if pieces:
            self._place(("notes", section.number), pieces)
            self._note(MOVED, f"text of section '{_text(node)}'", _pieces_node(pieces, node), target)

    def _session_log(self, section: CanonicalSection, node: Node, body: list[Node], direct: bool) -> None:
        """Old log entries become bold paragraphs; other text stays in front of them."""
        target = f"{_label(section)} (notes)"
        loose: list[_Piece] = []
        if not direct:
            loose.append(self._heading_piece(node, _NOTES_LEVEL - _level(node)))
        run: list[Node] = []
        i = 0
        while i < len(body):
            n = body[i]
            if n.heading is not None and session_of(n.heading.text) is not None:
                loose += self._process(run, _Ctx(True, _notes_shift(run), target))
                run = []
                j = self._subtree_end(body, i)
                self._session_entry(n, body[i + 1:j], f"session log entry '{n.heading.text}'")
                i = j
                continue
            run.append(n)
            i += 1
        loose += self._process(run, _Ctx(True, _notes_shift(run), target))
        if loose:
            self._place(("notes", section.number), loose)
            self._note(MOVED, f"text of section '{_text(node)}'", _pieces_node(loose, node), target)

    def _session_entry(self, node: Node, body: list[Node], what: str) -> None:
        h = node.heading
        assert h is not None
        target = f"{_label(SECTION_BY_NUMBER[SESSION_LOG])} (notes)"
        pieces = [self._bold_piece(node), *self._process(body, _Ctx(True, _notes_shift(body), target))]
        name = session_log_name(h.text) or h.text
        self.entries.append(_Entry(session_order_key(name), node.start, self._chunk(pieces)))
        self._note(MOVED, what, node, f"{target}, as **R{session_of(h.text)} ...**")

    def _cumulative(self, node: Node, body: list[Node]) -> None:
        """A cumulative list is the registry again: drop its lists (and registry tables), keep the rest."""
        target = f"{_label(SECTION_BY_NUMBER[3])} (generated)"
        self._note(REPLACED, f"cumulative list '{_text(node)}'", node, target)
        first_heading = next((i for i, n in enumerate(body) if n.heading is not None), len(body))
        kept = [n for n in body[:first_heading] if n.kind not in ("bullet_list", "ordered_list")]
        kept += body[first_heading:]  # under a sub-heading of its own, a list is the author's
        notes_target = f"{_label(SECTION_BY_NUMBER[3])} (notes)"
        pieces = self._process(kept, _Ctx(True, _notes_shift(kept), notes_target))
        if pieces:
            self._place(("notes", 3), pieces)
            self._note(MOVED, f"text under '{_text(node)}'", _pieces_node(pieces, node), notes_target)

    def _set_aside(self, node: Node, body: list[Node]) -> None:
        h = node.heading
        assert h is not None
        if " ".join(h.text.split()).casefold() == APPENDIX_TITLE.casefold():
            pieces = self._process(body, _Ctx(False, 0, APPENDIX_TITLE))
        else:
            shift = 3 - h.level
            ctx = _Ctx(False, shift, APPENDIX_TITLE)
            pieces = [self._heading_piece(node, shift), *self._process(body, ctx)]
        if pieces:
            self._place(("appendix", 0), pieces)
            self._note(SET_ASIDE, f"section '{h.text}'", node, APPENDIX_TITLE)

    # -- runs of nodes ---------------------------------------------------

    def _process(self, nodes: list[Node], ctx: _Ctx) -> list[_Piece]:
        """Kept pieces of ``nodes``; session blocks and cumulative lists are re-filed."""
        pieces: list[_Piece] = []
        i = 0
        while i < len(nodes):
            node = nodes[i]
            h = node.heading
            if h is None:
                if node.table is not None and ctx.generated and is_registry_table(node.table):
                    self._note(REPLACED, _table_what(node.table), node,
                               ctx.to_section.replace("(notes)", "(generated)"))
                else:
                    pieces.append(self._piece(node))
                i += 1
                continue
            j = self._subtree_end(nodes, i)
            body = nodes[i + 1:j]
            if session_of(h.text) is not None:
                self._session_entry(node, body, f"per-session heading '{h.text}'")
            elif is_cumulative(h.text):
                self._cumulative(node, body)
            else:
                sub = self._process(body, ctx)
                # Only the registry's own sub-headings go with it; any other heading is
                # the author's and stays, even when nothing is left under it.
                if sub or not (ctx.generated and is_severity_subheading(h.text)):
                    pieces += [self._heading_piece(node, ctx.shift), *sub]
                else:
                    self._note(REPLACED, f"registry heading '{h.text}'", node,
                               ctx.to_section.replace("(notes)", "(generated)"))
            i = j
        return pieces

    def _heading_piece(self, node: Node, shift: int) -> _Piece:
        h = node.heading
        assert h is not None
        level = min(6, max(1, h.level + shift))
        if h.setext:
            return _Piece(node.start, node.end, [f"{'#' * level} {' '.join(h.raw.split())}\n"])
        lines = self._source(node)
        lines[0] = _ATX.sub(lambda m: m.group(1) + "#" * level, lines[0], count=1)
        return _Piece(node.start, node.end, lines)

    def _bold_piece(self, node: Node) -> _Piece:
        h = node.heading
        assert h is not None
        return _Piece(node.start, node.end, [f"**{' '.join(h.raw.split())}**\n"], paragraph_after=True)

    def _chunk(self, pieces: list[_Piece]) -> list[str]:
        """Join pieces, keeping the source spacing between neighbours, one blank line elsewhere."""
        out: list[str] = []
        source = self.outline.lines
        for k, piece in enumerate(pieces):
            if k:
                prev = pieces[k - 1]
                gap = list(source[prev.end:piece.start])
                if prev.end > piece.start or any(not is_blank(g) for g in gap):
                    gap = ["\n"]  # something was taken out here (or the order changed)
                if prev.paragraph_after and not gap:
                    gap = ["\n"]
                out += [g if g.endswith("\n") else g + "\n" for g in gap]
            out += piece.lines
        while out and is_blank(out[0]):
            out.pop(0)
        while out and is_blank(out[-1]):
            out.pop()
        return out

    # -- writing ---------------------------------------------------------

    def _assemble(self, pre_title: list[str], title: list[str], preamble: list[str]) -> str:
        out: list[str] = []

        def para(lines: list[str]) -> None:
            if out and not is_blank(out[-1]):
                out.append("\n")
            out.extend(lines)

        if pre_title:
            para(pre_title)
        if title:
            para(title)
        para([format_block(HEADER_KEY, "")])
        if preamble:
            para(preamble)
        for section in SECTIONS:
            para([section.heading + "\n"])
            if section.key is None:
                chunks = self._chunks(("human", section.number)) or [[PLACEHOLDERS[section.number] + "\n"]]
                for chunk in chunks:
                    para(chunk)
                continue
            para([format_block(section.key, "")])
            notes = self._chunks(("notes", section.number))
            if section.number == SESSION_LOG:
                notes += [e.lines for e in sorted(self.entries, key=lambda e: (e.key, e.order))]
            if notes:
                para([NOTES_HEADING + "\n"])
                for chunk in notes:
                    para(chunk)
        appendix = self._chunks(("appendix", 0))
        if appendix:
            para([f"## {APPENDIX_TITLE}\n"])
            for chunk in appendix:
                para(chunk)
        return "".join(out)


def _label(section: CanonicalSection) -> str:
    return f"{section.number}. {section.title}"


def _text(node: Node) -> str:
    return node.heading.text if node.heading else ""


def _level(node: Node) -> int:
    return node.heading.level if node.heading else 2


def _notes_shift(nodes: list[Node]) -> int:
    """How far to push headings down so the shallowest sits below the notes heading."""
    levels = [n.heading.level for n in nodes if n.heading is not None]
    return max(0, _NOTES_LEVEL - min(levels)) if levels else 0


def _pieces_node(pieces: list[_Piece], fallback: Node) -> Node:
    """A node standing for the first kept line, so the report points at real text."""
    return Node("text", pieces[0].start, pieces[0].end) if pieces else fallback


def _table_what(table: Table) -> str:
    kind = ("file registry" if is_file_table(table)
            else "findings" if is_findings_table(table) else "positives")
    return f"{kind} table ({len(table.rows)} row{'s' if len(table.rows) != 1 else ''})"


