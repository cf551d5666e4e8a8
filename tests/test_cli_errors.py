"""The command-line contract for errors: one line on stderr, the documented exit code, no traceback.

Exit codes (shared/spec/traceability.md): 0 success, 1 a check found
problems, 2 bad input or usage, 3 database or environment. ``--debug`` adds
the traceback. (Database problems: ``test_db_errors.py``.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kbgen.config import Options
from kbgen.scaffold import init_project


def kbgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    init_project(tmp_path / "kb")
    return tmp_path / "kb"


@pytest.mark.parametrize("args", [
    ["sync", "--no-such-option"],
    ["no-such-command"],
    ["sync", "--wait", "soon"],
    ["answer"],
    ["plan", "parse"],
])
def test_usage_errors_exit_2_without_traceback(project: Path, args: list[str]) -> None:
    result = kbgen("--project", str(project), *args)
    assert result.returncode == 2, result.stderr
    lines = error_lines(result)
    assert any(line.startswith("Error:") for line in lines), result.stderr


@pytest.mark.slow
def test_unknown_ids_exit_2(example_project: Options) -> None:
    project = str(example_project.project_dir)
    for args, needle in ((["answer", "Q999-1", "F1"], "unknown question"),
                         (["answer", "Q3-1015", "Fx"], "not a finding ID"),
                         (["answer", "Q3-1015", "F99999"], "unknown finding F99999"),
                         (["finding", "resolve", "F1", "--session", "R999"], "unknown session")):
        result = kbgen("--project", project, *args)
        assert result.returncode == 2, (args, result.stderr)
        lines = error_lines(result)
        assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], (args, lines)


@pytest.mark.slow
def test_missing_project_and_bad_config_exit_2(tmp_path: Path, project: Path) -> None:
    result = kbgen("--project", str(tmp_path / "nowhere"), "sync")
    lines = error_lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "conf/kbgen.yaml" in lines[0] and "kbgen init" in lines[0]
    (project / "conf" / "kbgen.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    result = kbgen("--project", str(project), "sync")
    lines = error_lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "kbgen.yaml:" in lines[0] and "YAML" in lines[0], lines
    (project / "conf" / "kbgen.yaml").write_text("no_such_setting: 1\n", encoding="utf-8")
    result = kbgen("--project", str(project), "sync")
    lines = error_lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "unknown setting 'no_such_setting'" in lines[0], lines


def test_environment_problem_exits_3(example_project: Options) -> None:
    (example_project.docs_path / "conf.py").unlink()
    result = kbgen("--project", str(example_project.project_dir), "build")
    lines = error_lines(result)
    assert result.returncode == 3 and len(lines) == 1 and "conf.py" in lines[0] and "kbgen init" in lines[0], lines


def test_output_folder_in_the_way_exits_3(example_project: Options) -> None:
    generated = example_project.generated_path
    shutil.rmtree(generated)
    generated.write_text("not a folder", encoding="utf-8")
    result = kbgen("--project", str(example_project.project_dir), "sync")
    lines = error_lines(result)
    assert result.returncode == 3 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr


@pytest.mark.slow
def test_stale_check_exits_1(example_project: Options) -> None:
    page = next((example_project.generated_path / "sessions").glob("S*.md"))
    page.write_text(page.read_text(encoding="utf-8") + "\nhand edit\n", encoding="utf-8")
    result = kbgen("--project", str(example_project.project_dir), "sync", "--check")
    assert result.returncode == 1, result.stderr
    assert "stale" in result.stderr and "Traceback" not in result.stderr
    assert kbgen("--project", str(example_project.project_dir), "sync").returncode == 0
    assert kbgen("--project", str(example_project.project_dir), "sync", "--check").returncode == 0


def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    result = kbgen("--debug", "--project", str(tmp_path / "nowhere"), "sync")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr
