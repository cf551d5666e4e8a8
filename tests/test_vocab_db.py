"""``kbgen vocab suggest|apply|list`` on a real database, and pages grouped by canonical category.

Run on SQLite and on PostgreSQL (the example database copied there with ``kbgen db copy``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from kbgen.config import Options
from kbgen.db.aliases import read_aliases
from kbgen.db.checksum import table_checksum
from kbgen.db.copy import copy_database
from kbgen.db.engine import open_engine, resolve_url
from kbgen.db.kbtables import HEAD_REVISION, VERSION_TABLE
from kbgen.db.migrate import _alembic_config, current_revision, ensure_kb_tables
from kbgen.sync import sync

#: Spellings a team recorded without a vocabulary (finding id → category), added to the example.
MESSY = {"Fabrication": 2, "FABRICATED_DATA": 1, "fabricated data": 1, "Inflated Metric": 1}


def kbgen(options: Options, url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(options.project_dir), "--db", url, *args],
                          capture_output=True, text=True, timeout=300, input=stdin,
                          env={**os.environ, "COLUMNS": "200"})  # Rich tables unwrapped


def _add_messy_findings(url: str) -> list[int]:
    """A team script's inserts: findings on a file the example read, in session 1."""
    engine = open_engine(url)
    ids = []
    try:
        with engine.begin() as conn:
            for spelling, n in MESSY.items():
                for i in range(n):
                    ids.append(conn.execute(text(
                        "INSERT INTO findings (file_id, session_id, line_start, line_end, severity, category, "
                        "description, followed_up) VALUES (1005, 1, :a, :b, 'MEDIUM', :c, :d, 0) RETURNING id"),
                        {"a": 10 + i, "b": 12 + i, "c": spelling, "d": f"{spelling} finding {i}"}).scalar_one())
    finally:
        engine.dispose()
    return ids


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def messy(request: pytest.FixtureRequest, example_project: Options) -> tuple[Options, str, list[int]]:
    url = resolve_url(example_project.database, example_project.project_dir)
    if request.param == "postgresql":
        pg_url = request.getfixturevalue("pg_url")
        copy_database(url, pg_url)
        url = pg_url
    return example_project, url, _add_messy_findings(url)


def _findings_checksum(url: str) -> str:
    engine = open_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            cols = [c["name"] for c in inspect(conn).get_columns("findings")]
            return table_checksum(conn, "findings", cols).hexdigest
    finally:
        engine.dispose()


