"""``kbgen sync`` never writes the research tables: read-only SQLite files and read-only PostgreSQL roles.

SQLite: ``sync --read-only`` opens the file with ``mode=ro`` (SQLite itself
refuses every write, even for root); a file the process cannot write
(``chmod 0444`` for a normal user; ``chattr +i`` when the tests run as root,
since root ignores file modes) syncs without ``--read-only`` too. PostgreSQL:
a role with SELECT grants only, and ``--read-only`` with any role. In every
case the pages are written, the database is unchanged, and new finding labels
are provisional (a warning says so).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError

from kbgen.config import Options, load_options
from kbgen.db.engine import open_engine, resolve_url
from kbgen.db.kbtables import KB_TABLES
from kbgen.db.research import research_metadata
from kbgen.scaffold import init_project
from kbgen.sync import sync
from tests.pg import PgServer


def table_digest(engine: Engine, tables: list[str]) -> str:
    """SHA-256 over the rows of ``tables`` (those present), in a fixed order."""
    digest = hashlib.sha256()
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for name in sorted(t for t in tables if t in present):
            cols = [c["name"] for c in inspect(engine).get_columns(name)]
            order = ", ".join(str(i) for i in range(1, len(cols) + 1))
            digest.update(name.encode())
            for row in conn.execute(text(f'SELECT * FROM "{name}" ORDER BY {order}')):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


RESEARCH_TABLES = sorted(research_metadata.tables)


def add_unlabelled_finding(url: str) -> None:
    """A new HIGH finding on a tagged file: a writable sync would give it a label."""
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            file_id = conn.execute(text("SELECT MIN(file_id) FROM file_domains")).scalar_one()
            new_id = conn.execute(text("SELECT MAX(id) + 1 FROM findings")).scalar_one()
            conn.execute(text("INSERT INTO findings (id, file_id, severity, category, description, followed_up) "
                              "VALUES (:i, :f, 'HIGH', 'security', 'added after the last sync', 0)"),
                         {"i": new_id, "f": file_id})
    finally:
        engine.dispose()


def kbgen(options: Options, *args: str, db: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--db", db] if db else []
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(options.project_dir), *extra, *args],
                          capture_output=True, text=True, timeout=300)


# -- SQLite -------------------------------------------------------------------------------

@pytest.fixture
def synced(example_project: Options) -> tuple[Options, Path]:
    """The example project, synced, plus one finding the database has no label for yet."""
    url = resolve_url(example_project.database, example_project.project_dir)
    add_unlabelled_finding(url)
    path = Path(url.removeprefix("sqlite:///"))
    return example_project, path


def test_mode_ro_refuses_writes_even_as_root(synced: tuple[Options, Path]) -> None:
    _, path = synced
    engine = open_engine(f"sqlite:///{path}", readonly=True)
    try:
        with pytest.raises(OperationalError, match="readonly"), engine.begin() as conn:
            conn.execute(text("UPDATE findings SET description = 'x'"))
    finally:
        engine.dispose()


def test_sync_read_only_leaves_the_file_byte_identical(synced: tuple[Options, Path]) -> None:
    options, path = synced
    shutil.rmtree(options.generated_path)
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    path.chmod(0o444)
    try:
        result = kbgen(options, "sync", "--read-only")
    finally:
        path.chmod(0o644)
    assert result.returncode == 0, result.stderr
    assert "provisional" in result.stderr and "Traceback" not in result.stderr
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert not list(path.parent.glob(path.name + "-*")), "a journal or WAL file was created"
    assert (options.generated_path / "index.md").exists()


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` unwritable for this process: chmod 0444, or ``chattr +i`` as root (root ignores modes)."""
    path.chmod(0o444)
    immutable = False
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)],
                                                            capture_output=True).returncode != 0:
            path.chmod(0o644)
            pytest.skip("running as root without chattr +i: chmod 0444 does not stop root (see --read-only)")
        immutable = True
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


def test_sync_without_the_flag_on_an_unwritable_file(synced: tuple[Options, Path]) -> None:
    options, path = synced
    before = path.read_bytes()
    with unwritable(path):
        result = kbgen(options, "sync")
    assert result.returncode == 0, result.stderr
    assert "provisional" in result.stderr
    assert path.read_bytes() == before


def test_a_writable_sync_changes_only_kbgen_tables(synced: tuple[Options, Path]) -> None:
    options, path = synced
    url = f"sqlite:///{path}"
    engine = open_engine(url, readonly=True)
    research_before = table_digest(engine, RESEARCH_TABLES)
    labels_before = table_digest(engine, ["kbgen_finding_labels"])
    engine.dispose()
    report = sync(options)
    assert report.new_labels > 0
    engine = open_engine(url, readonly=True)
    try:
        assert table_digest(engine, RESEARCH_TABLES) == research_before
        assert table_digest(engine, ["kbgen_finding_labels"]) != labels_before
    finally:
        engine.dispose()


# -- PostgreSQL ---------------------------------------------------------------------------

GRANTS = """
CREATE ROLE {role} LOGIN;
GRANT CONNECT ON DATABASE "{db}" TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
"""


