"""The worksheet's JSON Schema: shipped as package data, checked with ``jsonschema``.

The same file serves editors (``# yaml-language-server: $schema=...`` at the
top of every worksheet: completion and checking while typing) and ``kbgen
record`` (the first check a worksheet passes). Errors come back as one
located :class:`~kbgen.worksheet.yamlmarks.Problem` each, phrased for a
person rather than as a schema dump.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from kbgen.worksheet.yamlmarks import Marked, Problem

SCHEMA_FILE = "worksheet.schema.json"
#: The file name ``kbgen session start`` gives the schema's copy beside the worksheets.
SCHEMA_COPY = "worksheet.schema.json"


def schema_text() -> str:
    return resources.files("kbgen.worksheet").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_text())
    return data


def project_schema(categories: tuple[str, ...], aliases: dict[str, str]) -> str:
    """The schema with the project's category vocabulary, for editors to complete (written beside worksheets)."""
    data = json.loads(schema_text())
    finding = data["$defs"]["finding"]["properties"]
    finding["category"]["examples"] = list(categories)
    if categories:  # an open vocabulary (categories: []) accepts any category: no enum to check against
        finding["category"]["anyOf"] = [{"enum": list(categories)}, {"enum": sorted(aliases)}]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def check(marked: Marked) -> list[Problem]:
    """Every schema violation of the document, located and in document order."""
    problems = [_problem(err, marked) for err in _validator().iter_errors(marked.data)]
    problems.sort(key=lambda p: (p.line or 0, p.message))
    unique: list[Problem] = []
    for p in problems:
        if not unique or (unique[-1].line, unique[-1].message) != (p.line, p.message):
            unique.append(p)
    return unique


def _where(path: tuple[Any, ...]) -> str:
    """``("findings", 2, "severity")`` → ``findings[3].severity`` (1-based, as people count)."""
    text = ""
    for part in path:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the worksheet"


def _problem(err: ValidationError, marked: Marked) -> Problem:
    path = tuple(err.absolute_path)
    where = _where(path)
    line = marked.line(path)
    validator = err.validator
    if validator == "anyOf" and isinstance(err.instance, dict) and "required" in json.dumps(err.validator_value):
        return Problem(line, f"{where}: name the file, by 'file' (its ID) or by 'package' and 'path'")
    if validator in ("oneOf", "anyOf") and err.context:
        best = _best(err)
        if best is not None and best is not err:
            return _problem(best, marked)
    if validator == "enum":
        allowed = ", ".join("empty" if v is None else str(v) for v in err.validator_value)  # type: ignore[union-attr]
        return Problem(line, f"{where}: {err.instance!r} is not allowed (allowed: {allowed})")
    if validator == "const":
        what = "worksheet (the format version)" if path == ("worksheet",) else where
        return Problem(line, f"{what} must be {err.validator_value!r}")
    if validator == "additionalProperties":
        props = sorted(schema_properties(err.schema))
        extras = [k for k in err.instance if k not in props] if isinstance(err.instance, dict) else []
        if extras:
            key = extras[0]
            hint = difflib.get_close_matches(key, props, n=1)
            line = marked.keys.get((*path, key), line)
            suffix = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(props)})"
            return Problem(line, f"{where}: unknown key {key!r}{suffix}")
    if validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else str(err.validator_value)
        return Problem(line, f"{where}: {missing!r} is missing")
    if validator == "pattern":
        return Problem(line, f"{where}: {err.instance!r} does not have the expected form ({_describe(err)})")
    if validator == "type":
        expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        kinds = " or ".join(dict.fromkeys(_TYPE_NAMES.get(str(k), str(k)) for k in expected))
        return Problem(line, f"{where} must be {kinds}, not {_kind(err.instance)}")
    if validator in ("minLength", "minItems"):
        return Problem(line, f"{where} must not be empty")
    if validator == "minimum":
        return Problem(line, f"{where} must be at least {err.validator_value}")
    return Problem(line, f"{where}: {err.message}")


def _best(err: ValidationError) -> ValidationError | None:
    """The most telling sub-error of a oneOf/anyOf: one from a branch of the value's own type, if any."""
    ctx = list(err.context or [])
    typed = [e for e in ctx if e.validator != "type" and not _type_mismatch(e)]
    if not typed:
        kinds = sorted({str(k) for e in ctx for k in (e.validator_value if isinstance(e.validator_value, list)
                                                      else [e.validator_value])})
        err.validator = "type"
        err.validator_value = kinds
        return err
    return max(typed, key=lambda e: len(e.absolute_path))


def _type_mismatch(err: ValidationError) -> bool:
    """A nested oneOf whose every branch failed on the value's type: that branch is for another type."""
    return err.validator in ("oneOf", "anyOf") and all(
        e.validator == "type" or _type_mismatch(e) for e in (err.context or []))


def schema_properties(sub: Any) -> list[str]:
    return list((sub or {}).get("properties", {})) if isinstance(sub, dict) else []


def _describe(err: ValidationError) -> str:
    probe: Any = err
    while probe is not None:
        text = probe.schema.get("description") if isinstance(probe.schema, dict) else None
        if text:
            return str(text).rstrip(".")
        probe = probe.parent
    return f"pattern {err.validator_value}"


_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "empty"}


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