def test_suggest_apply_and_pages_group_by_canonical_category(messy: tuple[Options, str, list[int]],
                                                           tmp_path: Path) -> None:
    options, url, ids = messy
    before = _findings_checksum(url)

    shown = kbgen(options, url, "vocab", "suggest")
    assert shown.returncode == 0, shown.stderr
    assert "fabricated-data" in shown.stdout and "Fabrication (2)" in shown.stdout
    assert "Inflated Metric (1)" in shown.stdout and "plural" in shown.stdout

    as_json = kbgen(options, url, "vocab", "suggest", "--json")
    data = json.loads(as_json.stdout)
    assert data["aliases"]["fabrication"] == "fabricated-data"
    assert data["aliases"]["inflated-metric"] == "inflated-metrics"
    target = next(m for m in data["merges"] if m["into"]["category"] == "fabricated-data")
    spellings = {s["text"]: s["findings"] for s in target["into"]["spellings"]}
    assert spellings["FABRICATED_DATA"] == 1 and spellings["fabricated data"] == 1  # already folded, still counted
    assert [m["category"] for m in target["members"]] == ["fabrication"]

    merges = tmp_path / "merges.yaml"
    written = kbgen(options, url, "vocab", "suggest", "-o", str(merges))
    assert written.returncode == 0 and merges.exists()

    dry = kbgen(options, url, "vocab", "apply", str(merges), "--dry-run")
    assert dry.returncode == 0 and "would add     fabrication → fabricated-data" in dry.stdout
    engine = open_engine(url, readonly=True)
    assert read_aliases(engine) == {}
    engine.dispose()

    applied = kbgen(options, url, "vocab", "apply", str(merges))
    assert applied.returncode == 0, applied.stderr
    engine = open_engine(url, readonly=True)
    stored = read_aliases(engine)
    engine.dispose()
    assert stored == data["aliases"]
    again = kbgen(options, url, "vocab", "apply", str(merges))
    assert again.returncode == 0 and "nothing to change" in again.stdout
    after = kbgen(options, url, "vocab", "suggest", "--json")
    assert "fabrication" not in json.loads(after.stdout)["aliases"]

    listed = kbgen(options, url, "vocab", "list", "--json")
    vocabulary = json.loads(listed.stdout)
    fabricated = next(c for c in vocabulary["categories"] if c["category"] == "fabricated-data")
    assert "fabrication" in fabricated["aliases"] and fabricated["findings"] >= 6
    assert {"alias": "fabrication", "category": "fabricated-data", "source": "database"} in vocabulary["aliases"]

    # The research rows are never rewritten.
    assert _findings_checksum(url) == before

    sync(options.with_database(url))
    kb = options.generated_path
    session = (kb / "sessions" / "S1.md").read_text(encoding="utf-8")
    block = session[session.index(f"F{ids[0]}"):]
    assert ':category: "fabricated-data"' in block[:1500] and ':category_raw: "Fabrication"' in block[:1500]
    file_page = (kb / "files" / "FILE1005.md").read_text(encoding="utf-8")
    assert "fabricated\\-data (Fabrication)" in file_page or "fabricated-data (Fabrication)" in file_page
    by_category = (kb / "findings-by-category.md").read_text(encoding="utf-8")
    row = next(line for line in by_category.splitlines() if line.startswith("| fabricated"))
    assert "Fabrication 2" in row and "FABRICATED\\_DATA 1" in row.replace("FABRICATED_DATA", "FABRICATED\\_DATA")
    assert "Inflated Metric 1" in by_category and "| inflated-metric |" not in by_category  # grouped, as recorded
    assert "findings-by-category" in (kb / "dashboard.inc").read_text(encoding="utf-8")

    report = kbgen(options, url, "report")
    assert report.returncode == 0, report.stderr
    section = report.stdout[report.stdout.index("## Findings by category"):]
    assert "Fabrication 2" in section.split("\n## ")[0]


