"""Recording a session: a checked worksheet written in one transaction.

:func:`record` is what ``kbgen record`` and the one-off commands (``kbgen
read``, ``kbgen finding add``, ``kbgen tag``) run. Inside ONE transaction —
SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory lock shared by every kbgen
recorder — it reads what the worksheet refers to, checks every entry
(:mod:`kbgen.record.check`) and only when nothing is wrong writes the
differences (:mod:`kbgen.record.write`). A problem, a dry run or a worksheet
that changes nothing ends in a rollback: the database is not written at all.

kbgen's own tables are created or upgraded first when the database needs it,
but only once the worksheet has passed its checks, so a rejected worksheet
leaves even a database kbgen never saw byte for byte as it was.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from kbgen.config import Options
from kbgen.db.kbtables import HEAD_REVISION
from kbgen.db.migrate import check_kb_schema, check_research_schema, ensure_kb_tables
from kbgen.record.check import Checked, check_worksheet
from kbgen.record.write import Change, Writer
from kbgen.worksheet.model import Worksheet, WorksheetInvalid
from kbgen.worksheet.yamlmarks import Problem

#: pg_advisory_xact_lock key shared by every kbgen command that writes research rows.
RECORD_LOCK = 4242300


@dataclass
class RecordResult:
    worksheet: str | None
    session: int
    session_id: int | None
    dry_run: bool
    changes: list[Change]
    warnings: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def written(self) -> list[Change]:
        return [c for c in self.changes if c.action != "kept"]

    def counts(self) -> Counter[str]:
        return Counter(c.action for c in self.changes)

    def summary(self) -> str:
        if not self.written:
            kept = self.counts()["kept"]
            return (f"R{self.session}: nothing to change" + (f" ({kept} kept)" if kept else "")
                    + f" in {self.seconds:.2f} s")
        by_table: Counter[tuple[str, str]] = Counter((c.table, c.action) for c in self.written)
        parts = [f"{n} {_noun(table, n)} {action}" for (table, action), n in sorted(by_table.items())]
        verb = "would change" if self.dry_run else "recorded"
        return f"R{self.session} {verb}: " + ", ".join(parts) + f" in {self.seconds:.2f} s"

    def to_json(self) -> dict[str, Any]:
        return {"worksheet": self.worksheet, "session": f"R{self.session}", "session_id": self.session_id,
                "dry_run": self.dry_run, "ok": True, "counts": dict(sorted(self.counts().items())),
                "changes": [c.to_json() for c in self.changes], "warnings": [w.to_json() for w in self.warnings],
                "seconds": round(self.seconds, 3)}


_NOUNS = {"sessions": "session", "file_reads": "read", "files": "file", "findings": "finding",
          "kbgen_answers": "answer link", "kbgen_text_answers": "text answer", "file_domains": "domain tag",
          "dependencies": "dependency edge"}


def _noun(table: str, n: int) -> str:
    word = _NOUNS.get(table, table)
    return word if n == 1 else word + "s"


def record(engine: Engine, ws: Worksheet, options: Options, *, dry_run: bool = False,
           prune: bool = False) -> RecordResult:
    """Check ``ws`` against the database and write it in one transaction (nothing on any problem)."""
    started = time.perf_counter()
    check_research_schema(engine, ws.source or "the database")
    if check_kb_schema(engine) != HEAD_REVISION and not dry_run:
        # Check before creating kbgen's tables, so a rejected worksheet leaves the database untouched.
        _run(engine, ws, options, dry_run=True, prune=prune)
        ensure_kb_tables(engine)
    result = _run(engine, ws, options, dry_run=dry_run, prune=prune)
    result.seconds = time.perf_counter() - started
    return result


def _run(engine: Engine, ws: Worksheet, options: Options, *, dry_run: bool, prune: bool) -> RecordResult:
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RECORD_LOCK})
            checked = check_worksheet(conn, ws, options)
            if not isinstance(checked, Checked):
                raise WorksheetInvalid(checked, path=ws.source)
            writer = Writer(conn, checked, dry_run=dry_run, prune=prune)
            changes = writer.run()
            written = [c for c in changes if c.action != "kept"]
            if dry_run or not written:
                trans.rollback()
            else:
                trans.commit()
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
    return RecordResult(ws.source, ws.session, writer.session_id, dry_run, changes, checked.warnings)


__all__ = ["Change", "RecordResult", "record"]
