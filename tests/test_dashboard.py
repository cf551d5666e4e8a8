"""The dashboard pages show what plain SQL says; charts and graphs are deterministic, escaped and built.

A generated database (SQLite and PostgreSQL) is synced into a real project;
the tables of ``dashboard.inc`` and its detail pages are parsed back and
compared with :func:`tests.test_analysis.sql_figures`. The example site is
built with sphinx-build to check the charts and graphs really appear, with
alt text, and that a second sync rewrites none of them.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kbgen.build import build_site
from kbgen.config import Options, load_options
from kbgen.db.engine import open_engine, resolve_url, sqlite_path
from kbgen.db.load import load_snapshot
from kbgen.model import Dependency, File, Snapshot
from kbgen.render import charts, graph_svg, graphs
from kbgen.render.view import SiteLayout, SiteView
from kbgen.report import load
from kbgen.scaffold import init_project
from kbgen.sync import sync
from tests.test_analysis import IN_SCOPE_DEPTHS, SqlFigures, own_package, sql_figures

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN")
_HEADING = re.compile(r"^(#{1,6}) (.*)$")


# -- reading markdown tables back -----------------------------------------------------

def unescape(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell.strip())


def section(text: str, title: str) -> str:
    """The text under the heading ``title`` (escaped as on the page) up to the next heading."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if m and unescape(m.group(2)) == title:
            end = next((j for j in range(i + 1, len(lines)) if _HEADING.match(lines[j])), len(lines))
            return "\n".join(lines[i + 1:end])
    raise AssertionError(f"no section {title!r}")


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every pipe table in ``text``: rows as header → raw cell (still escaped)."""
    found: list[list[dict[str, str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].startswith("| ") and re.fullmatch(r"\|(---\|)+", lines[i + 1]):
            headers = [unescape(h) for h in _cells(lines[i])]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(dict(zip(headers, _cells(lines[i]), strict=True)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def _cells(line: str) -> list[str]:
    inner = line[1:-1] if line.endswith("|") else line[1:]
    return [c.strip() for c in re.split(r"(?<=\s)\|(?=\s|$)", inner)]


def table(text: str, title: str, index: int = 0) -> list[dict[str, str]]:
    return tables(section(text, title))[index]


def num(cell: str) -> int:
    value = unescape(cell)
    return 0 if value in ("", "—") else int(value.replace(",", ""))


def pct_text(part: int, whole: int) -> str:
    return "—" if not whole else f"{100.0 * part / whole:.0f}%"


def coverage_text(files: int, loc: int, loc_read: int, excluded: int) -> str:
    """What a Coverage cell must say: the share, or why a group has none (never a division by zero)."""
    if loc:
        return f"{100.0 * loc_read / loc:.0f}%"
    if not files and excluded:
        return f"none in scope (all {excluded:,} file{'' if excluded == 1 else 's'} excluded)"
    return "no files" if not files else "no LOC counted"


def short(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 999_500 else f"{n / 1e3:.0f}k" if n >= 10_000 else f"{n:,}"


def excluded_line(ref: SqlFigures) -> str:
    """The sentence that counts the excluded files (as the report and the dashboard word it), from plain SQL."""
    ex = ref.excluded

    def n(value: int, word: str) -> str:
        return f"{value:,} {word}{'' if value == 1 else 's'}"
    exact = f"{ex['loc']:,} LOC; " if ex["loc"] >= 10_000 else ""
    items = [n(ex["findings"], "finding") + (f" ({ex['open_findings']:,} open CRITICAL/HIGH)"
                                             if ex["open_findings"] else "") if ex["findings"] else "",
             n(ex["reads"], "file read") if ex["reads"] else "",
             n(ex["dependencies"], "dependency edge") if ex["dependencies"] else ""]
    items = [i for i in items if i]
    them, their = ("it", "its") if ex["files"] == 1 else ("them", "their")
    listed = "" if not items else f", with {their} " + (
        items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1])
    return (f"{n(ex['files'], 'file')} / {short(ex['loc'])} LOC excluded** ({exact}depth EXCLUDED, taken out of "
            f"scope). Every figure {{where}} leaves {them} out{listed}")


def link_text(cell: str) -> str:
    m = re.match(r"^\[(.*)\]\(", cell)
    return unescape(m.group(1)) if m else unescape(cell)


def file_id(cell: str, package: str, ref: SqlFigures) -> int:
    """A file cell (a need role or a code span of the path) back to its id."""
    m = re.fullmatch(r"\[.*\]\(#need-FILE(\d+)\)", cell)
    if m:
        return int(m.group(1))
    m = re.fullmatch(r"(`+) ?(.*?) ?\1", cell)
    assert m, cell
    path = m.group(2).replace("\\|", "|")  # a table escapes the pipes of code spans too
    ids = [i for i, (pkg, p) in ref.files.items() if pkg == unescape(package) and " ".join(p.split("\n")) == path]
    assert len(ids) == 1, (cell, package, ids)
    return ids[0]


def need_ids(text: str, prefix: str) -> list[int]:
    return [int(x) for x in re.findall(r"\]\(#need-" + prefix + r"(\d+)\)", text)]


ORPHAN = "---\norphan: true\n---\n"


def linked_pages(kb: Path, rows: list[dict[str, str]], column: str) -> list[tuple[str, str]]:
    """(docname, text after its orphan front matter) of the pages ``column`` links to, in row order."""
    docs = [m.group(1) for r in rows if (m := re.match(r"\[.*\]\(project:/(.*)\.md\)$", r[column]))]
    pages = [(d, (kb.parent / f"{d}.md").read_text(encoding="utf-8")) for d in docs]
    assert all(p.startswith(ORPHAN) for _, p in pages)
    return [(d, p.removeprefix(ORPHAN).lstrip("\n")) for d, p in pages]


def listing_pages(kb: Path, name: str) -> tuple[str, list[str]]:
    """A listing's summary page and its group pages (orphans its summary table links to), in order.

    A package split by area has a page whose table links to its areas' pages: they come in its place,
    once the package page is checked (its areas add up to its summary row; each area links back to it).
    """
    top = (kb / f"{name}.md").read_text(encoding="utf-8")
    summary = next((t for t in tables(top) if t and "Package" in t[0]), [])
    out: list[str] = []
    for (docname, page), row in zip(linked_pages(kb, summary, "Package"),
                                    [r for r in summary if r["Package"].startswith("[")], strict=True):
        areas = next((t for t in tables(page) if t and "Area" in t[0]), None)
        if areas is None:
            out.append(page)
            continue
        package = unescape(link_text(row["Package"]))
        assert unescape(page.splitlines()[0]).endswith(f": {package}"), page.splitlines()[0]
        for column in (c for c in row if c != "Package"):
            assert sum(num(r[column]) for r in areas) == num(row[column]), (docname, column)
        for _, area in linked_pages(kb, areas, "Area"):
            assert f"](project:/{docname}.md)" in area.split("\n\n")[1]  # the way back, under the title
            out.append(area)
    return top, out


def by_package(order: list[int], ref: SqlFigures) -> list[int]:
    """``order`` regrouped per package (packages by name), the order within a package kept."""
    return sorted(order, key=lambda fid: ref.files[fid][0])


def check_listings(kb: Path, ref: SqlFigures) -> None:
    """The complete lists (all gaps, all open findings, all read files) on their pages."""
    top, parts = listing_pages(kb, "priority-gaps")
    summary = Counter[str]()
    for r in table(top, "Per package"):  # a package, or "package: area" for a big package's area
        summary[unescape(link_text(r["Package"])).split(": ")[0]] += num(r["Files"])
    assert summary == Counter(ref.files[fid][0] for fid in ref.gaps)
    rows = [r for t in (tables(top)[2:] if not parts else [t for p in parts for t in tables(p)]) for r in t]
    assert {file_id(r["File"], r["Package"], ref): unescape(r["Tier"]) for r in rows} == ref.gaps
    if not parts:
        assert [file_id(r["File"], r["Package"], ref) for r in rows] == by_package(ref.gap_order, ref)
    position = {fid: i for i, fid in enumerate(ref.gap_order)}
    for page in parts:  # each group's page keeps the order of the whole list (tier, then LOC)
        ids = [file_id(r["File"], r["Package"], ref) for t in tables(page) for r in t]
        assert ids == sorted(ids, key=position.__getitem__)

    top, parts = listing_pages(kb, "open-findings")
    shown = need_ids(top if not parts else "\n".join(parts), "F")
    assert sorted(shown) == sorted(ref.open_findings) and len(shown) == len(ref.open_findings)
    totals = {unescape(link_text(r["Package"])): num(r["Total"]) for r in tables(top)[0]}
    assert sum(totals.values()) == len(ref.open_findings)

    top, parts = listing_pages(kb, "unverified-dependencies")
    edges = tables(top)[1:] if not parts else [t for p in parts for t in tables(p)]
    assert sum(len(t) for t in edges) == ref.unverified == sum(num(r["Unverified edges"]) for r in tables(top)[0])

    top, parts = listing_pages(kb, "files/index")
    files = need_ids(top if not parts else "\n".join(parts), "FILE")
    assert len(files) == len(set(files)) == sum(num(r["Files read"]) for r in tables(top)[0])


# -- a project on a generated database ---------------------------------------------------

def generated_project(root: Path, url: str) -> Options:
    init_project(root, title="Generated research")
    own = own_package(url)
    (root / "conf" / "kbgen.yaml").write_text(
        f"title: Generated research\ndatabase: {url}\nown_packages: [{own}]\n", encoding="utf-8")
    return load_options(root)


@pytest.fixture(params=["sqlite", "postgresql"])
def synced(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Options, SqlFigures]:
    from bench.synthetic import generate

    url = f"sqlite:///{tmp_path / 'research.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    generate(url, scale=0.03, seed=11)
    options = generated_project(tmp_path / "kb", url)
    sync(options)
    return options, sql_figures(url, options.own_packages, options.hotspot_min_domains)


def test_area_of_a_path() -> None:
    from kbgen.render.pages import area_of

    assert area_of("crates/attention/src/gossip/entity.rs") == "crates/attention"
    assert area_of("src/x.ts") == "src"
    assert area_of("setup.py") == area_of(None) == "(top level)"


@pytest.mark.slow
def test_long_listings_split_per_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past SPLIT_ROWS rows a listing becomes a summary plus a page per package, with the same rows (a
    package of more rows: a page per area; past SUMMARY_ROWS groups, a page listing the package's areas);
    back under it, the package pages go away."""
    from bench.synthetic import generate
    from kbgen.render import pages

    url = f"sqlite:///{tmp_path / 'research.db'}"
    generate(url, scale=0.03, seed=11)
    options = generated_project(tmp_path / "kb", url)
    ref = sql_figures(url, options.own_packages, options.hotspot_min_domains)
    kb = options.generated_path
    monkeypatch.setattr(pages, "SPLIT_ROWS", 5)
    monkeypatch.setattr(pages, "SUMMARY_ROWS", 5)
    sync(options)
    for name in ("priority-gaps", "open-findings", "unverified-dependencies", "files/index"):
        parts = listing_pages(kb, name)[1]
        assert len(parts) > 1, name
        assert all(p.startswith("# ") for p in parts)
    # packages of more than SPLIT_ROWS rows are split by area (the first two folders of the path)
    gap_titles = [p.splitlines()[0] for p in listing_pages(kb, "priority-gaps")[1]]
    assert any(": " in title.removeprefix("# Priority gaps: ") for title in gap_titles), gap_titles
    # the files index names each package once: the packages of several areas link to a page of areas
    files_top = (kb / "files" / "index.md").read_text(encoding="utf-8")
    names = [unescape(link_text(r["Package"])) for r in tables(files_top)[0]]
    assert len(names) == len(set(names)) == len({ref.files[fid][0] for fid in need_ids(
        "\n".join(listing_pages(kb, "files/index")[1]), "FILE")})
    check_listings(kb, ref)
    # the split pages build without a warning, and the summary links reach every group page: through
    # the package's page of areas for a package split by area
    result = build_site(options, strict=True, search="sphinx")

    def reached(page: Path) -> list[Path]:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        out = []
        for a in soup.select("article table a"):
            target = (page.parent / str(a["href"]).split("#")[0]).resolve()
            assert target.is_file(), a["href"]
            areas = BeautifulSoup(target.read_text(encoding="utf-8"), "html.parser").select("article table th")
            out += reached(target) if areas and areas[0].get_text() == "Area" else [target]
        return out

    for name in ("open-findings", "files/index"):
        groups = reached(result.out_dir / "kb" / f"{name}.html")
        assert len(groups) == len(set(groups)) == len(listing_pages(kb, name)[1]), name
    files_html = BeautifulSoup((result.out_dir / "kb" / "files" / "index.html").read_text(encoding="utf-8"),
                               "html.parser")
    assert len(files_html.select("article table tbody tr")) < len(reached(result.out_dir / "kb/files/index.html"))

    # a file's new LOC rewrites, of the files listing, the index, its package's page of areas and its area's
    # page: not the pages of the other packages and areas
    area = next(p for p in sorted((kb / "files" / "packages").glob("*.md")) if "\nPart of [" in p.read_text("utf-8"))
    text = area.read_text(encoding="utf-8")
    package = re.search(r"\nPart of \[.*?\]\(project:/kb/(files/packages/.*?)\.md\)", text)
    assert package is not None
    changed = need_ids(text, "FILE")[0]
    db = tmp_path / "research.db"
    with sqlite3.connect(db) as conn:
        loc = int(conn.execute("SELECT loc FROM files WHERE id = ?", (changed,)).fetchone()[0]) + 1000
        conn.execute("UPDATE files SET loc = ? WHERE id = ?", (loc, changed))
    listing = {str(p.relative_to(kb)) for p in (kb / "files").glob("*/*.md")} | {"files/index.md"}
    written = {label.split("/kb/", 1)[1] for label in sync(options).written if "/kb/" in label}
    assert written & listing == {"files/index.md", f"{package.group(1)}.md", f"files/packages/{area.name}"}
    assert f"| {loc:,} |" in (kb / "files" / "packages" / area.name).read_text("utf-8")

    # a summary of few groups names each group (a package's area too) and links to its page
    monkeypatch.setattr(pages, "SUMMARY_ROWS", 10**9)
    sync(options, force=True)
    files_top = (kb / "files" / "index.md").read_text(encoding="utf-8")
    assert len(tables(files_top)[0]) == len(listing_pages(kb, "files/index")[1]) > len(names)
    assert not any("\nPart of [" in p.read_text("utf-8") for p in (kb / "files" / "packages").glob("*.md"))
    check_listings(kb, ref)

    monkeypatch.setattr(pages, "SPLIT_ROWS", 10**9)
    sync(options, force=True)
    for name, folder in (("priority-gaps", "priority-gaps"), ("open-findings", "open-findings"),
                         ("unverified-dependencies", "unverified-dependencies"), ("files/index", "files/packages")):
        assert listing_pages(kb, name)[1] == [], name
        assert not list((kb / folder).glob("*.md")), folder
    check_listings(kb, ref)


