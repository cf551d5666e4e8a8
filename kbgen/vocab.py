"""Normalising the research vocabularies for grouping; originals kept for display.

Real databases hold ``HIGH``, ``High`` and ``high``, ``Med`` and ``moderate``,
and hundreds of free-form categories. Grouping needs one spelling; readers
need the original, so every model object keeps both.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kbgen.config import Options

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
#: A finding label as a token of text (``C3``, not ``SC3`` nor ``C3a``): what the site turns into a link.
LABEL_RE = re.compile(r"(?<![A-Za-z0-9_-])([CHM])(\d{1,5})(?![A-Za-z0-9_])")

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


def severity_key(value: str | None) -> str:
    """A severity spelling with case, spaces, hyphens and underscores folded away: ``'High '`` → ``HIGH``."""
    return _key(value).replace("_", "")


def severity(value: str | None) -> str:
    """``'High '`` → ``HIGH``; unknown spellings → ``UNKNOWN`` (grouped last)."""
    key = severity_key(value)
    if key in SEVERITIES:
        return key
    return _SEVERITY_ALIASES.get(key, "UNKNOWN")


def severity_rank(value: str) -> int:
    return SEVERITIES.index(value) if value in SEVERITIES else len(SEVERITIES)


def depth_shown(normal: str, raw: str | None) -> str:
    """The normalised depth, and the recorded spelling where it is another word: ``MEDIUM (partial)``.

    Case, spaces and hyphens are no other spelling (``deep`` is DEEP, ``not-touched`` NOT_TOUCHED).
    """
    text = (raw or "").strip()
    return normal if not text or _key(text) == normal else f"{normal} ({text})"


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


def category_key(value: str | None) -> str:
    """A category spelling as lowercase kebab-case: ``'Fabricated_Data '`` → ``fabricated-data``.

    Case, spaces, underscores and punctuation never make two categories different,
    so every comparison (aliases, the canonical list, grouping) goes through this key.
    Empty or missing values give ``''``.
    """
    return re.sub(r"[^a-z0-9]+", "-", (value or "").strip().lower()).strip("-")


def category(value: str | None, aliases: Mapping[str, str]) -> str:
    """Free-form category → lowercase kebab-case, folded through the aliases (keys already keyed)."""
    slug = category_key(value)
    if not slug:
        return "unknown"
    return aliases.get(slug, slug)


def _resolve_aliases(aliases: Mapping[str, str], canonical: frozenset[str]) -> dict[str, str]:
    """Follow alias chains (``a → b → c`` gives ``a → c``) and drop what cannot hold.

    An alias of a canonical category is dropped (the list wins: a listed value stays
    allowed as it is), so is an alias onto itself; a cycle stops where it closes.
    """
    resolved: dict[str, str] = {}
    for key in sorted(aliases):
        if key in canonical:
            continue
        seen = {key}
        target = aliases[key]
        while target in aliases and target not in canonical and target not in seen:
            seen.add(target)
            target = aliases[target]
        if target and target != key:
            resolved[key] = target
    return resolved


@dataclass(frozen=True)
class Vocabulary:
    """The finding-category vocabulary: the canonical list and every alias onto it.

    ``categories`` is the canonical list of ``conf/kbgen.yaml`` (key ``categories``),
    in its configured order; an empty list means an open vocabulary (every
    category is accepted as its own canonical value). ``aliases`` maps spelling
    keys to canonical keys: the configuration's ``category_aliases`` (with
    kbgen's defaults) and the aliases ``kbgen vocab apply`` stored in the
    database; the configuration wins where both name the same spelling.

    Grouping uses :meth:`normalise` (any spelling gets a key, unknown ones their
    own); recording uses :meth:`canonical` and :meth:`allowed` to refuse values
    outside the list.
    """

    categories: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, categories: Iterable[str], *alias_maps: Mapping[str, str]) -> Vocabulary:
        """A vocabulary from a canonical list and alias maps, earlier maps winning per spelling."""
        listed: list[str] = []
        for value in categories:
            key = category_key(value)
            if key and key not in listed:
                listed.append(key)
        merged: dict[str, str] = {}
        for mapping in reversed(alias_maps):
            for spelling, target in mapping.items():
                key, to = category_key(spelling), category_key(target)
                if key and to:
                    merged[key] = to
        return cls(tuple(listed), _resolve_aliases(merged, frozenset(listed)))

    @classmethod
    def from_options(cls, options: Options, aliases_from_db: Mapping[str, str] | None = None) -> Vocabulary:
        """The project's vocabulary: ``categories`` and ``category_aliases`` of the configuration,
        plus the aliases stored in the database (:func:`kbgen.db.aliases.read_aliases`)."""
        return cls.build(options.categories, options.category_aliases, aliases_from_db or {})

    @property
    def closed(self) -> bool:
        """Whether recorders are held to the canonical list (an empty list accepts anything)."""
        return bool(self.categories)

    def normalise(self, raw: str | None) -> str:
        """The category a finding is grouped under: canonical when known, else its own key.

        Never fails: ``'Fabricated_Data'`` → ``fabricated-data``, an alias → its target,
        an unlisted spelling → its kebab-case key, an empty one → ``unknown``.
        """
        return category(raw, self.aliases)

    def canonical(self, raw: str | None) -> str | None:
        """The canonical category for a recorded value, or None when the vocabulary refuses it.

        With a closed vocabulary only listed categories and aliases onto them are
        accepted; with an open one every non-empty value is (as its key).
        """
        key = category_key(raw)
        if not key:
            return None
        value = self.aliases.get(key, key)
        if not self.closed:
            return value
        return value if value in self.categories else None

    def allowed(self) -> list[str]:
        """The canonical categories a recorder may use, in the configured order ([] when open)."""
        return list(self.categories)

    def closest(self, raw: str | None, n: int = 3) -> list[str]:
        """Canonical categories a refused value was probably meant to be (for "did you mean ...")."""
        import difflib

        key = category_key(raw)
        if not key or not self.closed:
            return []
        names = [*self.categories, *(k for k, v in self.aliases.items() if v in self.categories)]
        out: list[str] = []
        for match in difflib.get_close_matches(key, names, n=n * 2, cutoff=0.6):
            target = self.aliases.get(match, match)
            if target not in out:
                out.append(target)
        return out[:n]

    def refusal(self, raw: str | None) -> str:
        """The message for a value :meth:`canonical` refuses: what is wrong, a guess, the allowed values."""
        guess = self.closest(raw)
        hint = f" (did you mean {' or '.join(guess)}?)" if guess else ""
        what = f"category {raw!r}" if category_key(raw) else "an empty category"
        return (f"{what} is not in the vocabulary{hint}; allowed values: {', '.join(self.allowed())} "
                "(categories and category_aliases in conf/kbgen.yaml; kbgen vocab list shows them)")

    def spellings_of(self, canonical: str) -> list[str]:
        """The alias keys that fold onto one canonical category (sorted), for help texts."""
        return sorted(k for k, v in self.aliases.items() if v == canonical)


def recordable_category(value: str, canonical: Collection[str], aliases: Mapping[str, str]) -> str | None:
    """The canonical category a recorder's ``value`` stands for, or None when it is outside the vocabulary.

    ``value`` may be a canonical category in any case or separator style (``Integration Point``) or
    an alias (``vuln`` → ``security``); what gets written is always the canonical spelling, so the
    research table stops growing new spellings. (:meth:`Vocabulary.canonical`, for callers that
    have a list and a map rather than a :class:`Vocabulary`.)
    """
    return Vocabulary.build(canonical, aliases).canonical(value)


_SESSION_NAME = re.compile(r"^\s*R(\d+)", re.IGNORECASE)


def session_number(name: str | None, session_id: int) -> int:
    """The R-number a session is known by: ``R95`` → 95; else its id."""
    match = _SESSION_NAME.match(name or "")
    return int(match.group(1)) if match else session_id


_NAME_CHUNK = re.compile(r"([0-9]+)")
#: A session order key: digit runs compare as numbers, text case-insensitively, the name itself last.
SessionKey = tuple[tuple[tuple[int, int, str], ...], str]


def session_order_key(name: str) -> SessionKey:
    """The natural order of session names: R3 < R3-verify < R4 < R10.

    Digit runs compare as numbers and the rest case-insensitively; a name that
    is a prefix of another comes first. Names the key cannot tell apart (``R03``
    and ``R3``) fall back to the name itself, so equal keys mean equal names.
    This is the one definition of session order for everything written into a
    domain document: the Session Log is generated in this order and the linter
    checks it (``kbgen.domain.lint``), so what kbgen writes always lints clean.
    Sessions on the same date are ordered by name like any others; database ids
    play no part (a team may record R17 before R16).
    """
    text = " ".join(name.split())
    chunks = tuple((0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part.casefold())
                   for part in _NAME_CHUNK.split(text) if part)
    return chunks, text
