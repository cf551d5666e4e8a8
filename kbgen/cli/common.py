"""Shared CLI state: global options, console output, error → exit code.

The command line answers ``kbgen --help`` (and every usage error) without
loading the libraries behind its commands: the command modules import what a
command needs when it runs, the consoles are created on first use, and a
database error is recognised only when SQLAlchemy was loaded at all (an
exception cannot be SQLAlchemy's if SQLAlchemy never ran). tests/test_cli_imports.py
checks that importing the CLI loads neither SQLAlchemy, Alembic, Sphinx nor Rich.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kbgen.errors import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, KbgenError

if TYPE_CHECKING:
    from rich.console import Console

    from kbgen.config import Options
    from kbgen.errors import DatabaseError


@dataclass
class State:
    project: Path | None = None
    db: str | None = None
    quiet: bool = False
    debug: bool = False
    #: The process ends when the command does (the console entry point; not an in-process caller).
    ends_with_command: bool = False

    def options(self, *, required: bool = True) -> Options:
        from kbgen.config import load_options

        return load_options(self.project, required=required).with_database(self.db)


class LazyConsole:
    """A Rich console created on first use (importing Rich is a noticeable share of a ``--help``).

    Attribute access goes to the console; :meth:`real` gives the console itself, for Rich
    classes that take one (``Progress(console=...)``).
    """

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True, emoji=False)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


STATE = State()
console = LazyConsole(stderr=False)
err_console = LazyConsole(stderr=True)


def root_options(
    project: Annotated[Path | None, typer.Option("--project", help="Knowledge-base project folder "
                                                 "(holds conf/kbgen.yaml); default: the current folder.")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL, overriding conf/kbgen.yaml and $KBGEN_DB "
                                           "(sqlite:///db/research.db, postgresql+psycopg://...).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the essential result.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Turn a code-research ledger into a published knowledge base."""
    STATE.project, STATE.db, STATE.quiet, STATE.debug = project, db, quiet, debug


def say(message: str) -> None:
    if not STATE.quiet:
        console.print(message, markup=False)


def warn(message: str) -> None:
    err_console.print(f"warning: {message}", markup=False)


def _click_exceptions(name: str) -> tuple[type[BaseException], ...]:
    """An exception class of click, wherever this typer takes click from.

    Newer typer releases vendor their own copy (``typer._click``) and do not install
    ``click`` at all; older ones use ``click``. Both are looked up, neither is required.
    """
    found: list[type[BaseException]] = []
    for module_name in ("typer._click.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


_EXIT_ERRORS: tuple[type[BaseException], ...] = (typer.Exit, *_click_exceptions("Exit"))
_ABORT_ERRORS: tuple[type[BaseException], ...] = (typer.Abort, *_click_exceptions("Abort"))
_USAGE_ERRORS: tuple[type[BaseException], ...] = _click_exceptions("ClickException")


def run(app: typer.Typer) -> int:
    """Run the Typer app; map kbgen errors to one line and the contract's exit codes."""
    try:
        # With standalone_mode=False click returns the code of a typer.Exit instead of raising.
        result = app(standalone_mode=False)
        if isinstance(result, int):
            return result
    except KbgenError as exc:
        if STATE.debug:
            traceback.print_exc()
        err_console.print(f"error: {exc}", markup=False)
        return exc.exit_code
    except _EXIT_ERRORS as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except _ABORT_ERRORS:
        err_console.print("aborted", markup=False)
        return 130
    except _USAGE_ERRORS as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"error: {exc}", markup=False)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        return 130
    except Exception as exc:
        error = _database_error(exc)
        if error is not None:  # a driver error no library function translated: still one line, exit 3
            if STATE.debug:
                traceback.print_exc()
            err_console.print(f"error: {error}", markup=False)
            return error.exit_code
        if not isinstance(exc, OSError):
            raise
        if STATE.debug:
            traceback.print_exc()
        err_console.print(f"error: {exc}", markup=False)
        return EXIT_ENVIRONMENT
    return 0


def _database_error(exc: BaseException) -> DatabaseError | None:
    """kbgen's error for an SQLAlchemy exception, None for any other (SQLAlchemy is never loaded to tell)."""
    module = sys.modules.get("sqlalchemy.exc")
    if module is None or not isinstance(exc, module.SQLAlchemyError):
        return None
    from kbgen.db.engine import database_error

    return database_error(exc)


def fail_exit(code: int) -> None:
    raise typer.Exit(code)


def stdout_write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
