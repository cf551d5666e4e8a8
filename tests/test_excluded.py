"""EXCLUDED files are outside every figure, yet their pages and findings stay: the edge cases.

A small hand-made research database (SQLite and PostgreSQL) holds each case
the generated campaigns may or may not hit:

* ``vendor`` — a package, and the domain ``vendored``, whose files are all
  EXCLUDED (coverage of an empty denominator), one of them read DEEP by R1
  before it was excluded, with a HIGH finding, three domain tags and edges;
* ``src/gaps/a.ts`` — a NOT_TOUCHED file whose only dependency edge goes to
  that excluded file read DEEP: the ``smart_priority_gaps`` view compares
  ``files.depth`` with DEEP, so it is not CONNECTED; and the two excluded
  files read DEEP in its directory are no DEEP neighbours (DOMAIN_ONLY);
* ``src/gaps/b.ts`` — the same with an edge to an in-scope DEEP file
  (CONNECTED), so the case above is not passing by accident;
* a depth spelled ``excluded`` (lower case) and one spelled ``Excluded ``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from kbgen import analysis
from kbgen.config import Options, load_options
from kbgen.db.engine import open_engine
from kbgen.db.load import load_snapshot
from kbgen.db.migrate import init_research_db
from kbgen.model import Snapshot
from kbgen.scaffold import init_project
from kbgen.sync import sync

ROWS = """
INSERT INTO packages (id, name) VALUES (1, 'app'), (2, 'vendor');
INSERT INTO domains (id, name, description, priority, synthesis_path) VALUES
  (1, 'core', 'The core', 'HIGH', 'domains/core/analysis.md'),
  (2, 'vendored', 'Vendored code, now out of scope', 'MEDIUM', 'domains/vendored/analysis.md'),
  (3, 'io', 'Input and output', 'LOW', 'domains/io/analysis.md');
INSERT INTO files (id, package_id, relative_path, loc, depth, lines_read) VALUES
  (1, 1, 'src/core/main.ts', 400, 'DEEP', 400),
  (2, 1, 'src/core/util.ts', 100, 'MEDIUM', 60),
  (3, 1, 'src/gaps/a.ts', 250, 'NOT_TOUCHED', NULL),
  (4, 1, 'src/gaps/b.ts', 150, 'NOT_TOUCHED', NULL),
  (5, 1, 'src/gaps/old1.ts', 900, 'excluded', 900),
  (6, 1, 'src/gaps/old2.ts', 700, 'Excluded ', 700),
  (7, 2, 'lib/fork.rs', 3000, 'EXCLUDED', 3000),
  (8, 2, 'lib/other.rs', 500, 'EXCLUDED', NULL);
INSERT INTO file_domains (file_id, domain_id) VALUES
  (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1),
  (7, 2), (7, 1), (7, 3), (8, 2);
INSERT INTO sessions (id, name, date, focus) VALUES (1, 'R1', '2025-01-06', 'First reads');
INSERT INTO file_reads (id, file_id, session_id, depth, lines_read) VALUES
  (1, 1, 1, 'DEEP', 400), (2, 2, 1, 'MEDIUM', 60), (3, 5, 1, 'DEEP', 900), (4, 6, 1, 'DEEP', 700),
  (5, 7, 1, 'DEEP', 3000);
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up)
VALUES
  (1, 1, 1, 10, 20, 'HIGH', 'bug', 'An in-scope bug', 0),
  (2, 7, 1, 5, 9, 'HIGH', 'security', 'A hole in the vendored fork', 0),
  (3, 5, 1, 1, 2, 'MEDIUM', 'stub', 'An excluded stub', 0);
INSERT INTO dependencies (id, source_file_id, target_file_id, relationship, verified) VALUES
  (1, 3, 7, 'imports', 0),
  (2, 4, 1, 'imports', 1),
  (3, 7, 8, 'calls', 0),
  (4, 1, 7, 'bundles', 1);
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'r.db'}" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    engine = open_engine(url, must_exist=False)
    try:
        init_research_db(engine)
        with engine.begin() as conn:
            for statement in filter(str.strip, ROWS.split(";")):
                conn.execute(text(statement))
    finally:
        engine.dispose()
    return url


def snapshot(url: str, tmp_path: Path) -> tuple[Snapshot, Options]:
    options = Options(project_dir=tmp_path, database=url)
    engine = open_engine(url)
    try:
        return load_snapshot(engine, options, url), options
    finally:
        engine.dispose()


def test_figures_leave_excluded_files_out(url: str, tmp_path: Path) -> None:
    snap, options = snapshot(url, tmp_path)
    figs = analysis.figures(snap, options)
    o = figs.overall
    assert (o.files, o.loc, o.reads, o.findings, o.dependencies) == (4, 900, 2, 1, 1)
    assert dict((d, n) for d, n, _ in o.by_depth)["EXCLUDED"] == 0
    assert figs.excluded == analysis.Excluded(files=4, loc=5100, findings=2, open_findings=1, reads=3, dependencies=3)
    assert [x.id for x in figs.open_findings] == [1]
    assert [d.id for d in figs.unverified] == []  # edges 1 and 3 have an excluded end
    assert figs.hotspots == []  # lib/fork.rs has three domains but is out of scope
    assert [(p.session.label, p.files, p.loc) for p in figs.growth] == [("R1", 2, 500)]
    assert [r.counts[:3] for r in figs.severity] == [(0, 1, 0)]
    assert [(link.source, link.target, link.file_edges) for link in figs.package_links] == []