# -- the pages show the SQL figures ------------------------------------------------------

def test_dashboard_pages_match_plain_sql(synced: tuple[Options, SqlFigures]) -> None:
    options, ref = synced
    kb = options.generated_path
    dash = (kb / "dashboard.inc").read_text(encoding="utf-8")

    overall = {unescape(r["Figure"]): r for r in table(dash, "Overall")}
    for figure, key in (("Packages", "packages"), ("Domains", "domains"), ("Files", "files"),
                        ("Files without a LOC count", "files_null_loc"), ("Sessions", "sessions"),
                        ("File reads", "file_reads"), ("Findings", "findings"),
                        ("Dependency edges", "dependencies"), ("Package edges", "package_dependencies")):
        assert num(overall[figure]["Count"]) == ref.overall[key], figure
    assert num(overall["Files"]["LOC"]) == ref.overall["loc"]
    assert num(overall["Open CRITICAL/HIGH findings"]["Count"]) == len(ref.open_findings)
    assert num(overall["Unverified dependency edges"]["Count"]) == ref.unverified
    assert num(overall["Priority gaps (HIGH domains)"]["Count"]) == len(ref.gaps)
    assert num(overall["Integration hotspots"]["Count"]) == len(ref.hotspots)

    depth_rows = {unescape(r["Depth"]): (num(r["Files"]), num(r["LOC"])) for r in table(dash, "Files and LOC by depth")}
    assert {d: v for d, v in depth_rows.items() if v[0]} == ref.by_depth

    for title, expected, name_col in (("Coverage by domain", ref.domains, "Domain"),
                                      ("Coverage by package", ref.packages, "Package")):
        shown = {}
        for r in table(dash, title):
            files, loc, files_read, loc_read = num(r["Files"]), num(r["LOC"]), 0, num(r["LOC read"])
            shown[link_text(r[name_col])] = (files, loc, loc_read, *(num(r[d]) for d in IN_SCOPE_DEPTHS))
            assert sum(num(r[d]) for d in IN_SCOPE_DEPTHS) == files, f"{title}: depths do not add up: {r}"
            excluded = (ref.domains_excluded if name_col == "Domain" else ref.packages_excluded)
            assert unescape(r["Coverage"]) == coverage_text(files, loc, loc_read,
                                                             excluded.get(link_text(r[name_col]), 0))
            del files_read
        assert shown == {k: (v[0], v[1], v[3], *v[4:]) for k, v in expected.items()}, title

    # the excluded files: counted once, apart, under the overall table; no EXCLUDED depth row
    assert ref.excluded["files"] > 0
    overall_text = section(dash, "Overall")
    assert excluded_line(ref).format(where="here") + "; the site still shows them and everything recorded about " \
        "them.\n" in overall_text
    assert dash.count("LOC excluded") == 1
    assert "EXCLUDED" not in depth_rows
    assert "[How each figure is counted](project:/kb/figures.md)" in dash
    assert (kb / "figures.md").read_text(encoding="utf-8").startswith("# How the figures are counted\n")

    tiers = {unescape(r["Tier"]): num(r["Files"]) for r in table(dash, "Priority gaps", 0)}
    assert tiers == {t: sum(1 for v in ref.gaps.values() if v == t) for t in tiers}
    top = table(dash, "Priority gaps", 1)
    assert [file_id(r["File"], r["Package"], ref) for r in top] == ref.gap_order[:options.report_gap_limit]

    open_text = section(dash, "Open CRITICAL and HIGH findings")
    assert open_text.lstrip().startswith(f"{len(ref.open_findings):,} CRITICAL or HIGH findings")
    assert need_ids(open_text, "F") == ref.open_findings[:10]
    assert f"{ref.unverified:,} of {ref.overall['dependencies']:,} dependency edges" in dash
    assert {(unescape(r["From"]), unescape(r["To"])): (unescape(r["Declared relationship"]).replace("—", ""),
                                                       num(r["File edges"]))
            for r in table(dash, "Package dependency map")} == ref.package_links

    # the detail pages hold the complete lists
    check_listings(kb, ref)
    hot = [r for t in tables((kb / "hotspots.md").read_text(encoding="utf-8")) for r in t]
    assert {file_id(r["File"], r["Package"], ref) for r in hot} == ref.hotspots

    # The session figures: an index linking one page per hundred sessions, in order; the rows of all
    # of them together are the campaign's, and findings without a session are on the index.
    index = (kb / "session-figures.md").read_text(encoding="utf-8")
    groups = re.findall(r"\(project:/kb/(session-figures/group-\d{4})\.md\)", index)
    assert groups and groups == sorted(groups)
    figures = [(kb / f"{g}.md").read_text(encoding="utf-8") for g in groups]
    growth = [r for page in figures for r in table(page, "Coverage growth")]
    assert [(need_ids(r["Session"], "S")[0], num(r["Files MEDIUM+ (cumulative)"]), num(r["LOC MEDIUM+ (cumulative)"]))
            for r in growth] == [(sid, n, loc) for sid, _, n, loc in ref.growth]
    severity_rows = [r for page in figures for r in table(page, "Findings by severity")]
    if "## Findings without a session" in index:
        severity_rows += table(index, "Findings without a session")
    severity = {}
    for r in severity_rows:
        ids = need_ids(r["Session"], "S")
        label = ref.session_labels[ids[0]] if ids else unescape(r["Session"])
        severity[label] = {s: num(r[s]) for s in SEVERITIES if num(r[s])}
    assert severity == {k: dict(v) for k, v in ref.severity.items()}


