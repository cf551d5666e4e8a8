"""The dashboard fragment included by the landing page (``kb/dashboard.inc``).

A fragment rather than a page: the landing page (hand-written ``index.md``)
includes it, so the site opens on the figures; Sphinx tracks the include and
re-reads the landing page whenever the fragment changes.
"""

from __future__ import annotations

from collections import Counter

from kbgen import vocab
from kbgen.config import Options
from kbgen.render.myst import heading, table
from kbgen.render.pages import SiteView

DASHBOARD_FRAGMENT = "dashboard.inc"


def overall_rows(view: SiteView) -> list[list[object]]:
    snap = view.snap
    by_depth = Counter(f.depth for f in snap.files)
    loc_by_depth: Counter[str] = Counter()
    for f in snap.files:
        loc_by_depth[f.depth] += f.loc or 0
    rows: list[list[object]] = [["Packages", len(snap.packages), ""],
                                ["Files", len(snap.files), sum(f.loc or 0 for f in snap.files)]]
    rows += [[f"Files {d}", by_depth.get(d, 0), loc_by_depth.get(d, 0)] for d in vocab.DEPTHS]
    rows += [["Sessions", len(snap.sessions), ""], ["Findings", len(snap.findings), ""]]
    return rows


def dashboard(view: SiteView, options: Options) -> dict[str, str]:
    parts = [heading(1, "Dashboard"), heading(2, "Overall"),
             table(["Figure", "Count", "LOC"], overall_rows(view))]
    return {DASHBOARD_FRAGMENT: "\n".join(parts)}
