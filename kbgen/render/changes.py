"""What changed, on the site: the "Changes in this session" section and the "Latest changes" page.

The section of a session page is a function of that session and the ones
before it (:mod:`kbgen.changes`), so a new session never rewrites the pages
of older ones. Figures are LOC and file counts, not shares: a share's
denominator is today's inventory, which the database does not date, so it
would move on every inventory change; the latest-changes page, rewritten on
every new session anyway, shows the shares as of today.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kbgen.changes import Attribution, Changes, CoverageDelta, changes_index, latest
from kbgen.config import FEED_FILE, Options
from kbgen.model import Session
from kbgen.render import escape
from kbgen.render.dashboard import domain_cell
from kbgen.render.feed import feed_xml
from kbgen.render.myst import Md, bullet_list, doc_link, fmt_int, need_link, pct, table
from kbgen.render.pages import _render
from kbgen.render.view import SiteView
from kbgen.wording import count

#: The latest-changes page, relative to the generated folder.
CHANGES_PAGE = "changes"
#: Inline links listed per severity before the rest is summed up ("and 12 more").
INLINE_LINKS = 40


def section_label(s: Session) -> str:
    """The target of a session page's changes section (``changes-s4``)."""
    return f"changes-s{s.id}"


def session_changes(view: SiteView) -> dict[int, Changes]:
    """Session id → its changes, computed once per sync (cached on the view)."""
    cached: dict[int, Changes] | None = vars(view).get("_kbgen_session_changes")
    if cached is None:
        cached = changes_index(view.snap).every_session()
        vars(view)["_kbgen_session_changes"] = cached
    return cached


# -- pieces --------------------------------------------------------------------------

def _links(view: SiteView, finding_ids: Sequence[int]) -> str:
    shown = [view.finding_ref(i) for i in finding_ids[:INLINE_LINKS]]
    more = len(finding_ids) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def summary_items(view: SiteView, c: Changes, *, where: str) -> list[Md]:
    """The bullets that say what changed; ``where`` names the place the details are ("below", a link)."""
    items: list[Md] = []
    if c.new_findings:
        counts = ", ".join(f"{n:,} {sev.lower()}" for sev, n in c.severity_counts.items())
        text = f"{count(len(c.new_findings), 'new finding')}: {escape.inline(counts)}"
        alerts = [f.id for f in c.alerts]
        if alerts:
            text += f". Critical and high: {_links(view, alerts)}"
        items.append(Md(text))
    if c.resolved:
        items.append(Md(f"{count(len(c.resolved), 'finding')} resolved: "
                        f"{_links(view, [r.finding.id for r in c.resolved])}"))
    for s in c.superseded:
        reason = f": {escape.inline(s.reason)}" if s.reason else ""
        items.append(Md(f"{view.finding_ref(s.finding.id)} superseded by {view.finding_ref(s.by.id)}{reason}"))
    if c.depth_rises:
        unknown = sum(1 for r in c.depth_rises if r.before_unknown)
        detail = (f", {unknown:,} of them with no earlier depth on record" if unknown and unknown < len(c.depth_rises)
                  else ", none with an earlier depth on record" if unknown else "")
        items.append(Md(f"{count(len(c.depth_rises), 'file')} read deeper{detail} ({where})"))
    if c.files_gained:
        groups = [g for g in (count(len(c.domains), "domain") if c.domains else "",
                              count(len(c.packages), "package")) if g]
        items.append(Md(f"{fmt_int(c.loc_gained)} more LOC read MEDIUM or deeper "
                        f"({count(c.files_gained, 'file')}) in {' and '.join(groups)}"))
    if c.answered:
        items.append(Md(f"{count(len(c.answered), 'plan question')} answered ({where})"))
    if c.edges:
        items.append(Md(f"{count(len(c.edges), 'dependency edge')} recorded ({where})"))
    if not items:
        items.append(Md("No findings, deeper reads, statuses or answers recorded"
                        if not c.reads else f"{count(c.reads, 'read')}, none deeper than before; no findings"))
    return items


def _depth(value: str | None) -> str:
    return value if value is not None else "not recorded"


def rises_table(view: SiteView, c: Changes) -> Md:
    return table(["File", "Package", "LOC", "Before", "After"], [
        [view.file_role(r.file_id), r.file.package if r.file else "—", r.file.loc if r.file else None,
         _depth(r.before), r.after] for r in c.depth_rises])


def coverage_table(view: SiteView, rows: Sequence[CoverageDelta], kind: str, *, shares: bool) -> Md:
    headers = [kind, "LOC read before", "LOC read after", "Change", "Files before", "Files after"]
    if shares:
        headers.append("Share of today's LOC")
    body: list[list[object]] = []
    for d in rows:
        name = domain_cell(view, d.name) if kind == "Domain" else d.name
        row: list[object] = [name, d.loc_before, d.loc_after, Md(f"+{d.loc_gained:,}"), d.files_before,
                             d.files_after]
        if shares:  # kbgen's own figures: no markup to escape
            row.append(Md(f"{pct(d.loc_before, d.loc_total)} → {pct(d.loc_after, d.loc_total)}"))
        body.append(row)
    return table(headers, body)