def test_excluded_files_keep_their_pages_and_findings(synced: tuple[Options, SqlFigures]) -> None:
    """Out of every figure, but on the site: a file read before it was excluded keeps its page, and
    every finding on an excluded file keeps its need, on its session's page when it has a session."""
    from sqlalchemy import text

    from tests.test_analysis import EXCLUDED_IDS, depth

    options, _ = synced
    kb = options.generated_path
    engine = open_engine(options.database)
    try:
        with engine.connect() as conn:
            read = {int(r[0]) for r in conn.execute(text(f"""
                SELECT DISTINCT r.file_id FROM file_reads r WHERE r.file_id IN ({EXCLUDED_IDS})
                AND {depth('r.depth')} IN ('DEEP', 'MEDIUM', 'SURFACE')"""))}
            findings = [(int(r[0]), r[1]) for r in conn.execute(text(
                f"SELECT id, session_id FROM findings WHERE file_id IN ({EXCLUDED_IDS})"))]
    finally:
        engine.dispose()
    assert read and findings, "the generated database has excluded files that were read and carry findings"
    for fid in read:
        page = (kb / "files" / f"FILE{fid}.md").read_text(encoding="utf-8")
        assert '\n:depth: "EXCLUDED"\n' in page, fid
    defined = {}
    for path in kb.rglob("*.md"):
        for need_id in re.findall(r"^:id: (F\d+)$", path.read_text(encoding="utf-8"), re.MULTILINE):
            defined[need_id] = path
    for finding, session in findings:
        assert f"F{finding}" in defined, finding
        if session is not None:
            assert defined[f"F{finding}"] == kb / "sessions" / f"S{session}.md", finding
    index = (kb / "files" / "index.md").read_text(encoding="utf-8")
    assert f"{len(read):,} of them were read before being excluded from scope" in index


