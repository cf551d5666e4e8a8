"""The alias file between ``kbgen vocab suggest -o`` and ``kbgen vocab apply``.

A YAML (or JSON) document with one mapping, ``aliases``: recorded category
spelling → the category to group it under. ``suggest`` writes it with each
proposal's reason as a comment, so a person can delete the lines they do not
accept before applying; ``suggest --json`` output is accepted as it is (it has
the same ``aliases`` mapping). Every problem is reported as ``file:line:``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kbgen.vocab import Vocabulary, category_key
from kbgen.vocab_merge import Suggestions
from kbgen.wording import count


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an alias file (an error) or worth knowing (a warning)."""

    message: str
    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclass
class AliasFile:
    """The aliases of a file as category keys, with what is wrong and what is only worth a warning."""

    aliases: dict[str, str] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _plain(value: str) -> str:
    """A YAML scalar: plain when it reads back as the same string, else double-quoted."""
    try:
        if yaml.safe_load(value) == value and ":" not in value and "#" not in value:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value, ensure_ascii=False)


def render_alias_file(s: Suggestions, source: str) -> str:
    """The YAML ``suggest -o`` writes: every proposal, its evidence as comments."""
    lines = [
        f"# Category merges proposed by kbgen vocab suggest for {source}",
        f"# {count(s.findings, 'finding')}, {count(s.spellings, 'spelling')}, "
        f"{count(len(s.uses), 'category', 'categories')}; accepting every merge below regroups "
        f"{count(s.affected, 'finding')} into {count(s.categories_after, 'category', 'categories')}.",
        "# Delete the lines you do not accept (or change a target), then run: kbgen vocab apply FILE",
        "# The findings table is never rewritten: kbgen only groups these spellings under their target.",
        "aliases:" if s.merges else "aliases: {}",
    ]
    for merge in s.merges:
        into = merge.into
        spelled = ", ".join(f"{sp.shown} {sp.findings}" for sp in into.spellings)
        lines.append(f"  # {into.key}{' (canonical)' if into.canonical else ''}: {count(into.findings, 'finding')} "
                     f"({spelled})")
        for m in merge.members:
            spelled = ", ".join(f"{sp.shown} {sp.findings}" for sp in m.use.spellings)
            lines.append(f"  {_plain(m.use.key)}: {_plain(into.key)}  # {m.reason}; {spelled}")
    return "\n".join(lines) + "\n"


def _mark_line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def parse_alias_file(text: str, path: str, configured: Vocabulary,
                     stored: Mapping[str, str] | None = None) -> AliasFile:
    """Read and check an alias file.

    ``configured`` is the configuration's vocabulary alone (canonical list and
    ``category_aliases``): a file cannot fold a listed category away nor contradict
    a configured alias. ``stored`` are the aliases already in the database that
    stay (none under ``apply --replace``): chains through them are followed and
    circles refused.
    """
    vocabulary = configured
    out = AliasFile()
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", column {mark.column + 1}" if mark else ""
        out.errors.append(Problem(f"not valid YAML or JSON: {getattr(exc, 'problem', None) or exc}{where}", path,
                                  mark.line + 1 if mark else None))
        return out
    if not isinstance(root, yaml.MappingNode):
        out.errors.append(Problem("expected a mapping with an 'aliases' mapping "
                                  "(as written by kbgen vocab suggest -o FILE)", path, 1))
        return out
    node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "aliases"), None)
    if node is None:
        out.errors.append(Problem("no 'aliases' mapping (expected aliases: {spelling: category})", path,
                                  _mark_line(root)))
        return out
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return out
    if not isinstance(node, yaml.MappingNode):
        out.errors.append(Problem("'aliases' must be a mapping of spelling: category", path, _mark_line(node)))
        return out
    listed = set(vocabulary.categories)
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        line = _mark_line(key_node)
        if not isinstance(key_node, yaml.ScalarNode) or not isinstance(value_node, yaml.ScalarNode):
            out.errors.append(Problem("each alias is one spelling: one category", path, line))
            continue
        spelling, target = key_node.value, value_node.value
        key, to = category_key(spelling), category_key(target)
        if not key or not to:
            out.errors.append(Problem(f"{spelling!r}: {target!r}: a spelling and a category are both needed",
                                      path, line))
            continue
        if key == to:
            out.warnings.append(Problem(f"{spelling!r} is already spelled as {to!r}: nothing to fold", path, line))
            continue
        if key in out.aliases and out.aliases[key] != to:
            out.errors.append(Problem(f"{key!r} is folded twice, into {out.aliases[key]!r} (line {lines[key]}) "
                                      f"and {to!r}", path, line))
            continue
        if key in listed:
            out.errors.append(Problem(f"{key!r} is a canonical category (categories in conf/kbgen.yaml) and cannot "
                                      f"be folded into {to!r}; remove it from the list first", path, line))
            continue
        folded = configured.aliases.get(key)
        if folded is not None and folded != to:
            out.errors.append(Problem(f"conf/kbgen.yaml already folds {key!r} into {folded!r} "
                                      f"(category_aliases wins over the database): not {to!r}", path, line))
            continue
        out.aliases[key] = to
        lines[key] = line
    others = {**(stored or {}), **configured.aliases}
    for key, line in sorted(lines.items(), key=lambda kv: kv[1]):
        if key not in out.aliases:
            continue
        cycle = _cycle(key, out.aliases, others)
        if cycle:
            out.errors.append(Problem(f"aliases go round in a circle: {' → '.join(cycle)}", path, line))
            continue
        final = _final(key, out.aliases, others)
        if vocabulary.closed and final not in listed:
            out.warnings.append(Problem(
                f"{final!r} is not a canonical category: {key!r} is grouped under it, but a recorder cannot use "
                "it (add it to categories in conf/kbgen.yaml)", path, line))
    return out


def _final(key: str, first: Mapping[str, str], then: Mapping[str, str]) -> str:
    seen = {key}
    target = first.get(key) or then.get(key, key)
    while (target in first or target in then) and target not in seen:
        seen.add(target)
        target = first.get(target) or then[target]
    return target


def _cycle(key: str, first: Mapping[str, str], then: Mapping[str, str]) -> list[str]:
    path = [key]
    target = first.get(key) or then.get(key)
    while target is not None:
        if target in path:
            return [*path[path.index(target):], target]
        path.append(target)
        target = first.get(target) or then.get(target)
    return []


def read_alias_file(path: Path, configured: Vocabulary, stored: Mapping[str, str] | None = None) -> AliasFile:
    """Read ``path`` ('-' is standard input) and check it."""
    import sys

    shown = "<stdin>" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:  # worded as every other command words it, not as errno does
        return AliasFile(errors=[Problem("no such file", shown)])
    except IsADirectoryError:
        return AliasFile(errors=[Problem("is a folder, not an alias file", shown)])
    except (OSError, UnicodeDecodeError) as exc:
        return AliasFile(errors=[Problem(f"cannot read: {exc}", shown)])
    return parse_alias_file(text, shown, configured, stored)
