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
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer

from kbgen.cli import lazy_options
from kbgen.config import Options

pytestmark = pytest.mark.skipif(typer.__version__ not in lazy_options.TESTED_TYPER,
                                reason=f"typer {typer.__version__} is not a release kbgen/cli/lazy_options.py "
                                       "was checked against: it is left out")

COMMANDS = [
    ["report"],
    ["--project", ".", "--quiet", "report", "-o", "given.md"],  # given Path options: no checker built
    ["--project", "no-such-folder", "report"],  # a given Path kbgen then refuses
    ["--db", "sqlite:///no/such/file.db", "stats"],  # a given str
    ["plan", "draft", "--files", "007", "--loc-budget", "900", "--date", "2026-01-02", "-o", "-"],  # given ints
    ["plan", "draft", "--files", " 2", "--date", "2026-01-02", "-o", "-"],  # a blank: left to Typer's checker
    ["plan", "draft", "--files", "-1"],  # a bounded int: Typer's checker and its message
    ["plan", "parse", "no-such-plan.md", "other.md"],  # a list of Paths
    ["lint", "no-such-document.md"],
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
    written = {name: (project / name).read_bytes() for name in ("report.md", "given.md") if (project / name).exists()}
    for name in written:
        (project / name).unlink()
    with_it = _run(project, argv, lazy=True)
    assert with_it == without
    assert {name: (project / name).read_bytes() for name in written} == written


@pytest.mark.parametrize("argv", [["report"], ["--project", ".", "-q", "report", "-o", "out.md"],
                                  ["sync", "--dry-run"]], ids=" ".join)
def test_a_command_imports_no_pydantic(example_project: Options, argv: list[str]) -> None:
    """Neither with no option given nor with ``--project DIR -o FILE`` (plain Path values) nor with a float
    option's default (``sync --wait``)."""
    probe = (f"import sys, json; sys.argv = ['kbgen', *{argv!r}]\n"
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


def _outcome(process: Callable[..., Any], param: Any, ctx: Any, given: Any) -> tuple[str, Any]:
    """A value with its type, or an error's class and message: what a command would see."""
    try:
        value = process(param, ctx, given)
    except Exception as exc:  # any error must be the same one
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return "error", (type(exc).__name__, message)
    if isinstance(value, list):
        return "value", ("list", [(type(v).__name__, v) for v in value])
    return "value", (type(value).__name__, value)


_EXISTING = Path(__file__)
SAMPLES: dict[Any, list[Any]] = {
    str: ["x", "", " a b ", "é", "\udcff", "-", "--flag", "0"],
    int: ["0", "7", "007", "12345678901234567890", " 7", "+7", "-1", "1_000", "1.0", "x", "", "\u0661", 3],
    float: [0.0, 2.5, -1e300, float("inf"), "0", "2.5", " 2", "1e3", "x", "", 3, True],
    Path: ["a", " a ", "", "-", "/no/such/path", "~", "a/../b/", str(_EXISTING), str(_EXISTING.parent), _EXISTING, 3],
    "list": [("a", "b"), (), ["x"], "a", ("a", 3)],
}

#: Samples every plain parameter of the kind converts without Typer's checker (barring path checks).
PLAIN_SAMPLES: dict[Any, tuple[Any, ...]] = {str: ("x",), int: ("7", "007"), float: (0.0, 2.5), Path: ("a",),
                                             "list": (("a", "b"), ())}


def _parameters() -> list[Any]:
    """Every parameter of every kbgen command (with a context of its command), and test ones with checks."""
    import typer.main

    from kbgen.cli import app

    probe = typer.Typer()

    @probe.command()
    def check(existing: Annotated[Path, typer.Option(exists=True, dir_okay=False)] = _EXISTING,
              folder: Annotated[Path, typer.Option(file_okay=False)] = _EXISTING.parent,
              resolved: Annotated[Path, typer.Option(resolve_path=True)] = Path("."),
              dash: Annotated[Path, typer.Option(allow_dash=True)] = Path("."),
              bounded: Annotated[int, typer.Option(min=0, max=5)] = 1,
              files: Annotated[list[Path] | None, typer.Option(exists=True)] = None) -> None:
        """A command whose parameters have Typer's path checks and bounds."""

    @probe.command()
    def other() -> None:
        """A second command, so that the probe is a group."""

    found: list[Any] = []

    def walk(cmd: Any) -> None:
        ctx = typer.Context(cmd, info_name=cmd.name)
        found.extend((p, ctx) for p in cmd.params if type(p).__name__ in ("TyperOption", "TyperArgument"))
        for sub in (getattr(cmd, "commands", None) or {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    walk(typer.main.get_command(probe))
    return found


def test_plain_values_are_what_typers_checker_makes_of_them() -> None:
    """Every kbgen parameter the replacement converts, on values of every kind: the same value of the
    same type as Typer's pydantic checker, or the same error (class and message)."""
    from typer import core

    replaced = core._TyperParameter.process_value
    original = replaced._kbgen_original  # type: ignore[attr-defined]
    compared = 0
    for param, ctx in _parameters():
        kind = lazy_options.plain_kind(param)
        if kind is None:
            continue
        samples = SAMPLES["list" if isinstance(kind, list) else kind]
        for value in samples:
            param._runtime_param = None  # the original builds and keeps its checker: start afresh
            fast = _outcome(replaced, param, ctx, value)
            key = "list" if isinstance(kind, list) else kind
            if value in PLAIN_SAMPLES[key] and param.name not in ("existing", "folder", "files"):
                assert param._runtime_param is None, (param.name, value)  # converted without the checker
            param._runtime_param = None
            slow = _outcome(original, param, ctx, value)
            assert fast == slow, (param.name, value)
            compared += 1
    assert compared > 300


def test_parameters_the_plain_conversion_leaves_to_typer() -> None:
    kinds = {p.name: lazy_options.plain_kind(p) for p, _ in _parameters()}
    assert kinds["existing"] is Path and kinds["files"] == [Path] and kinds["bounded"] is None
    assert None in kinds.values() and int in kinds.values() and str in kinds.values() and kinds["wait"] is float


def test_install_is_idempotent_and_follows_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer import core

    assert lazy_options.install() and lazy_options.install()  # installed by kbgen.cli already
    replaced = core._TyperParameter.process_value
    assert lazy_options.install() and core._TyperParameter.process_value is replaced
    monkeypatch.setenv(lazy_options.SWITCH, "0")
    assert not lazy_options.applies() and not lazy_options.install()
