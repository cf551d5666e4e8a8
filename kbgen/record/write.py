"""Writing a checked worksheet: compare with the database, change only what differs.

Research rows are written exactly in the research schema (only columns the
live table has). Which row a worksheet entry wrote is remembered in
``kbgen_record_keys`` — (session, kind, key) → row id — so recording the same
worksheet again finds its rows and changes nothing, and an edited entry
updates its row instead of adding one:

==============  ==========================================  =============================
kind            key                                         row
==============  ==========================================  =============================
``read``        the file id                                 ``file_reads.id``
``finding``     the finding's ``key`` (or ``<file>#<n>``)   ``findings.id``
``link``        ``<question> <finding key>``                the finding id
``tag``         ``<file id> <domain id>``                   (none: file_domains has no id)
``dependency``  ``<source> <target> <relationship>``        ``dependencies.id``
==============  ==========================================  =============================

Files: a read upgrades ``files.depth`` (never downgrades it; EXCLUDED stays),
``files.lines_read`` is the union of every read's line ranges (never less
than before) and ``files.last_read_date`` the latest date of a session that
read the file. The file's state before the worksheet first touched it is
kept with the read's key, so correcting a read (a lower depth, a typo in a
range) or pruning it re-derives the file from that state, not from the
mistake.

An entry removed from the worksheet (or a read or answer slot left empty)
does not delete research rows unless ``prune`` is asked for: it is reported
as *kept*. The links and text answers of entries still in the worksheet do
follow it exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update

from kbgen import vocab
from kbgen.db import kbtables as kb
from kbgen.db import research as rt
from kbgen.db.ids import IdAllocator
from kbgen.db.sessions import new_session_id
from kbgen.record.check import Checked, Edge, Finding, Read, Tag, existing_pairs
from kbgen.worksheet import ranges


@dataclass(frozen=True)
class Change:
    """One row kbgen added, updated, removed — or kept although the worksheet no longer lists it."""

    table: str
    action: str  #: added | updated | removed | kept
    row: str  #: how people name it: F1234, Q95-4458, file 4458, read of 4458
    detail: str
    line: int | None = None
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "action": self.action, "row": self.row, "detail": self.detail,
                "line": self.line, "id": self.id}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(text: str | None, width: int = 60) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``severity HIGH → CRITICAL``, ``description changed`` for each differing field."""
    out = []
    for key, value in new.items():
        before = old.get(key)
        if _same(before, value):
            continue
        if key in ("description", "evidence", "notes", "verdict", "focus", "note"):
            out.append(f"{key} changed")
        else:
            out.append(f"{key} {before if before is not None else '—'} → {value if value is not None else '—'}")
    return out


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, (int, bool)) or isinstance(b, (int, bool)):
        try:
            return int(a) == int(b)
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


@dataclass
class _ReadState:
    """One read of a file as it will be after this run: (depth, lines_read, ranges, session date)."""

    depth: str
    lines_read: int | None
    ranges: list[ranges.Range]
    date: str | None


