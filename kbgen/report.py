"""``kbgen report``: the master index as plain markdown, for teams that keep one in git.

The same :class:`~kbgen.analysis.Figures` as the site's dashboard, rendered
as GitHub-flavoured markdown that reads well raw and on a forge: overall
statistics, coverage by domain and package, integration hotspots, the top
priority gaps, open findings, the package dependency map and a domain index
linking to the domain documents (relative to where the report is written).

Deterministic (no timestamp: the figures are dated by the latest session),
so a report kept in git changes only when the research does, and written
only when its bytes change. Database text is escaped with the site's escape
functions (CommonMark backslash escapes are valid GFM).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

from kbgen import analysis
from kbgen.analysis import CategoryRow, Coverage, Excluded, Overall, PackageLink
from kbgen.config import Options
from kbgen.outputs import write_if_changed
from kbgen.render import escape
from kbgen.render.categories import category_table
from kbgen.render.myst import Md, heading, pct, table
from kbgen.wording import count

if TYPE_CHECKING:
    from kbgen.analysis import Figures
    from kbgen.domain_paths import DomainLike
    from kbgen.model import File, Snapshot

#: Rows of the long lists in the report (the site has them all).
HOTSPOT_ROWS = 50
OPEN_ROWS = 50
CATEGORY_ROWS = 25


class ReportFile(NamedTuple):
    """A file as a row of the report shows it (the direct reader builds no :class:`kbgen.model.File`)."""

    path: str
    package: str
    depth: str
    loc: int | None


class ReportGap(NamedTuple):
    """A priority gap as the report lists it (:class:`kbgen.analysis.Gap` without its evidence)."""

    tier: str
    file: ReportFile
    domains: tuple[str, ...]
    reason: str


class OpenRow(NamedTuple):
    """One open finding as the report lists it."""

    need_id: str
    severity: str
    file: ReportFile | None
    session: str  # its label, or "—"
    description: str


@dataclass(frozen=True)
class ReportFigures:
    """What the master index shows, and no more: counts, and only the rows it lists.

    Built from a snapshot and :class:`~kbgen.analysis.Figures` (:func:`report_figures`,
    the reference) or straight from the database (:mod:`kbgen.report_sql`, what the
    command runs); one renderer, so the two cannot print differently, and a test holds
    them to the same bytes.
    """

    overall: Overall
    files_read: int  # in-scope files read MEDIUM or deeper
    loc_read: int
    latest: tuple[str, str | None] | None  # (label, date) of the latest session in campaign order
    excluded: Excluded
    domains: list[Coverage]
    domain_descriptions: dict[str, str | None]
    packages: list[Coverage]
    hotspot_count: int
    hotspots: list[tuple[ReportFile, tuple[str, ...]]]  # the first HOTSPOT_ROWS
    gap_tiers: dict[str, tuple[int, int]]  # tier → (files, LOC), every tier
    gaps: list[ReportGap]  # the first ``report_gap_limit``
    open_count: int
    open_severities: dict[str, int]  # CRITICAL / HIGH → open findings
    open_by_package: dict[str, dict[str, int]]  # package → severity → open findings
    open_rows: list[OpenRow]  # the first OPEN_ROWS, CRITICAL first, then by id
    unverified: int
    categories: list[CategoryRow]
    package_links: list[PackageLink]


@dataclass(frozen=True)
class ReportResult:
    text: str
    figures: ReportFigures
    written: bool
    seconds: float
    load_seconds: float


def load(options: Options) -> Snapshot:
    """The snapshot, read-only (a report never writes to the database)."""
    from kbgen.db.load import load_project_snapshot  # SQLAlchemy: imported by the commands that need it

    return load_project_snapshot(options)


def report_figures(snap: Snapshot, options: Options, figs: Figures | None = None) -> ReportFigures:
    """The report's figures from a snapshot (:func:`kbgen.analysis.figures` computed when not given)."""
    figs = figs or analysis.figures(snap, options)
    latest = figs.latest_session
    by_package: dict[str, dict[str, int]] = {}
    for x in figs.open_findings:
        f = snap.file_by_id.get(x.file_id) if x.file_id is not None else None
        counts = by_package.setdefault(f.package if f else analysis.NO_PACKAGE, {})
        counts[x.severity] = counts.get(x.severity, 0) + 1
    sev = Counter(x.severity for x in figs.open_findings)
    return ReportFigures(
        overall=figs.overall, files_read=sum(c.files_read for c in figs.packages),
        loc_read=sum(c.loc_read for c in figs.packages),
        latest=(latest.label, latest.date) if latest else None, excluded=figs.excluded,
        domains=figs.domains, domain_descriptions={d.name: d.description for d in snap.domains},
        packages=figs.packages, hotspot_count=len(figs.hotspots),
        hotspots=[(_report_file(f), names) for f, names in figs.hotspots[:HOTSPOT_ROWS]],
        gap_tiers=analysis.gap_tier_counts(figs.gaps),
        gaps=[ReportGap(g.tier, _report_file(g.file), g.domains, g.reason)
              for g in figs.gaps[:options.report_gap_limit]],
        open_count=len(figs.open_findings), open_severities={s: sev[s] for s in analysis.OPEN_SEVERITIES},
        open_by_package=by_package,
        open_rows=[OpenRow(x.need_id, x.severity,
                           _maybe_file(snap.file_by_id.get(x.file_id) if x.file_id is not None else None),
                           snap.session_by_id[x.session_id].label if x.session_id in snap.session_by_id else "—",
                           x.description) for x in figs.open_findings[:OPEN_ROWS]],
        unverified=len(figs.unverified), categories=figs.categories, package_links=figs.package_links)