@pytest.fixture
def pg_project(pg_server: PgServer, tmp_path: Path) -> tuple[Options, str, str]:
    """A project on a PostgreSQL research database (synthetic, small), synced once by the owner."""
    from bench.synthetic import generate

    name = pg_server.create_database("ro")
    url = pg_server.url(name)
    generate(url, scale=0.02, seed=5, hostile=True)
    project = tmp_path / "kb"
    init_project(project)
    options = load_options(project).with_database(url)
    sync(options)
    add_unlabelled_finding(url)
    return options, name, url


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_select_only_role(pg_server: PgServer, pg_project: tuple[Options, str, str]) -> None:
    options, name, url = pg_project
    role = f"reader_{name[-10:]}"
    pg_server.psql(GRANTS.format(role=role, db=name), name)
    reader = pg_server.url(name, user=role)
    owner = open_engine(url)
    before = table_digest(owner, [*RESEARCH_TABLES, *KB_TABLES])
    owner.dispose()
    shutil.rmtree(options.generated_path)

    result = kbgen(options, "sync", db=reader)

    assert result.returncode == 0, result.stderr
    assert "provisional" in result.stderr and "Traceback" not in result.stderr
    assert (options.generated_path / "index.md").exists()
    owner = open_engine(url)
    try:
        assert table_digest(owner, [*RESEARCH_TABLES, *KB_TABLES]) == before
    finally:
        owner.dispose()
    # The role really cannot write (the test would prove nothing otherwise).
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run([str(pg_server.bindir / "psql"), "-h", pg_server.host, "-p", str(pg_server.port), "-U", role,
                        "-d", name, "-v", "ON_ERROR_STOP=1", "-c", "UPDATE findings SET description = 'x'"],
                       check=True, capture_output=True)


#: The README's recipe for a role that may write kbgen's tables only.
KBGEN_WRITER_GRANTS = GRANTS + """
GRANT INSERT, UPDATE, DELETE ON kbgen_plans, kbgen_plan_files, kbgen_questions, kbgen_answers,
      kbgen_finding_labels, kbgen_finding_status TO {role};
GRANT USAGE ON SEQUENCE kbgen_plans_id_seq TO {role};
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_kbgen_only_writer_role(pg_server: PgServer, tmp_path: Path) -> None:
    """A role that writes kbgen's tables but only reads the research tables: sync, plan import, answer all work."""
    from bench.synthetic import generate

    name = pg_server.create_database("writer")
    owner_url = pg_server.url(name)
    plans = tmp_path / "plans"
    generate(owner_url, scale=0.03, seed=8, plans_dir=plans, hostile=False)
    add_unlabelled_finding(owner_url)
    role = f"writer_{name[-10:]}"
    pg_server.psql(KBGEN_WRITER_GRANTS.format(role=role, db=name), name)
    url = pg_server.url(name, user=role)
    project = tmp_path / "kb"
    init_project(project)
    options = load_options(project)
    owner = open_engine(owner_url)
    research_before = table_digest(owner, RESEARCH_TABLES)
    owner.dispose()

    synced = kbgen(options, "sync", db=url)
    assert synced.returncode == 0 and "provisional" not in synced.stderr, synced.stderr
    numbered = sorted(str(p) for p in plans.glob("R*-plan.md"))  # the dated plan would need --session
    imported = kbgen(options, "plan", "import", *numbered, db=url)
    assert imported.returncode == 0, imported.stderr
    question = pg_server.psql("SELECT min(id) FROM kbgen_questions", name).strip()
    finding = pg_server.psql("SELECT min(id) FROM findings", name).strip()
    answered = kbgen(options, "answer", question, f"F{finding}", db=url)
    assert answered.returncode == 0, answered.stderr

    owner = open_engine(owner_url)
    try:
        assert table_digest(owner, RESEARCH_TABLES) == research_before
    finally:
        owner.dispose()
    refused = subprocess.run([str(pg_server.bindir / "psql"), "-h", pg_server.host, "-p", str(pg_server.port),
                              "-U", role, "-d", name, "-c", "DELETE FROM findings"], capture_output=True, text=True)
    assert "permission denied" in refused.stderr


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_read_only_flag_with_the_owner_role(pg_project: tuple[Options, str, str]) -> None:
    options, _, url = pg_project
    owner = open_engine(url)
    before = table_digest(owner, [*RESEARCH_TABLES, *KB_TABLES])
    owner.dispose()
    result = kbgen(options, "sync", "--read-only", db=url)
    assert result.returncode == 0, result.stderr
    assert "provisional" in result.stderr
    owner = open_engine(url)
    try:
        assert table_digest(owner, [*RESEARCH_TABLES, *KB_TABLES]) == before
    finally:
        owner.dispose()
    ro = open_engine(url, readonly=True)
    try:
        with pytest.raises(Exception, match="read-only transaction"), ro.begin() as conn:
            conn.execute(text("UPDATE findings SET description = 'x'"))
    finally:
        ro.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_reader_without_kbgen_tables(pg_server: PgServer, tmp_path: Path) -> None:
    """A fresh research database nobody ran kbgen on: the reader cannot create kbgen's tables, and says so."""
    from bench.synthetic import generate

    name = pg_server.create_database("fresh")
    generate(pg_server.url(name), scale=0.02, seed=6, hostile=False)
    pg_server.psql("DROP TABLE " + ", ".join(KB_TABLES) + ", kbgen_alembic_version", name)
    role = f"reader_{name[-10:]}"
    pg_server.psql(GRANTS.format(role=role, db=name), name)
    project = tmp_path / "kb"
    init_project(project)
    options = load_options(project)
    result = kbgen(options, "sync", db=pg_server.url(name, user=role))
    assert result.returncode == 0, result.stderr
    assert "cannot create kbgen tables" in result.stderr
    assert (options.generated_path / "index.md").exists()
    assert pg_server.psql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'kbgen%'", name).strip() == "0"


def test_sqlite_busy_read_only_sync_reads_while_another_program_writes(synced: tuple[Options, Path]) -> None:
    """A reader does not need the writer to finish: a RESERVED lock (open write transaction) still allows reads."""
    options, path = synced
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE sessions SET notes = 'uncommitted' WHERE id = (SELECT MIN(id) FROM sessions)")
    try:
        result = kbgen(options, "sync", "--read-only")
    finally:
        writer.rollback()
        writer.close()
    assert result.returncode == 0, result.stderr
