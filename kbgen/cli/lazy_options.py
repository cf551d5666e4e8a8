"""No pydantic for a plain option: Typer's value checker built only where it decides something.

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
the parameter's callback). A given value goes through the original unless it is a
plain one (below), so every error message is Typer's own.

It is applied only to the Typer releases it was checked against
(:data:`TESTED_TYPER`, exact versions); ``KBGEN_LAZY_OPTIONS=0`` in the
environment turns it off. tests/test_cli_lazy_options.py runs commands with and
without it and compares their output and exit codes byte for byte. The change
belongs upstream (build the checker only for a value that is not ``None``);
docs/reference/upstream.md has the proposal. What it saves is in bench/README.md.

A given value paid the same price: ``kbgen report -o FILE`` imported pydantic to turn one
string into a ``Path``. For the plain cases the replacement converts the value itself, to what
the checker returns for it (:func:`plain_kind` says which parameters qualify): a ``str``
option or argument keeps the string, a ``Path`` one gets ``Path(value)`` and then Typer's own
path checks (``coerce_cli_path``: existence, file or folder, ...), an ``int`` one written in
decimal digits gets ``int(value)``, a ``float`` one keeps a float (its default: ``kbgen sync``'s
``--wait`` imported pydantic for its 0.0), and a ``list`` of one of those gets each item converted.
Anything else (a custom parser, choices, bounded numbers, a float given as text, tuples, files, a
value of another type, digits with a sign or blanks) goes to the checker, and so does any value the
plain conversion rejects: Typer checks it again and raises its own error, word for word.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, get_args, get_origin

import typer

#: The Typer releases whose ``_TyperParameter.process_value`` this module was compared with.
TESTED_TYPER = ("0.29.2",)
#: Environment variable that turns the replacement off ("0").
SWITCH = "KBGEN_LAZY_OPTIONS"
#: The annotations whose values are converted here, without the checker.
PLAIN = (str, int, float, Path)
#: A value the plain conversion leaves to Typer's checker.
_UNDECIDED = object()


def applies() -> bool:
    """Whether :func:`install` changes anything on this Typer, with this environment."""
    return os.environ.get(SWITCH, "1") != "0" and typer.__version__ in TESTED_TYPER


def plain_kind(param: Any) -> type | list[type] | None:
    """``str``, ``int`` or ``Path`` (``[kind]`` for a list of them) when Typer's checker of ``param``
    is the plain one for that type; None when it may do more (a parser, bounds, a path class).

    Mirrors ``typer._adapters.build_leaf_adapter``: a parser comes first; ``int`` and ``float`` are
    plain without bounds; ``str`` always; ``Path`` with no ``path_type`` of its own.
    """
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    if info.parser is not None or descriptor.file_annotation is not None:
        return None
    annotation = descriptor.annotation
    is_list = get_origin(annotation) is list
    if is_list:
        (annotation,) = get_args(annotation)
    elif param.multiple or param.nargs != 1:
        return None
    if annotation not in PLAIN:
        return None
    if annotation in (int, float) and (info.min is not None or info.max is not None or info.clamp):
        return None
    if annotation is Path and info.path_type is not None:
        return None
    return [annotation] if is_list else annotation


def install() -> bool:
    """Replace ``process_value`` once; whether it is replaced."""
    if not applies():
        return False
    from typer import core
    from typer._click.exceptions import MissingParameter  # Typer 0.29 carries its own click
    from typer._param_types import coerce_cli_path

    parameter = core._TyperParameter
    original = parameter.process_value
    if getattr(original, "_kbgen_lazy", False):
        return True

    def plain_item(self: Any, ctx: Any, kind: type, value: Any) -> Any:
        if kind is str:
            return value if type(value) is str else _UNDECIDED
        if kind is float:  # a float as is (a default such as ``sync --wait``'s 0.0); a given text to the checker
            return value if type(value) is float else _UNDECIDED
        if kind is int:
            if type(value) is int:
                return value
            if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 18:
                return int(value)
            return _UNDECIDED
        if type(value) is str:  # a Path: what pydantic's Path validator makes of a string
            value = Path(value)
        elif not isinstance(value, Path):
            return _UNDECIDED
        try:  # Typer's own checks of a path; one they reject goes to the checker, for its message
            return coerce_cli_path(value, self.type_descriptor.parameter_info, path_type=Path, param=self, ctx=ctx)
        except Exception:
            return _UNDECIDED

    def plain_value(self: Any, ctx: Any, value: Any) -> Any:
        kind = plain_kind(self)
        if kind is None:
            return _UNDECIDED
        if isinstance(kind, list):  # Typer's list checker: a list of each item checked
            if not isinstance(value, (list, tuple)):
                return _UNDECIDED
            items = [plain_item(self, ctx, kind[0], item) for item in value]
            return _UNDECIDED if any(item is _UNDECIDED for item in items) else items
        return plain_item(self, ctx, kind, value)

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        if self._runtime_param is not None:
            return original(self, ctx, value)
        if value is None:
            # What RuntimeParam.coerce returns for None, without building the checker.
            value = () if self.multiple or self.nargs == -1 else None
        else:
            checked = plain_value(self, ctx, value)
            if checked is _UNDECIDED:
                return original(self, ctx, value)
            value = checked
        if self.required and self.value_is_missing(value):
            raise MissingParameter(ctx=ctx, param=self)
        if self.callback is not None:
            value = self.callback(ctx, self, value)
        return value

    process_value._kbgen_lazy = True  # type: ignore[attr-defined]
    process_value._kbgen_original = original  # type: ignore[attr-defined]  # for the equivalence tests
    parameter.process_value = process_value  # type: ignore[method-assign]
    return True
