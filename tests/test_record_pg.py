"""Recording on PostgreSQL: two recorders at once, tables with and without id sequences.

Research databases in the wild were made by scripts: on PostgreSQL the id columns may be
``serial`` (a sequence, often left behind the ids the scripts inserted explicitly) or plain
integers with no default at all. ``kbgen record`` must get new ids right in both cases, and two
researchers recording different sessions of one database at the same time must lose nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from kbgen.db.engine import open_engine
from kbgen.scaffold import init_project
from tests.recordkit import fill_seed_worksheet, write_worksheet
from tests.seedplan import SEED_PLAN, make_seed_db

pytestmark = pytest.mark.postgres

RESEARCH_WITH_IDS = ("packages", "files", "domains", "sessions", "file_reads", "findings", "dependencies",
                     "package_dependencies", "exclude_paths", "crates", "crate_dependencies", "artifacts")


def kbgen(project: Path, url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "kbgen", "--project", str(project), "--db", url, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})


def run(project: Path, url: str, *args: str) -> str:
    proc = kbgen(project, url, *args)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def drop_sequences(url: str) -> None:
    """Make every research id a plain integer with no default, as hand-written DDL leaves it."""
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            for table in RESEARCH_WITH_IDS:
                seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
                if seq:
                    conn.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN id DROP DEFAULT'))
                    conn.execute(text(f"DROP SEQUENCE {seq}"))
    finally:
        engine.dispose()


def identity_always(url: str) -> None:
    """Make every research id ``GENERATED ALWAYS AS IDENTITY``, as modern hand-written DDL does."""
    drop_sequences(url)
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            for table in RESEARCH_WITH_IDS:
                top = conn.execute(text(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')).scalar_one()
                conn.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY '
                                  f"(START WITH {int(top) + 1})"))
    finally:
        engine.dispose()


def query(url: str, sql: str) -> list[Any]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def second_worksheet(path: Path, findings: int) -> None:
    """R96, without a plan: four reads and many findings on files R95 does not touch."""
    write_worksheet(path, {
        "worksheet": 1, "session": "R96", "date": "2025-10-03", "focus": "SONA loops",
        "reads": [{"file": 4460, "depth": "MEDIUM", "lines": "1-100"}, {"file": 4461, "depth": "DEEP", "lines": "all"},
                  {"file": 4462, "depth": "DEEP", "lines": "1-96"}, {"file": "9001", "depth": "SURFACE"}],
        "findings": [{"key": f"r96-{i}", "file": (4460, 4461, 4462, 9001)[i % 4], "severity": "MEDIUM",
                      "category": "quality", "description": f"R96 finding {i}"} for i in range(findings)],
        "tags": [{"domains": ["memory-and-learning"], "files": [4461, 4462]}],
        "dependencies": [{"source": 4461, "target": 4462, "relationship": "imports", "evidence": "mod loops;"}],
    })


@pytest.mark.parametrize("ids", ["sequences", "no sequences", "identity always"])
def test_two_recorders_at_once_lose_nothing(tmp_path: Path, pg_url: str, ids: str) -> None:
    project = tmp_path / "kb"
    init_project(project, title="SONA")
    make_seed_db(pg_url)
    if ids == "no sequences":
        drop_sequences(pg_url)
    elif ids == "identity always":
        identity_always(pg_url)
    run(project, pg_url, "session", "start", "R95", "--plan", str(SEED_PLAN), "--date", "2025-10-02")
    r95 = project / "worksheets" / "R95.yaml"
    data = fill_seed_worksheet(yaml.safe_load(r95.read_text(encoding="utf-8")))
    data["findings"] += [{"key": f"r95-{i}", "file": 4458, "severity": "LOW", "category": "quality",
                          "description": f"R95 finding {i}"} for i in range(50)]
    write_worksheet(r95, data)
    r96 = project / "worksheets" / "R96.yaml"
    second_worksheet(r96, 60)
    procs = [kbgen(project, pg_url, "record", str(r95)), kbgen(project, pg_url, "record", str(r96))]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "recorded" in out
    findings = query(pg_url, "SELECT session_id, description FROM findings ORDER BY id")
    assert len(findings) == 1 + 60 + 60
    assert sum(1 for s, _ in findings if s == 95) == 60 and sum(1 for s, _ in findings if s == 96) == 60
    assert {d for s, d in findings if s == 96} == {f"R96 finding {i}" for i in range(60)}
    assert query(pg_url, "SELECT count(*) FROM file_reads WHERE session_id = 95")[0][0] == 9
    assert query(pg_url, "SELECT count(*) FROM file_reads WHERE session_id = 96")[0][0] == 4
    assert query(pg_url, "SELECT id, name FROM sessions WHERE id IN (95, 96) ORDER BY id") == [(95, "R95"), (96, "R96")]
    keys = query(pg_url, "SELECT session_id, kind, count(*) FROM kbgen_record_keys GROUP BY session_id, kind "
                         "ORDER BY 1, 2")
    assert (96, "finding", 60) in keys and (95, "finding", 60) in keys and (96, "read", 4) in keys
    assert query(pg_url, "SELECT depth, lines_read FROM files WHERE id = 4461") == [("DEEP", 140)]
    # Recording both again writes nothing; a third session's one-off finding gets a fresh id.
    assert "nothing to change" in run(project, pg_url, "record", str(r95))
    assert "nothing to change" in run(project, pg_url, "record", str(r96))
    run(project, pg_url, "session", "start", "R97", "--date", "2025-10-04")
    out = run(project, pg_url, "finding", "add", "R97", "4463", "--severity", "HIGH", "--category", "bug",
              "-m", "late", "--json")
    assert "F122" in out
    if ids != "no sequences":
        # The seed inserted explicit ids behind the sequences' backs (serial or identity): kbgen moved
        # them on, so a script inserting with the column default gets the next id, no collision.
        engine = open_engine(pg_url)
        try:
            with engine.begin() as conn:
                new_id = conn.execute(text(
                    "INSERT INTO findings (file_id, session_id, severity, category, description, followed_up) "
                    "VALUES (4463, 97, 'INFO', 'quality', 'by a script', 0) RETURNING id")).scalar_one()
        finally:
            engine.dispose()
        assert new_id == 123
