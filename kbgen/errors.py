"""kbgen's error tree.

Every error a user can cause carries enough to act on: where (path and line,
when there is one), what is wrong, and the exit code of the command-line
contract (2 bad input, 3 database or environment). The CLI turns these into a
one-line message; tracebacks only with ``--debug``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3


class KbgenError(Exception):
    """Base of every error kbgen reports to a user (never a bug)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, path: str | Path | None = None,
                 line: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class UsageError(KbgenError):
    """Bad input or usage: unknown ID, bad option value, unreadable file (exit 2)."""


class PlanParseError(KbgenError):
    """An execution plan that cannot be read; carries path and line (exit 2)."""


class DomainDocError(KbgenError):
    """A domain document kbgen cannot safely rewrite (exit 2)."""


class ConfigError(KbgenError):
    """conf/kbgen.yaml is missing a value or holds a bad one (exit 2)."""


class DatabaseError(KbgenError):
    """Database unreachable, not a research database, wrong schema, locked (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


class EnvironmentProblem(KbgenError):
    """A tool or file kbgen needs is missing, or another run holds the lock (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


@dataclass(frozen=True)
class KbWarning:
    """A located, coded warning (code lets users silence it)."""

    code: str
    message: str
    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}: " if self.path and self.line else (f"{self.path}: " if self.path else "")
        return f"{where}{self.message} [{self.code}]"
