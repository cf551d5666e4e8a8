"""The dashboard: the fragment the landing page includes, its detail pages and charts.

``dashboard.inc`` is a fragment rather than a page: the landing page
(hand-written ``index.md``) includes it, so the site opens on the figures;
Sphinx tracks the include and re-reads the landing page whenever the fragment
changes. Long lists (all gaps, all open findings, ...) go to pages of their
own next to it, and the dashboard shows their heads, so the landing page
stays the same size at any scale.

Every table is static MyST written from :mod:`kbgen.analysis` figures (not a
sphinx-needs filter: those are slow on custom fields at scale and go stale on
incremental builds). Charts are SVG text drawn here at sync time
(:mod:`kbgen.render.charts`), written under ``charts/`` and shown with
``{figure}`` by absolute path (``/kb/charts/x.svg``), which resolves the same
whether the fragment is included or not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from kbgen import analysis, vocab
from kbgen.analysis import Coverage, Figures
from kbgen.config import Options
from kbgen.model import Dependency, File, Finding
from kbgen.render import charts, escape, figures_doc, graphs
from kbgen.render.categories import category_table
from kbgen.render.myst import Md, bullet_list, doc_link, heading, joined, need_link, pct, table
from kbgen.render.pages import Listing
from kbgen.render.view import SESSIONS_PER_GROUP, SiteView
from kbgen.wording import count, verb

DASHBOARD_FRAGMENT = "dashboard.inc"
#: Rows of each list the dashboard shows before linking to the full page.
HEAD_ROWS = 10
GAPS_PAGE = "priority-gaps"
OPEN_PAGE = "open-findings"
HOTSPOTS_PAGE = "hotspots"
UNVERIFIED_PAGE = "unverified-dependencies"
FIGURES_PAGE = "session-figures"
CATEGORIES_PAGE = "findings-by-category"
#: The page that defines every figure (generated: it states this project's settings).
DEFINITIONS_PAGE = "figures"
CHARTS_DIR = "charts"
#: A coverage row's depth columns: every in-scope depth, so they add up to the row's Files.
DEPTH_COLUMNS: tuple[str, ...] = analysis.IN_SCOPE_DEPTHS


# -- cells --------------------------------------------------------------------------

def file_cell(view: SiteView, f: File) -> Md:
    """A link to the file's need when it has one, else its path as literal code."""
    if f.id in view.need_file_ids:
        return need_link(f.need_id, f.path)
    return Md(escape.code(f.path) or "—")


def domain_cell(view: SiteView, name: str) -> Md:
    slug = view.domain_slugs.get(name)
    if slug is None:
        return Md(escape.cell(name))
    return doc_link(name, "/" + view.layout.domain(slug))


def session_cell(view: SiteView, session_id: int | None) -> Md | str:
    s = view.snap.session_by_id.get(session_id) if session_id is not None else None
    return view.session_ref(s) if s else "—"


def _page(view: SiteView, name: str) -> str:
    return f"/{view.layout.root}/{name}"


def _more(view: SiteView, shown: int, total: int, page: str, what: str) -> str:
    if total <= shown:
        return ""
    return f"Showing {shown:,} of {total:,}: " + doc_link(f"all {total:,} {what}", _page(view, page)) + ".\n"


def _chart_ref(view: SiteView, name: str, alt: str, caption: str) -> Md:
    return Md(f"```{{figure}} /{view.layout.root}/{CHARTS_DIR}/{name}.svg\n:alt: {graphs.safe_alt(alt)}\n"
              f":width: 100%\n\n{caption}\n```\n")


# -- sections -----------------------------------------------------------------------

