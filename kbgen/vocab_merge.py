"""Proposing merges of near-duplicate finding categories (``kbgen vocab suggest``).

A campaign recorded without a vocabulary ends up with hundreds of category
spellings for a few dozen ideas. Case and separators are already folded by
:func:`kbgen.vocab.category_key` (``Fabricated_Data``, ``fabricated data`` and
``fabricated-data`` are one key); this module looks at the keys that remain
and proposes which to fold together, each with the reason a person can check.

It has to stay useful at real scale (hundreds of keys) without proposing
nonsense, so the rules are graded:

* **Certain** — the same words written apart or together (``hard-coded`` /
  ``hardcoded``), plurals (``integration-points``), the same words in another
  form (``fabricated-data`` / ``fabrication-data``) or another order. These
  chain freely.
* **Guarded** — a one-word category and a longer one sharing its stem
  (``fabrication`` / ``fabricated-data``), and one-letter typos
  (``architecure``). Proposed only when the link is unambiguous from both
  sides (``data`` matches a dozen categories: no proposal), never through
  generic words, and a typo only when the misspelling is at most a tenth as
  common as the word it resembles (``stale-cache`` / ``state-cache`` are both
  common: no proposal).

Two categories of the canonical list are never merged with each other, and a
merge always goes into the canonical category when the group has one, else
into the most used spelling. Everything is ordered, so the same database
gives the same proposals.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import Stemmer

from kbgen.vocab import Vocabulary
from kbgen.wording import count

#: Words too general to tie a one-word category to a longer one (``data`` / ``fabricated-data``).
GENERIC_WORDS: frozenset[str] = frozenset((
    "data", "code", "issue", "issues", "error", "errors", "problem", "problems", "missing", "test", "tests",
    "api", "apis", "impl", "implementation", "value", "values", "type", "types", "logic", "file", "files",
    "function", "functions", "usage", "use", "misc", "other", "general", "note", "notes", "check", "checks",
    "risk", "risks", "gap", "gaps", "info",
))
#: Shortest word that can carry a stem or a typo match.
MIN_WORD = 4
MIN_TYPO_WORD = 5
#: A typo's spelling must be at most this share of the word it resembles.
TYPO_SHARE = 0.1
#: Two word forms share a stem only when they also share this much of their length as a prefix
#: (``integrity`` / ``integration`` and ``positive`` / ``position`` share a stem, but not enough of the word
#: to be the same idea).
MIN_PREFIX_SHARE = 0.8

_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


@lru_cache(maxsize=8192)
def singular(word: str) -> str:
    """English plural → singular for category words (``dependencies`` → ``dependency``)."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def same_stem(a: str, b: str) -> bool:
    """Two forms of one word: the same stem, and most of the shorter word as a common prefix."""
    if a == b:
        return True
    if min(len(a), len(b)) < MIN_WORD or stem(a) != stem(b):
        return False
    prefix = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return prefix >= MIN_PREFIX_SHARE * min(len(a), len(b))