def _report_file(f: File) -> ReportFile:
    return ReportFile(f.path, f.package, f.depth, f.loc)


def _maybe_file(f: File | None) -> ReportFile | None:
    return _report_file(f) if f else None


def _code(text: str) -> Md:
    return Md(escape.code(text) or "—")


def _file(f: ReportFile | None) -> list[object]:
    return [_code(f.path), f.package] if f else ["—", "—"]


def _link(text: str, target: Path, base: Path) -> Md:
    rel = Path(os.path.relpath(target, base)).as_posix()
    return Md(f"[{escape.link_text(text)}](<{quote(rel, safe='/._-~')}>)")


def _coverage_rows(rows: list[Coverage], link: dict[str, Md] | None = None) -> list[list[object]]:
    return [[(link or {}).get(c.name, Md(escape.cell(c.name))), *([c.priority] if link is not None else []), c.files,
             *(c.depth_count(d) for d in analysis.IN_SCOPE_DEPTHS),
             c.loc, c.loc_read, analysis.coverage_text(c)] for c in rows]


def _excluded(ex: Excluded) -> str:
    """The excluded files, once, apart from the figures ('' when there are none)."""
    if not ex:
        return ""
    return (f"**{analysis.excluded_headline(ex)}** ({escape.inline(analysis.excluded_note(ex))}). "
            f"{escape.inline(analysis.excluded_sentence(ex, 'in this index'))}.\n")


def render_report(options: Options, figs: ReportFigures, domain_docs: dict[str, Path], base: Path) -> str:
    """The master index; links to domain documents are relative to ``base`` (the report's folder)."""
    o = figs.overall
    latest = figs.latest
    when = f" ({escape.inline(latest[1])})" if latest and latest[1] else ""
    as_of = f"As of session {escape.inline(latest[0])}{when}" if latest else "No sessions recorded yet"
    depth_cols = ["Files", *analysis.IN_SCOPE_DEPTHS, "LOC", "LOC read", "Coverage"]
    doc_links = {name: _link(name, path, base) for name, path in domain_docs.items()}
    gap_count = sum(n for n, _ in figs.gap_tiers.values())
    parts: list[str] = [
        heading(1, f"{options.title}: master index"),
        f"{as_of}. Generated by `kbgen report` from the research database; do not edit by hand. Coverage counts "
        "files read MEDIUM or deeper; files at depth EXCLUDED (taken out of scope) are outside every figure.\n",
        heading(2, "Overall statistics"),
        table(["Figure", "Count", "LOC"], [
            ["Packages", o.packages, ""], ["Domains", o.domains, ""], ["Files", o.files, o.loc],
            ["Files read MEDIUM or deeper", figs.files_read, figs.loc_read],
            ["Sessions", o.sessions, ""], ["Findings", o.findings, ""],
            ["Open CRITICAL/HIGH findings", figs.open_count, ""],
            ["Dependency edges", o.dependencies, ""], ["Unverified dependency edges", figs.unverified, ""],
            ["Priority gaps (HIGH domains)", gap_count, sum(loc for _, loc in figs.gap_tiers.values())],
            ["Integration hotspots", figs.hotspot_count, ""]]),
        _excluded(figs.excluded),
        heading(3, "Files and LOC by depth"),
        table(["Depth", "Files", "% of files", "LOC", "% of LOC"],
              [[d, n, pct(n, o.files), loc, pct(loc, o.loc)] for d, n, loc in o.by_depth if d != analysis.EXCLUDED]),
        heading(2, "Coverage by domain"),
        table(["Domain", "Priority", *depth_cols], _coverage_rows(figs.domains, doc_links)) or "No domains.\n",
        heading(2, "Coverage by package"),
        table(["Package", *depth_cols], _coverage_rows(figs.packages)) or "No packages.\n",
        heading(2, "Integration hotspots"),
        f"{count(figs.hotspot_count, 'file')} tagged with {options.hotspot_min_domains} or more domains"
        f"{f' (the first {HOTSPOT_ROWS} shown)' if figs.hotspot_count > HOTSPOT_ROWS else ''}.\n",
        table(["File", "Package", "Depth", "LOC", "Domains", "Domain names"],
              [[*_file(f), f.depth, f.loc, len(names), ", ".join(names)] for f, names in figs.hotspots[:HOTSPOT_ROWS]]),
        heading(2, f"Top {options.report_gap_limit} priority gaps"),
        f"{count(gap_count, 'NOT_TOUCHED source file')} in HIGH-priority domains (tests, type stubs, docs and "
        "`exclude_paths` left out), ranked by tier, then LOC.\n",
        table(["Tier", "Files", "LOC", "Meaning"],
              [[t, n, loc, analysis.TIER_MEANING[t]] for t, (n, loc) in figs.gap_tiers.items()]),
        table(["#", "Tier", "File", "Package", "LOC", "Domains", "Why"],
              [[i, g.tier, *_file(g.file), g.file.loc, ", ".join(g.domains), g.reason]
               for i, g in enumerate(figs.gaps[:options.report_gap_limit], 1)]),
        heading(2, "Open findings"),
        *_open_findings(figs),
        heading(2, "Findings by category"),
        *_categories(figs),
        heading(2, "Package dependency map"),
        table(["From", "To", "Declared relationship", "File edges"],
              [[link.source, link.target, ", ".join(link.relationships) or "—", link.file_edges]
               for link in figs.package_links]) or "No package edges recorded.\n",
        heading(2, "Domain index"),
        table(["Domain", "Priority", "Files", "Coverage", "Description"],
              [[doc_links.get(c.name, Md(escape.cell(c.name))), c.priority, c.files, analysis.coverage_text(c),
                escape.shorten(figs.domain_descriptions[c.name] or "", 160) or "—"]
               for c in figs.domains]) or "No domains.\n",
    ]
    return "\n".join(p for p in parts if p).rstrip("\n") + "\n"


