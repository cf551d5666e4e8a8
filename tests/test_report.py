"""``kbgen report`` and ``kbgen stats`` through the real command line, checked against plain SQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from bench.synthetic import generate
from kbgen.config import Options
from kbgen.sync import sync
from tests.test_analysis import IN_SCOPE_DEPTHS, SqlFigures, sql_figures
from tests.test_dashboard import (
    coverage_text,
    excluded_line,
    file_id,
    generated_project,
    link_text,
    num,
    section,
    table,
    tables,
    unescape,
)


def kbgen(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KBGEN_DB"}
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(project), *args], capture_output=True,
                          text=True, env=env, check=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Options, SqlFigures]:
    url = f"sqlite:///{tmp_path / 'research.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    generate(url, scale=0.03, seed=5)
    options = generated_project(tmp_path / "kb", url)
    sync(options)  # creates the domain documents the index links to
    return options, sql_figures(url, options.own_packages, options.hotspot_min_domains)


def test_report_matches_plain_sql(project: tuple[Options, SqlFigures]) -> None:
    options, ref = project
    out = options.project_dir / "docs" / "MASTER-INDEX.md"
    proc = kbgen(options.project_dir, "report", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"wrote {out}")
    text = out.read_text(encoding="utf-8")

    overall = {unescape(r["Figure"]): r for r in table(text, "Overall statistics")}
    assert num(overall["Files"]["Count"]) == ref.overall["files"] and num(overall["Files"]["LOC"]) == ref.overall["loc"]
    for figure, key in (("Packages", "packages"), ("Domains", "domains"), ("Sessions", "sessions"),
                        ("Findings", "findings"), ("Dependency edges", "dependencies")):
        assert num(overall[figure]["Count"]) == ref.overall[key], figure
    assert num(overall["Files read MEDIUM or deeper"]["Count"]) == sum(v[2] for v in ref.packages.values())
    assert num(overall["Open CRITICAL/HIGH findings"]["Count"]) == len(ref.open_findings)
    assert num(overall["Unverified dependency edges"]["Count"]) == ref.unverified
    assert num(overall["Priority gaps (HIGH domains)"]["Count"]) == len(ref.gaps)
    assert num(overall["Integration hotspots"]["Count"]) == len(ref.hotspots)
    depth_rows = {unescape(r["Depth"]): (num(r["Files"]), num(r["LOC"])) for r in table(text, "Files and LOC by depth")}
    assert {d: v for d, v in depth_rows.items() if v[0]} == ref.by_depth and "EXCLUDED" not in depth_rows
    # the excluded files, once, apart from the figures
    assert ref.excluded["files"]
    assert excluded_line(ref).format(where="in this index") + ".\n" in section(text, "Overall statistics")
    assert text.count("LOC excluded") == 1

    for title, expected, col in (("Coverage by domain", ref.domains, "Domain"),
                                 ("Coverage by package", ref.packages, "Package")):
        rows = table(text, title)
        assert {link_text(r[col]): (num(r["Files"]), num(r["LOC"]), num(r["LOC read"]),
                                    *(num(r[d]) for d in IN_SCOPE_DEPTHS))
                for r in rows} == {k: (v[0], v[1], v[3], *v[4:]) for k, v in expected.items()}
        assert all(sum(num(r[d]) for d in IN_SCOPE_DEPTHS) == num(r["Files"]) for r in rows), title
        excluded = ref.domains_excluded if col == "Domain" else ref.packages_excluded
        assert all(unescape(r["Coverage"]) == coverage_text(num(r["Files"]), num(r["LOC"]), num(r["LOC read"]),
                                                            excluded.get(link_text(r[col]), 0)) for r in rows)

    gaps = section(text, f"Top {options.report_gap_limit} priority gaps")
    tiers, top = tables(gaps)
    assert {unescape(r["Tier"]): num(r["Files"]) for r in tiers} == {
        t: sum(1 for v in ref.gaps.values() if v == t) for t in ("CONNECTED", "OWN_CODE", "PROXIMATE", "NEARBY",
                                                                 "DOMAIN_ONLY")}
    assert [file_id(r["File"], r["Package"], ref) for r in top] == ref.gap_order[:options.report_gap_limit]

    findings = section(text, "Open findings")
    assert findings.lstrip().startswith(f"{len(ref.open_findings):,} CRITICAL or HIGH findings not followed up")
    listed = [int(unescape(r["Finding"])[1:]) for r in tables(findings)[1]]
    assert listed == ref.open_findings[:50]
    assert {(unescape(r["From"]), unescape(r["To"])): (unescape(r["Declared relationship"]).replace("—", ""),
                                                       num(r["File edges"]))
            for r in table(text, "Package dependency map")} == ref.package_links
    assert section(text, "Integration hotspots").lstrip().startswith(f"{len(ref.hotspots):,} files tagged")

    # the domain index links to the domain documents, relative to where the report was written
    links = re.findall(r"\]\(<([^>]+)>\)", section(text, "Domain index"))
    assert len(links) == ref.overall["domains"]
    for link in links:
        assert link.startswith("../domains/") and (out.parent / link).resolve().is_file(), link


@pytest.mark.slow
def test_report_is_plain_markdown_with_database_text_inert(project: tuple[Options, SqlFigures]) -> None:
    options, _ = project
    proc = kbgen(options.project_dir, "report")  # no -o: the report goes to stdout
    assert proc.returncode == 0, proc.stderr
    html = MarkdownIt("commonmark").enable("table").render(proc.stdout)
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all(["script", "iframe", "img"]), "database text became HTML"
    for t in soup.find_all("table"):
        head, body = t.find("thead"), t.find("tbody")
        assert head is not None and body is not None
        width = len(head.find_all("th"))
        assert all(len(tr.find_all("td")) == width for tr in body.find_all("tr"))
    headings = [h.get_text() for h in soup.find_all("h2")]
    assert headings == ["Overall statistics", "Coverage by domain", "Coverage by package", "Integration hotspots",
                        f"Top {options.report_gap_limit} priority gaps", "Open findings", "Findings by category",
                        "Package dependency map",
                        "Domain index"]


@pytest.mark.slow
def test_report_writes_only_when_changed_and_check_says_when_stale(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'research.db'}"
    generate(url, scale=0.01, seed=3)
    options = generated_project(tmp_path / "kb", url)
    out = options.project_dir / "MASTER-INDEX.md"
    assert kbgen(options.project_dir, "report", "-o", str(out)).returncode == 0
    first = out.read_bytes()
    mtime = out.stat().st_mtime_ns
    again = kbgen(options.project_dir, "report", "-o", str(out))
    assert again.returncode == 0 and again.stdout.startswith("unchanged")
    assert out.read_bytes() == first and out.stat().st_mtime_ns == mtime
    assert kbgen(options.project_dir, "report", "-o", str(out), "--check").returncode == 0
    out.write_bytes(first + b"edited by hand\n")
    stale = kbgen(options.project_dir, "report", "-o", str(out), "--check")
    assert stale.returncode == 1 and "stale" in stale.stderr
    assert out.read_bytes().endswith(b"edited by hand\n"), "--check writes nothing"
    assert kbgen(options.project_dir, "report", "--check").returncode == 2


def test_stats_prints_the_headline_figures(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'research.db'}"
    generate(url, scale=0.01, seed=3)
    options = generated_project(tmp_path / "kb", url)
    ref = sql_figures(url, options.own_packages)
    proc = kbgen(options.project_dir, "stats")
    assert proc.returncode == 0, proc.stderr
    for title in ("Overall", "Files by depth", "Coverage by domain", "Findings by severity", "Priority gaps"):
        assert title in proc.stdout
    assert re.search(rf"Files\s+│\s+{ref.overall['files']:,}\s+│\s+{ref.overall['loc']:,}", proc.stdout)
    assert re.search(rf"Open CRITICAL/HIGH findings\s+│\s+{len(ref.open_findings):,}", proc.stdout)
    for name in ref.domains:
        assert name in proc.stdout
    ex = ref.excluded
    line = " ".join(proc.stdout.split())  # the console wraps long lines
    # The sentence follows the Overall table, which leaves the excluded files out too: "here", not "below".
    assert ex["files"] and excluded_line(ref).replace("**", "").format(where="here") + "." in line
    assert "figure below" not in line
    assert proc.stdout.count("LOC excluded") == 1
    assert not re.search(r"^\s*│?\s*EXCLUDED\s+│", proc.stdout, re.MULTILINE), "no EXCLUDED depth row"


def test_report_on_a_missing_database_is_a_clean_error(tmp_path: Path) -> None:
    options = generated_project_without_db(tmp_path)
    proc = kbgen(options, "report")
    assert proc.returncode == 3 and proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


def generated_project_without_db(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "kbgen.yaml").write_text(f"database: sqlite:///{tmp_path / 'nothing.db'}\n", encoding="utf-8")
    return root


def test_report_shows_finding_text_as_written(example_project: Options) -> None:
    """A description is shortened, never altered: ``memory_size(4 << 30)`` is not broken into ``4 < < 30``."""
    proc = kbgen(example_project.project_dir, "report")
    assert proc.returncode == 0, proc.stderr
    row = next(r for r in tables(section(proc.stdout, "Open findings"))[1] if unescape(r["Finding"]) == "F31")
    assert "memory_size(4 << 30)" in row["Description"]