def test_second_sync_rewrites_nothing(synced: tuple[Options, SqlFigures]) -> None:
    options, _ = synced
    charts_dir = options.generated_path / "charts"
    before = {p.name: p.stat().st_mtime_ns for p in charts_dir.iterdir()}
    assert set(before) == {"coverage-by-domain.svg", "coverage-by-package.svg", "coverage-growth.svg",
                           "findings-by-severity.svg"}
    report = sync(options)
    assert report.written == [] and report.removed == []
    assert {p.name: p.stat().st_mtime_ns for p in charts_dir.iterdir()} == before


# -- charts ----------------------------------------------------------------------------

_CHART_SCRIPT = """
import hashlib, sys
from kbgen.render import charts
svgs = [
    charts.hbar_chart(["b", "a<script>&", "$x$"], [10.0, 55.5, 99.0], title="T", xlabel="x", xmax=105.0),
    charts.line_chart([f"R{i}" for i in range(120)], {"s": [i / 2 for i in range(120)]}, title="L", ylabel="%"),
    charts.stacked_bar_chart([f"R{i}" for i in range(120)], {"HIGH": [i % 5 for i in range(120)],
                             "LOW": [1] * 120}, title="S", ylabel="n", colors=charts.SEVERITY_COLORS),
]
sys.stdout.write(hashlib.sha256("".join(svgs).encode()).hexdigest())
"""


