"""``kbgen db copy`` and ``kbgen db checksum``: SQLite ↔ PostgreSQL, verified, nothing half-written.

Every test uses real databases: SQLite files and the suite's throwaway PostgreSQL server.
"""

from __future__ import annotations

import decimal
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, insert, inspect, text

from bench.synthetic import generate
from kbgen.db import copy as copy_module
from kbgen.db.checksum import Checksum, normalise, row_digest
from kbgen.db.copy import copy_database
from kbgen.db.copy_views import sqlite_view_sql
from kbgen.db.engine import open_engine
from kbgen.errors import DatabaseError, UsageError

pytestmark = pytest.mark.postgres


def kbgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def checksums(url: str) -> dict[str, Any]:
    result = kbgen("db", "checksum", "--json", url)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small synthetic campaign (every quirk present), generated once: copy tests only read it."""
    path = tmp_path_factory.mktemp("campaign") / "research.db"
    generate(f"sqlite:///{path}", scale=0.03, seed=11)
    return f"sqlite:///{path}"


# -- checksums ---------------------------------------------------------------------------------


def test_normalised_values_agree_across_drivers() -> None:
    assert normalise(3) == normalise(3.0) == normalise(decimal.Decimal("3")) == normalise(decimal.Decimal("3.00"))
    assert normalise(1.5) == normalise(decimal.Decimal("1.50")) == "1.5"
    assert normalise(True) == normalise(1) and normalise(False) == normalise(0)
    assert normalise(b"\x00\xff") == normalise(memoryview(b"\x00\xff")) == normalise(bytearray(b"\x00\xff"))
    assert normalise("5") == normalise(5)  # a loosely typed SQLite value copied into a TEXT column
    assert normalise(None) is None and normalise("") == ""
    assert row_digest(["a", "b"], [None, "x"]) != row_digest(["a", "b"], ["", "x"])
    assert row_digest(["a", "b"], [1, "x"]) == row_digest(["b", "a"], ["x", 1])  # column order does not matter
    one, two = Checksum(("a",)), Checksum(("a",))
    one.add_all([(1,), (2,), (3,)])
    two.add_all([(3,), (1,), (2,)])
    assert one.hexdigest == two.hexdigest  # row order does not matter
    two.add((3,))
    assert one.hexdigest != two.hexdigest  # but every row counts, duplicates included


# -- the acceptance round trip -------------------------------------------------------------------


def test_sqlite_to_postgres_to_sqlite_keeps_every_table(campaign: str, pg_url: str, tmp_path: Path) -> None:
    out = kbgen("db", "copy", campaign, pg_url)
    assert out.returncode == 0, out.stderr
    assert "Verification" in out.stdout and "every table's rows and checksum match" in out.stdout
    assert "view integration_hotspots: copied" in out.stdout
    assert "view domain_coverage: not copied" in out.stdout  # PostgreSQL refuses a view over a missing column
    assert "sequences continue after the copied ids" in out.stdout
    back = f"sqlite:///{tmp_path / 'back.db'}"
    out = kbgen("db", "copy", "--json", pg_url, back)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["committed"] and report["verified"]
    assert {v["view"]: v["status"] for v in report["views"]}["open_findings"].startswith("copied (PostgreSQL casts")
    original, on_pg, returned = checksums(campaign), checksums(pg_url), checksums(back)
    assert original == returned == on_pg
    assert original["findings"]["rows"] > 100 and "kbgen_answers" in original and "kbgen_alembic_version" in original
    engine = open_engine(back, readonly=True)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("findings")}
        assert "reviewer" in columns  # the source's extra column came along
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM open_findings")).scalar_one() > 0
    finally:
        engine.dispose()


def test_new_rows_on_the_postgres_copy_get_new_ids(campaign: str, pg_url: str) -> None:
    """A team script inserting without ids after the move: sequences continue, no key collides."""
    copy_database(campaign, pg_url)
    engine = open_engine(pg_url)
    try:
        meta = MetaData()
        tables = {name: Table(name, meta, autoload_with=engine)
                  for name in ("packages", "files", "sessions", "file_reads", "findings", "dependencies",
                               "kbgen_plans")}
        with engine.connect() as conn:
            top = {name: conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {name}")).scalar_one()
                   for name in tables}
        with engine.begin() as conn:
            session_id = conn.execute(insert(tables["sessions"]).values(
                name="R900", date="2026-01-01", focus="after the move").returning(tables["sessions"].c.id)).scalar_one()
            package_id = conn.execute(insert(tables["packages"]).values(name="new-pkg").returning(
                tables["packages"].c.id)).scalar_one()
            file_id = conn.execute(insert(tables["files"]).values(
                package_id=package_id, relative_path="src/new.ts", loc=10, depth="DEEP").returning(
                tables["files"].c.id)).scalar_one()
            read_id = conn.execute(insert(tables["file_reads"]).values(
                file_id=file_id, session_id=session_id, depth="DEEP", lines_read=10).returning(
                tables["file_reads"].c.id)).scalar_one()
            finding_ids = [conn.execute(insert(tables["findings"]).values(
                file_id=file_id, session_id=session_id, severity="HIGH", category="bug",
                description=f"new {i}").returning(tables["findings"].c.id)).scalar_one() for i in range(3)]
            dep_id = conn.execute(insert(tables["dependencies"]).values(
                source_file_id=file_id, target_file_id=1, relationship="imports").returning(
                tables["dependencies"].c.id)).scalar_one()
            plan_id = conn.execute(insert(tables["kbgen_plans"]).values(
                session=900, source_path="plans/R900-plan.md", content_hash="x", data="{}",
                imported_at="2026-01-01T00:00:00Z").returning(tables["kbgen_plans"].c.id)).scalar_one()
            followed = conn.execute(text("SELECT followed_up FROM findings WHERE id = :i"),
                                    {"i": finding_ids[0]}).scalar_one()
    finally:
        engine.dispose()
    assert session_id == top["sessions"] + 1 and package_id == top["packages"] + 1
    assert file_id == top["files"] + 1 and read_id == top["file_reads"] + 1
    assert finding_ids == [top["findings"] + i for i in (1, 2, 3)]
    assert dep_id == top["dependencies"] + 1 and plan_id == top["kbgen_plans"] + 1
    assert followed in (0, None)


def test_a_non_empty_target_is_refused_unless_replace(campaign: str, pg_url: str, tmp_path: Path) -> None:
    copy_database(campaign, pg_url)
    before = checksums(pg_url)
    other = tmp_path / "other.db"
    generate(f"sqlite:///{other}", scale=0.01, seed=5, hostile=False)
    refused = kbgen("db", "copy", f"sqlite:///{other}", pg_url)
    assert refused.returncode == 2
    assert "the target database is not empty" in refused.stderr and "--replace" in refused.stderr
    assert checksums(pg_url) == before
    replaced = kbgen("db", "copy", "--replace", f"sqlite:///{other}", pg_url)
    assert replaced.returncode == 0, replaced.stderr
    assert checksums(pg_url) == checksums(f"sqlite:///{other}")
    same = kbgen("db", "copy", f"sqlite:///{other}", f"sqlite:///{other}")
    assert same.returncode == 2 and "same database" in same.stderr


def test_an_empty_kbgen_db_init_target_is_accepted(campaign: str, pg_url: str) -> None:
    assert kbgen("db", "init", pg_url).returncode == 0
    result = kbgen("db", "copy", campaign, pg_url)
    assert result.returncode == 0, result.stderr
    assert "replaced in the target: " in result.stdout
    assert checksums(pg_url) == checksums(campaign)


# -- loose SQLite, as found in the wild --------------------------------------------------------------

WILD_SCHEMA = """
CREATE TABLE packages (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, base_path, total_files INT,
                       total_loc BIGINT, populated_at DATETIME);
