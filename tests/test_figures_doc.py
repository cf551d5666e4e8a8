"""The definition of every figure: one text, on every generated site and in the reference docs."""

from __future__ import annotations

import re
from pathlib import Path

from kbgen import analysis
from kbgen.config import Options
from kbgen.model import ExcludePath, Snapshot
from kbgen.render import figures_doc
from kbgen.render.dashboard import overall_rows

REPO = Path(__file__).resolve().parents[1]


def test_reference_page_is_the_shared_text() -> None:
    committed = (REPO / "docs" / "reference" / "figures.md").read_text(encoding="utf-8")
    assert committed == figures_doc.reference_page(), (
        "docs/reference/figures.md is stale: python -m kbgen.render.figures_doc docs/reference/figures.md")


def test_every_figure_the_dashboard_and_report_show_is_defined() -> None:
    text = figures_doc.definitions()
    defined = set(re.findall(r"\*\*([^*]+)\*\*", text))
    shown = {str(row[0]) for row in overall_rows(_empty_figures())}
    shown |= {"Files read MEDIUM or deeper", "LOC", "LOC read", "Coverage"}  # the report's row, the coverage columns
    assert shown <= defined, shown - defined
    for word in ("EXCLUDED", "MEDIUM or deeper", "50% or more", "20–50%", "CONNECTED", "DOMAIN_ONLY"):
        assert word in text, word


def _empty_figures() -> analysis.Figures:
    snap = Snapshot((), (), (), (), (), (), (), (), (), ())
    return analysis.figures(snap, Options(project_dir=Path(".")))


def test_site_page_lists_the_project_settings_as_literal_text(tmp_path: Path) -> None:
    snap = Snapshot((), (), (), (), (), (), (), (), (), (ExcludePath("%/dist/%", "built"),
                                                         ExcludePath("x`y|<script>", None)))
    page = figures_doc.site_page(snap, Options(project_dir=tmp_path, own_packages=("app*core",),
                                               hotspot_min_domains=4))
    assert page.startswith(figures_doc.definitions())
    assert "## This project's settings" in page and "| 4 domains |" in page
    assert "`app*core`" in page and "`%/dist/%`" in page
    assert "- `` x`y|<script> ``\n" in page and page.count("<script>") == 1  # a code span: literal text
    assert "| Hotspot threshold (`hotspot_min_domains`) | 4 domains |" in page
