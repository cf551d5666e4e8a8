"""kbgen/cli/lazy_options.py: an option not given builds no value checker, and nothing else changes.

Each command runs twice in a fresh interpreter, with the replacement and with ``KBGEN_LAZY_OPTIONS=0``;
standard output, standard error and the exit code must be the same bytes. The commands cover the
paths the replacement touches (options not given, repeatable options, a missing required argument)
and those it must leave to Typer (a given value, a bad value).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from kbgen.cli import lazy_options
from kbgen.config import Options

pytestmark = pytest.mark.skipif(typer.__version__ not in lazy_options.TESTED_TYPER,
                                reason=f"typer {typer.__version__} is not a release kbgen/cli/lazy_options.py "
                                       "was checked against: it is left out")

COMMANDS = [
    ["report"],
    ["stats"],
    ["--quiet", "report", "-o", "report.md"],
    ["report", "--check"],  # --check without -o: kbgen's own usage error
    ["changes", "--since", "R2", "--json"],
    ["changes", "R999"],
    ["plan", "draft", "--files", "three"],  # a bad value: Typer's message
    ["plan", "draft", "--files", "2", "--domain", "plugin-sandbox", "--domain", "no-such-domain"],
    ["plan", "show"],  # a missing required argument
    ["finding", "add", "--help"],
    ["--db", "not a url", "report"],
]


def _run(project: Path, argv: list[str], lazy: bool) -> tuple[int, str, str]:
    env = dict(os.environ, **{lazy_options.SWITCH: "1" if lazy else "0"}, COLUMNS="100")
    proc = subprocess.run([sys.executable, "-m", "kbgen", *argv], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_command_says_the_same_with_and_without_the_replacement(example_project: Options,
                                                                   argv: list[str]) -> None:
    project = example_project.project_dir
    without = _run(project, argv, lazy=False)
    (project / "report.md").unlink(missing_ok=True)
    with_it = _run(project, argv, lazy=True)
    assert with_it == without


def test_a_command_with_no_option_given_imports_no_pydantic(example_project: Options) -> None:
    probe = ("import sys, json; sys.argv = ['kbgen', 'report']\n"
             "from kbgen.cli import app\n"
             "try:\n    app(standalone_mode=False)\nexcept SystemExit:\n    pass\n"
             "print(json.dumps('pydantic' in sys.modules))")

    def pydantic_loaded(switch: str) -> bool:
        env = dict(os.environ, **{lazy_options.SWITCH: switch})
        proc = subprocess.run([sys.executable, "-c", probe], cwd=example_project.project_dir, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return bool(json.loads(proc.stdout.strip().splitlines()[-1]))

    assert not pydantic_loaded("1")
    assert pydantic_loaded("0")  # the replacement is what keeps it out, and the switch turns it off


def test_install_is_idempotent_and_follows_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer import core

    assert lazy_options.install() and lazy_options.install()  # installed by kbgen.cli already
    replaced = core._TyperParameter.process_value
    assert lazy_options.install() and core._TyperParameter.process_value is replaced
    monkeypatch.setenv(lazy_options.SWITCH, "0")
    assert not lazy_options.applies() and not lazy_options.install()