CREATE TABLE files (id INTEGER PRIMARY KEY, package_id INTEGER REFERENCES packages(id), relative_path TEXT,
                    loc INTEGER, depth TEXT, lines_read INTEGER, last_read_date TEXT, notes TEXT, score REAL,
                    blob_col BLOB, loose, UNIQUE(package_id, relative_path));
CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT, description TEXT, priority TEXT, synthesis_path TEXT);
CREATE TABLE file_domains (file_id INTEGER, domain_id INTEGER, PRIMARY KEY (file_id, domain_id));
CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT, date TEXT, focus TEXT, agent_count INTEGER, notes TEXT);
CREATE TABLE file_reads (id INTEGER PRIMARY KEY, file_id INTEGER, session_id INTEGER, depth TEXT,
                         lines_read INTEGER, line_ranges TEXT, notes TEXT);
CREATE TABLE findings (id INTEGER, file_id INTEGER, session_id INTEGER, line_start INTEGER, line_end INTEGER,
                       severity TEXT, category TEXT, description TEXT, followed_up BOOLEAN DEFAULT 0,
                       created TEXT DEFAULT (datetime('now')));
CREATE INDEX ix_findings_file ON findings (file_id);
CREATE TRIGGER touch_file AFTER INSERT ON file_reads BEGIN UPDATE files SET notes = notes WHERE id = NEW.file_id; END;
CREATE VIEW deep_files AS SELECT id, relative_path FROM files WHERE depth = 'DEEP';
CREATE VIEW padded_paths AS SELECT id, printf('%05d', id) AS padded, group_concat(relative_path) AS paths
    FROM files GROUP BY id;
