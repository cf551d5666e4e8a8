"""Terminal tables at 80 columns, the width Rich assumes when output is not a terminal.

Identifier columns (sessions, dates, IDs, timestamps) keep their width; the free text wraps.
Run against the example knowledge base (``kbgen changes --since R1``, ``kbgen plan list``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kbgen.config import Options
from tests.conftest import make_example_project


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Options:
    return make_example_project(tmp_path_factory.mktemp("narrow") / "kb", synced=False)


def narrow(project: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(project), *args], capture_output=True,
                            text=True, timeout=300, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    # Table lines fit (sentences are printed soft-wrapped: the terminal wraps them).
    assert all(len(line) <= 80 for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"), result.stdout
    return result.stdout


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("│").split("│")]


def test_changes_per_session_rows_keep_labels_and_dates_whole(example: Options) -> None:
    out = narrow(example.project_dir, "changes", "--since", "R1")
    per = out.split("Per session", 1)[1].split("└", 1)[0]
    rows = [cells(line) for line in per.splitlines() if line.startswith("│")]
    assert [r[:2] for r in rows] == [["R1", "2025-09-08"], ["R2-verify", "2025-09-08"], ["R3", "2025-09-15"],
                                     ["R4", "2025-09-22"]], per
    assert all(re.fullmatch(r"\+?[0-9,]+", c) for r in rows for c in r[2:]), "one line per session"
    header = [line for line in per.splitlines() if line.startswith("┃")]
    assert not any(re.search(r"┃ [a-z]{1,2} ┃", h) for h in header), "no word folded in a header"
    findings = out.split("New critical and high findings", 1)[1].split("└", 1)[0]
    ids = [cells(line)[:2] for line in findings.splitlines() if line.startswith("│") and cells(line)[0]]
    assert ids and all(re.fullmatch(r"F[0-9]+", i) and s in ("CRITICAL", "HIGH") for i, s in ids), ids


def test_plan_list_truncates_nothing(example: Options) -> None:
    out = narrow(example.project_dir, "plan", "list")
    assert "…" not in out
    rows = [cells(line) for line in out.splitlines() if line.startswith("│")]
    assert rows[0][0] == "R3" and rows[0][2:4] == ["7", "8"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0][5]), rows[0]
    assert "".join(r[4] for r in rows) == "kbgen/example/plans/R3-plan.md"
    assert " ".join(r[1] for r in rows if r[1]) == "Plugin Sandbox and Preview Bridge"
