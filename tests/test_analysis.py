"""Every dashboard figure recomputed with plain SQL on a generated database, SQLite and PostgreSQL.

:func:`sql_figures` is the independent reference: it reads the research
tables with SQL only (normalising severities and depths with CASE, matching
paths with LIKE), never kbgen's model. The dashboard and report tests
compare the pages and the master index against it too.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, text

from bench.synthetic import generate
from kbgen import analysis
from kbgen.config import DEFAULT_SOURCE_EXCLUDES, Options
from kbgen.db.engine import open_engine
from kbgen.db.load import load_snapshot
from kbgen.model import File

SCALE = 0.03
SEED = 7

DEPTH_SQL = """CASE UPPER(REPLACE(REPLACE(TRIM(COALESCE({c}, '')), ' ', '_'), '-', '_'))
  WHEN 'DEEP' THEN 'DEEP' WHEN 'FULL' THEN 'DEEP' WHEN 'MEDIUM' THEN 'MEDIUM' WHEN 'MED' THEN 'MEDIUM'
  WHEN 'SURFACE' THEN 'SURFACE' WHEN 'SHALLOW' THEN 'SURFACE' WHEN 'MENTIONED' THEN 'MENTIONED'
  WHEN 'EXCLUDED' THEN 'EXCLUDED' ELSE 'NOT_TOUCHED' END"""
SEVERITY_SQL = """CASE UPPER(REPLACE(REPLACE(REPLACE(TRIM(COALESCE({c}, '')), ' ', ''), '-', ''), '_', ''))
  WHEN 'CRITICAL' THEN 'CRITICAL' WHEN 'CRIT' THEN 'CRITICAL' WHEN 'BLOCKER' THEN 'CRITICAL'
  WHEN 'SEVERE' THEN 'CRITICAL' WHEN 'HIGH' THEN 'HIGH' WHEN 'HI' THEN 'HIGH' WHEN 'MAJOR' THEN 'HIGH'
  WHEN 'MEDIUM' THEN 'MEDIUM' WHEN 'MED' THEN 'MEDIUM' WHEN 'MODERATE' THEN 'MEDIUM' WHEN 'MID' THEN 'MEDIUM'
  WHEN 'LOW' THEN 'LOW' WHEN 'MINOR' THEN 'LOW' WHEN 'LO' THEN 'LOW' WHEN 'INFO' THEN 'INFO'
  WHEN 'INFORMATIONAL' THEN 'INFO' WHEN 'NOTE' THEN 'INFO' WHEN 'INFORMATION' THEN 'INFO' ELSE 'UNKNOWN' END"""
READ_SQL = "IN ('DEEP', 'MEDIUM')"
#: The depths of in-scope files, as coverage tables count them: every file has exactly one.
IN_SCOPE_DEPTHS = ("DEEP", "MEDIUM", "SURFACE", "MENTIONED", "NOT_TOUCHED")
#: The two-level directory of a path, as the team's smart_priority_gaps view computes it (SQLite) and
#: the same with PostgreSQL's string functions.
DIR2_SQL = {
    "sqlite": """CASE
      WHEN INSTR(SUBSTR({c}, INSTR({c}, '/') + 1), '/') > 0
      THEN SUBSTR({c}, 1, INSTR({c}, '/') + INSTR(SUBSTR({c}, INSTR({c}, '/') + 1), '/') - 1)
      WHEN INSTR({c}, '/') > 0 THEN SUBSTR({c}, 1, INSTR({c}, '/') - 1) ELSE '' END""",
    "postgresql": """CASE
      WHEN STRPOS(SUBSTR({c}, STRPOS({c}, '/') + 1), '/') > 0
      THEN SPLIT_PART({c}, '/', 1) || '/' || SPLIT_PART({c}, '/', 2)
      WHEN STRPOS({c}, '/') > 0 THEN SPLIT_PART({c}, '/', 1) ELSE '' END""",
}


def depth(c: str) -> str:
    return DEPTH_SQL.format(c=c)


#: The ids of the files taken out of scope. Every figure leaves them out, with their reads, findings,
#: domain tags and every dependency edge that has an excluded end.
EXCLUDED_IDS = f"SELECT x.id FROM files x WHERE {DEPTH_SQL.format(c='x.depth')} = 'EXCLUDED'"


def not_excluded(c: str) -> str:
    """``c`` (a file id column, maybe NULL) does not name an excluded file."""
    return f"({c} IS NULL OR {c} NOT IN ({EXCLUDED_IDS}))"


def severity(c: str) -> str:
    return SEVERITY_SQL.format(c=c)


@dataclass
class SqlFigures:
    """What plain SQL says (keys are names and ids, values plain numbers)."""

    overall: dict[str, int]
    by_depth: dict[str, tuple[int, int]]
    #: name → (files, loc, files_read, loc_read, then the file count of each of IN_SCOPE_DEPTHS)
    domains: dict[str, tuple[int, ...]]
    packages: dict[str, tuple[int, ...]]
    excluded: dict[str, int]  # files, loc, findings, open_findings, reads, dependencies (all out of the figures)
    domains_excluded: dict[str, int]  # name → excluded files tagged with it
    packages_excluded: dict[str, int]
    hotspots: set[int]
    open_findings: list[int]  # CRITICAL first, then id
    unverified: int
    gaps: dict[int, str]  # file id → tier
    gap_order: list[int]
    growth: list[tuple[int, str, int, int]]  # (session id, label, cumulative files, cumulative LOC)
    session_labels: dict[int, str]
    severity: dict[str, Counter[str]]  # session label (or "no session") → severity counts
    package_links: dict[tuple[str, str], tuple[str, int]]  # (from, to) → (declared relationships, file edges)
    files: dict[int, tuple[str, str]]  # id → (package, path)


def _all(conn: Connection, sql: str, **params: Any) -> list[Any]:
    stmt = text(sql)
    for key, value in params.items():
        if isinstance(value, list | tuple):
            stmt = stmt.bindparams(bindparam(key, expanding=True))
    return list(conn.execute(stmt, params))


def _coverage(conn: Connection, group: str, join: str) -> dict[str, tuple[int, ...]]:
    """Per group, over the in-scope files (``join`` joins ``f`` on in-scope files only).

    A group whose files are all excluded (or that has none) still has one row, with ``f`` all NULL:
    its depth must count nowhere, not as NOT_TOUCHED.
    """
    d = f"CASE WHEN f.id IS NULL THEN NULL ELSE {depth('f.depth')} END"
    rows = _all(conn, f"""
        SELECT {group} AS name, COUNT(f.id), COALESCE(SUM(COALESCE(f.loc, 0)), 0),
               SUM(CASE WHEN {d} {READ_SQL} THEN 1 ELSE 0 END),
               SUM(CASE WHEN {d} {READ_SQL} THEN COALESCE(f.loc, 0) ELSE 0 END),
               SUM(CASE WHEN {d} = 'DEEP' THEN 1 ELSE 0 END), SUM(CASE WHEN {d} = 'MEDIUM' THEN 1 ELSE 0 END),
               SUM(CASE WHEN {d} = 'SURFACE' THEN 1 ELSE 0 END), SUM(CASE WHEN {d} = 'MENTIONED' THEN 1 ELSE 0 END),
               SUM(CASE WHEN {d} = 'NOT_TOUCHED' THEN 1 ELSE 0 END)
        {join} GROUP BY {group}""")
    return {r[0]: tuple(int(v or 0) for v in r[1:]) for r in rows}


def _session_order(conn: Connection) -> list[tuple[int, str]]:
    """(id, label) in campaign order: by the R-number of the name (else the id), then id."""
    rows = _all(conn, "SELECT id, name FROM sessions")

    def number(row: Any) -> int:
        m = re.match(r"^\s*R(\d+)", row.name or "", re.IGNORECASE)
        return int(m.group(1)) if m else int(row.id)
    return [(r.id, r.name or f"R{r.id}") for r in sorted(rows, key=lambda r: (number(r), r.id))]


def sql_figures(url: str, own_packages: tuple[str, ...] = (), min_domains: int = 3) -> SqlFigures:
    engine = open_engine(url)
    dialect = engine.dialect.name
    try:
        with engine.connect() as conn:
            return _sql_figures(conn, dialect, own_packages, min_domains)
    finally:
        engine.dispose()


def _sql_figures(conn: Connection, dialect: str, own: tuple[str, ...], min_domains: int) -> SqlFigures:
    def scalar(sql: str) -> int:
        return int(conn.execute(text(sql)).scalar_one() or 0)

    fd_ = depth("f.depth")
    in_scope = f"{fd_} <> 'EXCLUDED'"
    edge_in_scope = f"{not_excluded('source_file_id')} AND {not_excluded('target_file_id')}"
    count = {t: scalar(f"SELECT COUNT(*) FROM {t}")
             for t in ("packages", "domains", "sessions", "package_dependencies")}
    count["files"] = scalar(f"SELECT COUNT(*) FROM files f WHERE {in_scope}")
    count["file_reads"] = scalar(f"SELECT COUNT(*) FROM file_reads WHERE {not_excluded('file_id')}")
    count["findings"] = scalar(f"SELECT COUNT(*) FROM findings WHERE {not_excluded('file_id')}")
    count["dependencies"] = scalar(f"SELECT COUNT(*) FROM dependencies WHERE {edge_in_scope}")
    count["loc"] = scalar(f"SELECT COALESCE(SUM(COALESCE(loc, 0)), 0) FROM files f WHERE {in_scope}")
    count["files_null_loc"] = scalar(f"SELECT COUNT(*) FROM files f WHERE loc IS NULL AND {in_scope}")
    by_depth = {r[0]: (int(r[1]), int(r[2] or 0)) for r in _all(
        conn, f"SELECT {fd_} AS d, COUNT(*), SUM(COALESCE(loc, 0)) FROM files f WHERE {in_scope} GROUP BY {fd_}")}
    domains = _coverage(conn, "d.name", f"""FROM domains d
        LEFT JOIN (SELECT DISTINCT file_id, domain_id FROM file_domains) fd ON fd.domain_id = d.id
        LEFT JOIN files f ON f.id = fd.file_id AND {in_scope}""")
    packages = _coverage(conn, "p.name", f"FROM packages p LEFT JOIN files f ON f.package_id = p.id AND {in_scope}")
    domains_excluded = {r[0]: int(r[1]) for r in _all(conn, f"""
        SELECT d.name, COUNT(DISTINCT f.id) FROM domains d JOIN file_domains fd ON fd.domain_id = d.id
        JOIN files f ON f.id = fd.file_id WHERE {fd_} = 'EXCLUDED' GROUP BY d.name""")}
    packages_excluded = {r[0]: int(r[1]) for r in _all(conn, f"""
        SELECT p.name, COUNT(*) FROM packages p JOIN files f ON f.package_id = p.id
        WHERE {fd_} = 'EXCLUDED' GROUP BY p.name""")}
    hotspots = {int(r[0]) for r in _all(conn, f"""
        SELECT f.id FROM files f JOIN file_domains fd ON fd.file_id = f.id JOIN domains d ON d.id = fd.domain_id
        WHERE {in_scope} GROUP BY f.id HAVING COUNT(DISTINCT d.name) >= :n""", n=min_domains)}
    sev = severity("fi.severity")
    is_open = f"""{sev} IN ('CRITICAL', 'HIGH') AND COALESCE(fi.followed_up, 0) = 0
        AND NOT EXISTS (SELECT 1 FROM kbgen_finding_status st WHERE st.finding_id = fi.id)"""
    open_rows = _all(conn, f"""
        SELECT fi.id, {sev} AS sev FROM findings fi WHERE {is_open} AND {not_excluded('fi.file_id')}""")
    open_findings = [int(r[0]) for r in sorted(open_rows, key=lambda r: (r.sev != "CRITICAL", r[0]))]
    unverified = scalar(f"SELECT COUNT(*) FROM dependencies WHERE COALESCE(verified, 0) = 0 AND {edge_in_scope}")
    excluded = {
        "files": scalar(f"SELECT COUNT(*) FROM files f WHERE {fd_} = 'EXCLUDED'"),
        "loc": scalar(f"SELECT COALESCE(SUM(COALESCE(loc, 0)), 0) FROM files f WHERE {fd_} = 'EXCLUDED'"),
        "findings": scalar(f"SELECT COUNT(*) FROM findings WHERE file_id IN ({EXCLUDED_IDS})"),
        "open_findings": scalar(f"SELECT COUNT(*) FROM findings fi WHERE {is_open} AND fi.file_id IN ({EXCLUDED_IDS})"),
        "reads": scalar(f"SELECT COUNT(*) FROM file_reads WHERE file_id IN ({EXCLUDED_IDS})"),
        "dependencies": scalar(f"SELECT COUNT(*) FROM dependencies WHERE NOT ({edge_in_scope})"),
    }
    files = {int(r.id): (r.pkg, r.path) for r in _all(conn, """
        SELECT f.id, COALESCE(p.name, '(no package)') AS pkg, COALESCE(f.relative_path, '') AS path
        FROM files f LEFT JOIN packages p ON p.id = f.package_id""")}
    gaps, gap_order = _sql_gaps(conn, dialect, own)
    growth = _sql_growth(conn)
    severity_rows: dict[str, Counter[str]] = defaultdict(Counter)
    labels = dict(_session_order(conn))
    for r in _all(conn, f"""SELECT s.id AS sid, {sev} AS sev, COUNT(*) AS n FROM findings fi
                            LEFT JOIN sessions s ON s.id = fi.session_id WHERE {not_excluded('fi.file_id')}
                            GROUP BY s.id, {sev}"""):
        severity_rows[labels[r.sid] if r.sid is not None else "no session"][r.sev] += int(r.n)
    links: dict[tuple[str, str], tuple[str, int]] = {}
    for r in _all(conn, """SELECT ps.name AS src, pt.name AS dst, pd.relationship AS rel FROM package_dependencies pd
                           JOIN packages ps ON ps.id = pd.source_package_id
                           JOIN packages pt ON pt.id = pd.target_package_id"""):
        rels, n = links.get((r.src, r.dst), ("", 0))
        links[(r.src, r.dst)] = (", ".join(sorted({*filter(None, rels.split(", ")), r.rel})), n)
    for r in _all(conn, f"""SELECT ps.name AS src, pt.name AS dst, COUNT(*) AS n FROM dependencies d
                           JOIN files fs ON fs.id = d.source_file_id JOIN files ft ON ft.id = d.target_file_id
                           JOIN packages ps ON ps.id = fs.package_id JOIN packages pt ON pt.id = ft.package_id
                           WHERE fs.package_id <> ft.package_id AND {depth('fs.depth')} <> 'EXCLUDED'
                             AND {depth('ft.depth')} <> 'EXCLUDED' GROUP BY ps.name, pt.name"""):
        rels, _ = links.get((r.src, r.dst), ("", 0))
        links[(r.src, r.dst)] = (rels, int(r.n))
    return SqlFigures(
        overall=count, by_depth=by_depth, domains=domains, packages=packages, excluded=excluded,
        domains_excluded=domains_excluded, packages_excluded=packages_excluded, hotspots=hotspots,
        open_findings=open_findings, unverified=unverified, gaps=gaps, gap_order=gap_order, growth=growth,
        severity=dict(severity_rows), package_links=links, files=files, session_labels=labels)


def _sql_gaps(conn: Connection, dialect: str, own: tuple[str, ...]) -> tuple[dict[int, str], list[int]]:
    """NOT_TOUCHED source files in HIGH domains, in tiers, with LIKE (case-insensitive, as SQLite's)."""
    cand = ["LOWER(f.relative_path)", "LOWER('/' || f.relative_path)",
            "LOWER(COALESCE(p.name, '(no package)') || '/' || f.relative_path)"]
    params: dict[str, Any] = {f"x{i}": pat.lower() for i, pat in enumerate(DEFAULT_SOURCE_EXCLUDES)}
    not_source = " OR ".join(f"{c} LIKE :x{i}" for i in range(len(DEFAULT_SOURCE_EXCLUDES)) for c in cand)
    excluded = " OR ".join(f"{c} LIKE LOWER(ep.pattern)" for c in cand)
    dir2 = DIR2_SQL[dialect]
    d, dp = depth("f.depth"), depth("peer.depth")
    own_sql = "COALESCE(p.name, '') IN :own" if own else "1 = 0"
    if own:
        params["own"] = list(own)
    rows = _all(conn, f"""
        WITH deep_dirs AS (
          SELECT f.package_id AS package_id, {dir2.format(c='f.relative_path')} AS dir2, COUNT(*) AS n
          FROM files f WHERE {d} = 'DEEP' GROUP BY f.package_id, {dir2.format(c='f.relative_path')})
        SELECT f.id, COALESCE(f.loc, 0) AS loc, COALESCE(p.name, '(no package)') AS pkg, f.relative_path AS path,
          CASE
            WHEN EXISTS (SELECT 1 FROM dependencies dep JOIN files peer
                         ON (dep.source_file_id = f.id AND peer.id = dep.target_file_id)
                         OR (dep.target_file_id = f.id AND peer.id = dep.source_file_id)
                         WHERE {dp} = 'DEEP') THEN 'CONNECTED'
            WHEN {own_sql} THEN 'OWN_CODE'
            WHEN COALESCE(dd.n, 0) >= 3 THEN 'PROXIMATE'
            WHEN COALESCE(dd.n, 0) >= 1 THEN 'NEARBY'
            ELSE 'DOMAIN_ONLY' END AS tier
        FROM files f
        LEFT JOIN packages p ON p.id = f.package_id
        LEFT JOIN deep_dirs dd ON dd.package_id = f.package_id AND dd.dir2 = {dir2.format(c='f.relative_path')}
        WHERE {d} = 'NOT_TOUCHED'
          AND EXISTS (SELECT 1 FROM file_domains fd JOIN domains dm ON dm.id = fd.domain_id
                      WHERE fd.file_id = f.id AND UPPER(TRIM(dm.priority)) = 'HIGH')
          AND NOT ({not_source})
          AND NOT EXISTS (SELECT 1 FROM exclude_paths ep WHERE {excluded})""", **params)
    order = sorted(rows, key=lambda r: (analysis.TIERS.index(r.tier), -r.loc, r.pkg, r.path, r.id))
    return {int(r.id): r.tier for r in rows}, [int(r.id) for r in order]


def _sql_growth(conn: Connection) -> list[tuple[int, str, int, int]]:
    out = []
    done: list[int] = []
    for sid, label in _session_order(conn):
        done.append(sid)
        rd = depth("r.depth")
        rd2 = depth("r2.depth")
        scoped = not_excluded("r.file_id")
        n, loc = conn.execute(text(f"""
            SELECT COUNT(DISTINCT r.file_id),
                   (SELECT COALESCE(SUM(COALESCE(f.loc, 0)), 0) FROM files f WHERE f.id IN (
                      SELECT r2.file_id FROM file_reads r2 WHERE r2.session_id IN :ids AND {rd2} {READ_SQL})
                      AND {not_excluded('f.id')})
            FROM file_reads r WHERE r.session_id IN :ids AND {rd} {READ_SQL} AND {scoped}""").bindparams(
            bindparam("ids", expanding=True)), {"ids": done}).one()
        out.append((sid, label, int(n), int(loc)))
    return out


# -- fixtures -----------------------------------------------------------------------

def own_package(url: str) -> str:
    """A package of the generated database that plays the team's own code (the one with most files)."""
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text(
                "SELECT p.name FROM packages p JOIN files f ON f.package_id = p.id GROUP BY p.name "
                "ORDER BY COUNT(*) DESC, p.name LIMIT 1")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def generated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A generated research database (x0.03) on SQLite and on the throwaway PostgreSQL server."""
    sqlite = request.param == "sqlite"
    url = f"sqlite:///{tmp_path / 'research.db'}" if sqlite else str(request.getfixturevalue("pg_url"))
    generate(url, scale=SCALE, seed=SEED)
    yield url


# -- tests --------------------------------------------------------------------------

def test_figures_match_plain_sql(generated_url: str, tmp_path: Path) -> None:
    own = own_package(generated_url)
    options = Options(project_dir=tmp_path, database=generated_url, own_packages=(own,))
    snap = load_snapshot(open_engine(generated_url), options)
    figs = analysis.figures(snap, options)
    ref = sql_figures(generated_url, (own,))

    o = figs.overall
    assert (o.packages, o.files, o.loc, o.files_null_loc, o.domains, o.sessions, o.reads, o.findings,
            o.dependencies, o.package_dependencies) == tuple(ref.overall[k] for k in (
                "packages", "files", "loc", "files_null_loc", "domains", "sessions", "file_reads", "findings",
                "dependencies", "package_dependencies"))
    assert {d: (n, loc) for d, n, loc in o.by_depth if n} == ref.by_depth
    assert {c.name: (c.files, c.loc, c.files_read, c.loc_read, *(c.depth_count(d) for d in
            IN_SCOPE_DEPTHS)) for c in figs.domains} == ref.domains
    assert {c.name: (c.files, c.loc, c.files_read, c.loc_read, *(c.depth_count(d) for d in
            IN_SCOPE_DEPTHS)) for c in figs.packages} == ref.packages
    assert {f.id for f, _ in figs.hotspots} == ref.hotspots
    assert [x.id for x in figs.open_findings] == ref.open_findings
    assert len(figs.unverified) == ref.unverified
    assert {g.file.id: g.tier for g in figs.gaps} == ref.gaps
    assert [g.file.id for g in figs.gaps] == ref.gap_order
    assert {g.tier for g in figs.gaps} >= {"CONNECTED", "OWN_CODE"}, "the generated data exercises the tiers"
    assert [(p.session.id, p.session.label, p.files, p.loc) for p in figs.growth] == ref.growth
    severities = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN")
    assert {r.label: Counter({s: n for s, n in zip(severities, r.counts, strict=True) if n})
            for r in figs.severity} == ref.severity
    assert {(link.source, link.target): (", ".join(link.relationships), link.file_edges)
            for link in figs.package_links} == ref.package_links
    ex = figs.excluded
    assert {"files": ex.files, "loc": ex.loc, "findings": ex.findings, "open_findings": ex.open_findings,
            "reads": ex.reads, "dependencies": ex.dependencies} == ref.excluded
    assert {c.name: c.excluded_files for c in figs.domains if c.excluded_files} == ref.domains_excluded
    assert {c.name: c.excluded_files for c in figs.packages if c.excluded_files} == ref.packages_excluded
    # what is left out plus what is counted is the whole table
    assert o.files + ex.files == _count(generated_url, "files")
    assert o.findings + ex.findings == _count(generated_url, "findings")
    assert o.dependencies + ex.dependencies == _count(generated_url, "dependencies")


def _count(url: str, table: str) -> int:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_generated_figures_are_not_trivial(tmp_path: Path) -> None:
    """The reference comparison means something only if every figure is non-empty on the generated data,
    and only tests the EXCLUDED rule if excluded files carry everything a figure could count by mistake."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    generate(url, scale=SCALE, seed=SEED)
    ref = sql_figures(url, (own_package(url),))
    assert ref.hotspots and ref.open_findings and ref.unverified and ref.package_links
    assert len(set(ref.gaps.values())) >= 4
    assert ref.growth[-1][2] > 0 and "no session" in ref.severity
    ex = ref.excluded
    assert ex["files"] and ex["loc"] and ex["findings"] and ex["open_findings"] and ex["reads"] and ex["dependencies"]
    assert ref.domains_excluded, "excluded files carry domain tags"


# -- units --------------------------------------------------------------------------

def _file(path: str, package: str = "pkg", depth_: str = "NOT_TOUCHED", fid: int = 1) -> File:
    return File(fid, 1, package, path, 10, depth_, depth_, None, None, None)


@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("%/tests/%", "a/tests/x.ts", True),
    ("%/Tests/%", "a/tests/x.ts", True),  # LIKE is case-insensitive, as in SQLite
    ("dist/%", "dist/x.js", True),
    ("dist/%", "src/dist/x.js", False),
    ("a_c", "abc", True),
    ("a_c", "abbc", False),
    ("%.d.ts", "types/x.d.ts", True),
    ("x.(y)+", "x.(y)+", True),  # regex metacharacters are literal
    ("x.(y)+", "xx(y)", False),
])
def test_like_patterns(pattern: str, path: str, hit: bool) -> None:
    assert bool(analysis.like_to_regex(pattern).match(path)) is hit