INSERT INTO packages (id, name, base_path, total_files, total_loc, populated_at) VALUES
    (1, 'core', '~/core', 3, 5000000000, '2025-01-01 10:00:00'), (2, 'ünïcode-pkg', NULL, 0, NULL, NULL),
    (7, 'deleted-later', NULL, 0, 0, NULL);
DELETE FROM packages WHERE id = 7;
INSERT INTO files (id, package_id, relative_path, loc, depth, lines_read, notes, score, blob_col, loose) VALUES
    (1, 1, 'src/a.rs', 120, 'DEEP', 120, 'n', 0.5, x'00ff10', 42),
    (2, 1, 'src/b.rs', NULL, 'surface', NULL, NULL, 3, NULL, 'forty-two'),
    (3, 2, 'lib/ü.ts', 'n/a', 'DEEP', 4, 'emoji 🚀 and "quotes" | pipes', NULL, NULL, 4.25);
INSERT INTO domains VALUES (1, 'core-domain', NULL, 'HIGH', NULL);
INSERT INTO file_domains VALUES (1, 1), (3, 1);
INSERT INTO sessions VALUES (1, 'R1', '2025-01-02', 'first', 2, NULL), (25, 'R25', '2025-02-01', NULL, NULL, NULL);
INSERT INTO file_reads VALUES (1, 1, 1, 'DEEP', 120, '1-120', NULL), (2, 3, 25, 'DEEP', 4, NULL, NULL);
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up)
    VALUES (1, 1, 1, 3, 9, 'HIGH', 'Fabricated_Data', 'x', 0), (2, 3, NULL, NULL, NULL, 'high', NULL, '', 1),
           (5, 2, 25, 1, 1, 'CRITICAL', 'bug', 'line
break', 'yes');
"""


@pytest.fixture
def wild(tmp_path: Path) -> str:
    import sqlite3

    path = tmp_path / "wild.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(WILD_SCHEMA)
    return f"sqlite:///{path}"


def test_loose_sqlite_types_survive_the_round_trip(wild: str, pg_url: str, tmp_path: Path) -> None:
    out = kbgen("db", "copy", wild, pg_url)
    assert out.returncode == 0, out.stderr
    notes = out.stdout
    assert "files: loc (INTEGER) holds text values: copied as text" in notes
    assert "packages: total_loc (BIGINT) holds integers beyond 32 bits: copied as bigint" in notes
    assert "files: loose (no type) holds text values: copied as text" in notes
    assert "findings: no primary key in the source: (id) declared, as the research schema documents" in notes
    assert "default of created (datetime('now')) is not portable: not copied" in notes
    assert "followed_up (BOOLEAN) holds text values: copied as text" in notes  # one row says 'yes'
    assert "populated_at" not in notes  # dates as text in a DATETIME column are what everyone expects
    assert "trigger touch_file (on file_reads): not copied" in notes
    assert "view deep_files: copied" in notes and "view padded_paths: not copied" in notes
    # AUTOINCREMENT's high-water mark (7, a deleted row) is honoured: ids are never reused.
    assert "packages → 8" in notes
    engine = open_engine(pg_url)
    try:
        types = {c["name"]: str(c["type"]) for c in inspect(engine).get_columns("files")}
        assert types["loc"] == "TEXT" and types["blob_col"] == "BYTEA" and types["score"].startswith("DOUBLE")
        assert inspect(engine).get_pk_constraint("findings")["constrained_columns"] == ["id"]
        with engine.begin() as conn:
            new = conn.execute(text("INSERT INTO findings (file_id, severity, category, description) "
                                    "VALUES (1, 'LOW', 'bug', 'after') RETURNING id, followed_up")).one()
            assert new.id == 6 and new.followed_up == "0"  # sequence continues; the default came along (as text)
            conn.execute(text("DELETE FROM findings WHERE id = 6"))
    finally:
        engine.dispose()
    back = f"sqlite:///{tmp_path / 'back.db'}"
    out = kbgen("db", "copy", pg_url, back)
    assert out.returncode == 0, out.stderr
    original, returned = checksums(wild), checksums(back)
    assert original == returned
    engine = open_engine(back)
    try:
        with engine.begin() as conn:  # the returned file still never reuses id 7
            assert conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'packages'")).scalar_one() == 7
            assert conn.execute(text("INSERT INTO packages (name) VALUES ('later') RETURNING id")).scalar_one() == 8
            assert conn.execute(text("INSERT INTO files (relative_path) VALUES ('x') RETURNING id")).scalar_one() == 4
    finally:
        engine.dispose()


def test_nul_characters_are_refused_before_anything_is_written(wild: str, pg_url: str) -> None:
    engine = open_engine(wild)
    with engine.begin() as conn:
        conn.execute(text("UPDATE files SET notes = 'a' || char(0) || 'b' WHERE id = 1"))
    engine.dispose()
    result = kbgen("db", "copy", wild, pg_url)
    assert result.returncode == 2
    assert "files.notes: 1 text values contain a NUL character" in result.stderr
    pg = open_engine(pg_url)
    try:
        assert inspect(pg).get_table_names() == []
    finally:
        pg.dispose()


def test_a_failed_copy_leaves_no_target_file(wild: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "copy.db"
    real = copy_module._copy_rows
    calls = []

    def failing(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise DatabaseError("simulated failure in the middle of the copy")
        real(*args, **kwargs)

    monkeypatch.setattr(copy_module, "_copy_rows", failing)
    with pytest.raises(DatabaseError, match="simulated"):
        copy_database(wild, f"sqlite:///{target}")
    assert not target.exists() and not list(target.parent.glob("copy.db*"))


def test_a_failed_copy_into_an_existing_file_leaves_it_byte_identical(
        wild: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "existing.db"
    shutil.copy(Path(wild.removeprefix("sqlite:///")), target)
    before = target.read_bytes()

    def failing(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("simulated failure")

    monkeypatch.setattr(copy_module, "_copy_rows", failing)
    with pytest.raises(DatabaseError):
        copy_database(wild, f"sqlite:///{target}", replace=True)
    assert target.read_bytes() == before


def test_a_source_that_is_not_a_research_database_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    result = kbgen("db", "copy", f"sqlite:///{path}", f"sqlite:///{tmp_path / 'out.db'}")
    assert result.returncode == 3 and "not a research database" in result.stderr
    assert not (tmp_path / "out.db").exists()
    with pytest.raises(UsageError, match="same database"):
        copy_database(f"sqlite:///{path}", f"sqlite:///{tmp_path}/./other.db")


def test_postgres_view_definitions_read_back_in_sqlite() -> None:
    printed = ("CREATE VIEW v AS SELECT fi.id, 'x'::character varying(10) AS kind FROM findings fi "
               "WHERE ((upper(fi.severity) = ANY (ARRAY['CRITICAL'::text, 'HIGH'::text])) "
               "AND (fi.category <> ALL (ARRAY['stub'::text])))")
    assert sqlite_view_sql(printed) == (
        "CREATE VIEW v AS SELECT fi.id, 'x' AS kind FROM findings fi WHERE ((upper(fi.severity) IN "
        "('CRITICAL', 'HIGH')) AND (fi.category NOT IN ('stub')))")


def test_the_site_from_the_postgres_copy_is_the_same_site(example_project: Any, pg_url: str) -> None:
    """The example, synced from SQLite, then synced again from its PostgreSQL copy: not one page changes."""
    from kbgen.db.engine import resolve_url
    from kbgen.sync import sync

    root = example_project.generated_path
    before = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}
    copy_database(resolve_url(example_project.database, example_project.project_dir), pg_url)
    report = sync(example_project.with_database(pg_url), force=True)
    assert report.written == [] and not report.removed
    after = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}
    assert after == before


def test_kbgen_record_on_the_postgres_copy_adds_rows_with_new_ids(tmp_path: Path, pg_url: str) -> None:
    """The move to a shared server, then the next session recorded there: new ids, no key collision."""
    import yaml

    from kbgen.scaffold import init_project
    from tests.recordkit import fill_seed_worksheet, write_worksheet
    from tests.seedplan import SEED_PLAN, make_seed_db

    source = f"sqlite:///{tmp_path / 'research.db'}"
    make_seed_db(source)
    out = kbgen("db", "copy", source, pg_url)
    assert out.returncode == 0, out.stderr
    before = {t: query_one(pg_url, f"SELECT max(id) FROM {t}") for t in ("findings", "file_reads", "dependencies")}

    project = tmp_path / "kb"
    init_project(project, title="Moved")
    start = kbgen("--project", str(project), "--db", pg_url, "session", "start", "R95", "--plan", str(SEED_PLAN),
                  "--date", "2025-10-02")
    assert start.returncode == 0, start.stderr
    sheet = project / "worksheets" / "R95.yaml"
    data = fill_seed_worksheet(yaml.safe_load(sheet.read_text(encoding="utf-8")))
    data["dependencies"] = [{"source": 4458, "target": 4457, "relationship": "imports", "evidence": "use x;"}]
    write_worksheet(sheet, data)
    recorded = kbgen("--project", str(project), "--db", pg_url, "record", str(sheet))
    assert recorded.returncode == 0, recorded.stderr

    for table, copied_max in before.items():
        new_ids = [r[0] for r in query_all(pg_url, f"SELECT id FROM {table} WHERE session_id = 95"
                                           if table != "dependencies" else "SELECT id FROM dependencies")]
        fresh = [i for i in new_ids if copied_max is None or i > copied_max]
        assert fresh, f"{table}: nothing recorded after the copy"
        assert len(set(new_ids)) == len(new_ids)
    assert query_one(pg_url, "SELECT count(*) FROM findings WHERE session_id = 95") == len(data["findings"])
    assert query_one(pg_url, "SELECT count(*) FROM file_reads WHERE session_id = 95") == 9


def query_all(url: str, sql: str) -> list[Any]:
    engine = open_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def query_one(url: str, sql: str) -> Any:
    return query_all(url, sql)[0][0]