def _one_edit(a: str, b: str) -> bool:
    """Exactly one insertion, deletion, substitution or adjacent transposition apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spelling:
    """One category text exactly as recorded, and how many findings carry it."""

    text: str | None
    findings: int

    @property
    def shown(self) -> str:
        return "(no category)" if self.text is None else self.text


@dataclass(frozen=True)
class CategoryUse:
    """A category as kbgen groups it today, with every spelling folded into it."""

    key: str
    findings: int
    spellings: tuple[Spelling, ...]
    canonical: bool


@dataclass(frozen=True)
class Member:
    """A category proposed for folding into another, and why."""

    use: CategoryUse
    reason: str


@dataclass(frozen=True)
class Merge:
    """One proposal: fold every member into ``into``."""

    into: CategoryUse
    members: tuple[Member, ...]

    @property
    def affected(self) -> int:
        """Findings whose category would change (the target's own are unaffected)."""
        return sum(m.use.findings for m in self.members)


@dataclass(frozen=True)
class Suggestions:
    """Everything ``kbgen vocab suggest`` shows: the categories today and the proposed merges."""

    findings: int
    spellings: int
    uses: tuple[CategoryUse, ...]
    merges: tuple[Merge, ...]

    @property
    def categories_after(self) -> int:
        return len(self.uses) - sum(len(m.members) for m in self.merges)

    @property
    def affected(self) -> int:
        return sum(m.affected for m in self.merges)

    def aliases(self) -> dict[str, str]:
        """The alias map ``kbgen vocab apply`` stores: member key → target key."""
        return {m.use.key: merge.into.key for merge in self.merges for m in merge.members}

    def notes(self) -> dict[str, str]:
        return {m.use.key: f"{m.reason} ({count(m.use.findings, 'finding')})"
                for merge in self.merges for m in merge.members}

    def to_json(self) -> dict[str, Any]:
        def use(u: CategoryUse) -> dict[str, Any]:
            return {"category": u.key, "findings": u.findings, "canonical": u.canonical,
                    "spellings": [{"text": s.text, "findings": s.findings} for s in u.spellings]}

        return {
            "findings": self.findings, "spellings": self.spellings, "categories": len(self.uses),
            "categories_after": self.categories_after, "findings_affected": self.affected,
            "merges": [{"into": use(m.into), "findings_affected": m.affected,
                        "members": [{**use(x.use), "reason": x.reason} for x in m.members]} for m in self.merges],
            "aliases": self.aliases(),
            "categories_in_use": [use(u) for u in self.uses],
        }


# -- the grouping ---------------------------------------------------------------------------


def category_uses(counts: Mapping[str | None, int], vocabulary: Vocabulary) -> list[CategoryUse]:
    """Recorded spellings → the categories kbgen groups them under today, most used first."""
    by_key: dict[str, list[Spelling]] = defaultdict(list)
    for text, n in counts.items():
        if n > 0:
            by_key[vocabulary.normalise(text)].append(Spelling(text, n))
    listed = set(vocabulary.categories)
    uses = [CategoryUse(key, sum(s.findings for s in spellings),
                        tuple(sorted(spellings, key=lambda s: (-s.findings, s.shown))), key in listed)
            for key, spellings in by_key.items()]
    return sorted(uses, key=lambda u: (-u.findings, u.key))


class _Groups:
    """Union-find over category keys that never joins two canonical categories."""

    def __init__(self, uses: Iterable[CategoryUse]) -> None:
        self.parent: dict[str, str] = {}
        self.canonical: dict[str, bool] = {}
        for u in uses:
            self.parent[u.key] = u.key
            self.canonical[u.key] = u.canonical

    def find(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or (self.canonical[ra] and self.canonical[rb]):
            return False
        ra, rb = sorted((ra, rb))
        self.parent[rb] = ra
        self.canonical[ra] = self.canonical[ra] or self.canonical[rb]
        return True

    def members(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for key in sorted(self.parent):
            out[self.find(key)].append(key)
        return out


def _words(key: str) -> tuple[str, ...]:
    return tuple(w for w in key.split("-") if w)


def _certain_reason(a: str, b: str) -> str | None:
    """Why two keys are certainly the same category, or None."""
    wa, wb = _words(a), _words(b)
    if a.replace("-", "") == b.replace("-", ""):
        return "the same words, split differently"
    if len(wa) == len(wb):
        if tuple(map(singular, wa)) == tuple(map(singular, wb)):
            return "plural"
        if all(same_stem(x, y) for x, y in zip(wa, wb, strict=True)):
            return "the same words in another form"
    if len(wa) > 1 and sorted(map(singular, wa)) == sorted(map(singular, wb)):
        return "the same words in another order"
    return None


def _certain_pairs(keys: list[str]) -> list[tuple[str, str, str]]:
    """(a, b, reason) for every certain pair, found through buckets rather than all pairs."""
    buckets: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for key in keys:
        words = _words(key)
        buckets[("joined", key.replace("-", ""))].append(key)
        buckets[("stems", *(stem(w) for w in words))].append(key)
        if len(words) > 1:
            buckets[("order", *sorted(singular(w) for w in words))].append(key)
    pairs: dict[tuple[str, str], str] = {}
    for bucket in buckets.values():
        for i, a in enumerate(bucket):
            for b in bucket[i + 1:]:
                pair = (min(a, b), max(a, b))
                if pair not in pairs:
                    reason = _certain_reason(*pair)
                    if reason:
                        pairs[pair] = reason
    return [(a, b, r) for (a, b), r in sorted(pairs.items())]


def _stem_links(keys: list[str], groups: _Groups) -> list[tuple[str, str, str]]:
    """One-word categories tied to exactly one longer category through a shared stem (and back)."""
    singles = [k for k in keys if len(_words(k)) == 1 and len(k) >= MIN_WORD and k not in GENERIC_WORDS]
    longer = [k for k in keys if len(_words(k)) > 1]
    by_stem: dict[str, list[tuple[str, str]]] = defaultdict(list)  # stem → [(long key, its word)]
    for key in longer:
        for word in _words(key):
            if len(word) >= MIN_WORD and word not in GENERIC_WORDS:
                by_stem[stem(word)].append((key, word))
    forward: dict[str, set[str]] = defaultdict(set)  # single's group → long groups
    backward: dict[str, set[str]] = defaultdict(set)
    witness: dict[tuple[str, str], tuple[str, str, str]] = {}
    for single in singles:
        for key, word in by_stem.get(stem(single), ()):
            if same_stem(single, word):
                gs, gl = groups.find(single), groups.find(key)
                if gs != gl:
                    forward[gs].add(gl)
                    backward[gl].add(gs)
                    witness.setdefault((gs, gl), (single, key, word))
    links = []
    for gs, targets in sorted(forward.items()):
        if len(targets) == 1:
            (gl,) = targets
            if backward[gl] == {gs}:
                single, key, word = witness[(gs, gl)]
                why = f"shares the word '{word}'" if single == word else f"'{single}' and '{word}' share a stem"
                links.append((single, key, why))
    return links


def _typo_links(uses: list[CategoryUse], groups: _Groups) -> list[tuple[str, str, str]]:
    """Rare spellings one edit away from a much more common category (``architecure``)."""
    findings: Counter[str] = Counter()
    for u in uses:
        findings[groups.find(u.key)] += u.findings
    buckets: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
    for u in sorted(uses, key=lambda u: u.key):
        words = _words(u.key)
        for i, word in enumerate(words):
            if len(word) >= MIN_TYPO_WORD:
                buckets[(*words[:i], "*", *words[i + 1:])].append((u.key, word))
    candidates: dict[str, set[str]] = defaultdict(set)
    witness: dict[tuple[str, str], tuple[str, str, str]] = {}
    for bucket in buckets.values():
        for i, (ka, wa) in enumerate(bucket):
            for kb, wb in bucket[i + 1:]:
                if not _one_edit(wa, wb) or same_stem(wa, wb) or singular(wa) == singular(wb):
                    continue
                ga, gb = groups.find(ka), groups.find(kb)
                if ga == gb:
                    continue
                (small, ks, ws), (big, kg, wg) = sorted([(ga, ka, wa), (gb, kb, wb)],
                                                        key=lambda t: (findings[t[0]], t[0]))
                if findings[small] <= TYPO_SHARE * findings[big] and not groups.canonical[small]:
                    candidates[small].add(big)
                    witness.setdefault((small, big), (ks, kg, f"'{ws}' looks like a typo of '{wg}'"))
    return [witness[(small, big)] for small, bigs in sorted(candidates.items()) if len(bigs) == 1
            for big in bigs]


def suggest(counts: Mapping[str | None, int], vocabulary: Vocabulary) -> Suggestions:
    """Proposed merges for the recorded category spellings ``counts`` (spelling → findings)."""
    uses = category_uses(counts, vocabulary)
    use_of = {u.key: u for u in uses}
    keys = sorted(use_of)
    groups = _Groups(uses)
    edges: dict[str, list[tuple[str, str]]] = defaultdict(list)  # key → [(neighbour, reason)]: a spanning forest

    def join(a: str, b: str, reason: str) -> bool:
        if not groups.union(a, b):
            return False
        edges[a].append((b, reason))
        edges[b].append((a, reason))
        return True

    for a, b, reason in _certain_pairs(keys):
        join(a, b, reason)
    # Guarded links join whole groups, each group at most once, so they never chain.
    linked: set[str] = set()
    for a, b, reason in sorted({*_stem_links(keys, groups), *_typo_links(uses, groups)}):
        ga, gb = groups.find(a), groups.find(b)
        if ga not in linked and gb not in linked and join(a, b, reason):
            linked.update((ga, gb))
    preferred = set(vocabulary.aliases.values())
    merges = []
    for members in groups.members().values():
        if len(members) < 2:
            continue
        ordered = sorted((use_of[k] for k in members),
                         key=lambda u: (not u.canonical, u.key not in preferred, -u.findings, len(u.key), u.key))
        into, rest = ordered[0], ordered[1:]
        merges.append(Merge(into, tuple(Member(u, _reason(u.key, into.key, edges)) for u in rest)))
    merges.sort(key=lambda m: (-m.affected, m.into.key))
    return Suggestions(findings=sum(n for n in counts.values() if n > 0),
                       spellings=sum(1 for n in counts.values() if n > 0), uses=tuple(uses), merges=tuple(merges))


def _reason(key: str, into: str, edges: dict[str, list[tuple[str, str]]]) -> str:
    """The reason on the first step of the path from ``key`` to ``into`` (named when it is not ``into``)."""
    first: dict[str, tuple[str, str]] = {}  # node → (first neighbour from key, reason of that step)
    queue = [key]
    seen = {key}
    while queue:
        node = queue.pop(0)
        for neighbour, reason in sorted(edges[node]):
            if neighbour in seen:
                continue
            seen.add(neighbour)
            first[neighbour] = first.get(node, (neighbour, reason))
            if neighbour == into:
                step, why = first[neighbour]
                return why if step == into else f"{why}: '{step}'"
            queue.append(neighbour)
    return "the same category"