def overall_rows(figs: Figures) -> list[list[object]]:
    o = figs.overall
    return [
        ["Packages", o.packages, ""],
        ["Domains", o.domains, ""],
        ["Files", o.files, o.loc],
        ["Files without a LOC count", o.files_null_loc, ""],
        ["Sessions", o.sessions, ""],
        ["File reads", o.reads, ""],
        ["Findings", o.findings, ""],
        ["Open CRITICAL/HIGH findings", len(figs.open_findings), ""],
        ["Dependency edges", o.dependencies, ""],
        ["Unverified dependency edges", len(figs.unverified), ""],
        ["Package edges", o.package_dependencies, ""],
        ["Priority gaps (HIGH domains)", len(figs.gaps), sum(g.file.loc or 0 for g in figs.gaps)],
        ["Integration hotspots", len(figs.hotspots), ""],
    ]


def depth_rows(figs: Figures) -> list[list[object]]:
    """In-scope files by depth (no EXCLUDED row: those files are counted apart, see :func:`excluded_text`)."""
    o = figs.overall
    return [[d, n, pct(n, o.files), loc, pct(loc, o.loc)] for d, n, loc in o.by_depth if d != analysis.EXCLUDED]


def excluded_text(figs: Figures) -> str:
    """The one paragraph that counts the excluded files, apart from every figure ('' when there are none)."""
    ex = figs.excluded
    if not ex:
        return ""
    them = analysis.excluded_pronouns(ex)[0]
    return (f"**{analysis.excluded_headline(ex)}** ({escape.inline(analysis.excluded_note(ex))}). "
            f"{escape.inline(analysis.excluded_sentence(ex, 'here'))}; the site still shows {them} and everything "
            f"recorded about {them}.\n")


def coverage_table(view: SiteView, rows: Sequence[Coverage], *, kind: str) -> Md:
    headers = [kind.title(), *(["Priority"] if kind == "domain" else []), "Files", *DEPTH_COLUMNS,
               "LOC", "LOC read", "Coverage"]
    body = []
    for c in rows:
        name: object = domain_cell(view, c.name) if kind == "domain" else c.name
        body.append([name, *([c.priority] if kind == "domain" else []), c.files,
                     *(c.depth_count(d) for d in DEPTH_COLUMNS), c.loc, c.loc_read, analysis.coverage_text(c)])
    return table(headers, body)


#: A chart to draw: the function of :mod:`kbgen.render.charts`, its arguments and keyword arguments.
ChartCall = tuple[Callable[..., str], tuple[Any, ...], dict[str, Any]]


def coverage_chart(rows: Sequence[Coverage], *, kind: str) -> ChartCall:
    """Bars for the groups that have a coverage (in-scope LOC); the others are named in the caption."""
    drawn = [c for c in rows if c.has_coverage]
    return (charts.hbar_chart, ([c.name for c in drawn], [c.percent for c in drawn]),
            {"title": f"Coverage by {kind}", "xlabel": "LOC read MEDIUM or deeper (%)", "xmax": 105.0})


def _range_alt(rows: Sequence[Coverage], kind: str) -> str:
    drawn = [c for c in rows if c.has_coverage]
    if not drawn:
        return f"Bar chart of coverage by {kind}: no {kind} has in-scope LOC."
    lo, hi = min(c.percent for c in drawn), max(c.percent for c in drawn)
    return (f"Bar chart of LOC coverage (read MEDIUM or deeper) for {count(len(drawn), kind)}, from "
            f"{lo:.0f}% to {hi:.0f}%; the numbers are in the table below.")


def _chart_caption(rows: Sequence[Coverage], kind: str) -> str:
    missing = [c for c in rows if not c.has_coverage]
    caption = f"LOC read MEDIUM or deeper, per {kind} (numbers below)."
    if missing:
        caption += f" Not drawn: {count(len(missing), kind)} without in-scope LOC (the table says why)."
    return caption


def _growth_alt(figs: Figures) -> str:
    if not figs.growth or not figs.overall.loc:
        return "Line chart of cumulative coverage over sessions: nothing read yet."
    return (f"Line chart of cumulative coverage over {count(len(figs.growth), 'session')}, reaching "
            f"{pct(figs.growth[-1].loc, figs.overall.loc)} of all LOC read MEDIUM or deeper; the numbers are on "
            "the session figures page.")


