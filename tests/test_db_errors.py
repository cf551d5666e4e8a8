"""Database problems end in one line naming the cause and the fix, exit code 3, no traceback.

SQLite: a missing file, a folder, a text file, a damaged file, an empty file,
another program's database, a kbgen schema newer than this kbgen, a locked
database (busy timeout). PostgreSQL: a server that does not answer, an
unknown database, an unknown role, a database without the research tables,
a newer kbgen schema. ``--debug`` adds the traceback.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kbgen.db.engine import SQLITE_HEADER
from kbgen.scaffold import init_project
from tests.pg import PgServer


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    init_project(target)
    return target


def kbgen(project: Path, *args: str, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(project), *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str, code: int = 3) -> str:
    """Exit ``code``; stderr is exactly one line, starting ``error:``, holding every needle; no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "(" in lines[0] and lines[0].endswith(")"), f"no fix given: {lines[0]}"
    return lines[0]


def research_db(path: Path) -> str:
    """An empty research database (full schema, kbgen's tables)."""
    url = f"sqlite:///{path}"
    result = subprocess.run([sys.executable, "-m", "kbgen", "db", "init", url], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return url


# -- SQLite -------------------------------------------------------------------------------

def test_missing_file(project: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    assert_one_line_error(kbgen(project, "--db", url, "sync"), "database file not found", "nope.db", "kbgen db init")
    assert not (tmp_path / "nope.db").exists(), "a missing database must not be created by sync"


@pytest.mark.parametrize("command", [["sync"], ["stats"], ["plan", "list"], ["answer", "Q1-1", "F1"],
                                     ["finding", "resolve", "F1", "--session", "R1"], ["db", "upgrade"],
                                     ["report"]])
def test_every_database_command_reports_a_missing_file(project: Path, tmp_path: Path, command: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    assert_one_line_error(kbgen(project, "--db", url, *command), "database file not found")


@pytest.mark.slow
def test_folder_text_file_and_damaged_file(project: Path, tmp_path: Path) -> None:
    (tmp_path / "folder.db").mkdir()
    assert_one_line_error(kbgen(project, "--db", f"sqlite:///{tmp_path / 'folder.db'}", "sync"), "is a folder")
    (tmp_path / "notes.db").write_text("just some notes\n")
    assert_one_line_error(kbgen(project, "--db", f"sqlite:///{tmp_path / 'notes.db'}", "sync"),
                          "is not a SQLite database", "point --db")
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(SQLITE_HEADER + bytes(range(256)) * 32)
    before = damaged.read_bytes()
    assert_one_line_error(kbgen(project, "--db", f"sqlite:///{damaged}", "sync"), "damaged.db")
    assert damaged.read_bytes() == before


@pytest.mark.slow
def test_empty_file_and_foreign_database_are_refused_untouched(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    assert_one_line_error(kbgen(project, "--db", f"sqlite:///{empty}", "sync"), "is not a research database",
                          "kbgen db init")
    assert empty.stat().st_size == 0, "sync wrote into a database that is not a research database"
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    before = foreign.read_bytes()
    for command in (["sync"], ["plan", "list"], ["answer", "Q1-1", "F1"]):
        assert_one_line_error(kbgen(project, "--db", f"sqlite:///{foreign}", *command), "not a research database")
    assert foreign.read_bytes() == before


@pytest.mark.slow
def test_newer_kbgen_schema_is_refused(project: Path, tmp_path: Path) -> None:
    url = research_db(tmp_path / "r.db")
    with sqlite3.connect(tmp_path / "r.db") as conn:
        conn.execute("UPDATE kbgen_alembic_version SET version_num = '9999'")
    for command in (["sync"], ["sync", "--read-only"], ["db", "upgrade"], ["plan", "list"]):
        assert_one_line_error(kbgen(project, "--db", url, *command), "revision 9999", "newer", "upgrade kbgen")


def test_bad_url_is_bad_input(project: Path) -> None:
    assert_one_line_error(kbgen(project, "--db", "not a url", "sync"), "not a database URL", code=2)


@pytest.mark.parametrize("command", [["--db", "mysql://x/y", "stats"], ["--db", "mysql://x/y", "sync"],
                                     ["db", "init", "mysql+pymysql://me@host/research"],
                                     ["db", "copy", "oracle://x/y", "sqlite:///copy.db"]])
def test_an_unsupported_backend_is_bad_input_not_a_missing_driver(project: Path, command: list[str]) -> None:
    line = assert_one_line_error(kbgen(project, *command), "unsupported database ", "kbgen works with SQLite "
                                 "(sqlite:///path) and PostgreSQL (postgresql+psycopg://…)", code=2)
    assert "driver" not in line and "pip install" not in line
    assert not (project / "copy.db").exists()


@pytest.mark.slow
def test_locked_database_waits_for_the_busy_timeout_then_fails(project: Path, tmp_path: Path) -> None:
    url = research_db(tmp_path / "r.db")
    holder = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = kbgen(project, "--db", url, "sync", env={"KBGEN_SQLITE_BUSY_TIMEOUT": "1"})
        assert_one_line_error(result, "is locked", "KBGEN_SQLITE_BUSY_TIMEOUT")
        # (that it waits for a lock released within the timeout: test_locked_database_is_waited_for)
        # A write command meets the same lock the same way.
        assert_one_line_error(kbgen(project, "--db", url, "answer", "Q1-1", "F1",
                                    env={"KBGEN_SQLITE_BUSY_TIMEOUT": "0.5"}), "is locked")
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.slow
def test_locked_database_is_waited_for(project: Path, tmp_path: Path) -> None:
    """A lock released within the busy timeout only delays the sync."""
    url = research_db(tmp_path / "r.db")
    holder = sqlite3.connect(tmp_path / "r.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    timer = threading.Timer(1.5, holder.rollback)
    timer.start()
    try:
        result = kbgen(project, "--db", url, "sync", env={"KBGEN_SQLITE_BUSY_TIMEOUT": "30"})
    finally:
        timer.join()
        holder.close()
    assert result.returncode == 0, result.stderr


def test_debug_shows_the_traceback(project: Path, tmp_path: Path) -> None:
    result = kbgen(project, "--debug", "--db", f"sqlite:///{tmp_path / 'nope.db'}", "sync")
    assert result.returncode == 3
    assert "Traceback" in result.stderr and "database file not found" in result.stderr


# -- PostgreSQL ---------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.postgres
def test_postgres_unreachable(project: Path) -> None:
    url = f"postgresql+psycopg://kb@127.0.0.1:{_closed_port()}/research"
    # A connection that hangs instead of failing makes the command time out (TimeoutExpired).
    assert_one_line_error(kbgen(project, "--db", url, "sync", timeout=60), "cannot connect", "Connection refused",
                          "check that the server runs")


@pytest.mark.postgres
def test_postgres_unknown_database_and_role(project: Path, pg_server: PgServer) -> None:
    assert_one_line_error(kbgen(project, "--db", pg_server.url("no_such_db"), "sync"), "cannot connect",
                          "no_such_db")
    assert_one_line_error(kbgen(project, "--db", pg_server.url("postgres", user="no_such_role"), "sync"),
                          "cannot connect", "no_such_role")


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_without_research_tables_is_refused_untouched(project: Path, pg_server: PgServer) -> None:
    name = pg_server.create_database("foreign")
    pg_server.psql("CREATE TABLE invoices (id int PRIMARY KEY)", name)
    for command in (["sync"], ["plan", "list"], ["answer", "Q1-1", "F1"]):
        assert_one_line_error(kbgen(project, "--db", pg_server.url(name), *command), "not a research database")
    tables = pg_server.psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                            "WHERE schemaname = 'public'", name).strip()
    assert tables == "invoices", "kbgen created tables in a database that is not a research database"


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_newer_kbgen_schema_is_refused(project: Path, pg_server: PgServer) -> None:
    name = pg_server.create_database("newer")
    url = pg_server.url(name)
    result = subprocess.run([sys.executable, "-m", "kbgen", "db", "init", url], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    pg_server.psql("UPDATE kbgen_alembic_version SET version_num = '9999'", name)
    for command in (["sync"], ["db", "upgrade"], ["plan", "list"]):
        assert_one_line_error(kbgen(project, "--db", url, *command), "revision 9999", "upgrade kbgen")