@pytest.mark.slow
def test_charts_are_byte_identical_across_processes() -> None:
    digests = set()
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", _CHART_SCRIPT], capture_output=True, text=True, env=env,
                              check=True)
        digests.add(proc.stdout)
    assert len(digests) == 1


def test_chart_text_is_literal_and_undated() -> None:
    svg = charts.hbar_chart(["<script>alert(1)</script>", "$\\frac{a}{b}$", "x" * 80], [1.0, 2.0, 3.0],
                            title="Coverage", xlabel="%")
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "$\\frac{a}{b}$" in svg  # math parsing is off: the dollar signs are text
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert "x" * 80 not in svg and "x" * 35 + "…" in svg


# -- graphs ----------------------------------------------------------------------------

HOSTILE = ['a"b', "back\\slash\\n", "brace{x}", "<b>html</b>", "line\nbreak", "```{eval-rst}", "é ü 漢字",
           "\u202eevil", "semi;colon -> x", "]]>"]


def _hostile_snapshot() -> Snapshot:
    files = tuple(File(i + 1, 1, "pkg\"x", f"src/{name}/f{i}.ts", 10, "DEEP" if i % 2 else "NOT_TOUCHED", None,
                       None, None, None) for i, name in enumerate(HOSTILE))
    deps = tuple(Dependency(i + 1, files[i].id, files[(i + 1) % len(files)].id, HOSTILE[i], None, bool(i % 2))
                 for i in range(len(files)))
    return Snapshot((), files, (), (), (), (), (), deps, (), ())