def growth_chart(figs: Figures) -> ChartCall:
    o = figs.overall
    return (charts.line_chart, (
        [p.session.label for p in figs.growth],
        {"LOC read MEDIUM+ (% of all LOC)": [100.0 * p.loc / o.loc if o.loc else 0.0 for p in figs.growth],
         "Files read MEDIUM+ (% of all files)": [100.0 * p.files / o.files if o.files else 0.0
                                                 for p in figs.growth]}),
        {"title": "Coverage growth over sessions", "ylabel": "% read MEDIUM or deeper (cumulative)"})


def _severity_alt(figs: Figures) -> str:
    """The severity chart's alt text: its sessions, and the bar of findings without one said apart."""
    sessions = sum(1 for r in figs.severity if r.session)
    apart = sum(r.total for r in figs.severity if not r.session)
    without = f" (and {count(apart, 'finding')} without a session)" if apart else ""
    return (f"Stacked bar chart of {count(figs.overall.findings, 'finding')} by severity across "
            f"{count(sessions, 'session')}{without}; the numbers are on the session figures page.")


def severity_chart(figs: Figures) -> ChartCall:
    return (charts.stacked_bar_chart, (
        [r.label for r in figs.severity],
        {sev: [r.counts[i] for r in figs.severity] for i, sev in enumerate(vocab.SEVERITIES)}),
        {"title": "Findings by severity per session", "ylabel": "Findings", "colors": charts.SEVERITY_COLORS})


def growth_table(view: SiteView, figs: Figures, points: Sequence[analysis.GrowthPoint] | None = None) -> Md:
    """The coverage growth rows of ``points`` (default: every session's)."""
    o = figs.overall
    return table(["Session", "Date", "New files MEDIUM+", "New LOC", "Files MEDIUM+ (cumulative)",
                  "LOC MEDIUM+ (cumulative)", "% of all LOC"],
                 [[view.session_ref(p.session), p.session.date or "—", p.new_files, p.new_loc, p.files, p.loc,
                   pct(p.loc, o.loc)] for p in (figs.growth if points is None else points)])


def severity_table(view: SiteView, figs: Figures, rows: Sequence[analysis.SeverityRow] | None = None) -> Md:
    """The findings-by-severity rows of ``rows`` (default: every session's, then those without one)."""
    return table(["Session", *vocab.SEVERITIES, "Total"],
                 [[view.session_ref(r.session) if r.session else "no session", *r.counts, r.total]
                  for r in (figs.severity if rows is None else rows)])


def hotspot_table(view: SiteView, items: Sequence[tuple[File, tuple[str, ...]]]) -> Md:
    return table(["File", "Package", "Depth", "LOC", "Domains", "Domain names"],
                 [[file_cell(view, f), f.package, f.depth, f.loc, len(names), joined(names)]
                  for f, names in items])


def open_findings_table(view: SiteView, items: Sequence[Finding]) -> Md:
    snap = view.snap
    rows = []
    for x in items:
        f = snap.file_by_id.get(x.file_id) if x.file_id is not None else None
        rows.append([view.finding_ref(x.id), x.severity, x.category_shown,
                     file_cell(view, f) if f else "—", f.package if f else "—", session_cell(view, x.session_id)])
    return table(["Finding", "Severity", "Category", "File", "Package", "Session"], rows)


def open_by_package(view: SiteView, items: Sequence[Finding]) -> Md:
    counts: dict[str, Counter[str]] = {}
    for x in items:
        counts.setdefault(_package_of(view, x), Counter())[x.severity] += 1
    return table(["Package", *analysis.OPEN_SEVERITIES, "Total"],
                 [[name, *(c.get(s, 0) for s in analysis.OPEN_SEVERITIES),
                   sum(c.values())] for name, c in sorted(counts.items())])


def gap_table(view: SiteView, gaps: Sequence[analysis.Gap]) -> Md:
    return table(["Tier", "File", "Package", "LOC", "Domains", "Why"],
                 [[g.tier, file_cell(view, g.file), g.file.package, g.file.loc, joined(g.domains), g.reason]
                  for g in gaps])


