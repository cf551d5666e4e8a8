"""``kbgen changes --markdown``: what changed, as markdown to paste into a pull request.

Written for people reading it raw as much as rendered on GitHub: a headline,
one bullet per kind of change, then the details, with the long lists folded
in ``<details>`` blocks. Database text goes through :mod:`kbgen.render.gfm`
(escaped only where GitHub would read it as markup). Finding and question IDs
are plain text: the reader has no site to link to here.
"""

from __future__ import annotations

from collections.abc import Sequence

from kbgen.changes import ALERT_SEVERITIES, Attribution, Changes, CoverageDelta
from kbgen.model import Finding, Snapshot
from kbgen.render import gfm
from kbgen.render.myst import pct
from kbgen.wording import count

#: Rows past which a list is folded into a <details> block.
FOLD_ROWS = 10
#: Characters of a finding's description shown in a list.
DESCRIPTION_LIMIT = 300


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """A GFM table; ``align`` has one letter per column (``l`` or ``r``)."""
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    return ["| " + " | ".join(headers) + " |", rule, *("| " + " | ".join(row) + " |" for row in rows)]


def _fold(summary: str, lines: list[str], rows: int) -> list[str]:
    if rows <= FOLD_ROWS:
        return [*lines, ""]
    return [f"<details><summary>{summary}</summary>", "", *lines, "", "</details>", ""]