def test_a_bad_alias_file_writes_nothing(messy: tuple[Options, str, list[int]], tmp_path: Path) -> None:
    options, url, _ = messy
    db_file = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite") else None
    before = db_file.read_bytes() if db_file else None
    bad = tmp_path / "bad.yaml"
    bad.write_text("aliases:\n  fabrication: fabricated-data\n  stub: bug\n", encoding="utf-8")
    result = kbgen(options, url, "vocab", "apply", str(bad))
    assert result.returncode == 2
    assert f"error: {bad}:3: 'stub' is a canonical category" in result.stderr
    engine = open_engine(url, readonly=True)
    assert read_aliases(engine) == {}
    engine.dispose()
    if db_file is not None:
        assert db_file.read_bytes() == before
    broken = tmp_path / "broken.yaml"
    broken.write_text("aliases:\n  a: [b\n", encoding="utf-8")
    result = kbgen(options, url, "vocab", "apply", str(broken))
    assert result.returncode == 2 and f"{broken}:" in result.stderr and "not valid YAML" in result.stderr
    missing = tmp_path / "nonexist.yaml"
    result = kbgen(options, url, "vocab", "apply", str(missing))
    assert result.returncode == 2 and result.stderr.splitlines() == [f"error: {missing}: no such file"]
    result = kbgen(options, url, "vocab", "apply", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: {tmp_path}: is a folder, not an alias file"]
    piped = kbgen(options, url, "vocab", "apply", "-", stdin="aliases:\n  fabrication: fabricated-data\n")
    assert piped.returncode == 0 and "add     fabrication → fabricated-data" in piped.stdout


def test_replace_makes_the_stored_aliases_exactly_the_file(messy: tuple[Options, str, list[int]],
                                                         tmp_path: Path) -> None:
    options, url, _ = messy
    first = tmp_path / "first.yaml"
    first.write_text("aliases:\n  fabrication: fabricated-data\n  architecure: architecture\n", encoding="utf-8")
    second = tmp_path / "second.yaml"
    second.write_text("aliases:\n  fabrication: quality\n", encoding="utf-8")
    assert kbgen(options, url, "vocab", "apply", str(first)).returncode == 0
    result = kbgen(options, url, "vocab", "apply", str(second), "--replace")
    assert result.returncode == 0, result.stderr
    assert "change  fabrication → quality (was fabricated-data)" in result.stdout
    assert "remove  architecure → architecture" in result.stdout
    engine = open_engine(url, readonly=True)
    assert read_aliases(engine) == {"fabrication": "quality"}
    engine.dispose()


def test_the_aliases_table_is_added_to_an_older_kbgen_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = open_engine(url, must_exist=False)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    assert current_revision(engine) == "0001"
    assert read_aliases(engine) == {}  # readers of an older schema see no aliases, and no error
    ensure_kb_tables(engine)
    assert current_revision(engine) == HEAD_REVISION
    assert "kbgen_category_aliases" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == HEAD_REVISION
    engine.dispose()


def test_apply_without_a_file_asks_about_each_proposal_on_a_terminal(example_project: Options) -> None:
    import pty

    url = resolve_url(example_project.database, example_project.project_dir)
    _add_messy_findings(url)
    master, slave = pty.openpty()
    try:
        os.write(master, b"n\ny\n")  # reject the first proposal (fabrication), accept the second
        proc = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(example_project.project_dir),
                               "vocab", "apply"], stdin=slave, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "COLUMNS": "200"})
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, proc.stderr
    assert "Merge 1 of 2" in proc.stdout and "Merge 2 of 2" in proc.stdout
    engine = open_engine(url, readonly=True)
    assert read_aliases(engine) == {"inflated-metric": "inflated-metrics"}
    with engine.connect() as conn:
        note = conn.execute(text("SELECT note FROM kbgen_category_aliases")).scalar_one()
    engine.dispose()
    assert note == "plural"
    piped = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(example_project.project_dir),
                            "vocab", "apply"], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert piped.returncode == 2 and "no alias file given" in piped.stderr


def test_recorders_accept_stored_aliases_and_write_the_canonical_category(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``kbgen vocab apply`` extends what ``kbgen record`` and ``kbgen finding add`` accept."""
    import sqlite3

    from tests.recordkit import cli_runner, seed_project
    from tests.seedplan import SEED_PLAN

    cli = cli_runner(capsys, monkeypatch)
    project = seed_project(tmp_path / "kb")
    p = ("--project", str(project))
    assert cli(*p, "session", "start", "R95", "--plan", str(SEED_PLAN), "--date", "2025-10-02").code == 0
    refused = cli(*p, "finding", "add", "R95", "4458", "--severity", "HIGH", "--category", "Token Leak", "-m", "x")
    assert refused.code == 2 and "'Token Leak' is outside the vocabulary" in refused.err
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("aliases:\n  token-leak: security\n", encoding="utf-8")
    assert cli(*p, "vocab", "apply", str(aliases)).code == 0
    added = cli(*p, "finding", "add", "R95", "4458", "--severity", "HIGH", "--category", "Token Leak", "-m", "x")
    assert added.code == 0, added.err
    with sqlite3.connect(project / "db" / "research.db") as conn:
        assert conn.execute("SELECT category FROM findings WHERE session_id = 95").fetchall() == [("security",)]
    schema = (project / "worksheets" / "worksheet.schema.json").read_text(encoding="utf-8")
    assert cli(*p, "session", "start", "R95", "--force").code == 0  # the editor's schema learns the alias too
    assert "token-leak" not in schema
    assert "token-leak" in (project / "worksheets" / "worksheet.schema.json").read_text(encoding="utf-8")


def test_list_counts_one_unlisted_category_in_the_singular(example_project: Options) -> None:
    url = resolve_url(example_project.database, example_project.project_dir)
    listed = kbgen(example_project, url, "vocab", "list")
    assert listed.returncode == 0, listed.stderr
    assert "1 category in use outside the list, most used first: genuine (4)" in listed.stdout