def tier_table(gaps: Sequence[analysis.Gap]) -> Md:
    counts = analysis.gap_tier_counts(gaps)
    return table(["Tier", "Files", "LOC", "Meaning"],
                 [[t, counts[t][0], counts[t][1], analysis.TIER_MEANING[t]] for t in analysis.TIERS])


def unverified_table(view: SiteView, deps: Sequence[Dependency]) -> Md:
    snap = view.snap

    def cell(fid: int) -> object:
        f = snap.file_by_id.get(fid)
        return file_cell(view, f) if f else f"file {fid} (not in the files table)"
    return table(["From", "Relationship", "To", "Evidence"],
                 [[cell(d.source_file_id), d.relationship, cell(d.target_file_id),
                   escape.shorten(d.evidence, 120) or "—"] for d in deps])


def package_map_table(figs: Figures) -> Md:
    return table(["From", "To", "Declared relationship", "File edges"],
                 [[link.source, link.target, ", ".join(link.relationships) or "—", link.file_edges]
                  for link in figs.package_links])


# -- the fragment and the pages --------------------------------------------------------

def fragment(view: SiteView, options: Options, figs: Figures) -> str:
    latest = figs.latest_session
    as_of = (f"Figures as of session {escape.inline(latest.label)}"
             f"{' (' + escape.inline(latest.date) + ')' if latest.date else ''}. " if latest else "")
    limit = options.report_gap_limit
    parts: list[str] = [
        heading(1, "Dashboard"),
        f"{as_of}Coverage counts a file as read when its depth is MEDIUM or deeper; LOC of files without a "
        "LOC count is 0. Files at depth EXCLUDED (taken out of scope) are outside every figure. "
        + doc_link("How each figure is counted", _page(view, DEFINITIONS_PAGE)) + "; per-session numbers behind "
        "the charts: " + doc_link("session figures", _page(view, FIGURES_PAGE)) + ".\n",
        heading(2, "Overall"),
        table(["Figure", "Count", "LOC"], overall_rows(figs)),
        excluded_text(figs),
        heading(3, "Files and LOC by depth"),
        table(["Depth", "Files", "% of files", "LOC", "% of LOC"], depth_rows(figs)),
        heading(2, "Coverage by domain"),
        _chart_ref(view, "coverage-by-domain", _range_alt(figs.domains, "domain"),
                   _chart_caption(figs.domains, "domain")),
        coverage_table(view, figs.domains, kind="domain") or "No domains recorded.\n",
        heading(2, "Coverage by package"),
        _chart_ref(view, "coverage-by-package", _range_alt(figs.packages, "package"),
                   _chart_caption(figs.packages, "package")),
        coverage_table(view, figs.packages, kind="package") or "No packages recorded.\n",
        heading(2, "Coverage growth over sessions"),
        _chart_ref(view, "coverage-growth", _growth_alt(figs),
                   "Cumulative share of LOC and files read MEDIUM or deeper, from the recorded file reads."),
        heading(2, "Findings by severity per session"),
        _chart_ref(view, "findings-by-severity", _severity_alt(figs),
                   "Findings per session, stacked by normalised severity."),
        heading(2, "Findings by category"),
        f"{len(figs.categories):,} categories in use, each grouping the spellings it was recorded as "
        "(case, separators and the vocabulary's aliases folded), most findings first; by severity on the "
        + doc_link("findings by category", _page(view, CATEGORIES_PAGE)) + " page.\n",
        category_table(figs.categories[:HEAD_ROWS], by_severity=False) or "No findings recorded.\n",
        _more(view, min(HEAD_ROWS, len(figs.categories)), len(figs.categories), CATEGORIES_PAGE, "categories"),
        heading(2, "Open CRITICAL and HIGH findings"),
        f"{count(len(figs.open_findings), 'CRITICAL or HIGH finding', 'CRITICAL or HIGH findings')} "
        f"{verb(len(figs.open_findings))} not followed up (nor resolved or superseded "
        "through kbgen).\n",
        open_by_package(view, figs.open_findings),
        open_findings_table(view, figs.open_findings[:HEAD_ROWS]),
        _more(view, min(HEAD_ROWS, len(figs.open_findings)), len(figs.open_findings), OPEN_PAGE, "open findings"),
        heading(2, "Priority gaps"),
        f"{count(len(figs.gaps), 'NOT_TOUCHED source file')} in HIGH-priority domains "
        "(tests, type stubs, docs and `exclude_paths` left out), by tier:\n",
        tier_table(figs.gaps),
        gap_table(view, figs.gaps[:limit]),
        _more(view, min(limit, len(figs.gaps)), len(figs.gaps), GAPS_PAGE, "priority gaps"),
        heading(2, "Integration hotspots"),
        f"{count(len(figs.hotspots), 'file')} {verb(len(figs.hotspots))} tagged with "
        f"{options.hotspot_min_domains} or more domains.\n",
        hotspot_table(view, figs.hotspots[:HEAD_ROWS]),
        _more(view, min(HEAD_ROWS, len(figs.hotspots)), len(figs.hotspots), HOTSPOTS_PAGE, "hotspots"),
        heading(2, "Unverified dependency edges"),
        f"{len(figs.unverified):,} of {figs.overall.dependencies:,} dependency edges "
        f"{verb(len(figs.unverified))} not verified.\n",
        unverified_table(view, figs.unverified[:HEAD_ROWS]),
        _more(view, min(HEAD_ROWS, len(figs.unverified)), len(figs.unverified), UNVERIFIED_PAGE,
              "unverified edges"),
        heading(2, "Package dependency map"),
    ]
    network = graphs.package_network(view, figs.package_links, figs.packages, options.graph_max_nodes)
    if network is None:
        parts.append("No package edges recorded.\n")
    else:
        parts += [graphs.directive(view, network),
                  "Solid edges are declared in `package_dependencies`; dashed ones are seen only in file "
                  "dependency edges.\n",
                  package_map_table(figs)]
    return "\n".join(p for p in parts if p)


