"""``kbgen report`` reads its figures straight from the database (:mod:`kbgen.report_sql`):
the same bytes as the snapshot path (the whole snapshot and :func:`kbgen.analysis.figures`,
as the site computes them), on the example database, on a generated campaign with the
research-database quirks written into it, and on PostgreSQL; without SQLAlchemy on SQLite.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.synthetic import generate
from kbgen.config import Options, load_options
from kbgen.report import make_report
from kbgen.report_sql import read_report
from tests.test_dashboard import generated_project

#: The quirks of docs/reference/research-database.md written into a generated campaign:
#: depth, severity and category spellings, NULLs where tools leave them, rows pointing at
#: nothing, kbgen's own statuses and aliases. Portable SQL (SQLite and PostgreSQL).
QUIRKS = (
    "UPDATE files SET depth = 'deep' WHERE id % 17 = 1 AND depth = 'DEEP'",
    "UPDATE files SET depth = ' Medium ' WHERE id % 13 = 2 AND depth = 'MEDIUM'",
    "UPDATE files SET depth = 'not-touched' WHERE id % 11 = 3 AND depth = 'NOT_TOUCHED'",
    "UPDATE files SET depth = NULL WHERE id % 19 = 4 AND depth = 'NOT_TOUCHED'",
    "UPDATE files SET depth = 'excluded' WHERE id % 7 = 5 AND depth = 'EXCLUDED'",
    "UPDATE files SET depth = 'Excluded' WHERE id % 23 = 6",
    "UPDATE files SET depth = 'half-read' WHERE id % 29 = 7",
    "UPDATE exclude_paths SET pattern = NULL WHERE id = 1",
    "UPDATE files SET loc = NULL WHERE id % 31 = 8",
    "UPDATE files SET package_id = 9999 WHERE id % 37 = 9",
    "UPDATE files SET package_id = NULL WHERE id % 41 = 10",
    "UPDATE findings SET severity = 'High' WHERE id % 5 = 1 AND severity = 'HIGH'",
    "UPDATE findings SET severity = 'critical ' WHERE id % 7 = 2 AND severity = 'CRITICAL'",
    "UPDATE findings SET severity = NULL WHERE id % 41 = 3",
    "UPDATE findings SET category = NULL WHERE id % 43 = 4",
    "UPDATE findings SET category = 'Security' WHERE id % 9 = 5",
    "UPDATE findings SET category = 'STUB ' WHERE id % 47 = 6",
    "UPDATE findings SET followed_up = NULL WHERE id % 53 = 7",
    "UPDATE findings SET session_id = NULL WHERE id % 11 = 8",
    "UPDATE findings SET session_id = 9999 WHERE id % 59 = 9",
    "UPDATE findings SET file_id = 999999 WHERE id % 61 = 10",
    "UPDATE findings SET file_id = NULL WHERE id % 67 = 11",
    "UPDATE findings SET description = NULL WHERE id % 3 = 0",
    "UPDATE dependencies SET verified = NULL WHERE id % 7 = 1",
    "UPDATE dependencies SET target_file_id = 999999 WHERE id % 71 = 2",
    "UPDATE dependencies SET source_file_id = NULL WHERE id % 73 = 3",
    "UPDATE domains SET priority = 'high' WHERE id = 1",
    "UPDATE domains SET priority = NULL WHERE id = 2",
    "UPDATE domains SET description = NULL WHERE id = 3",
    "UPDATE sessions SET name = 'kickoff' WHERE id = 1",
    "UPDATE sessions SET name = NULL WHERE id = 2",
    "INSERT INTO package_dependencies (source_package_id, target_package_id, relationship, notes) "
    "VALUES (1, 9999, NULL, NULL)",
    "INSERT INTO exclude_paths (pattern, reason) VALUES ('%/kbgen-test-only/%', 'a pattern no file matches')",
    "INSERT INTO kbgen_finding_status (finding_id, status, session_id, superseded_by, reason, updated_at) "
    "SELECT id, 'resolved', NULL, NULL, 'fixed', '2026-01-01' FROM findings "
    "WHERE id % 10 = 3 AND id NOT IN (SELECT finding_id FROM kbgen_finding_status)",
    "DELETE FROM kbgen_category_aliases WHERE alias = 'security'",
    "INSERT INTO kbgen_category_aliases (alias, canonical, note, created_at) "
    "VALUES ('security', 'bug', 'test', '2026-01-01')",
)


def _quirky(url: str, tmp_path: Path, scale: float) -> Options:
    """A generated campaign with :data:`QUIRKS` (on PostgreSQL, whose foreign keys refuse rows
    pointing at nothing, the NULL ones only)."""
    generate(url, scale=scale, seed=11)
    options = generated_project(tmp_path / "kb", url)
    from kbgen.db.engine import open_engine
    from kbgen.db.migrate import upgrade

    engine = open_engine(url)
    try:
        upgrade(engine)  # kbgen's tables at this kbgen's revision, as any command leaves them
        from sqlalchemy import text

        with engine.begin() as conn:
            for statement in QUIRKS:
                if url.startswith("sqlite") or "9999" not in statement:
                    conn.execute(text(statement))
    finally:
        engine.dispose()
    return options


def _same(options: Options) -> str:
    assert read_report(options) is not None, "the direct reader fell back to the snapshot"
    direct = make_report(options).text
    reference = make_report(options, snapshot=True).text
    assert direct == reference
    return direct


def test_example_database_same_bytes(example_project: Options) -> None:
    text = _same(example_project)
    assert "## Open findings" in text and "## Top" in text


def test_quirky_campaign_same_bytes(tmp_path: Path) -> None:
    """x0.1 with every quirk: the two paths agree, and the quirks do reach the figures."""
    options = _quirky(f"sqlite:///{tmp_path / 'research.db'}", tmp_path, 0.1)
    text = _same(options)
    assert "LOC excluded" in text  # EXCLUDED files, in several spellings, counted apart
    assert "(no package)" in text  # files of a package that does not exist
    assert "package 9999" in text  # a declared edge to a package that does not exist
    _same_stats(options)


def _same_stats(options: Options) -> None:
    """``kbgen stats`` prints the same tables from either path; its severity totals (now summed
    over the category rows) are those of :func:`kbgen.analysis.findings_by_severity`."""
    from kbgen import analysis, vocab
    from kbgen.cli.common import console
    from kbgen.cli.report_cmd import print_stats
    from kbgen.report import load, read_figures

    printed = []
    for snapshot in (False, True):
        with console.capture() as captured:
            print_stats(read_figures(options, snapshot=snapshot)[0])
        printed.append(captured.get())
    assert printed[0] == printed[1] and "Findings by severity" in printed[0]
    figs = analysis.figures(load(options), options)
    by_session = [sum(r.counts[i] for r in figs.severity) for i in range(len(vocab.SEVERITIES))]
    assert by_session == [sum(r.counts[i] for r in figs.categories) for i in range(len(vocab.SEVERITIES))]


def test_postgresql_same_bytes(pg_url: str, tmp_path: Path) -> None:
    options = _quirky(pg_url, tmp_path, 0.03)
    _same(options)
    _same_stats(options)


def test_older_kbgen_tables_fall_back_to_the_snapshot(tmp_path: Path) -> None:
    """kbgen tables at another revision: the snapshot path, which knows every revision, answers."""
    options = _quirky(f"sqlite:///{tmp_path / 'research.db'}", tmp_path, 0.02)
    with sqlite3.connect(tmp_path / "research.db") as conn:
        conn.execute("UPDATE kbgen_alembic_version SET version_num = '0003'")
    assert read_report(options) is None
    assert make_report(options).text == make_report(options, snapshot=True).text


def test_no_research_tables_is_the_usual_error(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x INT)")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "kbgen.yaml").write_text(f"database: sqlite:///{db}\n", encoding="utf-8")
    options = load_options(tmp_path)
    assert read_report(options) is None
    proc = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(options.project_dir), "report"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 3 and "is not a research database" in proc.stderr, proc.stderr


def test_report_on_sqlite_imports_no_sqlalchemy(tmp_path: Path) -> None:
    """The command reads SQLite with the standard library: no SQLAlchemy, Alembic or plan parser."""
    url = f"sqlite:///{tmp_path / 'research.db'}"
    generate(url, scale=0.02, seed=3)
    project = generated_project(tmp_path / "kb", url).project_dir
    probe = f"""
