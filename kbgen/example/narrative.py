"""The human narrative of the example's domain documents (``narrative.yaml``).

Read into plain frozen data so whoever seeds the demo's domain documents
does not depend on the YAML's shape. The file is part of the package, so a
malformed one is a bug in kbgen, reported as ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from kbgen.example import NARRATIVE_YAML


@dataclass(frozen=True)
class Subsystem:
    """One subsystem section (5a, 5b, ...) of a domain document."""

    title: str
    text: str


@dataclass(frozen=True)
class DomainNarrative:
    """The human sections of one domain's analysis document."""

    domain: str
    summary: str
    subsystems: tuple[Subsystem, ...]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{NARRATIVE_YAML}: {where} must be non-empty text")
    return value.strip()


def parse_narrative(data: Any) -> dict[str, DomainNarrative]:
    """Check the loaded YAML's shape and turn it into :class:`DomainNarrative` values."""
    domains = data.get("domains") if isinstance(data, dict) else None
    if not isinstance(domains, dict):
        raise ValueError(f"{NARRATIVE_YAML}: expected a top-level 'domains' mapping")
    result: dict[str, DomainNarrative] = {}
    for name, entry in domains.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{NARRATIVE_YAML}: domain {name!r} must be a mapping")
        items = entry.get("subsystems") or []
        if not isinstance(items, list):
            raise ValueError(f"{NARRATIVE_YAML}: {name}.subsystems must be a list")
        subsystems = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(f"{NARRATIVE_YAML}: {name}.subsystems[{i}] must be a mapping")
            subsystems.append(Subsystem(_text(item.get("title"), f"{name}.subsystems[{i}].title"),
                                        _text(item.get("text"), f"{name}.subsystems[{i}].text")))
        result[str(name)] = DomainNarrative(str(name), _text(entry.get("summary"), f"{name}.summary"),
                                            tuple(subsystems))
    return result


def load_narrative() -> dict[str, DomainNarrative]:
    """The bundled narrative, keyed by domain name (in file order)."""
    text = resources.files("kbgen.example").joinpath(NARRATIVE_YAML).read_text(encoding="utf-8")
    return parse_narrative(yaml.safe_load(text))