def _relative(view: SiteView, pages: dict[str, str]) -> dict[str, str]:
    """Docname → text as the pages this module returns: paths relative to the generated folder."""
    return {docname.removeprefix(view.layout.root + "/") + ".md": text for docname, text in pages.items()}


def _file_of(view: SiteView, file_id: int | None) -> File | None:
    return view.snap.file_by_id.get(file_id) if file_id is not None else None


def _package_of(view: SiteView, finding: Finding) -> str:
    f = _file_of(view, finding.file_id)
    return f.package if f else analysis.NO_PACKAGE


def _gap_pages(view: SiteView, options: Options, figs: Figures) -> dict[str, str]:
    """All priority gaps: tiers, tiers per package (or area), and each group's rows (by tier, then LOC)."""
    listing = Listing.of(view, _page(view, GAPS_PAGE)[1:], GAPS_PAGE, figs.gaps,
                         lambda g: g.file.package, lambda g: g.file.path)

    def body(gaps: list[analysis.Gap], level: int) -> list[str]:
        out: list[str] = []
        for tier in analysis.TIERS:
            members = [g for g in gaps if g.tier == tier]
            if members:
                out += [heading(level, f"{tier} ({len(members):,})"), gap_table(view, members)]
        return out

    def figures(gaps: list[analysis.Gap]) -> list[object]:
        counts = analysis.gap_tier_counts(gaps)
        return [*(counts[t][0] for t in analysis.TIERS), len(gaps), sum(g.file.loc or 0 for g in gaps)]

    top = [heading(1, "Priority gaps"),
           f"NOT_TOUCHED source files in HIGH-priority domains, one row per file, by tier and then LOC. Own "
           f"packages: {escape.inline(', '.join(options.own_packages) or 'none configured')}.\n",
           tier_table(figs.gaps),
           heading(2, "Per package")]
    return _relative(view, listing.pages(top, "Priority gaps", body, [*analysis.TIERS, "Files", "LOC"], figures,
                                         "No gaps.\n"))