def test_dot_text_escapes_database_strings_and_graphviz_renders_it() -> None:
    snap = _hostile_snapshot()
    view = SiteView(snap, SiteLayout())
    graph = graphs.file_neighbourhood(view, snap.files[1], "kb/files/FILE2")
    assert graph is not None
    svg = graph_svg.render_svg(graphs.to_dot(graph))  # Graphviz in WebAssembly: no dot binary involved
    soup = BeautifulSoup(svg, "html.parser")
    texts = " ".join(t.get_text() for t in soup.find_all("text"))
    assert 'a"b' in texts and "back\\slash\\n" in texts  # literal, not a Graphviz escape
    hrefs = {a.get("href") for a in soup.find_all("a") if a.get("href")}
    assert hrefs == {"FILE2.html"}  # only read files have pages; links are relative to the file page
    tooltips = [t.get_text() for t in soup.find_all("title")]
    assert 'pkg"x: src/a"b/f0.ts (NOT_TOUCHED)' in tooltips  # a node's tooltip, literally; no DOT node IDs
    assert not any(re.fullmatch(r"f\d+(->f\d+)?", t) for t in tooltips)
    # every hostile string, as a path and as an edge label, comes out as text and only as text
    for f in snap.files:
        graph = graphs.file_neighbourhood(view, f, f"kb/files/FILE{f.id}")
        assert graph is not None
        svg = graph_svg.render_svg(graphs.to_dot(graph))
        soup = BeautifulSoup(svg, "html.parser")
        assert {t.name for t in soup.find_all(True)} <= {"svg", "g", "a", "title", "path", "polygon", "text"}
        assert "<b>" not in svg and "\u202e" not in svg and "]]>" not in svg
        texts = " ".join(t.get_text() for t in soup.find_all("text"))
        for i in (f.id - 1, f.id % len(HOSTILE)):  # its own path, and the edge label it starts
            shown = " ".join(HOSTILE[i].replace("\u202e", "<U+202E>").split())
            assert shown in texts, (shown, texts)


def test_graph_text_shows_entities_and_odd_characters_as_written() -> None:
    """Graphviz decodes HTML entities in labels; kbgen's DOT keeps them literal, and drops non-XML characters."""
    node = graphs.Node(id="f1", label="&lt;b&gt; &#45; a & b \ufffe\uffffend", tooltip="&amp;lt; tip")
    graph = graphs.Graph(name="file", nodes=(node,), edges=(), alt="x")
    soup = BeautifulSoup(graph_svg.render_svg(graphs.to_dot(graph)), "html.parser")
    assert soup.find("text").get_text() == "&lt;b&gt; &#45; a & b end"
    assert soup.find("title").get_text() == "&amp;lt; tip"


@pytest.mark.parametrize("svg", [
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg"><g onload="alert(1)"/></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
    b'<a x:href="javascript:alert(1)"/></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
    b'<a x:href="https://example.invalid/x.html"/></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg"><g>loose text</g></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>a<tspan>b</tspan></text></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg"><title><b/></title></svg>',
    b"<html><svg/></html>",
    b"<svg><unclosed></svg>",
])
def test_svg_outside_the_whitelist_is_refused(svg: bytes) -> None:
    with pytest.raises(graph_svg.GraphRenderError):
        graph_svg.clean_svg(svg)


def test_svg_text_and_attributes_are_escaped_when_rewritten() -> None:
    raw = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="1pt">'
           b'<g id="node1" class="node"><title>f1</title><a xlink:href="../files/FILE1.html" '
           b'xlink:title="&quot;&gt;&lt;script&gt;"><text x="1">&lt;/svg&gt;&lt;script&gt;&amp;</text></a></g></svg>')
    out = graph_svg.clean_svg(raw)
    assert "<script>" not in out and "</svg><" not in out.split("\n", 1)[1][:-8]
    assert '<a href="../files/FILE1.html"><title>"&gt;&lt;script&gt;</title>' in out
    assert "<text x=\"1\">&lt;/svg&gt;&lt;script&gt;&amp;</text>" in out
    assert "node1" not in out and "<title>f1</title>" not in out  # IDs and DOT names are dropped


