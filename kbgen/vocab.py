"""Normalising the research vocabularies for grouping; originals kept for display.

Real databases hold ``HIGH``, ``High`` and ``high``, ``Med`` and ``moderate``,
and hundreds of free-form categories. Grouping needs one spelling; readers
need the original, so every model object keeps both.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN")
_SEVERITY_ALIASES = {
    "CRIT": "CRITICAL", "BLOCKER": "CRITICAL", "SEVERE": "CRITICAL",
    "HI": "HIGH", "MAJOR": "HIGH",
    "MED": "MEDIUM", "MODERATE": "MEDIUM", "MID": "MEDIUM",
    "MINOR": "LOW", "LO": "LOW",
    "INFORMATIONAL": "INFO", "NOTE": "INFO", "INFORMATION": "INFO",
}
#: Label letters per severity (domain documents label C/H/M findings).
SEVERITY_LETTERS: dict[str, str] = {"CRITICAL": "C", "HIGH": "H", "MEDIUM": "M"}

DEPTHS: tuple[str, ...] = ("DEEP", "MEDIUM", "SURFACE", "MENTIONED", "NOT_TOUCHED", "EXCLUDED")
_DEPTH_RANK = {"DEEP": 5, "MEDIUM": 4, "SURFACE": 3, "MENTIONED": 2, "NOT_TOUCHED": 1, "EXCLUDED": 0}
_DEPTH_ALIASES = {"NOT-TOUCHED": "NOT_TOUCHED", "NOTTOUCHED": "NOT_TOUCHED", "UNTOUCHED": "NOT_TOUCHED",
                  "NONE": "NOT_TOUCHED", "SHALLOW": "SURFACE", "MED": "MEDIUM", "FULL": "DEEP"}

PRIORITIES: tuple[str, ...] = ("HIGH", "MEDIUM", "LOW")

#: What a recorder may write (``kbgen record``, ``kbgen finding add``): the canonical spellings only.
RECORD_SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
#: Depths a read can reach; NOT_TOUCHED and EXCLUDED describe files, not reads.
READ_DEPTHS: tuple[str, ...] = ("DEEP", "MEDIUM", "SURFACE", "MENTIONED")
#: Relationships of dependency edges between files.
RELATIONSHIPS: tuple[str, ...] = ("imports", "calls", "triggers", "bridges", "bundles", "generates", "reads",
                                  "writes")


def _key(value: str | None) -> str:
    return re.sub(r"[\s\-]+", "_", (value or "").strip().upper())


def severity(value: str | None) -> str:
    """``'High '`` → ``HIGH``; unknown spellings → ``UNKNOWN`` (grouped last)."""
    key = _key(value).replace("_", "")
    if key in SEVERITIES:
        return key
    return _SEVERITY_ALIASES.get(key, "UNKNOWN")


def severity_rank(value: str) -> int:
    return SEVERITIES.index(value) if value in SEVERITIES else len(SEVERITIES)


def depth(value: str | None) -> str:
    """Normalised depth; a missing value counts as ``NOT_TOUCHED``."""
    key = _key(value)
    if not key:
        return "NOT_TOUCHED"
    if key in _DEPTH_RANK:
        return key
    return _DEPTH_ALIASES.get(key) or _DEPTH_ALIASES.get(key.replace("_", ""), "NOT_TOUCHED")


def depth_rank(value: str) -> int:
    """Strength of a depth: DEEP > MEDIUM > SURFACE > MENTIONED > NOT_TOUCHED > EXCLUDED."""
    return _DEPTH_RANK.get(value, 1)


def is_read(depth_value: str) -> bool:
    """Read at SURFACE or deeper: such a file gets a page of its own."""
    return depth_rank(depth_value) >= _DEPTH_RANK["SURFACE"]


def priority(value: str | None) -> str:
    key = _key(value)
    return key or "MEDIUM"


def category(value: str | None, aliases: Mapping[str, str]) -> str:
    """Free-form category → lowercase kebab-case, folded through the aliases."""
    slug = re.sub(r"[^a-z0-9]+", "-", (value or "").strip().lower()).strip("-")
    if not slug:
        return "unknown"
    return aliases.get(slug, slug)


def recordable_category(value: str, canonical: Collection[str], aliases: Mapping[str, str]) -> str | None:
    """The canonical category a recorder's ``value`` stands for, or None when it is outside the vocabulary.

    ``value`` may be a canonical category in any case or separator style (``Integration Point``) or
    an alias (``vuln`` → ``security``); what gets written is always the canonical spelling, so the
    research table stops growing new spellings.
    """
    slug = category(value, {})
    if slug in canonical:
        return slug
    folded = category(value, aliases)
    return folded if folded in canonical else None


_SESSION_NAME = re.compile(r"^\s*R(\d+)", re.IGNORECASE)


def session_number(name: str | None, session_id: int) -> int:
    """The R-number a session is known by: ``R95`` → 95; else its id."""
    match = _SESSION_NAME.match(name or "")
    return int(match.group(1)) if match else session_id
