"""The category vocabulary: canonical list, aliases, merge proposals and the alias file (no database)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
import yaml

from kbgen.config import DEFAULT_CATEGORIES, Options, load_options
from kbgen.errors import ConfigError
from kbgen.vocab import Vocabulary, category_key
from kbgen.vocab_file import parse_alias_file, render_alias_file
from kbgen.vocab_merge import singular, suggest


def _options(tmp_path: Path, text: str = "") -> Options:
    (tmp_path / "conf").mkdir(exist_ok=True)
    (tmp_path / "conf" / "kbgen.yaml").write_text(text, encoding="utf-8")
    return load_options(tmp_path)


def test_category_key_folds_case_and_separators() -> None:
    for spelling in ("Fabricated_Data", "fabricated-data", "fabricated data", " FABRICATED--DATA ", "fabricated.data"):
        assert category_key(spelling) == "fabricated-data"
    assert category_key(None) == category_key("  ") == category_key("--") == ""


def test_vocabulary_from_default_options(tmp_path: Path) -> None:
    v = Vocabulary.from_options(_options(tmp_path))
    assert v.allowed() == list(DEFAULT_CATEGORIES)
    assert v.closed
    assert v.canonical("Security") == "security"
    assert v.canonical("SEC") == "security"  # a default alias
    assert v.canonical("Integration Points") == "integration-point"
    assert v.canonical("made-up-thing") is None  # outside the list: a recorder must refuse it
    assert v.canonical("") is None and v.canonical(None) is None
    # Grouping never fails: unlisted spellings keep their own key.
    assert v.normalise("Made Up_Thing") == "made-up-thing"
    assert v.normalise(None) == "unknown"


def test_closest_names_what_a_refused_value_was_meant_to_be(tmp_path: Path) -> None:
    v = Vocabulary.from_options(_options(tmp_path), {"fabrication": "fabricated-data"})
    assert v.canonical("securty") is None
    assert v.closest("securty") == ["security"]
    assert v.closest("Fabricaton")[0] == "fabricated-data"  # through the stored alias's spelling
    assert v.closest("zzzz") == []
    assert Vocabulary.build([], {}).closest("securty") == []  # an open vocabulary refuses nothing
    message = v.refusal("securty")
    assert message.startswith("category 'securty' is not in the vocabulary (did you mean security?); allowed values: "
                              "architecture, bug, fabricated-data,")
    assert v.refusal("").startswith("an empty category is not in the vocabulary; allowed values:")


def test_database_aliases_extend_the_vocabulary_and_the_configuration_wins(tmp_path: Path) -> None:
    options = _options(tmp_path, "category_aliases:\n  Fake Data: fabricated-data\n")
    v = Vocabulary.from_options(options, {"fabrication": "fabricated-data", "fake-data": "quality",
                                          "hard-coded": "hardcoded", "hardcoded": "quality"})
    assert v.canonical("Fabrication") == "fabricated-data"
    assert v.canonical("fake data") == "fabricated-data"  # conf/kbgen.yaml beats the database
    assert v.canonical("hard coded") == "quality"  # chains are followed
    assert v.spellings_of("fabricated-data") == ["fabricated", "fabrication", "fake-data"]


def test_an_alias_never_removes_a_listed_category_and_cycles_stop(tmp_path: Path) -> None:
    v = Vocabulary.build(["stub", "bug"], {"stub": "bug", "a": "b", "b": "a", "c": "c"})
    assert v.canonical("stub") == "stub"
    assert v.normalise("a") in ("a", "b") and v.normalise("c") == "c"
    assert "stub" not in v.aliases


def test_open_vocabulary_accepts_any_category(tmp_path: Path) -> None:
    v = Vocabulary.from_options(_options(tmp_path, "categories: []\n"))
    assert not v.closed and v.allowed() == []
    assert v.canonical("Whatever Team Uses") == "whatever-team-uses"
    assert v.canonical("stubs") == "stub"


def test_config_refuses_a_listed_category_that_is_also_an_alias(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="listed in categories and folded away"):
        _options(tmp_path, "categories: [stub, bug]\ncategory_aliases:\n  Stub: bug\n")
    with pytest.raises(ConfigError, match="folds 'x' onto both"):
        _options(tmp_path, "category_aliases:\n  X: a\n  x: b\n")
    options = _options(tmp_path, "categories: [Real Functionality, stub]\n")
    assert Vocabulary.from_options(options).allowed() == ["real-functionality", "stub"]


# -- merge proposals ---------------------------------------------------------------------


def _vocab(categories: tuple[str, ...] = DEFAULT_CATEGORIES) -> Vocabulary:
    return Vocabulary.build(categories, {"stubs": "stub", "bugs": "bug"})


def test_the_issue_example_is_one_merge_with_every_spelling_counted() -> None:
    counts = Counter({"Fabricated_Data": 3, "fabricated-data": 40, "fabricated data": 2, "fabrication": 5})
    s = suggest(counts, _vocab())
    assert len(s.merges) == 1
    merge = s.merges[0]
    assert merge.into.key == "fabricated-data" and merge.into.canonical and merge.into.findings == 45
    assert [(sp.text, sp.findings) for sp in merge.into.spellings] == [
        ("fabricated-data", 40), ("Fabricated_Data", 3), ("fabricated data", 2)]
    assert [(m.use.key, m.use.findings) for m in merge.members] == [("fabrication", 5)]
    assert "fabricat" in merge.members[0].reason
    assert s.aliases() == {"fabrication": "fabricated-data"}
    assert (s.findings, s.spellings, len(s.uses), s.categories_after, s.affected) == (50, 4, 2, 1, 5)


@pytest.mark.parametrize(("a", "b", "why"), [
    ("hard-coded-values", "hardcoded-values", "split differently"),
    ("integration-tests", "integration-test", "plural"),
    ("missing-dependencies", "missing-dependency", "plural"),
    ("fabrication-data", "fabricated-data", "another form"),
    ("coverage-test", "test-coverage", "another order"),
    ("architecure", "architecture", "typo"),
])
def test_certain_and_guarded_merges(a: str, b: str, why: str) -> None:
    s = suggest(Counter({a: 2, b: 30}), _vocab(()))
    assert s.aliases() == {a: b}, s.to_json()["merges"]
    assert why in s.merges[0].members[0].reason


@pytest.mark.parametrize("counts", [
    {"stale-cache": 10, "state-cache": 9},  # one letter apart, both common: two ideas
    {"integrity": 4, "integration-point": 20},  # a stem, but not enough of the word
    {"data": 5, "fabricated-data": 10, "mock-data": 7},  # a generic word
    {"validation": 5, "missing-validation": 3, "fake-validation": 2},  # ambiguous: two candidates
    {"mock": 3, "mock-data": 5, "mock-api": 2},
    {"positive": 10, "position": 1},
    {"stub": 10, "stubs": 3},  # already folded by an alias: nothing left to propose
    {"bug": 10, "bugfix": 1},
])
def test_no_nonsense_merges(counts: dict[str, int]) -> None:
    assert suggest(Counter(counts), _vocab(())).merges == ()


def test_two_canonical_categories_are_never_merged() -> None:
    s = suggest(Counter({"test": 5, "tests": 4, "testing": 1}), _vocab(("test", "tests")))
    assert all(not m.use.canonical for merge in s.merges for m in merge.members)
    assert s.aliases().get("testing") in ("test", "tests")
    assert "tests" not in s.aliases() and "test" not in s.aliases()


def test_merges_go_into_the_canonical_category_even_when_it_is_smaller() -> None:
    s = suggest(Counter({"stub": 3, "stub-code": 40}), _vocab())
    assert s.aliases() == {"stub-code": "stub"}


def _campaign_counts(seed: int = 7) -> Counter[str | None]:
    """About 580 spellings over ~4,100 findings, as messy as the campaign the issue describes."""
    rng = random.Random(seed)
    adjectives = ["hardcoded", "missing", "silent", "fake", "partial", "unsafe", "duplicate", "stale", "hidden",
                  "broken", "inflated", "theatrical", "mock", "unbounded", "undocumented", "unverified", "leaky",
                  "naive"]
    nouns = ["metric", "validation", "fallback", "consensus", "implementation", "api", "config", "data", "test",
             "logging", "error", "cache", "wiring", "retry", "auth", "benchmark", "doc", "type", "lock", "state"]
    base = [*DEFAULT_CATEGORIES, "genuine", "positive", "placeholder", "facade", "theatrical", "wiring",
            "licensing", "ffi", "panic", "duplication", "observability", "dependency"]
    base += [f"{a}-{n}" for a in adjectives for n in nouns]
    counts: Counter[str | None] = Counter()
    for rank, key in enumerate(base):
        n = max(1, int(760 / (rank + 1) ** 1.05))
        for _ in range(n):
            r = rng.random()
            spelled = key
            if r < 0.06:
                spelled = key.upper()
            elif r < 0.1:
                spelled = key.replace("-", "_").title()
            elif r < 0.13:
                spelled = key.replace("-", " ")
            elif r < 0.15 and not key.endswith("s"):
                spelled = key + "s"
            counts[spelled] += 1
    counts[None] += 3
    counts["architecure"] += 1
    counts["fabrication"] += 4
    return counts


def test_campaign_scale_proposals_are_consistent_and_deterministic() -> None:
    counts = _campaign_counts()
    assert len(counts) > 500 and sum(counts.values()) > 4000
    vocabulary = _vocab()
    s = suggest(counts, vocabulary)
    items = list(counts.items())
    random.Random(1).shuffle(items)
    assert suggest(Counter(dict(items)), vocabulary) == s  # input order does not matter
    assert s.merges, "plurals and the planted typo must be found"
    assert s.aliases().get("architecure") == "architecture"
    assert s.aliases().get("fabrication") == "fabricated-data"
    affected = [m.affected for m in s.merges]
    assert affected == sorted(affected, reverse=True)
    seen: set[str] = set()
    for merge in s.merges:
        keys = [merge.into.key, *(m.use.key for m in merge.members)]
        assert not seen & set(keys), "a category appears in one proposal only"
        seen |= set(keys)
        assert not any(m.use.canonical for m in merge.members)
        for m in merge.members:
            if m.reason == "plural":
                assert tuple(map(singular, m.use.key.split("-"))) == tuple(map(singular, merge.into.key.split("-")))
    # The adjective-noun categories are distinct ideas: only plural forms may join them.
    for merge in s.merges:
        for m in merge.members:
            if m.use.key.count("-") == 1 and merge.into.key.count("-") == 1 and "typo" not in m.reason:
                assert m.use.key.split("-")[0] == merge.into.key.split("-")[0]
    assert s.categories_after == len(s.uses) - len(s.aliases())


# -- the alias file ----------------------------------------------------------------------


def test_alias_file_round_trip_and_json_output(tmp_path: Path) -> None:
    counts = _campaign_counts()
    vocabulary = _vocab()
    s = suggest(counts, vocabulary)
    text = render_alias_file(s, "sqlite:///db/research.db")
    assert text.startswith("# Category merges proposed by kbgen vocab suggest")
    parsed = parse_alias_file(text, "merges.yaml", vocabulary)
    assert not parsed.errors and parsed.aliases == s.aliases()
    import json

    parsed_json = parse_alias_file(json.dumps(s.to_json(), indent=2), "merges.json", vocabulary)
    assert not parsed_json.errors and parsed_json.aliases == s.aliases()
    assert yaml.safe_load(text)["aliases"] == s.aliases()


def test_alias_file_problems_name_their_line() -> None:
    vocabulary = _vocab()
    text = ("aliases:\n"
            "  stub: bug\n"             # 2: a canonical category folded away
            "  sec: quality\n"          # 3: contradicts a configured alias? (defaults: no 'sec' here) -> fine
            "  foo: bar\n"              # 4: circle
            "  bar: foo\n"              # 5: circle
            "  x: [1, 2]\n"             # 6: not a scalar
            "  Fabrication: fabricated-data\n"
            "  fabrication: quality\n"  # 8: folded twice
            "  odd: odd\n")             # 9: nothing to fold (warning)
    parsed = parse_alias_file(text, "m.yaml", vocabulary)
    errors = [str(e) for e in parsed.errors]
    assert any(e.startswith("m.yaml:2: 'stub' is a canonical category") for e in errors)
    assert any(e.startswith("m.yaml:4: aliases go round in a circle: foo → bar → foo") for e in errors)
    assert any(e.startswith("m.yaml:6: each alias is one spelling") for e in errors)
    assert any(e.startswith("m.yaml:8: 'fabrication' is folded twice") for e in errors)
    assert any(str(w).startswith("m.yaml:9:") for w in parsed.warnings)
    configured = Vocabulary.build(DEFAULT_CATEGORIES, {"sec": "security"})
    clash = parse_alias_file("aliases:\n  SEC: quality\n", "c.yaml", configured)
    assert [str(e) for e in clash.errors] == [
        "c.yaml:2: conf/kbgen.yaml already folds 'sec' into 'security' (category_aliases wins over the "
        "database): not 'quality'"]
    bad = parse_alias_file("aliases: {a: b\n", "b.yaml", vocabulary)
    assert bad.errors and str(bad.errors[0]).startswith("b.yaml:2: not valid YAML or JSON")
    unlisted = parse_alias_file("aliases:\n  foo: not-a-category\n", "u.yaml", vocabulary)
    assert not unlisted.errors and "not a canonical category" in str(unlisted.warnings[0])


def test_counts_of_one_are_singular_in_the_alias_file_and_the_summary() -> None:
    from kbgen.cli.vocab_cmd import _summary

    s = suggest({"fabricated-data": 1, "fabrication": 1}, _vocab())
    text = render_alias_file(s, "sqlite:///db/research.db")
    assert "# 2 findings, 2 spellings, 2 categories; accepting every merge below regroups 1 finding into 1 category." \
        in text
    assert "# fabricated-data (canonical): 1 finding (fabricated-data 1)" in text
    assert s.notes()["fabrication"].endswith("(1 finding)")
    assert _summary(s).endswith("1 proposed merge regroups 1 finding into 1 category.")
    one = suggest({"stub": 1}, _vocab())
    assert _summary(one) == "1 finding, 1 spelling, 1 category after case and separators: no merge to propose."
