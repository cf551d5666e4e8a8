"""The command line: contract, documentation and the plan commands end to end."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kbgen.cli import app
from kbgen.config import Options
from tests.conftest import REPO, make_example_project

SEED = REPO / "tests/data/plans/R95-plan.md"


def kbgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", *args], capture_output=True, text=True, cwd=cwd)


def _commands() -> list[list[str]]:
    import typer.main

    from kbgen.cli import app

    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        subcommands = getattr(cmd, "commands", None)  # typer vendors its own click: duck-type groups
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found.append(path)
    walk(root, [])
    return found


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = _commands()
    assert len(commands) >= 12
    runner = CliRunner()
    for path in commands:  # in-process: a subprocess per command would be a minute of interpreter start-ups
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert len(result.output.strip().splitlines()) > 2, path
        assert f"kbgen {' '.join(path)}" in readme, f"README documents `kbgen {' '.join(path)}`"


def test_global_options_exist() -> None:
    out = kbgen("--help").stdout
    for option in ("--project", "--db", "--quiet", "--debug"):
        assert option in out


def test_plan_parse_json_shape() -> None:
    result = kbgen("plan", "parse", str(SEED), "--json")
    assert result.returncode == 0, result.stderr
    plans = json.loads(result.stdout)
    assert len(plans) == 1
    plan = plans[0]
    for key in ("source", "session", "title", "date", "focus", "strategic_value", "target", "clusters", "files",
                "questions", "cluster_questions", "outcomes", "domain_tags", "warnings"):
        assert key in plan, key
    assert plan["session"] == 95
    assert [c["stated_loc"] for c in plan["clusters"]] == [1957, 1637, 535]
    assert sorted(f["file_id"] for f in plan["files"]) == [4455, 4456, 4457, 4458, 4463, 4468, 4471, 4473, 4476]
    assert all(len(q["file_ids"]) == 1 for q in plan["questions"]) and len(plan["questions"]) == 9


def test_plan_parse_error_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("# Execution Plan: Nameless\n\nno session\n")
    result = kbgen("plan", "parse", str(bad), "--json")
    assert result.returncode == 2
    assert re.search(rf"{re.escape(str(bad))}:1: .*session", result.stderr)


@pytest.mark.slow
def test_plan_import_show_list_idempotent(example_project: Options, tmp_path: Path) -> None:
    project = str(example_project.project_dir)
    plan = tmp_path / "plans" / "R95-plan.md"
    plan.parent.mkdir()
    shutil.copy(SEED, plan)
    first = kbgen("--project", project, "plan", "import", str(plan.parent))
    assert first.returncode == 0, first.stderr
    assert "R95 created" in first.stdout
    assert "not in the research database" in first.stderr  # planned IDs absent from the example inventory
    again = kbgen("--project", project, "plan", "import", str(plan))
    assert "R95 unchanged" in again.stdout
    listed = kbgen("--project", project, "plan", "list")
    assert "R95" in listed.stdout and "R3" in listed.stdout
    shown = kbgen("--project", project, "plan", "show", "R95", "--json")
    assert json.loads(shown.stdout)["session"] == 95
    assert kbgen("--project", project, "plan", "show", "R96").returncode == 2


@pytest.mark.slow
def test_broken_plan_stores_nothing_and_keep_going(example_project: Options, tmp_path: Path) -> None:
    project = str(example_project.project_dir)
    folder = tmp_path / "plans"
    folder.mkdir()
    shutil.copy(SEED, folder / "a-R95.md")
    (folder / "b-bad.md").write_text("# R77 Execution Plan: x\n\n| # | File ID | File | LOC |\n|---|---|---|---|\n"
                                     "| 1 | x77 | `a.rs` | 1 |\n")
    result = kbgen("--project", project, "plan", "import", str(folder / "b-bad.md"))
    assert result.returncode == 2 and "b-bad.md:5:" in result.stderr
    assert "R77" not in kbgen("--project", project, "plan", "list").stdout
    result = kbgen("--project", project, "plan", "import", "--keep-going", str(folder))
    assert result.returncode == 2 and "R95 created" in result.stdout


@pytest.mark.slow
def test_answer_and_finding_status_commands(example_project: Options) -> None:
    project = str(example_project.project_dir)
    assert kbgen("--project", project, "answer", "Q3-1015", "F29", "--note", "ABI discussed").returncode == 0
    assert kbgen("--project", project, "answer", "Q3-9999", "F29").returncode == 2
    assert kbgen("--project", project, "answer", "Q3-1015", "F99999").returncode == 2
    assert kbgen("--project", project, "finding", "supersede", "F25", "--by", "F57", "--reason",
                 "R4 re-read").returncode == 0
    assert kbgen("--project", project, "finding", "resolve", "F26", "--session", "R4").returncode == 0
    assert kbgen("--project", project, "sync").returncode == 0
    s3 = (example_project.generated_path / "sessions/S3.md").read_text(encoding="utf-8")
    block = s3.split(":id: Q3-1015", 1)[1].split(":::", 1)[0]
    assert ':status: "answered"' in block and "(#need-F29)" in block
    s4 = (example_project.generated_path / "sessions/S4.md").read_text(encoding="utf-8")
    assert ":supersedes: F25" in s4.split(":id: F57", 1)[1].split(":::", 1)[0]
    assert "Resolved in R4" in s3
    assert kbgen("--project", project, "answer", "--remove", "Q3-1015", "F29").returncode == 0


def test_database_errors_exit_3_without_traceback(tmp_path: Path) -> None:
    options = make_example_project(tmp_path / "kb", synced=False)
    result = kbgen("--project", str(options.project_dir), "--db", f"sqlite:///{tmp_path / 'missing.db'}", "sync")
    assert result.returncode == 3
    assert "database file not found" in result.stderr and "Traceback" not in result.stderr
    debug = kbgen("--project", str(options.project_dir), "--db", f"sqlite:///{tmp_path / 'missing.db'}",
                  "--debug", "sync")
    assert "Traceback" in debug.stderr


@pytest.mark.slow
def test_committed_example_outputs_are_current(tmp_path: Path) -> None:
    """docs/kb and domains/ in git match the example database (what `kbgen sync --check` guards in CI)."""
    if not (REPO / "docs/kb/index.md").exists():
        pytest.fail("docs/kb is not committed: run `kbgen demo` in the repository and commit docs/kb and domains/")
    options = make_example_project(tmp_path / "kb", synced=False)
    result = kbgen("--project", str(options.project_dir), "sync", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_subdir_outside_docs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/kbgen.yaml").write_text("generated_subdir: ../outside\n")
    result = kbgen("--project", str(tmp_path), "sync")
    assert result.returncode == 2 and "generated_subdir must be a plain folder" in result.stderr


def test_terminal_tables_show_database_text_literally(example_project: Options) -> None:
    """Square brackets in a domain or priority are data, not Rich markup (which crashed stats)."""
    import os
    import sqlite3

    domain, priority = "[bold]core[/bold] [link=https://x.test]ui[/link]", "[red]HIGH[/red]"
    with sqlite3.connect(example_project.project_dir / "db/research.db") as conn:
        conn.execute("UPDATE domains SET name = ?, priority = ? WHERE id = (SELECT min(id) FROM domains)",
                     (domain, priority))
    project = str(example_project.project_dir)
    stats = subprocess.run([sys.executable, "-m", "kbgen", "--project", project, "stats"], capture_output=True,
                           text=True, env={**os.environ, "COLUMNS": "300"})
    assert stats.returncode == 0, stats.stderr
    assert domain in stats.stdout and priority.upper() in stats.stdout  # priorities are shown normalised