def answered_list(view: SiteView, c: Changes) -> Md:
    items = []
    for a in c.answered:
        q = a.question
        text = escape.inline(escape.plain(q.text, 120))
        how = a.kind + (", partly" if a.partial else "")
        earlier = f"; first answered in {view.session_ref(a.earlier)}" if a.earlier else ""
        answer = [_links(view, a.finding_ids)] if a.finding_ids else []
        if a.verdict:
            answer.append(f"“{escape.inline(a.verdict)}”")
        items.append(Md(f"{need_link(q.id, q.id)} {text} — {'; '.join(answer) or 'answered'} ({how}{earlier})"))
    return bullet_list(items)


def edges_table(view: SiteView, c: Changes) -> Md:
    return table(["From", "Relationship", "To", "Verified", "Evidence"], [
        [view.file_role(e.dependency.source_file_id), e.dependency.relationship,
         view.file_role(e.dependency.target_file_id), "yes" if e.dependency.verified else "no",
         e.dependency.evidence or "—"] for e in c.edges])


def _edges_note(s: Session) -> str:
    return (f"No dependency edges attributed: the database does not record when an edge was added; an edge "
            f"counts for a session when its worksheet added it (kbgen record) or its evidence starts with the "
            f"session's name ({s.label}: …).")


# -- the session page's section ---------------------------------------------------------

def session_section(view: SiteView, s: Session) -> Md:
    """The "Changes in this session" section of a session page."""
    c = session_changes(view).get(s.id)
    if c is None:
        return Md("")
    return Md(_render(
        "session_changes.md.j2", label=Md(section_label(s)),
        summary=bullet_list(summary_items(view, c, where="below")),
        rises=rises_table(view, c) if c.depth_rises else "",
        domains=coverage_table(view, c.domains, "Domain", shares=False) if c.domains else "",
        packages=coverage_table(view, c.packages, "Package", shares=False) if c.packages else "",
        answered=answered_list(view, c) if c.answered else "",
        edges=edges_table(view, c) if c.edges else "",
        edges_note="" if c.edges else Md(escape.inline(_edges_note(s)))))


# -- the latest-changes page and the feed -------------------------------------------------

def latest_changes(view: SiteView, options: Options) -> dict[str, str]:
    """``changes.md`` (the last ``changes_sessions`` sessions, newest first) and ``feed.xml``."""
    per_session = session_changes(view)
    sessions = latest(view.snap, options.changes_sessions)
    shown = [per_session[s.id] for s in sessions]
    attribution = changes_index(view.snap).attribution()
    return {f"{CHANGES_PAGE}.md": changes_page(view, options, shown, attribution),
            FEED_FILE: feed_xml(view, options, shown)}


def _feed_href(view: SiteView) -> str:
    """The feed (written to the site's root) relative to the latest-changes page."""
    depth = f"{view.layout.root}/{CHANGES_PAGE}".count("/")
    return "../" * depth + FEED_FILE


def changes_page(view: SiteView, options: Options, shown: Sequence[Changes], attribution: Attribution) -> str:
    sessions: list[dict[str, Any]] = []
    for c in shown:
        s = c.first
        page = f"/{view.layout.session(s)}"
        sessions.append({
            "heading": f"{s.label} — {s.focus}" if s.focus else s.label,
            "facts": Md(" · ".join(part for part in (
                escape.inline(s.date) if s.date else "",
                f"{count(c.reads, 'read')} of {count(c.files_read, 'file')}",
                doc_link("session page", page)) if part)),
            "summary": bullet_list(summary_items(view, c, where=f"[details](#{section_label(s)})")),
            "domains": coverage_table(view, c.domains, "Domain", shares=True) if c.domains else "",
            "packages": coverage_table(view, c.packages, "Package", shares=True) if c.packages else "",
        })
    notes = [
        f"{count(attribution.reads_without_session, 'read')} and "
        f"{count(attribution.findings_without_session, 'finding')} carry no session and count for none",
        f"{fmt_int(attribution.edges_attributed)} of {count(attribution.edges_total, 'dependency edge')} "
        "name their session at the start of their evidence; the database does not date the others",
    ]
    if attribution.statuses_without_session:
        notes.append(f"{count(attribution.statuses_without_session, 'finding status', 'finding statuses')} "
                     "name no recorded session")
    return _render(
        "changes.md.j2", count=len(shown),
        scope=("The only session" if len(view.snap.sessions) == 1
               else f"All {len(shown):,} sessions" if len(shown) == len(view.snap.sessions)
               else f"The last {len(shown):,} of {len(view.snap.sessions):,} sessions"),
        feed=Md(f'<a href="{_feed_href(view)}" type="application/atom+xml">Atom feed</a>'),
        sessions=sessions, notes=bullet_list(notes))