def _cut(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    line = gfm.one_line(text)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _where(snap: Snapshot, f: Finding) -> str:
    file = snap.file_by_id.get(f.file_id) if f.file_id is not None else None
    if file is None:
        return ""
    lines = f":{f.lines}" if f.lines else ""
    return f" in {gfm.code(f'{file.package}/{file.path}{lines}')}"


def headline(c: Changes) -> list[str]:
    """The summary bullets (shared with the terminal's first table)."""
    items = []
    if c.new_findings:
        counts = ", ".join(f"{n:,} {sev.lower()}" for sev, n in c.severity_counts.items())
        items.append(f"{count(len(c.new_findings), 'new finding')}: {counts}")
    else:
        items.append("No new findings")
    if c.resolved or c.superseded:
        items.append(f"{count(len(c.resolved), 'finding')} resolved, {len(c.superseded):,} superseded")
    if c.depth_rises:
        unknown = sum(1 for r in c.depth_rises if r.before_unknown)
        items.append(f"{count(len(c.depth_rises), 'file')} read deeper"
                     + (f" ({unknown:,} with no earlier depth on record)" if unknown else ""))
    if c.files_gained:
        items.append(f"{c.loc_gained:,} more LOC read MEDIUM or deeper ({count(c.files_gained, 'file')})")
    if c.answered:
        items.append(f"{count(len(c.answered), 'plan question')} answered")
    items.append(f"{count(len(c.edges), 'dependency edge')} attributed" if c.edges
                 else "No dependency edges attributed (the database does not date them)")
    return items


def _coverage(rows: Sequence[CoverageDelta], kind: str) -> list[str]:
    body = [[gfm.text(d.name, cell=True), f"{d.loc_before:,}", f"{d.loc_after:,}", f"+{d.loc_gained:,}",
             f"{pct(d.loc_before, d.loc_total)} → {pct(d.loc_after, d.loc_total)}"] for d in rows]
    return _table([kind, "LOC read before", "after", "change", "share of today's LOC"], body, "lrrrr")


def render(snap: Snapshot, c: Changes, *, breakdown: Sequence[Changes] = (),
           attribution: Attribution | None = None) -> str:
    """The whole markdown text, ending in one newline."""
    dates = [s.date for s in c.sessions if s.date]
    span = ""
    if dates:
        span = f" ({dates[0]})" if dates[0] == dates[-1] else f" ({dates[0]} to {dates[-1]})"
    title = f"Research changes in {gfm.text(c.label)}{span}"
    out = [f"## {title}", ""]
    if len(c.sessions) == 1 and c.first.focus:
        out += [f"Focus: {gfm.text(c.first.focus)}", ""]
    elif len(c.sessions) > 1:
        out += [f"{len(c.sessions)} sessions: " + ", ".join(gfm.text(s.label) for s in c.sessions) + ".", ""]
    out += [f"- {item}" for item in headline(c)] + [""]

    alerts = [f for f in c.new_findings if f.severity in ALERT_SEVERITIES]
    if alerts:
        out += ["### New critical and high findings", ""]
        lines = [f"- **{f.severity}** {f.need_id}{_where(snap, f)}: {gfm.text(_cut(f.description))}"
                 for f in alerts]
        out += _fold(count(len(alerts), "critical or high finding"), lines, len(lines))
    others = [f for f in c.new_findings if f.severity not in ALERT_SEVERITIES]
    if others:
        lines = [f"- {f.severity} {f.need_id}{_where(snap, f)}: {gfm.text(_cut(f.description))}" for f in others]
        out += ["### Other new findings", ""]
        out += _fold(count(len(others), "other finding"), lines, len(lines))

    if c.resolved or c.superseded:
        out += ["### Resolved and superseded", ""]
        out += [f"- {r.finding.need_id} ({r.finding.severity}) resolved in {gfm.text(r.session.label)}"
                for r in c.resolved]
        out += [f"- {s.finding.need_id} ({s.finding.severity}) superseded by {s.by.need_id} ({s.by.severity})"
                + (f": {gfm.text(s.reason)}" if s.reason else "") for s in c.superseded]
        out.append("")

    if c.domains or c.packages:
        out += ["### Coverage (LOC read MEDIUM or deeper)", ""]
        if c.domains:
            out += [*_coverage(c.domains, "Domain"), ""]
        if c.packages:
            out += [*_coverage(c.packages, "Package"), ""]

    if c.depth_rises:
        out += ["### Files read deeper", ""]
        rows = [[gfm.code(r.file.path) if r.file else f"file {r.file_id} (not in the files table)",
                 gfm.text(r.file.package, cell=True) if r.file else "—",
                 f"{r.file.loc:,}" if r.file and r.file.loc is not None else "—",
                 r.before or "not recorded", r.after] for r in c.depth_rises]
        lines = _table(["File", "Package", "LOC", "Before", "After"], rows, "llrll")
        out += _fold(count(len(rows), "file") + " read deeper", lines, len(rows))

    if c.answered:
        out += ["### Plan questions answered", ""]
        lines = []
        for a in c.answered:
            how = a.kind + (", partly" if a.partial else "")
            earlier = f"; first answered in {gfm.text(a.earlier.label)}" if a.earlier else ""
            findings = ", ".join(f"F{i}" for i in a.finding_ids)
            verdict = f" Answer: {gfm.text(_cut(a.verdict, 200))}" if a.verdict else ""
            lines.append(f"- {a.question.id}: {gfm.text(_cut(a.question.text, 200))} "
                         f"({'; '.join(x for x in (findings, how + earlier) if x)}).{verdict}")
        out += _fold(count(len(lines), "question"), lines, len(lines))

    if c.edges:
        out += ["### Dependency edges", ""]
        rows = []
        for e in c.edges:
            src, dst = (snap.file_by_id.get(e.dependency.source_file_id),
                        snap.file_by_id.get(e.dependency.target_file_id))
            rows.append([gfm.code(src.path) if src else f"file {e.dependency.source_file_id}",
                         gfm.text(e.dependency.relationship, cell=True),
                         gfm.code(dst.path) if dst else f"file {e.dependency.target_file_id}",
                         "yes" if e.dependency.verified else "no"])
        lines = _table(["From", "Relationship", "To", "Verified"], rows, "llll")
        out += _fold(count(len(rows), "edge"), lines, len(rows))

    if len(breakdown) > 1:
        out += ["### Per session", ""]
        rows = [[gfm.text(b.label, cell=True), gfm.text(b.first.date or "—", cell=True),
                 f"{len(b.new_findings):,}", f"{len(b.alerts):,}", f"{len(b.depth_rises):,}", f"+{b.loc_gained:,}",
                 f"{len(b.answered):,}"] for b in breakdown]
        lines = _table(["Session", "Date", "New findings", "Critical/high", "Read deeper", "LOC MEDIUM+",
                        "Answered"], rows, "llrrrrr")
        out += _fold(count(len(rows), "session"), lines, len(rows))

    if attribution is not None:
        notes = []
        if attribution.reads_without_session or attribution.findings_without_session:
            notes.append(f"{count(attribution.reads_without_session, 'read')} and "
                         f"{count(attribution.findings_without_session, 'finding')} in the database carry no "
                         "session and are not counted")
        if attribution.edges_unattributed:
            notes.append(f"{attribution.edges_unattributed:,} of {attribution.edges_total:,} dependency edges cannot "
                         "be dated (their evidence does not start with a session name)")
        if notes:
            out += ["Not attributable to any session: " + "; ".join(notes) + ".", ""]
    return "\n".join(out).rstrip("\n") + "\n"
