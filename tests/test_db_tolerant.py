"""The database layer reads research databases as found in the wild."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kbgen.config import Options
from kbgen.db.engine import open_engine
from kbgen.db.load import load_snapshot
from kbgen.errors import DatabaseError

# The de-facto schema of research-db.md, written by hand as other tools write it —
# plus one unknown column, no optional tables, and a view that references a missing column.
WILD_SCHEMA = """
CREATE TABLE packages (id INTEGER PRIMARY KEY, name TEXT UNIQUE, base_path TEXT, repo_url TEXT,
  description TEXT, total_files INT, total_loc INT, populated_at TEXT);
CREATE TABLE files (id INTEGER PRIMARY KEY, package_id INT REFERENCES packages(id), relative_path TEXT,
  loc INT, depth TEXT, lines_read INT, last_read_date TEXT, notes TEXT, UNIQUE(package_id, relative_path));
CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT UNIQUE, description TEXT, priority TEXT,
  synthesis_path TEXT);
CREATE TABLE file_domains (file_id INT, domain_id INT, PRIMARY KEY (file_id, domain_id));
CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT, date TEXT, focus TEXT, agent_count INT, notes TEXT);
CREATE TABLE file_reads (id INTEGER PRIMARY KEY, file_id INT, session_id INT, depth TEXT, lines_read INT,
  line_ranges TEXT, notes TEXT);
CREATE TABLE findings (id INTEGER PRIMARY KEY, file_id INT, session_id INT, line_start INT, line_end INT,
  severity TEXT, category TEXT, description TEXT, followed_up INT, reviewer TEXT);
CREATE TABLE dependencies (id INTEGER PRIMARY KEY, source_file_id INT, target_file_id INT, relationship TEXT,
  evidence TEXT, verified INT, UNIQUE(source_file_id, target_file_id, relationship));
CREATE VIEW domain_coverage AS SELECT d.name, f.file_type FROM domains d JOIN files f;
INSERT INTO packages VALUES (1, 'core', 'crates/core', NULL, NULL, 0, NULL, NULL);
INSERT INTO packages VALUES (2, 'copy', 'vendor/core', NULL, NULL, 0, NULL, NULL);
INSERT INTO files VALUES (10, 1, 'src/lib.rs', 120, 'deep', 100, '2026-01-02', NULL);
INSERT INTO files VALUES (11, 2, 'src/lib.rs', NULL, 'Not_Touched', NULL, NULL, NULL);
INSERT INTO domains VALUES (1, 'core-engine', 'Engine', 'high', 'domains/core-engine/analysis.md');
INSERT INTO file_domains VALUES (10, 1), (11, 1);
INSERT INTO sessions VALUES (3, 'R3-verify', '2026-01-02', 'verify', 2, NULL);
INSERT INTO sessions VALUES (25, 'R25', '2026-01-02', 'same day', 1, NULL);
INSERT INTO file_reads VALUES (1, 10, 3, 'DEEP', 100, '1-100', NULL);
INSERT INTO findings VALUES (1, 10, 3, 5, 9, 'High', 'ARCHITECTURE', 'Uses `unsafe` | twice', 0, 'ann');
INSERT INTO findings VALUES (2, 10, NULL, NULL, NULL, 'critical', 'Integration Point', 'No session', 1, NULL);
INSERT INTO findings VALUES (3, 11, 25, 1, 1, 'SEVERE?', 'quality', 'Unknown severity', 0, NULL);
"""


def _wild_db(tmp_path: Path) -> str:
    path = tmp_path / "wild.db"
    con = sqlite3.connect(path)
    con.executescript(WILD_SCHEMA)
    con.close()
    return f"sqlite:///{path}"


def test_reads_a_wild_database(tmp_path: Path) -> None:
    url = _wild_db(tmp_path)
    engine = open_engine(url)
    # The view really is broken: querying it fails...
    with pytest.raises(Exception), engine.connect() as conn:  # noqa: B017
        conn.exec_driver_sql("SELECT * FROM domain_coverage").fetchall()
    # ...and kbgen reads the database regardless.
    snap = load_snapshot(engine, Options(project_dir=tmp_path), url)
    assert [f.severity for f in snap.findings] == ["HIGH", "CRITICAL", "UNKNOWN"]
    assert [f.severity_raw for f in snap.findings] == ["High", "critical", "SEVERE?"]
    assert snap.findings[0].category == "architecture" and snap.findings[0].category_raw == "ARCHITECTURE"
    assert snap.findings[1].category == "integration-point"
    assert snap.findings[1].session_id is None
    assert {f.depth for f in snap.files} == {"DEEP", "NOT_TOUCHED"}
    assert [f.package for f in snap.files] == ["core", "copy"]  # same relative path in two packages
    assert snap.file_by_id[11].loc is None
    assert snap.dependencies == () and snap.package_dependencies == () and snap.exclude_paths == ()
    assert snap.session_by_number[3].name == "R3-verify" and snap.session_by_number[25].id == 25
    assert snap.domains[0].priority == "HIGH" and snap.domains[0].priority_raw == "high"
    engine.dispose()


def test_missing_research_tables_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).execute("CREATE TABLE other (x INT)")
    engine = open_engine(f"sqlite:///{path}")
    with pytest.raises(DatabaseError, match=r"not a research database.*missing tables: packages"):
        load_snapshot(engine, Options(project_dir=tmp_path))


def test_missing_and_non_sqlite_files(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="database file not found"):
        open_engine(f"sqlite:///{tmp_path / 'nope.db'}")
    bogus = tmp_path / "bogus.db"
    bogus.write_text("hello, I am text")
    with pytest.raises(DatabaseError, match="is not a SQLite database"):
        open_engine(f"sqlite:///{bogus}")


def test_reads_the_same_database_on_postgres(pg_url: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    engine = open_engine(pg_url)
    statements = [s for s in WILD_SCHEMA.split(";") if s.strip() and "CREATE VIEW" not in s]
    with engine.begin() as conn:
        for stmt in statements:
            conn.execute(text(stmt.replace("INTEGER PRIMARY KEY", "INT PRIMARY KEY")))
    snap = load_snapshot(engine, Options(project_dir=tmp_path), pg_url)
    assert [f.severity for f in snap.findings] == ["HIGH", "CRITICAL", "UNKNOWN"]
    assert snap.findings[0].description == "Uses `unsafe` | twice"
    engine.dispose()


def test_domain_names_that_fold_together_get_distinct_need_ids(tmp_path: Path) -> None:
    from kbgen.model import Domain, Snapshot
    from kbgen.render.view import SiteLayout, SiteView

    domains = (Domain(1, "a<b", None, "HIGH", None, None), Domain(2, "a>b", None, "LOW", None, None))
    snap = Snapshot(packages=(), files=(), domains=domains, file_domains=(), sessions=(), reads=(), findings=(),
                    dependencies=(), package_dependencies=(), exclude_paths=())
    ids = SiteView(snap, SiteLayout()).domain_need_ids
    assert ids == {"a<b": "D-A-B", "a>b": "D-A-B-2"}
