"""A worksheet whose ``session:`` is wrong is told so once, at that line, not once per question.

The example's R3 worksheet, copied with ``session: R77``: every question it
names belongs to R3's plan, so the mistake is the session line. A worksheet
that answers its own session's questions and names one of another plan keeps
the per-question message (tests/test_record.py, "question of another plan").
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from kbgen.db.engine import resolve_url, sqlite_path
from tests.conftest import REPO, make_example_project

R3 = REPO / "kbgen" / "example" / "worksheets" / "R3.yaml"


def kbgen(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(project), *args],
                          capture_output=True, text=True, timeout=300)


def test_a_worksheet_for_the_wrong_session_is_reported_once_at_its_session_line(tmp_path: Path) -> None:
    options = make_example_project(tmp_path / "kb", synced=False)
    text = R3.read_text(encoding="utf-8")
    assert text.count("\nsession: R3\n") == 1
    copy = tmp_path / "R77.yaml"
    copy.write_text(text.replace("\nsession: R3\n", "\nsession: R77\n"), encoding="utf-8")
    session_line = text.split("\n").index("session: R3") + 1
    first = next(i for i, line in enumerate(text.split("\n"), start=1) if re.search(r"\bQ3-\d", line))
    db_file = sqlite_path(resolve_url(options.database, options.project_dir))
    assert db_file is not None
    before = db_file.read_bytes()

    for args in ([], ["--dry-run"], ["--json"]):
        result = kbgen(options.project_dir, "record", str(copy), *args)
        assert result.returncode == 2, result.stderr
        problems = [line for line in result.stderr.splitlines() if not line.startswith("error: ")]
        assert problems == [
            f"{copy}:{session_line}: session is R77, but every question ID in the worksheet belongs to R3's plan "
            f"(21 references, first Q3-1012 at line {first}): write 'session: R3' if this is R3's worksheet; a "
            "worksheet answers its own session's questions"], result.stderr
        assert f"error: {copy}: 1 problem; nothing recorded" in result.stderr
    assert db_file.read_bytes() == before, "nothing written"
