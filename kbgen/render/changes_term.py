"""``kbgen changes`` in the terminal: Rich tables of one :class:`~kbgen.changes.Changes`.

Database text goes into :class:`rich.text.Text` objects, never into markup
strings, so a finding that says ``[bold]`` is printed as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from kbgen.changes import ALERT_SEVERITIES, Attribution, Changes, CoverageDelta
from kbgen.model import Snapshot
from kbgen.render.changes_md import headline
from kbgen.render.myst import pct
from kbgen.wording import count

T = TypeVar("T")

#: Characters of a description shown per row (the JSON and markdown outputs have it all).
DESCRIPTION_WIDTH = 160
#: Rows per table in the terminal; a run of sessions at campaign scale has hundreds, which only
#: scroll past (and take Rich a second to lay out). --json and --markdown list them all.
MAX_ROWS = 30


def _t(value: object) -> Text:
    return Text("" if value is None else " ".join(str(value).split()))


def _cut(value: str, limit: int = DESCRIPTION_WIDTH) -> Text:
    line = " ".join(value.split())
    return Text(line if len(line) <= limit else line[: limit - 1] + "…")


def _table(title: str, columns: Sequence[str], right: Sequence[str] = (), keep: Sequence[str] = ()) -> Table:
    """A table whose ``right`` columns are figures and whose ``keep`` columns are never wrapped.

    At 80 columns (what a pipe gets) Rich squeezes every wrappable column alike,
    so ``2025-09-08`` became ``2025-09-`` over ``08``: identifiers (sessions,
    dates, IDs, severities, depths) keep their width and the free text (paths,
    descriptions) and the figures' headers wrap instead.
    """
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", overflow="fold", no_wrap=col in keep)
    return table


def _rows(items: Sequence[T], table: Table) -> Sequence[T]:
    """The first MAX_ROWS items; the table's caption says how many more there are."""
    if len(items) > MAX_ROWS:
        table.caption = f"… and {len(items) - MAX_ROWS:,} more: --json or --markdown lists them all"
        table.caption_justify = "left"
    return items[:MAX_ROWS]


def _coverage(rows: Sequence[CoverageDelta], kind: str) -> Table:
    table = _table(f"Coverage by {kind.lower()} (LOC read MEDIUM or deeper)",
                   [kind, "Before", "After", "Change", "Share of today's LOC"], ("Before", "After", "Change"))
    for d in _rows(rows, table):
        table.add_row(_t(d.name), f"{d.loc_before:,}", f"{d.loc_after:,}", f"+{d.loc_gained:,}",
                      f"{pct(d.loc_before, d.loc_total)} → {pct(d.loc_after, d.loc_total)}")
    return table


def renderables(snap: Snapshot, c: Changes, *, breakdown: Sequence[Changes] = (),
                attribution: Attribution | None = None) -> list[RenderableType]:
    """Everything ``kbgen changes`` prints, in order."""
    dates = [s.date for s in c.sessions if s.date]
    when = f" ({dates[0]})" if dates and dates[0] == dates[-1] else (f" ({dates[0]} to {dates[-1]})" if dates else "")
    summary = _table(f"Changes in {c.label}{when}", ["What changed"])
    for item in headline(c):
        summary.add_row(_t(item))
    out: list[RenderableType] = [summary]

    if len(breakdown) > 1:
        # Figures' headers on two lines: the table fits 80 columns without folding a word ("Answere" over "d").
        figures = ("New\nfindings", "Critical\nor high", "Read\ndeeper", "LOC\nMEDIUM+", "Answered")
        per = _table("Per session", ["Session", "Date", *figures], figures, keep=("Session", "Date"))
        for b in breakdown:
            per.add_row(_t(b.label), _t(b.first.date or "—"), f"{len(b.new_findings):,}", f"{len(b.alerts):,}",
                        f"{len(b.depth_rises):,}", f"+{b.loc_gained:,}", f"{len(b.answered):,}")
        out.append(per)

    alerts = [f for f in c.new_findings if f.severity in ALERT_SEVERITIES]
    if alerts:
        table = _table("New critical and high findings", ["Finding", "Severity", "File", "Description"],
                       keep=("Finding", "Severity"))
        for f in _rows(alerts, table):
            file = snap.file_by_id.get(f.file_id) if f.file_id is not None else None
            table.add_row(f.need_id, f.severity, _t(f"{file.package}/{file.path}" if file else "—"),
                          _cut(f.description or ""))
        out.append(table)

    if c.resolved or c.superseded:
        table = _table("Resolved and superseded", ["Finding", "Severity", "Status"], keep=("Finding", "Severity"))
        rows = [(done.finding, f"resolved in {done.session.label}") for done in c.resolved]
        rows += [(s.finding, f"superseded by {s.by.need_id}" + (f": {s.reason}" if s.reason else ""))
                 for s in c.superseded]
        for finding, status in _rows(rows, table):
            table.add_row(finding.need_id, finding.severity, _t(status))
        out.append(table)

    if c.domains:
        out.append(_coverage(c.domains, "Domain"))
    if c.packages:
        out.append(_coverage(c.packages, "Package"))

    if c.depth_rises:
        table = _table("Files read deeper", ["File", "Package", "LOC", "Before", "After"], ("LOC",),
                       keep=("LOC", "Before", "After"))
        for r in _rows(c.depth_rises, table):
            table.add_row(_t(r.file.path if r.file else f"file {r.file_id} (not in the files table)"),
                          _t(r.file.package if r.file else "—"),
                          f"{r.file.loc:,}" if r.file and r.file.loc is not None else "—",
                          r.before or "not recorded", r.after)
        out.append(table)

    if c.answered:
        table = _table("Plan questions answered", ["Question", "Text", "Findings", "How", "Answer"],
                       keep=("Question",))
        for a in _rows(c.answered, table):
            how = a.kind + (", partly" if a.partial else "") + (f"; first in {a.earlier.label}" if a.earlier else "")
            table.add_row(a.question.id, _cut(a.question.text, 100),
                          ", ".join(f"F{i}" for i in a.finding_ids) or "—", _t(how), _cut(a.verdict or "—", 100))
        out.append(table)

    if c.edges:
        table = _table("Dependency edges", ["From", "Relationship", "To", "Verified"], keep=("Verified",))
        for e in _rows(c.edges, table):
            src, dst = (snap.file_by_id.get(e.dependency.source_file_id),
                        snap.file_by_id.get(e.dependency.target_file_id))
            table.add_row(_t(src.path if src else e.dependency.source_file_id), _t(e.dependency.relationship),
                          _t(dst.path if dst else e.dependency.target_file_id),
                          "yes" if e.dependency.verified else "no")
        out.append(table)

    if attribution is not None and (attribution.reads_without_session or attribution.findings_without_session
                                    or attribution.edges_unattributed):
        out.append(Text(
            f"Not attributable to any session: {count(attribution.reads_without_session, 'read')} and "
            f"{count(attribution.findings_without_session, 'finding')} without a session; "
            f"{attribution.edges_unattributed:,} of {count(attribution.edges_total, 'dependency edge')} (not dated)."))
    return out
