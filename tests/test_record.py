"""Recording sessions: ``kbgen session start``, worksheets, ``kbgen record`` and the one-off commands.

Real SQLite files, the real CLI entry point (in-process), real ``sphinx-build`` for the site checks.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup

from kbgen import vocab
from kbgen.worksheet import WorksheetInvalid, parse_worksheet
from kbgen.worksheet.schema import schema
from tests.recordkit import (
    QUESTIONS,
    TEXT_ONLY,
    CliRunner,
    cli_runner,
    fill_seed_worksheet,
    planned_ids,
    seed_project,
    write_worksheet,
)
from tests.seedplan import SEED_PLAN


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return cli_runner(capsys, monkeypatch)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return seed_project(tmp_path / "kb")


def db_path(project: Path) -> Path:
    return project / "db" / "research.db"


def rows(project: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path(project)) as conn:
        return conn.execute(sql).fetchall()


def start(cli: CliRunner, project: Path, *extra: str) -> Path:
    result = cli("--project", str(project), "session", "start", "R95", "--plan", str(SEED_PLAN),
                 "--date", "2025-10-02", *extra)
    assert result.code == 0, result.err
    return project / "worksheets" / "R95.yaml"


def started_and_filled(cli: CliRunner, project: Path) -> tuple[Path, dict[str, Any]]:
    path = start(cli, project)
    data = fill_seed_worksheet(yaml.safe_load(path.read_text(encoding="utf-8")))
    write_worksheet(path, data)
    return path, data


def record(cli: CliRunner, project: Path, path: Path, *extra: str) -> Any:
    return cli("--project", str(project), "record", str(path), *extra)


# -- session start ---------------------------------------------------------------------------

def test_session_start_prefills_the_worksheet_from_the_seed_plan(cli: CliRunner, project: Path) -> None:
    path = start(cli, project)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=worksheet.schema.json\n")
    copy = json.loads((path.parent / "worksheet.schema.json").read_text(encoding="utf-8"))
    assert copy["$defs"]["finding"]["properties"]["category"]["anyOf"][0]["enum"][0] == "architecture"
    data = yaml.safe_load(text)
    assert data["session"] == "R95" and data["worksheet"] == 1 and str(data["date"]) == "2025-10-02"
    assert data["focus"].startswith("Deep-read 9 SONA crate files")
    assert [r["file"] for r in data["reads"]] == planned_ids()
    first = data["reads"][0]
    assert first == {"file": 4458, "package": "ruvector-rust", "path": "crates/sona/src/export/pretrain.rs",
                     "loc": 668, "depth_so_far": "NOT_TOUCHED", "depth": None, "lines": None, "notes": None}
    assert [q["id"] for q in data["questions"]] == QUESTIONS
    assert all(q["answer"] is None and q["verdict"] is None and q["text"] for q in data["questions"])
    assert data["tags"] == [{"domains": ["memory-and-learning", "v4-priority"], "files": planned_ids()}]
    assert data["findings"] is None and data["dependencies"] is None
    assert rows(project, "SELECT id, name, date FROM sessions WHERE id = 95") == [(95, "R95", "2025-10-02")]
    assert rows(project, "SELECT count(*) FROM kbgen_questions WHERE session = 95") == [(9,)]
    # The untouched prefilled worksheet is valid: it records the plan's domain tags, and nothing else.
    result = record(cli, project, path, "--json")
    assert result.code == 0, result.err
    assert {(c["table"], c["action"]) for c in json.loads(result.out)["changes"]} == {("file_domains", "added")}
    assert rows(project, "SELECT count(*) FROM file_domains") == [(1 + 18,)]


def test_session_start_is_idempotent_and_never_overwrites(cli: CliRunner, project: Path) -> None:
    path = start(cli, project)
    path.write_text(path.read_text(encoding="utf-8") + "# my notes\n", encoding="utf-8")
    again = cli("--project", str(project), "session", "start", "R95", "--plan", str(SEED_PLAN))
    assert again.code == 2 and "already exists" in again.err
    assert path.read_text(encoding="utf-8").endswith("# my notes\n")
    forced = cli("--project", str(project), "session", "start", "R95", "--force")  # the stored plan is used
    assert forced.code == 0, forced.err
    assert "session reused" in forced.out and "plan stored" in forced.out
    assert not path.read_text(encoding="utf-8").endswith("# my notes\n")
    assert rows(project, "SELECT count(*) FROM sessions WHERE name = 'R95' OR id = 95") == [(1,)]


def test_session_start_reuses_legacy_names_and_keeps_ids_unique(cli: CliRunner, project: Path) -> None:
    with sqlite3.connect(db_path(project)) as conn:
        conn.execute("INSERT INTO sessions (id, name, date) VALUES (97, 'R22b', '2024-01-01')")
        conn.execute("INSERT INTO sessions (id, name, date) VALUES (98, 'R96-verify', '2025-10-03')")
    reused = cli("--project", str(project), "session", "start", "R96")
    assert reused.code == 0, reused.err
    assert "session reused (id 98)" in reused.out
    created = cli("--project", str(project), "session", "start", "R97", "--date", "2025-10-04")
    assert created.code == 0, created.err  # id 97 belongs to R22b: R97 gets the next free id
    assert rows(project, "SELECT id, name FROM sessions WHERE name = 'R97'") == [(99, "R97")]


def test_session_start_without_a_plan_writes_a_complete_empty_worksheet(cli: CliRunner, project: Path) -> None:
    result = cli("--project", str(project), "session", "start", "R96", "--date", "2025-10-03", "--focus", "loops")
    assert result.code == 0, result.err
    path = project / "worksheets" / "R96.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(data) == {"worksheet", "session", "date", "focus", "agents", "notes", "plan", "reads", "findings",
                         "questions", "tags", "dependencies"}
    assert data["focus"] == "loops" and data["reads"] is None and data["questions"] is None
    ws = parse_worksheet(path.read_text(encoding="utf-8"), "R96.yaml")
    assert ws.session == 96 and ws.reads == () and ws.findings == ()


def test_session_start_refuses_a_plan_of_another_session(cli: CliRunner, project: Path) -> None:
    before = db_path(project).read_bytes()
    result = cli("--project", str(project), "session", "start", "R96", "--plan", str(SEED_PLAN))
    assert result.code == 2 and "plan of R95, not R96" in result.err
    assert db_path(project).read_bytes() == before


# -- recording ------------------------------------------------------------------------------------

def test_record_writes_the_research_rows_exactly(cli: CliRunner, project: Path) -> None:
    path, _ = started_and_filled(cli, project)
    result = record(cli, project, path)
    assert result.code == 0, result.err
    assert "R95 recorded" in result.out
    reads = rows(project, "SELECT file_id, depth, lines_read, line_ranges FROM file_reads WHERE session_id = 95 "
                          "ORDER BY id")
    assert [r[0] for r in reads] == planned_ids()
    assert reads[1] == (4456, "DEEP", 486, "1-486")  # overlapping ranges merged
    assert reads[4] == (4476, "DEEP", 662, "1-662")  # `all`
    assert reads[8] == (4463, "MENTIONED", 0, None)
    files = dict((r[0], r[1:]) for r in rows(project, "SELECT id, depth, lines_read, last_read_date FROM files"))
    assert files[4458] == ("DEEP", 668, "2025-10-02") and files[4463] == ("MENTIONED", 0, "2025-10-02")
    findings = rows(project, "SELECT id, file_id, session_id, line_start, line_end, severity, category, followed_up "
                             "FROM findings WHERE session_id = 95 ORDER BY id")
    assert len(findings) == 10 and [f[0] for f in findings] == list(range(2, 12))
    assert findings[3][6] == "real-functionality" and findings[4][6] == "architecture"  # canonical spellings
    assert findings[4][3:5] == (12, 12) and all(f[7] == 0 for f in findings)
    links = rows(project, "SELECT question_id, finding_id, partial FROM kbgen_answers ORDER BY question_id")
    assert len(links) == 7 and ("Q95-4455", 5, 1) in links
    answers = rows(project, "SELECT question_id, answer FROM kbgen_text_answers ORDER BY question_id")
    assert len(answers) == 9 and ("Q95-4463", "partial") in answers
    assert rows(project, "SELECT count(*) FROM file_domains") == [(1 + 18,)]
    deps = rows(project, "SELECT id, source_file_id, target_file_id, relationship, verified FROM dependencies")
    assert deps == [(1, 4457, 4458, "imports", 1), (2, 4471, 4476, "calls", 0)]


def test_recording_again_writes_nothing(cli: CliRunner, project: Path) -> None:
    path, _ = started_and_filled(cli, project)
    assert record(cli, project, path).code == 0
    before = db_path(project).read_bytes()
    again = record(cli, project, path)
    assert again.code == 0 and "nothing to change" in again.out
    dry = record(cli, project, path, "--dry-run", "--json")
    assert dry.code == 0 and json.loads(dry.out)["changes"] == []
    assert db_path(project).read_bytes() == before


def test_edits_update_their_rows(cli: CliRunner, project: Path) -> None:
    path, data = started_and_filled(cli, project)
    assert record(cli, project, path).code == 0
    count = rows(project, "SELECT count(*) FROM findings")
    ids = dict(rows(project, "SELECT description, id FROM findings WHERE session_id = 95"))
    hub = ids["upload() is todo!(); repo creation returns a fake URL."]
    finding = next(f for f in data["findings"] if f.get("key") == "hub-todo")
    finding["severity"] = "HIGH"
    finding["description"] = "upload() is todo!()."
    finding["answers"] = []  # no longer answers Q95-4456 ...
    data["findings"].reverse()  # ... and keyed findings keep their rows wherever they are
    q = next(q for q in data["questions"] if q["id"] == "Q95-4456")
    q["verdict"] = "A scaffold."
    write_worksheet(path, data)
    result = record(cli, project, path, "--json")
    assert result.code == 0, result.err
    changes = json.loads(result.out)["changes"]
    assert {(c["table"], c["action"], c["row"]) for c in changes} == {
        ("findings", "updated", f"F{hub}"), ("kbgen_answers", "removed", f"Q95-4456 ← F{hub}"),
        ("kbgen_text_answers", "updated", "Q95-4456 answer")}
    assert rows(project, "SELECT count(*) FROM findings") == count
    assert rows(project, f"SELECT severity, description FROM findings WHERE id = {hub}") == [
        ("HIGH", "upload() is todo!().")]


def test_a_corrected_read_rederives_the_file_and_never_goes_below_the_prior_state(
        cli: CliRunner, project: Path) -> None:
    path, data = started_and_filled(cli, project)
    data["reads"].append({"file": 4460, "depth": "SURFACE", "lines": "900-950"})  # DEEP since R93
    write_worksheet(path, data)
    assert record(cli, project, path).code == 0
    assert rows(project, "SELECT depth, lines_read, last_read_date FROM files WHERE id = 4460") == [
        ("DEEP", 912, "2025-10-02")]  # never downgraded; the union of 1-912 and 900-950 is capped at the LOC
    data["reads"][0].update(depth="MEDIUM", lines="1-200")  # 4458 was DEEP 1-668 by mistake
    write_worksheet(path, data)
    assert record(cli, project, path).code == 0
    assert rows(project, "SELECT depth, lines_read FROM files WHERE id = 4458") == [("MEDIUM", 200)]
    # A later session reads it less deeply: the file keeps its strongest read.
    second = {"worksheet": 1, "session": "R96", "date": "2025-09-01",
              "reads": [{"file": 4458, "depth": "SURFACE", "lines": "600-668"}]}
    other = path.parent / "R96.yaml"
    write_worksheet(other, second)
    assert record(cli, project, other).code == 0
    assert rows(project, "SELECT depth, lines_read, last_read_date FROM files WHERE id = 4458") == [
        ("MEDIUM", 269, "2025-10-02")]  # 1-200 and 600-668; R96's earlier date does not move it back


def test_entries_removed_from_the_worksheet_are_kept_unless_pruned(cli: CliRunner, project: Path) -> None:
    path, data = started_and_filled(cli, project)
    assert record(cli, project, path).code == 0
    napi = rows(project, "SELECT id FROM findings WHERE description LIKE 'Buffer to Vec%'")[0][0]
    data["findings"] = [f for f in data["findings"] if f.get("key") != "napi-copy"]
    data["reads"][-1]["depth"] = None
    data["dependencies"] = data["dependencies"][:1]
    write_worksheet(path, data)
    kept = record(cli, project, path)
    assert kept.code == 0 and "nothing to change (3 kept)" in kept.out
    assert "kept 3 rows recorded earlier that the worksheet no longer lists (--prune removes them): read of 4463, " \
           f"F{napi}, 4471 → 4476 (calls)" in kept.out
    assert rows(project, f"SELECT count(*) FROM findings WHERE id = {napi}") == [(1,)]
    pruned = record(cli, project, path, "--prune", "--json")
    assert pruned.code == 0, pruned.err
    removed = {(c["table"], c["row"]) for c in json.loads(pruned.out)["changes"] if c["action"] == "removed"}
    assert removed == {("findings", f"F{napi}"), ("file_reads", "read of 4463"),
                       ("dependencies", "4471 → 4476 (calls)")}
    assert rows(project, f"SELECT count(*) FROM findings WHERE id = {napi}") == [(0,)]
    assert rows(project, "SELECT depth, lines_read, last_read_date FROM files WHERE id = 4463") == [
        ("NOT_TOUCHED", None, None)]  # back to its state before the worksheet
    assert record(cli, project, path).out.startswith("R95: nothing to change")


def test_dry_run_lists_changes_and_writes_nothing(cli: CliRunner, project: Path) -> None:
    path, _ = started_and_filled(cli, project)
    before = db_path(project).read_bytes()
    result = record(cli, project, path, "--dry-run", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["dry_run"] is True and doc["counts"]["added"] > 20
    assert {c["table"] for c in doc["changes"]} >= {"file_reads", "findings", "files", "kbgen_text_answers"}
    assert db_path(project).read_bytes() == before
    table = record(cli, project, path, "--dry-run")
    assert "Would change" in table.out and "R95 would change:" in table.out


# -- bad worksheets ------------------------------------------------------------------------------------

def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


BAD = {
    "wrong file ID": ("file: 4476", "file: 4477", "no file 4477 in the files table (did you mean 4476 "),
    "unknown severity": ("severity: CRITICAL", "severity: SEVERE", "'SEVERE' is not allowed (allowed: CRITICAL, "
                         "HIGH, MEDIUM, LOW, INFO)"),
    "category outside the vocabulary": ("category: fabricated-data", "category: made-up-numbers",
                                        "category 'made-up-numbers' is outside the vocabulary"),
    "question of another plan": ("- Q95-4473", "- Q94-4460", "Q94-4460 is a question of R94's plan, not R95's"),
    "YAML syntax error": ("  severity: HIGH\n", "  severity: [HIGH\n", "YAML syntax error"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_worksheet_exits_2_with_file_and_line_and_writes_nothing(
        cli: CliRunner, project: Path, case: str) -> None:
    path, _ = started_and_filled(cli, project)
    old, new, message = BAD[case]
    text = path.read_text(encoding="utf-8")
    assert old in text
    bad = text.replace(old, new, 1)
    path.write_text(bad, encoding="utf-8")
    line = _line_of(bad, new.strip().split("\n")[0])
    before = db_path(project).read_bytes()
    result = record(cli, project, path)
    assert result.code == 2
    assert message in result.err
    if case == "YAML syntax error":
        assert re.search(rf"R95\.yaml:{line + 1}:\d+: YAML syntax error", result.err), result.err
    else:
        assert f"R95.yaml:{line}: " in result.err, result.err
    assert "1 problem; nothing recorded (fix it and run the command again)" in result.err
    assert db_path(project).read_bytes() == before
    as_json = record(cli, project, path, "--json")
    assert as_json.code == 2 and json.loads(as_json.out)["ok"] is False
    assert db_path(project).read_bytes() == before


def test_every_problem_is_listed_at_once(cli: CliRunner, project: Path) -> None:
    path, data = started_and_filled(cli, project)
    data["reads"][0]["file"] = 9999
    data["reads"][1]["depth"] = "MENTIONED"  # with lines
    data["findings"][0]["answers"] = ["Q95-9999"]
    data["tags"][0]["domains"].append("memory-and-learnin")
    data["questions"][-1]["answer"] = None  # a verdict without an answer
    data["reads"].append({"package": "ruvector-rust", "path": "crates/sona/src/export/pretrain.rs.bak",
                          "depth": "DEEP"})
    write_worksheet(path, data)
    before = db_path(project).read_bytes()
    result = record(cli, project, path)
    assert result.code == 2
    assert "no file 9999" in result.err
    assert "a MENTIONED file was not opened" in result.err
    assert "no question Q95-9999 in R95's plan" in result.err
    assert "no domain 'memory-and-learnin' (did you mean 'memory-and-learning'?" in result.err
    assert "has a verdict but no answer" in result.err
    assert "did you mean 'crates/sona/src/export/pretrain.rs'?" in result.err
    assert "6 problems; nothing recorded (fix them and run the command again)" in result.err
    assert db_path(project).read_bytes() == before


def test_a_rejected_worksheet_leaves_a_database_kbgen_never_saw_untouched(tmp_path: Path, cli: CliRunner) -> None:
    project = seed_project(tmp_path / "kb")
    with sqlite3.connect(db_path(project)) as conn:
        for table in [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                 "AND name LIKE 'kbgen_%'")]:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("VACUUM")
    path = project / "worksheets" / "R95.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_worksheet(path, {"worksheet": 1, "session": "R95", "date": "2025-10-02",
                           "reads": [{"file": 4458, "depth": "DEEPER"}]})
    before = db_path(project).read_bytes()
    assert record(cli, project, path).code == 2
    write_worksheet(path, {"worksheet": 1, "session": "R95", "date": "2025-10-02",
                           "findings": [{"file": 4458, "severity": "HIGH", "category": "stub", "description": "x",
                                         "answers": ["Q95-4458"]}]})
    result = record(cli, project, path)
    assert result.code == 2 and "R95 has no imported plan" in result.err
    assert db_path(project).read_bytes() == before
    write_worksheet(path, {"worksheet": 1, "session": "R95", "date": "2025-10-02",
                           "reads": [{"file": 4458, "depth": "DEEP"}]})
    assert record(cli, project, path).code == 0  # a good worksheet creates kbgen's tables, then records
    assert rows(project, "SELECT version_num FROM kbgen_alembic_version")[0][0] >= "0003"


# -- one-off commands ----------------------------------------------------------------------------------

def test_one_off_commands_check_and_write_the_same_rows(cli: CliRunner, project: Path) -> None:
    start(cli, project)
    p = ("--project", str(project))
    bad = cli(*p, "read", "R95", "4458", "--depth", "deep")
    assert bad.code == 2 and "depth 'deep' is not allowed (allowed: DEEP, MEDIUM, SURFACE, MENTIONED)" in bad.err
    assert cli(*p, "read", "R95", "ruvector-rust:crates/sona/src/export/pretrain.rs", "--depth", "MEDIUM",
               "--lines", "1-100").code == 0
    assert cli(*p, "read", "R95", "FILE4458", "--depth", "DEEP", "--lines", "1-668").code == 0  # same read, updated
    assert rows(project, "SELECT depth, lines_read FROM file_reads WHERE session_id = 95") == [("DEEP", 668)]
    add = cli(*p, "finding", "add", "R95", "4458", "--severity", "HIGH", "--category", "vuln", "-m", "Token logged.",
              "--answers", "Q95-4458", "--lines", "10-20")
    assert add.code == 0, add.err
    assert "F2" in add.out
    assert cli(*p, "finding", "add", "R95", "4458", "--severity", "INFO", "--category", "bug", "-m", "x").code == 0
    assert rows(project, "SELECT id, category FROM findings WHERE session_id = 95") == [(2, "security"), (3, "bug")]
    keyed = cli(*p, "finding", "add", "R95", "4456", "--severity", "LOW", "--category", "quality", "-m", "a",
                "--key", "k1")
    assert keyed.code == 0
    assert cli(*p, "finding", "add", "R95", "4456", "--severity", "MEDIUM", "--category", "quality", "-m", "b",
               "--key", "k1").code == 0
    assert rows(project, "SELECT id, severity, description FROM findings WHERE file_id = 4456") == [(4, "MEDIUM", "b")]
    wrong_q = cli(*p, "finding", "add", "R95", "4458", "--severity", "HIGH", "--category", "bug", "-m", "x",
                  "--answers", "Q3-1012")
    assert wrong_q.code == 2 and "Q3-1012 is a question of R3's plan, not R95's" in wrong_q.err
    assert cli(*p, "tag", "R95", "v4-priority", "4458", "4456").code == 0
    assert rows(project, "SELECT file_id FROM file_domains WHERE domain_id = 2 ORDER BY file_id") == [(4456,), (4458,)]
    words = cli(*p, "answer", "Q95-4468", "--verdict", "A real bridge; inference only.", "--partial")
    assert words.code == 0, words.err
    assert rows(project, "SELECT answer, verdict FROM kbgen_text_answers") == [
        ("partial", "A real bridge; inference only.")]
    assert cli(*p, "answer", "Q95-4468").code == 2
    assert cli(*p, "answer", "Q95-9999", "--verdict", "x").code == 2
    assert cli(*p, "answer", "Q95-4468", "--remove").code == 0
    assert rows(project, "SELECT count(*) FROM kbgen_text_answers") == [(0,)]
    no_session = cli(*p, "read", "R99", "4458", "--depth", "DEEP")
    assert no_session.code == 2 and "no session R99" in no_session.err
    # The worksheet's entries meet the one-off rows: the read of 4458 and the keyed finding are the same rows.
    path = project / "worksheets" / "R95.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["reads"][0].update(depth="DEEP", lines="1-668")
    data["findings"] = [{"key": "k1", "file": 4456, "severity": "MEDIUM", "category": "quality", "description": "b"}]
    data["tags"] = [{"domains": ["v4-priority"], "files": [4456]}]
    write_worksheet(path, data)
    result = record(cli, project, path)
    assert result.code == 0 and "nothing to change" in result.out, result.out


# -- session finish, pages -----------------------------------------------------------------------------------

def test_session_finish_prints_plan_versus_actual(cli: CliRunner, project: Path) -> None:
    path, data = started_and_filled(cli, project)
    data["reads"][2]["depth"] = None
    data["reads"][2]["lines"] = None
    data["findings"] = [f for f in data["findings"] if f["file"] != 4455]
    next(q for q in data["questions"] if q["id"] == "Q95-4455").update(answer=None, verdict=None)
    write_worksheet(path, data)
    assert record(cli, project, path).code == 0
    result = cli("--project", str(project), "session", "finish", "R95", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["planned_files"] == 9 and doc["planned_files_read"] == 8
    assert doc["planned_files_unread"] == [{"file_id": 4455, "path": "src/export/dataset.rs"}]
    assert doc["findings"] == {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 2, "LOW": 1, "INFO": 3}
    assert len(doc["answered_explicitly"]) == 8 and doc["open"] == ["Q95-4455"]
    assert doc["answered_in_words_only"] == list(TEXT_ONLY)
    # The plan's stated figures beside the actual ones (kbgen.outcomes): "New findings: ~50-70 expected".
    outcome = next(r for r in doc["expected_vs_actual"] if r["label"] == "New findings")
    assert (outcome["expected"], outcome["actual"], outcome["verdict"]) == ("~50-70", "9", "missed")
    text = cli("--project", str(project), "session", "finish", "R95")
    assert "Planned files read" in text.out and "8/9" in text.out
    assert "planned but not read: 4455 src/export/dataset.rs" in text.out and "open questions: Q95-4455" in text.out
    assert "Expected versus actual" in text.out


@pytest.mark.slow
def test_seed_session_end_to_end_start_record_sync_build(cli: CliRunner, project: Path) -> None:
    """The acceptance path: start from the seed plan, fill, record, sync, build; the page says 9/9 and 9/9."""
    from kbgen.build import build_site
    from kbgen.config import load_options
    from kbgen.sync import sync

    path, _ = started_and_filled(cli, project)
    assert record(cli, project, path).code == 0
    before = db_path(project).read_bytes()
    again = record(cli, project, path)
    assert again.code == 0 and "nothing to change" in again.out
    assert db_path(project).read_bytes() == before
    options = load_options(project)
    sync(options)
    build_site(options, strict=True)
    page = BeautifulSoup((options.build_path / "kb" / "sessions" / "S95.html").read_text(encoding="utf-8"),
                         "html.parser")
    summary = {tr.find_all("td")[0].get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")[1:]]
               for tr in page.find_all("tr") if tr.find_all("td")}
    assert summary["Planned files read"] == ["9", "9/9"]
    # as `session finish` says it: two answers in words only, two partial ones (Q95-4455, Q95-4463)
    assert summary["Questions answered explicitly"] == ["9", "9/9 (2 in words only, 2 partly)"]
    assert summary["Open questions"] == ["—", "0"]
    for qid in QUESTIONS:
        head = page.find(id=qid)  # the need's head line carries its id; the need is its table
        box = head.find_parent("table") if head is not None else None
        assert box is not None, qid
        text = box.get_text(" ", strip=True)
        assert f"Verdict for {qid}" in text
        assert ("Answered by" in text) is (qid not in TEXT_ONLY), qid
    trace = BeautifulSoup((options.build_path / "kb" / "traceability.html").read_text(encoding="utf-8"),
                          "html.parser").get_text(" ", strip=True)
    assert ("100% of 9 questions answered: 9 answered (7 fully and 2 partly by an explicit answer, 0 inferred from "
            "the file, 0 inferred from the cluster) and 0 open") in trace
    assert "partial: Verdict for Q95-4463" in trace
    needs = json.loads((options.build_path / "needs.json").read_text(encoding="utf-8"))
    version = needs["versions"][needs["current_version"]]["needs"]
    assert version["Q95-4468"]["status"] == "answered" and version["Q95-4468"]["answer"] == "full"
    assert version["Q95-4463"]["verdict"] == "Verdict for Q95-4463: answered from the reads of R95."


# -- the schema ---------------------------------------------------------------------------------------------

def test_the_schema_enums_are_the_vocabularies() -> None:
    defs = schema()["$defs"]
    assert defs["finding"]["properties"]["severity"]["enum"] == list(vocab.RECORD_SEVERITIES)
    assert defs["read"]["properties"]["depth"]["enum"] == [*vocab.READ_DEPTHS, None]
    assert defs["dependency"]["properties"]["relationship"]["enum"] == list(vocab.RELATIONSHIPS)


def test_worksheet_yaml_problems_are_located() -> None:
    text = ("worksheet: 1\nsession: R95\nreads:\n  - file: 4458\n    depht: DEEP\n"
            "findings:\n  - file: 4458\n    severity: HIGH\n    category: bug\n    description: a\n"
            "    description: b\n")
    with pytest.raises(WorksheetInvalid) as info:
        parse_worksheet(text, "w.yaml")
    lines = info.value.lines()
    assert "w.yaml:5: reads[1]: unknown key 'depht' (did you mean 'depth'?)" in lines
    assert "w.yaml:11: 'description' is given twice (first on line 10)" in lines
    with pytest.raises(WorksheetInvalid) as info:
        parse_worksheet("worksheet: 1\nsession: R95\nreads: [\n", "w.yaml")
    assert re.match(r"w\.yaml:4:1: YAML syntax error", info.value.lines()[0])


def test_a_database_made_by_hand_written_ddl_keeps_its_schema(tmp_path: Path, cli: CliRunner) -> None:
    """``id INT PRIMARY KEY`` (no rowid alias: no automatic ids), columns missing from the documented
    schema: kbgen gives explicit ids and writes only the columns the tables have."""
    project = tmp_path / "kb"
    from kbgen.scaffold import init_project

    init_project(project, title="legacy")
    with sqlite3.connect(db_path(project)) as conn:
        conn.executescript("""
            CREATE TABLE packages (id INT PRIMARY KEY, name TEXT UNIQUE, base_path TEXT);
            CREATE TABLE files (id INT PRIMARY KEY, package_id INT, relative_path TEXT, loc INT, depth TEXT,
                                lines_read INT, last_read_date TEXT);
            CREATE TABLE domains (id INT PRIMARY KEY, name TEXT UNIQUE, priority TEXT);
            CREATE TABLE file_domains (file_id INT, domain_id INT, PRIMARY KEY (file_id, domain_id));
            CREATE TABLE sessions (id INT PRIMARY KEY, name TEXT, date TEXT, focus TEXT);
            CREATE TABLE file_reads (id INT PRIMARY KEY, file_id INT, session_id INT, depth TEXT, lines_read INT);
            CREATE TABLE findings (id INT PRIMARY KEY, file_id INT, session_id INT, severity TEXT, category TEXT,
                                   description TEXT);
            INSERT INTO packages VALUES (1, 'core', '~/core');
            INSERT INTO files VALUES (10, 1, 'src/a.rs', 100, 'NOT_TOUCHED', NULL, NULL),
                                     (11, 1, 'src/b.rs', 50, 'SURFACE', 10, '2024-01-01');
            INSERT INTO domains VALUES (1, 'core-domain', 'HIGH');
            INSERT INTO sessions VALUES (7, 'R7', '2024-01-01', 'first');
            INSERT INTO findings VALUES (41, 11, 7, 'HIGH', 'bug', 'old');
        """)
        before = {t: conn.execute(f"PRAGMA table_info({t})").fetchall()
                  for t in ("packages", "files", "domains", "file_domains", "sessions", "file_reads", "findings")}
    path = project / "worksheets" / "R8.yaml"  # kbgen init made the folder
    write_worksheet(path, {
        "worksheet": 1, "session": "R8", "date": "2024-02-01", "focus": "second",
        "reads": [{"package": "core", "path": "src/a.rs", "depth": "DEEP", "lines": "1-60,50-100"},
                  {"file": 11, "depth": "MEDIUM", "lines": "1-30"}],
        "findings": [{"file": 10, "severity": "CRITICAL", "category": "security", "lines": "5-9",
                      "description": "new", "followed_up": True}],
        "tags": [{"domains": ["core-domain"], "files": [10, 11]}],
        "dependencies": [{"source": 10, "target": 11, "relationship": "calls"}]})
    result = record(cli, project, path)
    assert result.code == 0, result.err
    assert "R8.yaml:28: the database has no dependencies table" in result.err  # a warning, not a failure
    assert "nothing to change" in record(cli, project, path).out
    with sqlite3.connect(db_path(project)) as conn:
        after = {t: conn.execute(f"PRAGMA table_info({t})").fetchall() for t in before}
        assert after == before
        assert conn.execute("SELECT * FROM sessions ORDER BY id").fetchall() == [
            (7, "R7", "2024-01-01", "first"), (8, "R8", "2024-02-01", "second")]
        assert conn.execute("SELECT * FROM file_reads ORDER BY id").fetchall() == [
            (1, 10, 8, "DEEP", 100), (2, 11, 8, "MEDIUM", 30)]
        assert conn.execute("SELECT * FROM findings ORDER BY id").fetchall() == [
            (41, 11, 7, "HIGH", "bug", "old"), (42, 10, 8, "CRITICAL", "security", "new")]
        assert conn.execute("SELECT * FROM files ORDER BY id").fetchall() == [
            (10, 1, "src/a.rs", 100, "DEEP", 100, "2024-02-01"), (11, 1, "src/b.rs", 50, "MEDIUM", 30, "2024-02-01")]
        assert sorted(conn.execute("SELECT * FROM file_domains").fetchall()) == [(10, 1), (11, 1)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {t for t in tables if not t.startswith("kbgen_")} == set(before)