def _open_pages(view: SiteView, figs: Figures) -> dict[str, str]:
    """All open CRITICAL/HIGH findings: counts per package (or area), then each group's findings."""
    listing = Listing.of(view, _page(view, OPEN_PAGE)[1:], OPEN_PAGE, figs.open_findings,
                         lambda x: _package_of(view, x), lambda x: getattr(_file_of(view, x.file_id), "path", None))

    def body(items: list[Finding], level: int) -> list[str]:
        out: list[str] = []
        for sev in analysis.OPEN_SEVERITIES:
            members = [x for x in items if x.severity == sev]
            if members:
                out += [heading(level, f"{sev} ({len(members):,})"), open_findings_table(view, members)]
        return out

    top = [heading(1, "Open findings"),
           f"{count(len(figs.open_findings), 'CRITICAL or HIGH finding')} not followed up (nor resolved or superseded "
           "through kbgen), per package, CRITICAL first.\n"]
    return _relative(view, listing.pages(
        top, "Open findings", body, [*analysis.OPEN_SEVERITIES, "Total"],
        lambda items: [*(sum(1 for x in items if x.severity == s) for s in analysis.OPEN_SEVERITIES), len(items)]))


def _unverified_pages(view: SiteView, figs: Figures) -> dict[str, str]:
    """All unverified dependency edges, per package (or area) of the file they start from."""
    def source(d: Dependency) -> File | None:
        return _file_of(view, d.source_file_id)

    listing = Listing.of(view, _page(view, UNVERIFIED_PAGE)[1:], UNVERIFIED_PAGE, figs.unverified,
                         lambda d: getattr(source(d), "package", analysis.NO_PACKAGE),
                         lambda d: getattr(source(d), "path", None))
    top = [heading(1, "Unverified dependency edges"),
           f"{len(figs.unverified):,} of {figs.overall.dependencies:,} dependency edges "
           f"{verb(len(figs.unverified))} not verified, "
           "per package of the file they start from.\n"]
    return _relative(view, listing.pages(top, "Unverified dependency edges",
                                         lambda deps, level: [unverified_table(view, deps)],
                                         ["Unverified edges"], lambda deps: [len(deps)], "None.\n"))


def _detail_pages(view: SiteView, options: Options, figs: Figures) -> dict[str, str]:
    return {
        f"{DEFINITIONS_PAGE}.md": figures_doc.site_page(view.snap, options),
        **_gap_pages(view, options, figs),
        **_open_pages(view, figs),
        f"{HOTSPOTS_PAGE}.md": "\n".join([
            heading(1, "Integration hotspots"),
            f"{count(len(figs.hotspots), 'file')} tagged with {options.hotspot_min_domains} or more domains, most "
            "domains first.\n", hotspot_table(view, figs.hotspots) or "None.\n"]),
        **_unverified_pages(view, figs),
        f"{CATEGORIES_PAGE}.md": "\n".join([
            heading(1, "Findings by category"),
            f"{len(figs.categories):,} categories in use, most findings first. A category groups every spelling "
            "it was recorded as: case and separators are folded, and so are the aliases of the vocabulary "
            "(`category_aliases` in `conf/kbgen.yaml` and those accepted with `kbgen vocab apply`). The research "
            "database keeps each finding's own text, shown under *Recorded as*.\n",
            category_table(figs.categories) or "No findings recorded.\n"]),
        **_figures_pages(view, figs),
    }