@pytest.mark.parametrize(("path", "expected"), [
    ("a/b/c/d.ts", "a/b"), ("a/b/c.ts", "a/b"), ("a/b.ts", "a"), ("b.ts", ""),
])
def test_dir2_is_the_views_two_level_directory(path: str, expected: str) -> None:
    assert analysis.dir2(path) == expected


def test_top_level_tests_folder_is_not_source(tmp_path: Path) -> None:
    from kbgen.model import Snapshot

    snap = Snapshot((), (), (), (), (), (), (), (), (), ())
    options = Options(project_dir=tmp_path)
    assert not analysis.is_source_file(_file("tests/x.ts"), snap, options)
    assert analysis.is_source_file(_file("src/x.ts"), snap, options)


def test_priority_gaps_are_cached_per_options(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    generate(url, scale=0.01, seed=1)
    options = Options(project_dir=tmp_path, database=url)
    snap = load_snapshot(open_engine(url), options)
    first = analysis.priority_gaps(snap, options, high_only=False)
    again = analysis.priority_gaps(snap, options, high_only=False)
    assert first == again and first is not again  # a copy: callers may sort or slice freely
    own = Options(project_dir=tmp_path, database=url, own_packages=(first[0].file.package,))
    assert any(g.tier == "OWN_CODE" for g in analysis.priority_gaps(snap, own, high_only=False))