@dataclass
class Writer:
    conn: Connection
    checked: Checked
    dry_run: bool
    prune: bool
    changes: list[Change] = field(default_factory=list)
    now: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        self.ctx = self.checked.context
        self.ws = self.checked.worksheet
        self.ids = IdAllocator(self.conn)
        self.session_id: int | None = self.ctx.session.id if self.ctx.session else None
        self.session_date = self.ws.date or (self.ctx.session.date if self.ctx.session else None)
        self.touched_files: dict[int, bool] = {}  # file id → a read of ours went down or away (re-derive)
        #: file_reads.id → (file id, its state after this run), or None when this run deletes it
        self.read_overrides: dict[int, tuple[int, _ReadState] | None] = {}
        self.new_reads: dict[int, list[_ReadState]] = {}  # file id → reads inserted in this run

    # -- helpers -------------------------------------------------------------------
    def add(self, table: str, action: str, row: str, detail: str, line: int | None = None,
            row_id: int | None = None) -> None:
        self.changes.append(Change(table, action, row, detail, line, row_id))

    def cols(self, table: Table, values: dict[str, Any]) -> dict[str, Any]:
        """Only the columns the live table has (research tables vary in the wild)."""
        have = self.ctx.schema.columns.get(table.name, frozenset())
        return {k: v for k, v in values.items() if k in have}

    def insert_row(self, table: Table, values: dict[str, Any]) -> int | None:
        if self.dry_run:
            return None
        row_id = self.ids.next_id(table.name)
        self.insert_values(table, {"id": row_id, **values})
        return row_id

    def insert_values(self, table: Table, values: dict[str, Any]) -> None:
        """INSERT exactly these columns (those the live table has): the documented ``Table`` would add its
        Python-side defaults (``followed_up``, ``verified``) even where the live table has no such column."""
        values = self.cols(table, values)
        self.ids.insert(table.name, values)

    def update_row(self, table: Table, row_id: int, values: dict[str, Any]) -> None:
        values = self.cols(table, values)
        if not self.dry_run and values:
            self.conn.execute(update(table).where(table.c.id == row_id).values(**values))

    def set_key(self, kind: str, key: str, row_id: int | None, detail: dict[str, Any] | None = None) -> None:
        if self.dry_run or self.session_id is None or not key or key.endswith(" "):
            return
        current = self.ctx.keys.get((kind, key))
        text = json.dumps(detail, sort_keys=True) if detail else None
        if current is None:
            self.conn.execute(insert(kb.record_keys).values(session_id=self.session_id, kind=kind, key=key,
                                                            row_id=row_id, detail=text, recorded_at=self.now))
        elif current.row_id != row_id or (detail is not None and current.detail != detail):
            self.conn.execute(update(kb.record_keys).where(self._key_where(kind, key)).values(
                row_id=row_id, detail=text if detail is not None else (json.dumps(current.detail, sort_keys=True)
                                                                       if current.detail else None),
                recorded_at=self.now))

    def drop_key(self, kind: str, key: str) -> None:
        if not self.dry_run and self.session_id is not None and (kind, key) in self.ctx.keys:
            self.conn.execute(delete(kb.record_keys).where(self._key_where(kind, key)))

    def _key_where(self, kind: str, key: str) -> Any:
        return ((kb.record_keys.c.session_id == self.session_id) & (kb.record_keys.c.kind == kind)
                & (kb.record_keys.c.key == key))

    def ours(self, kind: str) -> dict[str, Any]:
        return {key: row for (k, key), row in self.ctx.keys.items() if k == kind}

    def fetch(self, table: Table, ids: Iterable[int | None], columns: list[str]) -> dict[int, Any]:
        wanted = sorted({i for i in ids if i is not None})
        cols = [table.c.id, *(self.ctx.schema.col(table, c) for c in columns)]
        out: dict[int, Any] = {}
        for start in range(0, len(wanted), 500):
            for r in self.conn.execute(select(*cols).where(table.c.id.in_(wanted[start:start + 500]))):
                out[int(r.id)] = r
        return out

    # -- the run -------------------------------------------------------------------
    def run(self) -> list[Change]:
        self.session()
        self.reads()
        self.findings()
        self.text_answers()
        self.tags()
        self.edges()
        self.files()
        return self.changes

    def session(self) -> None:
        ws = self.ws
        wanted = {"date": ws.date, "focus": ws.focus, "agent_count": ws.agents, "notes": ws.notes}
        if self.ctx.session is None:
            values = {"name": f"R{ws.session}", **wanted}
            row_id = new_session_id(self.ctx.sessions, ws.session)
            if not self.dry_run:
                if row_id is None:
                    row_id = self.ids.next_id("sessions")
                self.insert_values(rt.sessions, {"id": row_id, **values})
                self.ids.after_explicit("sessions", row_id)
            self.session_id = row_id
            self.add("sessions", "added", f"R{ws.session}", f"id {row_id if row_id is not None else '(new)'}"
                     + (f", {ws.date}" if ws.date else ""), None, row_id)
            return
        current = self.ctx.session
        old = {"date": current.date, "focus": current.focus, "agent_count": current.agent_count,
               "notes": current.notes}
        given = self.cols(rt.sessions, {k: v for k, v in wanted.items() if v is not None})
        changed = {k: v for k, v in given.items() if not _same(old[k], v)}
        if changed:
            self.update_row(rt.sessions, current.id, changed)
            self.add("sessions", "updated", current.label, "; ".join(_diff(old, changed)), None, current.id)

    # -- reads and files -------------------------------------------------------------
    def reads(self) -> None:
        ours = self.ours("read")
        rows = self.fetch(rt.file_reads, (k.row_id for k in ours.values()),
                          ["file_id", "session_id", "depth", "lines_read", "line_ranges", "notes"])
        listed = set()
        for read in self.checked.reads:
            listed.add(read.key)
            self._read(read, ours.get(read.key), rows)
        for key, mapping in ours.items():
            if key in listed:
                continue
            row = rows.get(mapping.row_id) if mapping.row_id is not None else None
            if row is None:
                self.drop_key("read", key)
                continue
            unread = next((r for r in self.checked.unread if r.key == key), None)
            line = unread.entry.line if unread else None
            if self.prune and self.ws.complete:
                if not self.dry_run:
                    self.conn.execute(delete(rt.file_reads).where(rt.file_reads.c.id == row.id))
                self.drop_key("read", key)
                self.read_overrides[row.id] = None
                self.touched_files[int(key)] = True
                self.add("file_reads", "removed", f"read of {key}", f"{row.depth} (pruned)", line, row.id)
            elif self.ws.complete:
                self.add("file_reads", "kept", f"read of {key}", f"{row.depth}: recorded earlier, no longer in the "
                         "worksheet (--prune removes it)", line, row.id)

    def _read(self, read: Read, mapping: Any, rows: dict[int, Any]) -> None:
        entry, f = read.entry, read.file
        depth = entry.depth or ""
        if read.ranges:
            lines_read: int | None = ranges.count(read.ranges)
        else:
            lines_read = 0 if depth == "MENTIONED" else None
        values = {"file_id": f.id, "session_id": self.session_id, "depth": depth, "lines_read": lines_read,
                  "line_ranges": ranges.render(read.ranges) if read.ranges else None, "notes": entry.notes}
        state = _ReadState(depth, lines_read, read.ranges or [], self.session_date)
        values = self.cols(rt.file_reads, values)
        row = rows.get(mapping.row_id) if mapping is not None and mapping.row_id is not None else None
        if row is None:
            prior = (mapping.detail if mapping is not None and mapping.detail else
                     {"depth": f.depth, "lines_read": f.lines_read, "last_read_date": f.last_read_date})
            row_id = self.insert_row(rt.file_reads, values)
            self.set_key("read", read.key, row_id, prior)
            self.new_reads.setdefault(f.id, []).append(state)
            self.touched_files.setdefault(f.id, False)
            self.add("file_reads", "added", f"read of {f.id}", f"{depth}" + (f", lines {ranges.render(read.ranges)}"
                     if read.ranges else ""), entry.line, row_id)
            return
        old = {k: getattr(row, k) for k in values}
        changed = {k: v for k, v in values.items() if not _same(old[k], v)}
        self.read_overrides[row.id] = (f.id, state)
        self.touched_files.setdefault(f.id, False)
        if not changed:
            return
        if vocab.depth_rank(vocab.depth(row.depth)) > vocab.depth_rank(depth) or (
                (row.lines_read or 0) > (lines_read or 0)) or row.file_id != f.id:
            self.touched_files[f.id] = True  # corrected downwards: re-derive the file from its prior state
        if row.file_id != f.id and row.file_id is not None:
            self.touched_files[int(row.file_id)] = True
        self.update_row(rt.file_reads, row.id, changed)
        self.add("file_reads", "updated", f"read of {f.id}", "; ".join(_diff(old, changed)), entry.line, row.id)

    def files(self) -> None:
        """Re-derive depth, lines_read and last_read_date of every file a read of this run touched."""
        if not self.touched_files:
            return
        ids = sorted(self.touched_files)
        db_reads: dict[int, list[_ReadState]] = {i: [] for i in ids}
        columns = [rt.file_reads.c.id, rt.file_reads.c.file_id, self.ctx.schema.col(rt.file_reads, "depth"),
                   self.ctx.schema.col(rt.file_reads, "lines_read"),
                   self.ctx.schema.col(rt.file_reads, "line_ranges"),
                   self.ctx.schema.col(rt.sessions, "date").label("date")]
        for start in range(0, len(ids), 500):
            stmt = (select(*columns).select_from(rt.file_reads.outerjoin(
                rt.sessions, rt.sessions.c.id == rt.file_reads.c.session_id))
                .where(rt.file_reads.c.file_id.in_(ids[start:start + 500])))
            for r in self.conn.execute(stmt):
                if int(r.id) in self.read_overrides:
                    continue
                db_reads[int(r.file_id)].append(_ReadState(vocab.depth(r.depth), r.lines_read,
                                                           ranges.lenient(r.line_ranges), _date(r.date)))
        override_files: dict[int, list[_ReadState]] = {}
        for item in self.read_overrides.values():
            if item is not None:
                override_files.setdefault(item[0], []).append(item[1])
        rows = {f.id: f for f in self.ctx.files.values()}
        priors = self.ours("read")
        for file_id in ids:
            current = rows.get(file_id)
            if current is None:
                continue
            reads = db_reads[file_id] + self.new_reads.get(file_id, []) + override_files.get(file_id, [])
            base = {"depth": current.depth, "lines_read": current.lines_read,
                    "last_read_date": current.last_read_date}
            if self.touched_files[file_id] and str(file_id) in priors and priors[str(file_id)].detail:
                base = priors[str(file_id)].detail
            new = self.cols(rt.files, derive_file(base, reads, current.loc))
            old = {"depth": current.depth, "lines_read": current.lines_read,
                   "last_read_date": current.last_read_date}
            changed = {k: v for k, v in new.items() if not _same(old[k], v)}
            if changed:
                self.update_row(rt.files, file_id, changed)  # only the columns the live table has
                self.add("files", "updated", f"file {file_id}", "; ".join(_diff(old, changed)), None, file_id)

    # -- findings and answer links -----------------------------------------------------
    def findings(self) -> None:
        ours = self.ours("finding")
        rows = self.fetch(rt.findings, (k.row_id for k in ours.values()),
                          ["file_id", "session_id", "line_start", "line_end", "severity", "category", "description",
                           "followed_up"])
        links = self._links_of([k.row_id for k in ours.values() if k.row_id is not None])
        listed = set()
        for finding in self.checked.findings:
            listed.add(finding.key)
            row_id = self._finding(finding, ours.get(finding.key) if finding.key else None, rows)
            self._links(finding, row_id, links.get(row_id, {}) if row_id is not None else {})
        for key, mapping in ours.items():
            if key in listed:
                continue
            row = rows.get(mapping.row_id) if mapping.row_id is not None else None
            if row is None:
                self.drop_key("finding", key)
                continue
            if self.prune and self.ws.complete:
                self._remove_finding(key, row.id)
                self.add("findings", "removed", f"F{row.id}", f"key {key} (pruned)", None, row.id)
            elif self.ws.complete:
                self.add("findings", "kept", f"F{row.id}", f"key {key}: recorded earlier, no longer in the worksheet "
                         "(--prune removes it)", None, row.id)

    def _finding(self, finding: Finding, mapping: Any, rows: dict[int, Any]) -> int | None:
        e = finding.entry
        values: dict[str, Any] = {
            "file_id": finding.file.id, "session_id": self.session_id, "line_start": finding.line_start,
            "line_end": finding.line_end, "severity": e.severity, "category": finding.category,
            "description": e.description}
        if e.followed_up is not None:
            values["followed_up"] = int(e.followed_up)
        values = self.cols(rt.findings, values)  # compare only what the live table can hold
        row = rows.get(mapping.row_id) if mapping is not None and mapping.row_id is not None else None
        if row is None or not finding.key:
            row_id = self.insert_row(rt.findings, {"followed_up": 0, **values})
            self.set_key("finding", finding.key, row_id)
            self.add("findings", "added", f"F{row_id}" if row_id else "(new finding)",
                     f"{e.severity} {finding.category} on {finding.file.id}: {_short(e.description)}", e.line, row_id)
            return row_id
        old = {k: getattr(row, k) for k in values}
        changed = {k: v for k, v in values.items() if not _same(old[k], v)}
        if changed:
            self.update_row(rt.findings, row.id, changed)
            self.add("findings", "updated", f"F{row.id}", "; ".join(_diff(old, changed)), e.line, row.id)
        return int(row.id)

    def _links_of(self, finding_ids: list[int]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        if not self.ctx.has_kb or not finding_ids:
            return out
        for start in range(0, len(finding_ids), 500):
            for r in self.conn.execute(select(kb.answers).where(
                    kb.answers.c.finding_id.in_(finding_ids[start:start + 500]))):
                out.setdefault(int(r.finding_id), {})[r.question_id] = r
        return out

    def _links(self, finding: Finding, row_id: int | None, existing: dict[str, Any]) -> None:
        ours = {key.split(" ", 1)[0] for key in self.ours("link")
                if finding.key and key.split(" ", 1)[1] == finding.key}
        wanted = {link.question: link for link in finding.entry.answers}
        name = f"F{row_id}" if row_id else "(new finding)"
        for question, link in wanted.items():
            key = f"{question} {finding.key}"
            row = existing.get(question)
            if row is None:
                if not self.dry_run:
                    self.conn.execute(insert(kb.answers).values(question_id=question, finding_id=row_id,
                                                                partial=int(link.partial), note=link.note,
                                                                created_at=self.now))
                self.set_key("link", key, row_id)
                self.add("kbgen_answers", "added", f"{question} ← {name}", "answered by the finding"
                         + (" in part" if link.partial else ""), link.line, row_id)
                continue
            self.set_key("link", key, row_id)
            old = {"partial": int(row.partial), "note": row.note}
            new = {"partial": int(link.partial), "note": link.note}
            changed = {k: v for k, v in new.items() if not _same(old[k], v)}
            if changed:
                if not self.dry_run:
                    self.conn.execute(update(kb.answers).where(
                        (kb.answers.c.question_id == question) & (kb.answers.c.finding_id == row_id)).values(**changed))
                self.add("kbgen_answers", "updated", f"{question} ← {name}", "; ".join(_diff(old, changed)),
                         link.line, row_id)
        for question in sorted(ours - set(wanted)):
            if question in existing and row_id is not None and not self.dry_run:
                self.conn.execute(delete(kb.answers).where(
                    (kb.answers.c.question_id == question) & (kb.answers.c.finding_id == row_id)))
            self.drop_key("link", f"{question} {finding.key}")
            if question in existing:
                self.add("kbgen_answers", "removed", f"{question} ← {name}", "no longer answered by the finding",
                         finding.entry.line, row_id)

    def _remove_finding(self, key: str, row_id: int) -> None:
        if not self.dry_run:
            self.conn.execute(delete(rt.findings).where(rt.findings.c.id == row_id))
            self.conn.execute(delete(kb.answers).where(kb.answers.c.finding_id == row_id))
            self.conn.execute(delete(kb.finding_status).where(kb.finding_status.c.finding_id == row_id))
        self.drop_key("finding", key)
        for link in [k for k in self.ours("link") if k.split(" ", 1)[1] == key]:
            self.drop_key("link", link)

    # -- text answers ----------------------------------------------------------------
    def text_answers(self) -> None:
        ids = list(self.ctx.questions)
        existing: dict[str, Any] = {}
        if self.ctx.has_kb and ids:
            existing = {r.question_id: r for r in self.conn.execute(
                select(kb.text_answers).where(kb.text_answers.c.question_id.in_(ids)))}
        stated = set()
        for q in self.checked.questions:
            if q.answer is None:
                continue
            stated.add(q.id)
            row = existing.get(q.id)
            new = {"answer": q.answer, "verdict": q.verdict}
            if row is None:
                if not self.dry_run:
                    self.conn.execute(insert(kb.text_answers).values(question_id=q.id, session=self.ws.session,
                                                                     updated_at=self.now, **new))
                self.add("kbgen_text_answers", "added", f"{q.id} answer", f"{q.answer}: {_short(q.verdict)}", q.line)
                continue
            old = {"answer": row.answer, "verdict": row.verdict}
            changed = {k: v for k, v in new.items() if not _same(old[k], v)}
            if changed:
                if not self.dry_run:
                    self.conn.execute(update(kb.text_answers).where(kb.text_answers.c.question_id == q.id)
                                      .values(updated_at=self.now, **changed))
                self.add("kbgen_text_answers", "updated", f"{q.id} answer", "; ".join(_diff(old, changed)), q.line)
        if not self.ws.complete:
            return
        lines = {q.id: q.line for q in self.checked.questions}
        for qid, row in existing.items():
            if qid in stated:
                continue
            if self.prune:
                if not self.dry_run:
                    self.conn.execute(delete(kb.text_answers).where(kb.text_answers.c.question_id == qid))
                self.add("kbgen_text_answers", "removed", f"{qid} answer", f"{row.answer} (pruned)", lines.get(qid))
            else:
                self.add("kbgen_text_answers", "kept", f"{qid} answer", f"{row.answer}: answered earlier, empty in "
                         "the worksheet (--prune removes it)", lines.get(qid))

    # -- tags and dependency edges -------------------------------------------------------
    def tags(self) -> None:
        wanted: dict[str, Tag] = {t.key: t for t in self.checked.tags}
        ours = self.ours("tag")
        pairs = [(t.file.id, t.domain_id) for t in wanted.values()]
        pairs += [(int(k.split()[0]), int(k.split()[1])) for k in ours]
        present = existing_pairs(self.conn, pairs)
        for key, tag in wanted.items():
            if (tag.file.id, tag.domain_id) in present:
                continue
            if not self.dry_run:
                self.insert_values(rt.file_domains, {"file_id": tag.file.id, "domain_id": tag.domain_id})
            self.set_key("tag", key, None)
            self.add("file_domains", "added", f"{tag.file.id} → {tag.domain}", tag.file.path)
        if not self.ws.complete:
            return
        names = {v: k for k, v in self.ctx.domains.items()}
        for key in sorted(set(ours) - set(wanted)):
            file_id, domain_id = (int(x) for x in key.split())
            label = f"{file_id} → {names.get(domain_id, domain_id)}"
            if (file_id, domain_id) not in present:
                self.drop_key("tag", key)
            elif self.prune:
                if not self.dry_run:
                    self.conn.execute(delete(rt.file_domains).where(
                        (rt.file_domains.c.file_id == file_id) & (rt.file_domains.c.domain_id == domain_id)))
                self.drop_key("tag", key)
                self.add("file_domains", "removed", label, "pruned")
            else:
                self.add("file_domains", "kept", label,
                         "tagged earlier, no longer in the worksheet (--prune removes it)")

    def edges(self) -> None:
        if not self.ctx.schema.has_table("dependencies"):
            return  # the check warned that the edges cannot be recorded
        ours = self.ours("dependency")
        sources = sorted({e.source.id for e in self.checked.edges} | {int(k.split()[0]) for k in ours})
        existing: dict[str, Any] = {}
        cols = [rt.dependencies.c.id, rt.dependencies.c.source_file_id, rt.dependencies.c.target_file_id,
                rt.dependencies.c.relationship, self.ctx.schema.col(rt.dependencies, "evidence"),
                self.ctx.schema.col(rt.dependencies, "verified")]
        for start in range(0, len(sources), 500):
            for r in self.conn.execute(select(*cols).where(
                    rt.dependencies.c.source_file_id.in_(sources[start:start + 500]))):
                existing.setdefault(f"{r.source_file_id} {r.target_file_id} {r.relationship}", r)
        for edge in self.checked.edges:
            self._edge(edge, existing.get(edge.key), ours.get(edge.key))
        if not self.ws.complete:
            return
        for key in sorted(set(ours) - {e.key for e in self.checked.edges}):
            row = existing.get(key)
            label = "{} → {} ({})".format(*key.split(" ", 2))
            if row is None:
                self.drop_key("dependency", key)
            elif self.prune and ours[key].detail.get("created"):
                if not self.dry_run:
                    self.conn.execute(delete(rt.dependencies).where(rt.dependencies.c.id == row.id))
                self.drop_key("dependency", key)
                self.add("dependencies", "removed", label, "pruned", None, int(row.id))
            elif self.prune:
                self.drop_key("dependency", key)
            else:
                self.add("dependencies", "kept", label, "recorded earlier, no longer in the worksheet "
                         "(--prune removes it)", None, int(row.id))

    def _edge(self, edge: Edge, row: Any, mapping: Any) -> None:
        e = edge.entry
        label = f"{edge.source.id} → {edge.target.id} ({e.relationship})"
        values = {"source_file_id": edge.source.id, "target_file_id": edge.target.id, "relationship": e.relationship,
                  "evidence": e.evidence, "verified": int(e.verified)}
        if row is None:
            row_id = self.insert_row(rt.dependencies, values)
            self.set_key("dependency", edge.key, row_id, {"created": True})
            self.add("dependencies", "added", label, _short(e.evidence) or "no evidence given", e.line, row_id)
            return
        self.set_key("dependency", edge.key, int(row.id), {"created": bool(mapping.detail.get("created"))}
                     if mapping is not None else {"created": False})
        new = {"evidence": e.evidence, "verified": int(e.verified)}
        if e.evidence is None:
            new.pop("evidence")  # an edge found again without new evidence keeps the recorded one
        new = self.cols(rt.dependencies, new)
        old = {"evidence": row.evidence, "verified": row.verified}
        changed = {k: v for k, v in new.items() if not _same(old[k], v)}
        if changed:
            self.update_row(rt.dependencies, int(row.id), changed)
            self.add("dependencies", "updated", label, "; ".join(_diff(old, changed)), e.line, int(row.id))


def _date(value: Any) -> str | None:
    return None if value is None else str(value)


def derive_file(base: dict[str, Any], reads: list[_ReadState], loc: int | None) -> dict[str, Any]:
    """A file's depth, lines_read and last_read_date from its state before and every read of it.

    Depth: the strongest of the base and the reads (EXCLUDED stays EXCLUDED). Lines read: the union
    of the reads' line ranges, at least the base's and any single read's count, at most the LOC.
    Last read date: the latest of the base's and the reads' session dates.
    """
    base_depth = base.get("depth")
    if vocab.depth(base_depth) == "EXCLUDED":
        depth = base_depth
    else:
        candidates = [vocab.depth(base_depth)] + [r.depth for r in reads if r.depth]
        strongest = max(candidates, key=vocab.depth_rank)
        depth = base_depth if vocab.depth(base_depth) == strongest and base_depth else strongest
    union = ranges.count(rg for r in reads for rg in r.ranges)
    single = max((r.lines_read or 0 for r in reads if not r.ranges), default=0)
    lines: int | None = max(int(base.get("lines_read") or 0), union, single)
    if loc is not None and loc > 0 and lines is not None:
        lines = min(lines, max(loc, int(base.get("lines_read") or 0)))
    if not lines and base.get("lines_read") is None and not any(r.ranges or r.lines_read is not None for r in reads):
        lines = None
    dates = [d for d in [base.get("last_read_date"), *(r.date for r in reads)] if d]
    return {"depth": depth, "lines_read": lines, "last_read_date": max(dates) if dates else None}