def test_graphs_are_bounded_and_say_what_they_leave_out() -> None:
    centre = File(1, 1, "p", "hub.ts", 10, "DEEP", None, None, None, None)
    leaves = tuple(File(i, 1, "p", f"leaf{i}.ts", 10, "MEDIUM", None, None, None, None) for i in range(2, 62))
    deps = tuple(Dependency(i, 1, f.id, "imports", None, True) for i, f in enumerate(leaves))
    snap = Snapshot((), (centre, *leaves), (), (), (), (), (), deps, (), ())
    view = SiteView(snap, SiteLayout())
    graph = graphs.file_neighbourhood(view, centre, "kb/files/FILE1", max_nodes=10)
    assert graph is not None and len(graph.nodes) == 10 and len(graph.edges) == 9
    assert graph.left_out_nodes == 51 and graph.left_out_edges == 51
    assert "51 more nodes and 51 more edges left out" in graph.note
    text = graphs.file_graph(view, centre, max_nodes=10)
    assert text.startswith("### Dependency graph") and "{kbgen-graph} /kb/graphs/" in text
    assert ":alt: Dependency graph" in text and "digraph" not in text  # the page names the SVG; the DOT waits
    (rel, dot), = view.graph_sources.items()
    assert f"/kb/{rel}" in text and rel == graph_svg.svg_relpath(dot) and dot == graphs.to_dot(graph)
    assert graphs.file_graph(view, File(99, 1, "p", "alone.ts", 1, "DEEP", None, None, None, None)) == ""


@pytest.mark.parametrize(("alt", "expected"), [
    ("Graph of <script>x</script> & more", "Graph of scriptx/script  more"),
    ('a "quoted" value\nnext', "a quoted value next"),
])
def test_alt_text_is_safe_for_raw_html(alt: str, expected: str) -> None:
    assert graphs.safe_alt(alt) == expected


# -- the built example site --------------------------------------------------------------

