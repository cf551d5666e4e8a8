"""Incremental builds after a sync re-write exactly the pages whose HTML changes — and no others."""

from __future__ import annotations

import subprocess
import sys

import pytest
from bs4 import BeautifulSoup

from kbgen.build import build_site
from kbgen.config import Options
from kbgen.sync import sync

pytestmark = pytest.mark.slow


def _need_box(anchor: object) -> BeautifulSoup:
    """The element that holds one need object (its table, whatever the theme wraps it in)."""
    node = anchor
    while node is not None and not (getattr(node, "name", None) == "table" and "need" in (node.get("class") or [])):
        node = node.parent  # type: ignore[attr-defined]
    assert node is not None, "need table not found"
    return node  # type: ignore[return-value]


def test_new_cross_page_answer_link_without_full_rewrite(example_project: Options) -> None:
    build_site(example_project)
    site = example_project.build_path
    html = {p: p.stat().st_mtime_ns for p in site.rglob("*.html")}

    # An explicit answer from a finding of session R4 to a question of session R3's plan.
    proc = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(example_project.project_dir),
                           "answer", "Q3-1015", "F57"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    report = sync(example_project)
    written = {p.rsplit("/", 1)[-1] for p in report.written}
    assert {"S3.md", "S4.md"} <= written

    result = build_site(example_project)
    assert result.mode == "incremental"
    question = BeautifulSoup((site / "kb/sessions/S3.html").read_text(encoding="utf-8"),
                             "html.parser").find(id="Q3-1015")
    box = _need_box(question)
    assert any(a.get("href", "").endswith("S4.html#F57") for a in box.find_all("a")), "incoming link shown"
    finding = BeautifulSoup((site / "kb/sessions/S4.html").read_text(encoding="utf-8"), "html.parser").find(id="F57")
    assert any(a.get("href", "").endswith("S3.html#Q3-1015") for a in _need_box(finding).find_all("a"))

    rewritten = {p for p, mtime in html.items() if p.exists() and p.stat().st_mtime_ns != mtime}
    untouched = set(html) - rewritten
    assert site / "kb/sessions/S1.html" in untouched, "pages that show nothing of the change are not rewritten"
    assert len(rewritten) < len(html) / 2, sorted(str(p.relative_to(site)) for p in rewritten)
