"""YAML with line numbers: every value and every key remembers where it was written.

PyYAML's ``safe_load`` forgets positions, but an error in a worksheet must say
``R95.yaml:14: no file 4459``. So the document is *composed* (the node tree
keeps marks) and converted here, recording the 1-based line of every value
and of every mapping key under its path (``("findings", 3, "severity")``).

Two more things ``safe_load`` does silently and a worksheet must not: a key
written twice keeps the last value (here: an error naming both lines), and
``2025-10-02`` becomes a ``date`` (here: the text as written, so dates stay
ISO strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass
class Problem:
    """One thing wrong with an input, located (1-based line, optional column)."""

    line: int | None
    message: str
    column: int | None = None

    def render(self, path: str | None) -> str:
        where = ""
        if path is not None:
            where = path + (f":{self.line}" if self.line else "") + (f":{self.column}" if self.column else "") + ": "
        elif self.line:
            where = f"line {self.line}: "
        return f"{where}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class Marked:
    """A loaded document and where each of its parts was written."""

    data: Any
    values: dict[Path_, int] = field(default_factory=dict)  #: path → line of the value
    keys: dict[Path_, int] = field(default_factory=dict)  #: path → line of the key naming it

    def line(self, path: Path_) -> int | None:
        """The line of ``path``, or of the nearest enclosing value that has one."""
        probe = tuple(path)
        while True:
            if probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            if not probe:
                return None
            probe = probe[:-1]


class YamlSyntaxError(Exception):
    """The text is not YAML; carries the located problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def load_marked(text: str) -> tuple[Marked, list[Problem]]:
    """Parse ``text``; duplicate keys come back as problems, syntax errors raise :class:`YamlSyntaxError`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part) or "not valid YAML"
        raise YamlSyntaxError(Problem(mark.line + 1 if mark else None, f"YAML syntax error: {message}",
                                      mark.column + 1 if mark else None)) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Problem(None, f"YAML syntax error: {exc}")) from exc
    finally:
        loader.dispose()
    marked = Marked(None)
    problems: list[Problem] = []
    if node is not None:
        marked.data = _convert(node, (), marked, problems, loader)
    return marked, problems


def _convert(node: yaml.Node, path: Path_, marked: Marked, problems: list[Problem], loader: yaml.SafeLoader) -> Any:
    marked.values[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(key_node.start_mark.line + 1,
                                        "merge keys (<<) are not supported in a worksheet"))
                continue
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is None:
                problems.append(Problem(line, "a key must be plain text"))
                continue
            if key in seen:
                problems.append(Problem(line, f"{key!r} is given twice (first on line {seen[key]})"))
                continue
            seen[key] = line
            marked.keys[(*path, key)] = line
            result[key] = _convert(value_node, (*path, key), marked, problems, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), marked, problems, loader) for i, item in enumerate(node.value)]
    if node.tag == _TIMESTAMP:
        return str(node.value)
    return loader.construct_object(node, deep=True)