@pytest.mark.slow
def test_example_site_shows_charts_and_graphs_with_alt_text(example_project: Options) -> None:
    options = example_project
    result = build_site(options, strict=True)
    assert result.warnings == 0
    out = options.build_path
    index = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    images = {Path(str(img["src"])).name: str(img.get("alt", "")) for img in index.find_all("img")}
    for name in ("coverage-by-domain.svg", "coverage-by-package.svg", "coverage-growth.svg",
                 "findings-by-severity.svg"):
        assert name in images and len(images[name]) > 20, name
        assert (out / "_images" / name).read_bytes().startswith(b"<?xml")
    package_map = index.select("div.kbgen-graph")
    assert package_map and str(package_map[0]["aria-label"]).startswith("Package dependency map")
    assert package_map[0].select_one("svg text") is not None  # inline, from the fragment the page includes
    assert not list(out.rglob("graphviz-*")) and not index.select("object")  # Sphinx ran no Graphviz

    snap = load_snapshot(open_engine(f"sqlite:///{options.project_dir / 'db' / 'research.db'}"), options)
    linked = next(f for f in snap.files if snap.deps_out.get(f.id) and f.depth == "DEEP"
                  and any(snap.file_by_id[d.target_file_id].depth == "DEEP" for d in snap.deps_out[f.id]))
    page = out / "kb" / "files" / f"FILE{linked.id}.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    graph = soup.select_one("div.kbgen-graph")
    assert graph is not None and str(graph["aria-label"]).startswith("Dependency graph of this file")
    assert graph.has_attr("data-pagefind-ignore") and graph.select_one("svg") is not None
    hrefs = [str(a["href"]) for a in graph.select("svg a[href]")]
    assert f"FILE{linked.id}.html" in hrefs, "graph nodes link to file pages"
    for href in hrefs:  # relative to the page that shows the graph, as the browser resolves them
        assert (page.parent / href).resolve().exists(), href
    domain_pages = list((out / "kb" / "domains").glob("*.html"))
    domain_graphs = [g for p in domain_pages
                     for g in BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser").select("div.kbgen-graph")]
    assert domain_graphs and all((out / "kb" / "domains" / str(a["href"])).resolve().exists()
                                 for g in domain_graphs for a in g.select("a[href]"))
    # every graph the site shows is one of the sync's files, shown whole
    shown = {str(g) for p in out.rglob("*.html") for g in BeautifulSoup(p.read_text(encoding="utf-8"),
                                                                     "html.parser").select("div.kbgen-graph svg")}
    files = sorted((options.generated_path / "graphs").glob("*.svg"))
    assert len(files) == len(shown) > 2

    for name in ("priority-gaps", "open-findings", "hotspots", "unverified-dependencies", "session-figures"):
        assert (out / "kb" / f"{name}.html").exists(), name
    again = sync(options, force=True)
    assert again.written == [], again.written


def test_domain_graph_keeps_what_it_draws_connected() -> None:
    """Two hubs with many leaves and a budget smaller than both: no kept file is left without an edge."""
    from kbgen.model import Domain

    files = tuple(File(i, 1, "p", f"f{i}.ts", 10, "DEEP", None, None, None, None) for i in range(1, 61))
    deps = [Dependency(i, 1, i, "imports", None, True) for i in range(2, 31)]
    deps += [Dependency(100 + i, 31, i, "calls", None, False) for i in range(32, 61)]
    snap = Snapshot((), files, (Domain(1, "core", None, "HIGH", "HIGH", None),), tuple((f.id, 1) for f in files),
                    (), (), (), tuple(deps), (), ())
    view = SiteView(snap, SiteLayout())
    graph = graphs.domain_network(view, "core", "kb/domains/core", max_nodes=12)
    assert graph is not None and len(graph.nodes) == 12
    touched = {e.source for e in graph.edges} | {e.target for e in graph.edges}
    assert touched == {n.id for n in graph.nodes}
    assert graph.left_out_nodes == 48 and graph.left_out_edges == len(deps) - len(graph.edges)
    assert all(n.url.startswith("../files/FILE") for n in graph.nodes)


@pytest.mark.slow
def test_an_empty_database_gives_a_complete_dashboard_that_builds(tmp_path: Path) -> None:
    from kbgen.db.migrate import init_research_db

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    init_research_db(open_engine(url, must_exist=False))
    options = generated_project_for(tmp_path / "kb", url)
    sync(options)
    dash = (options.generated_path / "dashboard.inc").read_text(encoding="utf-8")
    assert "No domains recorded." in dash and "No package edges recorded." in dash
    build_site(options, strict=True)
    index = BeautifulSoup((options.build_path / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert len([img for img in index.find_all("img") if str(img["src"]).endswith(".svg") and img.get("alt")]) == 4


def generated_project_for(root: Path, url: str) -> Options:
    init_project(root, title="Empty research")
    (root / "conf" / "kbgen.yaml").write_text(f"title: Empty research\ndatabase: {url}\n", encoding="utf-8")
    return load_options(root)


def test_count_charts_have_whole_number_ticks() -> None:
    """Findings are counted: the value axis never says 2.5 (matplotlib's default locator would, for 0-10)."""
    import xml.etree.ElementTree as ET

    svg = charts.stacked_bar_chart(["R1", "R2", "no session"], {"HIGH": [1, 1, 1], "LOW": [1, 0, 0]},
                                   title="Findings", ylabel="Findings", colors=charts.SEVERITY_COLORS)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    ticks = ["".join(t.itertext()).strip() for g in root.iter(f"{ns}g") if g.get("id", "").startswith("ytick_")
             for t in g.iter(f"{ns}text")]
    assert len(ticks) >= 3 and all(re.fullmatch(r"\d+", t) for t in ticks), ticks


def test_severity_chart_alt_text_counts_sessions_apart_from_findings_without_one(example_project: Options) -> None:

    snap = load(example_project)
    excluded = {f.id for f in snap.files if f.depth == "EXCLUDED"}  # outside every figure
    without = sum(1 for f in snap.findings if f.session_id not in snap.session_by_id and f.file_id not in excluded)
    assert without, "the example has no finding without a session"
    dash = (example_project.generated_path / "dashboard.inc").read_text(encoding="utf-8")
    alt = re.search(r"findings-by-severity\.svg\n:alt: (.*)", dash)
    assert alt, dash
    assert (f"by severity across {len(snap.sessions)} sessions (and {without} finding"
            f"{'' if without == 1 else 's'} without a session)") in alt.group(1)


def test_session_figures_one_page_per_hundred(example_project: Options) -> None:
    """A session of a new hundred gets a figures page of its own; the next session of that hundred
    rewrites that page only: the pages of the hundreds before it and the index stay as they are."""
    from bench.run import add_session

    options = example_project
    kb = options.generated_path
    first = (kb / "session-figures/group-0000.md").read_bytes()
    db = sqlite_path(resolve_url(options.database, options.project_dir))
    assert db is not None
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT max(id) FROM sessions").fetchone()[0] < 149
        conn.execute("INSERT INTO sessions (id, name, date, focus) VALUES (149, 'R149', '2026-01-14', 'hundred')")
    opened = sync(options)
    gen = f"{options.docs_dir.as_posix()}/{options.generated_subdir}/"
    assert {gen + "session-figures.md", gen + "session-figures/group-0100.md"} <= set(opened.written)
    assert (kb / "session-figures/group-0000.md").read_bytes() == first
    index = (kb / "session-figures.md").read_text(encoding="utf-8")
    assert "(project:/kb/session-figures/group-0100.md)" in index

    sid = add_session(options, reads=3, findings=5)
    report = sync(options)
    assert gen + "session-figures/group-0100.md" in report.written
    assert gen + "session-figures.md" not in report.written
    assert (kb / "session-figures/group-0000.md").read_bytes() == first
    page = (kb / "session-figures/group-0100.md").read_text(encoding="utf-8")
    assert [need_ids(r["Session"], "S")[0] for r in table(page, "Coverage growth")] == [149, sid]
    severity = table(page, "Findings by severity")
    assert [num(r["Total"]) for r in severity] == [0, 5]
