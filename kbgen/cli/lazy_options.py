"""An option the user did not give costs nothing: Typer's value checker built only for given values.

Typer 0.29 checks every non-boolean option's value through a pydantic
``TypeAdapter``, which it builds the first time the option is processed, even
when the option was not given and its value is ``None``; the checker then
returns ``None`` (``()`` for a repeatable option) without looking at the
adapter. Building the first adapter imports pydantic, which roughly doubles
the start-up of a short command such as ``kbgen report``, whose global options
(``--project``, ``--db``) are usually not given.

:func:`install` replaces ``_TyperParameter.process_value`` with a version that,
for a ``None`` value whose checker was not built yet, returns what the checker
would return, and then does what the original does next (the required check and
the parameter's callback). Any other value goes through the original, so every
given value is checked and every error message is Typer's own.

It is applied only to the Typer releases it was checked against
(:data:`TESTED_TYPER`, exact versions); ``KBGEN_LAZY_OPTIONS=0`` in the
environment turns it off. tests/test_cli_lazy_options.py runs commands with and
without it and compares their output and exit codes byte for byte. The change
belongs upstream (build the checker only for a value that is not ``None``);
docs/reference/upstream.md has the proposal. What it saves is in bench/README.md.
"""

from __future__ import annotations

import os
from typing import Any

import typer

#: The Typer releases whose ``_TyperParameter.process_value`` this module was compared with.
TESTED_TYPER = ("0.29.2",)
#: Environment variable that turns the replacement off ("0").
SWITCH = "KBGEN_LAZY_OPTIONS"


def applies() -> bool:
    """Whether :func:`install` changes anything on this Typer, with this environment."""
    return os.environ.get(SWITCH, "1") != "0" and typer.__version__ in TESTED_TYPER


def install() -> bool:
    """Replace ``process_value`` once; whether it is replaced."""
    if not applies():
        return False
    from typer import core
    from typer._click.exceptions import MissingParameter  # Typer 0.29 carries its own click

    parameter = core._TyperParameter
    original = parameter.process_value
    if getattr(original, "_kbgen_lazy", False):
        return True

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        if value is not None or self._runtime_param is not None:
            return original(self, ctx, value)
        # What RuntimeParam.coerce returns for None, without building the checker.
        value = () if self.multiple or self.nargs == -1 else None
        if self.required and self.value_is_missing(value):
            raise MissingParameter(ctx=ctx, param=self)
        if self.callback is not None:
            value = self.callback(ctx, self, value)
        return value

    process_value._kbgen_lazy = True  # type: ignore[attr-defined]
    parameter.process_value = process_value  # type: ignore[method-assign]
    return True
