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
from kbgen.cli.db_cmd import db_app
from kbgen.cli.kb_cmd import register as register_kb
from kbgen.cli.plan_cmd import plan_app
from kbgen.cli.vocab_cmd import vocab_app

lazy_options.install()

app = typer.Typer(name="kbgen", help="Turn a code-research ledger into a published knowledge base.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None)
app.callback()(common.root_options)
app.add_typer(db_app, name="db")
app.add_typer(plan_app, name="plan")
app.add_typer(vocab_app, name="vocab")
register_kb(app)
for _name in ("kbgen.cli.domain_cmd", "kbgen.cli.site_cmd", "kbgen.cli.report_cmd", "kbgen.cli.changes_cmd"):
    try:
        module = __import__(_name, fromlist=["register"])
    except ModuleNotFoundError as exc:  # a command group still being written
        if exc.name != _name:
            raise
        continue
    module.register(app)


def main() -> None:
    """Console entry point: run the app with kbgen's error handling."""
    sys.exit(common.run(app))
