"""kbgen/cli/commands.py: the command table agrees with the commands, and a command imports only its own module.

The table (names, order, help lines) is checked against the commands the modules register,
built as before the table existed; the root help listed from the table is compared with the
help of a root whose every command is built; and fresh interpreters show that ``kbgen
--help`` imports no command module and ``kbgen report`` only its own (and no pydantic).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

from kbgen.cli import app, commands
from kbgen.config import Options


def _root() -> Any:
    return typer.main.get_command(app)


def test_the_table_names_every_command_its_module_registers() -> None:
    seen: dict[str, str] = {}
    for module in dict.fromkeys(e.module for e in commands.COMMANDS):
        for name in commands.load(module):
            assert name not in seen, f"{name} registered by {seen.get(name)} and {module}"
            seen[name] = module
    assert {e.name: e.module for e in commands.COMMANDS} == seen


def test_every_command_module_is_in_the_table() -> None:
    """A new ``*_cmd.py`` needs its table rows (record_cmd's commands are registered by kb_cmd)."""
    folder = Path(commands.__file__).parent
    found = {f"kbgen.cli.{p.stem}" for p in folder.glob("*_cmd.py")}
    assert found - {e.module for e in commands.COMMANDS} == {"kbgen.cli.record_cmd"}


def test_the_table_order_is_typers() -> None:
    """Commands before groups, each in the order its module registers them (as Typer lists them)."""
    built = {e.name: cmd for e in commands.COMMANDS for name, cmd in commands.load(e.module).items() if name == e.name}
    is_group = [hasattr(built[e.name], "commands") for e in commands.COMMANDS]
    assert is_group == sorted(is_group)
    for module in dict.fromkeys(e.module for e in commands.COMMANDS):
        registered = [n for n in commands.load(module)]
        in_table = [e.name for e in commands.COMMANDS if e.module == module]
        groups = {n for n in registered if hasattr(built[n], "commands")}
        assert in_table == [n for n in registered if n not in groups] + [n for n in registered if n in groups]


def test_the_table_help_is_each_commands_first_paragraph() -> None:
    for entry in commands.COMMANDS:
        cmd = commands.load(entry.module)[entry.name]
        assert cmd.help is not None and not cmd.short_help and not cmd.hidden and not cmd.deprecated, entry.name
        assert entry.help == " ".join(cmd.help.split("\n\n")[0].split()), entry.name


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_the_root_help_is_the_one_of_every_command_built(width: int) -> None:
    root = _root()
    ctx = typer.Context(root, info_name="kbgen", terminal_width=width, max_content_width=width)
    from_table = root.get_help(ctx)
    assert all(root.commands.built(e.name) is None for e in commands.COMMANDS)  # nothing was built for it
    for name in list(root.commands):
        root.commands[name]  # builds the command
    assert all(root.commands.built(e.name) is not None for e in commands.COMMANDS)
    assert root.get_help(ctx) == from_table
    assert "Commands:" in from_table and all(f"  {e.name} " in from_table for e in commands.COMMANDS)


def test_a_command_builds_its_module_alone() -> None:
    root = _root()
    assert root.get_command(typer.Context(root), "report") is not None
    built = {e.name for e in commands.COMMANDS if root.commands.built(e.name) is not None}
    assert built == {"report", "stats"}  # report_cmd registers both
    assert root.get_command(typer.Context(root), "no-such-command") is None
    assert "no-such-command" not in root.commands


def test_an_unknown_module_command_is_an_error_not_a_silent_gap() -> None:
    lazy = commands.LazyCommands({}, (commands.Entry("ghost", "kbgen.cli.report_cmd", "Not there."),))
    assert list(lazy) == ["ghost"]
    with pytest.raises(RuntimeError, match="registers no command 'ghost'"):
        lazy["ghost"]


_PROBE = """
import json, sys
sys.argv = ["kbgen", *{argv!r}]
from kbgen.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps([code, sorted(m for m in sys.modules if m.startswith("kbgen.cli.") or m.split(".")[0] == "pydantic")]))
"""


def _modules(argv: list[str], cwd: Any) -> tuple[int, set[str]]:
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr
    code, modules = json.loads(proc.stdout.strip().splitlines()[-1])
    return code, set(modules)


CORE = {"kbgen.cli.common", "kbgen.cli.commands", "kbgen.cli.lazy_options"}


def test_help_imports_no_command_module(tmp_path: Any) -> None:
    code, modules = _modules(["--help"], tmp_path)
    assert code == 0 and modules == CORE


@pytest.mark.parametrize("argv", [["report"], ["--project", ".", "-q", "report", "-o", "index.md"], ["stats"]],
                         ids=" ".join)
def test_a_report_imports_its_module_alone_and_no_pydantic(example_project: Options, argv: list[str]) -> None:
    code, modules = _modules(argv, example_project.project_dir)
    assert code == 0
    assert modules - CORE == {"kbgen.cli.report_cmd", "kbgen.cli.tables"}, sorted(modules)