import json, sys
from kbgen.cli import app
sys.argv = ["kbgen", "--project", {str(project)!r}, "-q", "report", "-o", {str(tmp_path / 'MI.md')!r}]
try:
    app(standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert (tmp_path / "MI.md").is_file()
    assert not loaded & {"sqlalchemy", "alembic", "markdown_it", "jinja2", "sphinx"}, sorted(loaded)


@pytest.mark.parametrize("snapshot", [False, True])
def test_result_reports_its_figures(example_project: Options, snapshot: bool) -> None:
    result = make_report(example_project, snapshot=snapshot)
    assert result.figures.overall.files > 0 and result.load_seconds <= result.seconds


def test_locked_database_fails_once_after_the_busy_timeout(tmp_path: Path) -> None:
    """A writer's lock: one clear error after one busy timeout (not a second wait on the snapshot path)."""
    url = f"sqlite:///{tmp_path / 'research.db'}"
    generate(url, scale=0.01, seed=3)
    project = generated_project(tmp_path / "kb", url).project_dir
    holder = sqlite3.connect(tmp_path / "research.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(project), "report"],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "KBGEN_SQLITE_BUSY_TIMEOUT": "2"})
        waited = time.perf_counter() - started
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 3, proc.stderr
    assert "database is locked" in proc.stderr and "KBGEN_SQLITE_BUSY_TIMEOUT" in proc.stderr
    assert 2 <= waited < 4, waited  # one busy timeout, then the error


def test_like_filters_answer_as_the_regex_does() -> None:
    """The string-method shortcuts of :func:`kbgen.analysis.matches_any` and
    :func:`kbgen.analysis.is_source_path` agree with the anchored LIKE regex over every path
    candidate: case, ``_``, patterns of every shape, non-ASCII text and a final newline (which
    the regex's ``$`` lets through) included."""
    import random

    from kbgen.analysis import _any_regex, is_source_path, matches_any
    from kbgen.config import DEFAULT_SOURCE_EXCLUDES

    rng = random.Random(7)
    pool = [*DEFAULT_SOURCE_EXCLUDES, "%.lock", "dist/%", "%", "%%", "a%b", "_", "x", "", "DOCS/%", "%.Md", "é%",
            "%x_", "%node_modules/%", "%/__tests__/%", "docs/_build/%", "_a%", "%a_b", "/x%", "pk_/%"]
    for _ in range(30_000):
        patterns = (*rng.sample(pool, rng.randint(0, 6)),
                    *("".join(rng.choice("abT/._-%xyzé") for _ in range(rng.randint(0, 5)))
                      for _ in range(rng.randint(0, 2))))
        path = "".join(rng.choice("abT/._-xyzdocsTESTéK\n") for _ in range(rng.randint(0, 14)))
        package = "".join(rng.choice("pkabx/_é\n") for _ in range(rng.randint(0, 4)))
        regex = _any_regex(patterns)
        assert matches_any(path, patterns) == (regex is not None and regex.match(path) is not None), (patterns, path)
        candidates = (path, "/" + path, f"{package}/{path}")
        source = not any(regex is not None and regex.match(c) is not None for c in candidates)
        assert is_source_path(path, package, patterns, ()) == source, (patterns, path, package)


def test_minimal_research_database_same_bytes(tmp_path: Path) -> None:
    """No kbgen tables, no optional research tables, optional columns missing: read as NULL and empty."""
    url = f"sqlite:///{tmp_path / 'research.db'}"
    generate(url, scale=0.02, seed=4)
    options = generated_project(tmp_path / "kb", url)
    with sqlite3.connect(tmp_path / "research.db") as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
            conn.execute(f'DROP VIEW "{name}"')
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                    "(name LIKE 'kbgen%' OR name IN ('dependencies', 'package_dependencies', "
                                    "'exclude_paths'))").fetchall():
            conn.execute(f'DROP TABLE "{name}"')
        conn.execute("ALTER TABLE files DROP COLUMN loc")
        conn.execute("ALTER TABLE domains DROP COLUMN synthesis_path")
        conn.execute("ALTER TABLE sessions DROP COLUMN date")
    text = _same(options)
    assert "No package edges recorded." in text
