"""The collector's pause (:mod:`kbgen.gcpause`): a plain pause leaves garbage to the next collection;
inside :func:`~kbgen.gcpause.freezing_at_resume` (a ``kbgen sync`` or ``kbgen build`` process, which
ends with the command) it ends by freezing what is there, so no collection walks it; an in-process
caller of the command line (``kbgen serve`` syncs in its own loop, tests call it) never freezes."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbgen import gcpause
from kbgen.config import Options
from tests.recordkit import cli_runner


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.collect()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()
    gc.collect()


def _cycle_made_in_pause() -> weakref.ref[Node]:
    with gcpause.collector_paused():
        assert not gc.isenabled()
        ref = weakref.ref(Node())
    assert gc.isenabled()
    return ref


def test_a_plain_pause_leaves_its_garbage_to_the_collector() -> None:
    ref = _cycle_made_in_pause()
    assert ref() is not None
    gc.collect()
    assert ref() is None and gc.get_freeze_count() == 0


def test_a_pause_inside_freezing_at_resume_freezes_instead() -> None:
    with gcpause.freezing_at_resume():
        ref = _cycle_made_in_pause()
    assert gc.get_freeze_count() > 0
    gc.collect()
    assert ref() is not None  # frozen: no collection looks at it, not even a full one
    gc.unfreeze()
    gc.collect()
    assert ref() is None
    # Outside the block the pause is plain again.
    ref = _cycle_made_in_pause()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None


def test_the_pause_ends_also_when_the_work_raises() -> None:
    with gcpause.freezing_at_resume(), pytest.raises(RuntimeError), gcpause.collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled() and gc.get_freeze_count() > 0


def test_an_in_process_sync_through_the_command_line_does_not_freeze(
        example_project: Options, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests and other in-process callers go through ``common.run``, not the console entry point."""
    run = cli_runner(capsys, monkeypatch)
    result = run("--project", str(example_project.project_dir), "sync", "--force")
    assert result.code == 0, result.err
    assert gc.get_freeze_count() == 0


_FROZEN_AFTER_SYNC = """
import gc, sys
from kbgen.cli import kb_cmd, main
seen = []
real = kb_cmd._run_sync
def spy(**kwargs):
    report = real(**kwargs)
    seen.append(gc.get_freeze_count())
    return report
kb_cmd._run_sync = spy
try:
    main()
except SystemExit as exc:
    print("frozen", seen, exc.code, file=sys.stderr)
"""


def test_the_console_entry_point_freezes_what_its_sync_leaves(example_project: Options) -> None:
    proc = subprocess.run([sys.executable, "-c", _FROZEN_AFTER_SYNC, "--project", str(example_project.project_dir),
                           "sync", "--force"], capture_output=True, text=True, cwd=Path(example_project.project_dir))
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("frozen ["), proc.stderr
    counts, code = line.removeprefix("frozen [").split("] ")
    assert code == "0" and int(counts) > 10_000, proc.stderr
