"""Shared CLI state: global options, console output, error → exit code."""

from __future__ import annotations

import importlib
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from kbgen.config import Options, load_options
from kbgen.db.engine import database_error
from kbgen.errors import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, KbgenError


@dataclass
class State:
    project: Path | None = None
    db: str | None = None
    quiet: bool = False
    debug: bool = False

    def options(self, *, required: bool = True) -> Options:
        return load_options(self.project, required=required).with_database(self.db)


STATE = State()
console = Console(highlight=False, soft_wrap=True, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


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
    except SQLAlchemyError as exc:  # a driver error no library function translated: still one line, exit 3
        if STATE.debug:
            traceback.print_exc()
        error = database_error(exc)
        err_console.print(f"error: {error}", markup=False)
        return error.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        return 130
    except OSError as exc:
        if STATE.debug:
            traceback.print_exc()
        err_console.print(f"error: {exc}", markup=False)
        return EXIT_ENVIRONMENT
    return 0


def fail_exit(code: int) -> None:
    raise typer.Exit(code)


def stdout_write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