def test_a_group_whose_files_are_all_excluded_has_no_coverage_and_says_why(url: str, tmp_path: Path) -> None:
    snap, options = snapshot(url, tmp_path)
    figs = analysis.figures(snap, options)
    domains = {c.name: c for c in figs.domains}
    vendored = domains["vendored"]
    assert (vendored.files, vendored.loc, vendored.loc_read, vendored.excluded_files, vendored.excluded_loc) == (
        0, 0, 0, 2, 3500)
    assert not vendored.has_coverage and vendored.percent == 0.0
    assert analysis.coverage_text(vendored) == "none in scope (all 2 files excluded)"
    core = domains["core"]  # 4 in scope (900 LOC, 500 read); old1, old2 and fork.rs are not in the denominator
    assert (core.files, core.loc, core.loc_read, core.excluded_files) == (4, 900, 500, 3)
    assert analysis.coverage_text(core) == "56%"
    assert analysis.coverage_text(domains["io"]) == "none in scope (all 1 file excluded)"
    packages = {c.name: c for c in figs.packages}
    assert analysis.coverage_text(packages["vendor"]) == "none in scope (all 2 files excluded)"


def test_an_edge_to_a_file_read_deep_then_excluded_does_not_make_a_gap_connected(url: str, tmp_path: Path) -> None:
    snap, options = snapshot(url, tmp_path)
    tiers = {g.file.path: g.tier for g in analysis.priority_gaps(snap, options)}
    assert tiers == {"src/gaps/a.ts": "DOMAIN_ONLY", "src/gaps/b.ts": "CONNECTED"}


def test_the_site_keeps_excluded_pages_and_says_what_it_does_not_count(url: str, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    init_project(root, title="Excluded")
    (root / "conf" / "kbgen.yaml").write_text(f"title: Excluded\ndatabase: {url}\n", encoding="utf-8")
    options = load_options(root)
    sync(options)
    kb = options.generated_path

    # pages: files read before they were excluded keep theirs; the never-read one has only its need
    for fid in (5, 6, 7):
        assert '\n:depth: "EXCLUDED"\n' in (kb / "files" / f"FILE{fid}.md").read_text(encoding="utf-8")
    assert not (kb / "files" / "FILE8.md").exists()
    session = (kb / "sessions" / "S1.md").read_text(encoding="utf-8")
    assert ":id: F2\n" in session and ":id: F3\n" in session
    assert "| [lib/fork.rs](#need-FILE7) | DEEP (now EXCLUDED) | 3,000 |" in session

    # the domain document: no division by zero, no 0%, and a status that says why
    vendored = (root / "domains" / "vendored" / "analysis.md").read_text(encoding="utf-8")
    assert ("> **Priority**: MEDIUM | **Coverage**: none in scope (all 2 files excluded) | **Status**: Out of "
            "scope\n") in vendored
    core = (root / "domains" / "core" / "analysis.md").read_text(encoding="utf-8")
    assert ("**Coverage**: 56% of LOC (2/4 files MEDIUM or deeper; 3 excluded files not counted) | **Status**: "
            "In progress\n") in core
    assert ("2 files read (500 LOC); 1 finding: 1 HIGH. Not counted, on files excluded since: 3 files read and "
            "2 findings.\n") in core
    assert "src/gaps/old1.ts" not in core.split("<!-- kbgen:begin files -->")[1].split("<!-- kbgen:end files -->")[0]
    domain_page = next((kb / "domains").glob("vendored*.md")).read_text(encoding="utf-8")
    assert ':coverage: "none in scope (all 2 files excluded)"' in domain_page

    # the dashboard: the cell says why, the chart leaves the group out and says so, one excluded line
    dash = (kb / "dashboard.inc").read_text(encoding="utf-8")
    row = next(line for line in dash.splitlines() if line.startswith("| [vendored]"))
    assert row.endswith("| none in scope (all 2 files excluded) |")
    assert "Not drawn: 2 domains without in-scope LOC (the table says why)." in dash
    assert "for 1 domain, from 56% to 56%" in dash
    assert ("**4 files / 5,100 LOC excluded** (depth EXCLUDED, taken out of scope). Every figure here leaves them "
            "out, with their 2 findings (1 open CRITICAL/HIGH), 3 file reads and 3 dependency edges; the site still "
            "shows them and everything recorded about them.\n") in dash
    assert "0 of 1 dependency edges are not verified" in dash


@pytest.mark.parametrize(("n", "text_"), [
    (0, "0"), (3_920, "3,920"), (9_999, "9,999"), (10_000, "10k"), (273_412, "273k"), (999_499, "999k"),
    (999_500, "1.00M"), (2_268_904, "2.27M"),
])
def test_short_counts_never_read_1000k(n: int, text_: str) -> None:
    assert analysis.short_count(n) == text_


def test_one_excluded_file_reads_as_one() -> None:
    one = analysis.Excluded(files=1, loc=3_920, findings=1, open_findings=0, reads=0, dependencies=0)
    assert analysis.excluded_headline(one) == "1 file / 3,920 LOC excluded"
    assert analysis.excluded_note(one) == "depth EXCLUDED, taken out of scope"
    assert analysis.excluded_sentence(one, "here") == "Every figure here leaves it out, with its 1 finding"
    none = analysis.Excluded(files=0, loc=0, findings=0, open_findings=0, reads=0, dependencies=0)
    assert not none and analysis.excluded_sentence(none, "here") == "Every figure here leaves them out"
