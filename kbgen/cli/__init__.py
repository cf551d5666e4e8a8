"""The ``kbgen`` command line: thin commands over the library.

Global options (``--project``, ``--db``, ``--quiet``, ``--debug``) live on the
root callback; every command turns kbgen's own errors into one line on stderr
and the exit code of the command-line contract (0 ok, 1 check failed, 2 bad
input, 3 database or environment). Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import sys

import typer

from kbgen.cli import common, lazy_options
from kbgen.cli.commands import SETTINGS, CommandGroup

lazy_options.install()

# The commands come from kbgen/cli/commands.py's table: a command's module is imported, and the
# command built, only when the arguments name it.
app = typer.Typer(name="kbgen", help="Turn a code-research ledger into a published knowledge base.",
                  cls=CommandGroup, **SETTINGS)
app.callback()(common.root_options)


def main() -> None:
    """Console entry point: run the app with kbgen's error handling."""
    common.STATE.ends_with_command = True
    sys.exit(common.run(app))