def _open_findings(figs: ReportFigures) -> list[str]:
    n = figs.open_count
    sev = figs.open_severities
    return [
        f"{count(n, 'CRITICAL or HIGH finding')} not followed up ({sev.get('CRITICAL', 0):,} CRITICAL, "
        f"{sev.get('HIGH', 0):,} HIGH){f'; the first {OPEN_ROWS} shown, CRITICAL first' if n > OPEN_ROWS else ''}.\n",
        table(["Package", *analysis.OPEN_SEVERITIES, "Total"],
              [[name, *(c.get(s, 0) for s in analysis.OPEN_SEVERITIES), sum(c.values())]
               for name, c in sorted(figs.open_by_package.items())]),
        table(["Finding", "Severity", "File", "Package", "Session", "Description"],
              [[x.need_id, x.severity, *_file(x.file), x.session, escape.shorten(x.description, 120) or "—"]
               for x in figs.open_rows[:OPEN_ROWS]]),
    ]


def _categories(figs: ReportFigures) -> list[str]:
    rows = figs.categories
    shown = rows[:CATEGORY_ROWS]
    rest = rows[CATEGORY_ROWS:]
    more = (f"{len(rest):,} more categories with {sum(r.total for r in rest):,} findings are not listed "
            "(the site lists them all; `kbgen vocab suggest` proposes merges for near-duplicates).\n") if rest else ""
    return [f"{len(rows):,} categories in use, most findings first; *Recorded as* lists the spellings each one "
            "groups where they differ from it.\n", category_table(shown) or "No findings recorded.\n", more]


def read_figures(options: Options, *, snapshot: bool = False) -> tuple[ReportFigures, Sequence[DomainLike]]:
    """The report's figures and the domains (for their documents' paths).

    Read straight from the database (:mod:`kbgen.report_sql`) unless it cannot answer for
    this database, or ``snapshot`` asks for the reference path: the whole snapshot and
    :func:`kbgen.analysis.figures`, as the site computes them.
    """
    from kbgen.report_sql import read_report

    direct = None if snapshot else read_report(options)
    if direct is not None:
        return direct
    snap = load(options)
    return report_figures(snap, options), snap.domains


def make_report(options: Options, output: Path | None = None, *, check: bool = False,
                snapshot: bool = False) -> ReportResult:
    """Read, compute and render (:func:`read_figures`); write ``output`` when given (only if
    changed, never under ``check``)."""
    from kbgen.domain_paths import domain_doc_paths_of

    started = time.perf_counter()
    figs, domains = read_figures(options, snapshot=snapshot)
    loaded = time.perf_counter()
    docs = domain_doc_paths_of(domains, options, [])
    base = (output.resolve().parent if output else options.project_dir)
    text = render_report(options, figs, docs, base)
    written = False
    if output is not None:
        data = text.encode("utf-8")
        if check:
            try:
                written = output.read_bytes() != data
            except FileNotFoundError:
                written = True
        else:
            written = write_if_changed(output, data)
    return ReportResult(text, figs, written, time.perf_counter() - started, loaded - started)