def _figures_pages(view: SiteView, figs: Figures) -> dict[str, str]:
    """The session figures: an index, and the rows of each hundred sessions on a page of its own.

    Grouped as the sessions index groups the session pages (:func:`kbgen.render.pages.sessions_index`):
    a new session adds its rows to its hundred's page only, and the pages of the hundreds before it
    (their rows, cumulative figures included, do not change) are neither rewritten nor read again.
    The index names the hundreds, not how many sessions each holds, for the same reason.
    """
    root = view.layout.root
    growth: dict[str, list[analysis.GrowthPoint]] = {}
    severity: dict[str, list[analysis.SeverityRow]] = {}
    first: dict[str, int] = {}  # group → the lowest session number in it
    for p in figs.growth:
        group = view.layout.session_group(p.session.number)
        growth.setdefault(group, []).append(p)
        first[group] = min(first.get(group, p.session.number), p.session.number)
    unsessioned = []
    for r in figs.severity:
        if r.session is None:
            unsessioned.append(r)
            continue
        group = view.layout.session_group(r.session.number)
        severity.setdefault(group, []).append(r)
        first[group] = min(first.get(group, r.session.number), r.session.number)
    pages: dict[str, str] = {}
    links = []
    for group in sorted(first):
        hundred = first[group] // SESSIONS_PER_GROUP * SESSIONS_PER_GROUP
        title = f"Sessions R{max(hundred, 1)}–R{hundred + SESSIONS_PER_GROUP - 1}"
        docname = f"{root}/{FIGURES_PAGE}/{group.rsplit('/', 1)[-1]}"
        links.append((title, docname))
        pages[docname] = "\n".join([
            heading(1, f"Session figures: {title}"),
            "The numbers behind the dashboard's session charts, for these sessions; the other sessions' are "
            "listed on " + doc_link("the session figures", _page(view, FIGURES_PAGE)) + ".\n",
            heading(2, "Coverage growth"),
            "Files first read MEDIUM or deeper in each session, from `file_reads`; a depth set without a "
            "recorded read does not appear here. The cumulative columns count from the campaign's first "
            "session.\n",
            growth_table(view, figs, growth.get(group, [])) or "No sessions recorded.\n",
            heading(2, "Findings by severity"),
            severity_table(view, figs, severity.get(group, [])) or "No findings recorded.\n"])
    parts = [heading(1, "Session figures"),
             "The numbers behind the dashboard's session charts, session by session: coverage growth (files "
             "first read MEDIUM or deeper, and the cumulative coverage) and findings by severity, one page per "
             "hundred sessions.\n"]
    parts.append(bullet_list([Md(f"[{escape.link_text(title)}](project:/{docname}.md)") for title, docname in links])
                 if links else "No sessions recorded.\n")
    if unsessioned:
        parts += [heading(2, "Findings without a session"), severity_table(view, figs, unsessioned)]
    if links:
        toc = "\n".join(f"/{docname}" for _, docname in links)
        parts.append(f"```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{toc}\n```\n")
    pages[f"{root}/{FIGURES_PAGE}"] = "\n".join(parts)
    return _relative(view, pages)


def _charts(view: SiteView, figs: Figures) -> dict[str, str]:
    """The four charts; with the sync's page cache, a chart whose data did not change is kept, not drawn
    (and matplotlib not imported when none changed)."""
    calls = {
        f"{CHARTS_DIR}/coverage-by-domain.svg": coverage_chart(figs.domains, kind="domain"),
        f"{CHARTS_DIR}/coverage-by-package.svg": coverage_chart(figs.packages, kind="package"),
        f"{CHARTS_DIR}/coverage-growth.svg": growth_chart(figs),
        f"{CHARTS_DIR}/findings-by-severity.svg": severity_chart(figs),
    }
    out = {}
    for rel, (draw, args, kwargs) in calls.items():
        def render(draw: Callable[..., str] = draw, args: tuple[Any, ...] = args,
                   kwargs: dict[str, Any] = kwargs) -> tuple[str, dict[str, str]]:
            return draw(*args, **kwargs), {}
        if view.page_cache is None:
            out[rel] = render()[0]
        else:
            inputs = repr((draw.__name__, args, sorted(kwargs.items())))
            out[rel] = view.page_cache.page(rel, inputs, render)[0]
    return out


def dashboard(view: SiteView, options: Options) -> dict[str, str]:
    """The fragment, its detail pages (added to the knowledge-base toctree) and its charts."""
    figs = analysis.figures(view.snap, options)
    return {DASHBOARD_FRAGMENT: fragment(view, options, figs), **_detail_pages(view, options, figs),
            **_charts(view, figs)}
