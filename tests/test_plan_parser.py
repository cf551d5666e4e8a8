"""Tests of the execution-plan parser: the R95 seed, the shared fixtures, the variants.

The fixtures state their own expected results in a first-line
``<!-- expect: ... -->`` comment; ``test_fixture`` reads that comment
generically, so a fixture added to ``shared/fixtures/plans/`` is tested
without touching this file. Copies of the fixtures live in
``tests/data/plans/`` so the suite runs without ``shared/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kbgen.errors import PlanParseError
from kbgen.plan import check_against_inventory, parse_plan, parse_plan_file
from kbgen.plan.model import (
    CLUSTER_FILES_MISMATCH,
    CLUSTER_LOC_MISMATCH,
    DATE_PLACEHOLDER,
    DUPLICATE_FILE_ID,
    FACT_CONFLICT,
    FILE_NOT_IN_DATABASE,
    QUESTION_UNKNOWN_FILE,
    SESSION_ID_UNREADABLE,
    TARGET_CLUSTERS_MISMATCH,
    TARGET_FILES_MISMATCH,
    TARGET_LOC_MISMATCH,
    Plan,
    PlannedFile,
)

DATA = Path(__file__).resolve().parent / "data" / "plans"
SEED = DATA / "R95-plan.md"


def _shared_fixture_dirs() -> list[Path]:
    """``shared/fixtures/plans`` beside the repository (CI) or at /work/shared."""
    found: list[Path] = []
    for shared in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")):
        folder = shared / "fixtures" / "plans"
        if folder.is_dir() and all(folder.resolve() != f.resolve() for f in found):
            found.append(folder)
    return found


def _fixtures() -> list[object]:
    params: list[object] = []
    for label, folder in [("data", DATA)] + [("shared", d) for d in _shared_fixture_dirs()]:
        for path in sorted(folder.glob("*.md")):
            if _EXPECT.search(path.read_text(encoding="utf-8")):
                params.append(pytest.param(path, id=f"{label}/{path.name}"))
    return params


_EXPECT = re.compile(r"<!--\s*expect:\s*(.*?)\s*-->", re.DOTALL)
_PAIR = re.compile(r'(\w+)(?:=("(?:[^"\\]|\\.)*"|\S+))?')


def parse_expect(text: str) -> dict[str, str | None]:
    """``error line=15 message="..."`` → {"error": None, "line": "15", "message": "..."}."""
    match = _EXPECT.search(text)
    assert match is not None, "fixture has no <!-- expect: ... --> comment"
    pairs: dict[str, str | None] = {}
    for pair in _PAIR.finditer(match.group(1)):
        value = pair.group(2)
        if value is not None and value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        pairs[pair.group(1)] = value
    return pairs


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",")]


def names_the_cause(expected: str, actual: str) -> bool:
    """Wording may differ, the cause may not: quoted values, numbers and R<n> must recur."""
    markers = re.findall(r"'[^']*'|\bR\d+\b|\b\d+\b", expected)
    if markers:
        return all(m in actual for m in markers)
    words = {w for w in re.findall(r"[a-z]{4,}", expected.lower())}
    return len(words & set(re.findall(r"[a-z]{4,}", actual.lower()))) * 2 >= len(words)


#: Expect keys about ``plan import`` (they need a database): tests/test_plan_import.py checks them.
IMPORT_KEYS = frozenset({"import_binds", "import_warning", "import_warning_line"})


def _check_plan(plan: Plan, key: str, value: str | None, expect: dict[str, str | None]) -> None:
    assert value is not None, f"expect key {key} has no value"
    problems = plan.problems
    if key == "session":
        assert plan.session == int(value)
    elif key == "date":
        assert plan.date == (None if value.lower() in ("none", "null") else value)
    elif key == "clusters":
        assert len(plan.clusters) == int(value)
    elif key == "files":
        assert len(plan.files) == int(value)
    elif key == "questions":
        assert len(plan.questions) == int(value)
    elif key == "outcomes":
        assert len(plan.outcomes) == int(value)
    elif key == "warnings":
        assert len(problems) == int(value), problems
    elif key == "warning_line":
        assert int(value) in [w.line for w in problems], problems
    elif key == "warning":
        assert value in [w.message for w in problems], problems
    elif key == "file_ids":
        assert sorted(plan.file_ids) == sorted(_ints(value))
    elif key in ("packages", "tiers"):
        ids = _ints(expect["file_ids"] or "")
        attr = "package" if key == "packages" else "tier"
        got = [getattr(plan.file(i), attr, None) for i in ids]
        assert got == value.split(",")
    elif key == "loc_total":
        assert plan.loc_total == int(value)
    elif key == "cluster_questions":
        assert len(plan.cluster_questions) == int(value)
    elif key == "unbound_questions":
        assert sum(1 for q in plan.questions if not q.bound) == int(value)
    elif key == "files_without_id":
        missing = plan.files_without_id
        assert len(missing) == int(value)
        assert all(f.path for f in missing)
    elif key == "bound":
        # "line 19 -> 7101; line 20 -> 7102": the question on that line is bound to that file.
        for part in value.split(";"):
            match = re.fullmatch(r"\s*line\s+(\d+)\s*->\s*(\d+)\s*", part)
            assert match is not None, f"cannot read bound={value!r}"
            (question,) = [q for q in plan.questions if q.line == int(match.group(1))]
            assert question.file_ids == (int(match.group(2)),), question
    elif key in IMPORT_KEYS:
        pass  # checked against a database by tests/test_plan_import.py
    elif key == "multi_file_questions":
        assert sum(1 for q in plan.questions if len(q.file_ids) > 1) == int(value)
    elif key == "implicit_cluster":
        implicit = [c for c in plan.clusters if c.implicit]
        assert bool(implicit) == (value.lower() == "true")
    else:
        pytest.fail(f"unknown expect key {key!r}: teach test_plan_parser about it")


@pytest.mark.parametrize("path", _fixtures())
def test_fixture(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expect = parse_expect(text)
    if "error" in expect:
        with pytest.raises(PlanParseError) as info:
            parse_plan(text, str(path))
        error = info.value
        assert error.path == str(path)
        if expect.get("line") is not None:
            assert error.line == int(expect["line"] or 0), str(error)
        if expect.get("message"):
            assert names_the_cause(expect["message"] or "", error.message), error.message
        return
    plan = parse_plan(text, str(path))
    for key, value in expect.items():
        if key != "note":
            _check_plan(plan, key, value, expect)
    # What kbgen stores (to_json) reads back as the same plan (the snapshot holds it typed).
    assert Plan.from_json(plan.to_json()) == plan
    assert Plan.from_json(json.loads(json.dumps(plan.to_json()))).to_json() == plan.to_json()


def test_from_json_reads_what_earlier_versions_stored() -> None:
    """Missing keys take their defaults; bare-text cluster questions and outcome objects read as text."""
    plan = Plan.from_json({"session": 7, "files": [{"file_id": 3, "path": "a.rs", "loc": "12"}],
                           "cluster_questions": ["Why?"], "outcomes": [{"text": "An answer"}, "Another"]})
    assert plan.session == 7 and plan.title == "" and plan.clusters == ()
    assert plan.files[0].file_id == 3 and plan.files[0].loc == 12 and plan.files[0].cluster == ""
    assert plan.cluster_questions[0].text == "Why?" and plan.cluster_questions[0].cluster is None
    assert plan.outcomes == ("An answer", "Another")
    assert plan.target_files is None and plan.warnings == ()


def test_fixture_copies_match_shared() -> None:
    """A copy in tests/data/plans must not go stale (new shared fixtures run from shared/ anyway)."""
    for folder in _shared_fixture_dirs():
        for path in folder.glob("*.md"):
            copy = DATA / path.name
            if copy.is_file():
                assert copy.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), path.name


# --- the R95 seed ------------------------------------------------------------

SEED_IDS = [4455, 4456, 4457, 4458, 4463, 4468, 4471, 4473, 4476]


@pytest.fixture(scope="module")
def seed() -> Plan:
    return parse_plan_file(SEED)


def test_seed_header(seed: Plan) -> None:
    assert seed.session == 95
    assert seed.title == "SONA Crate Deep Dive"
    assert seed.date is None
    assert seed.focus is not None and seed.focus.startswith("Deep-read 9 SONA crate files")
    assert seed.strategic_value is not None and seed.strategic_value.startswith("SONA is 85%")
    assert seed.rationale is not None and seed.rationale.startswith("SONA has been characterized")
    assert (seed.target_files, seed.target_loc) == (9, 4129)


def test_seed_clusters_and_files(seed: Plan) -> None:
    assert [c.letter for c in seed.clusters] == ["A", "B", "C"]
    assert [c.name for c in seed.clusters] == ["Export Pipeline", "Training Internals", "NAPI + Loop Variant"]
    assert [c.stated_loc for c in seed.clusters] == [1957, 1637, 535]
    assert [c.stated_files for c in seed.clusters] == [4, 3, 2]
    assert [sum(_file(seed, i).loc or 0 for i in c.file_ids) for c in seed.clusters] == [1957, 1637, 535]
    assert seed.loc_total == 4129
    assert sorted(seed.file_ids) == SEED_IDS
    for planned in seed.files:
        assert (planned.package, planned.tier, planned.repo) == ("ruvector-rust", "PROXIMATE", "ruvector")
        assert planned.repo_path == "crates/sona/" + planned.path
    pretrain = seed.file(4458)
    assert pretrain is not None
    assert (pretrain.path, pretrain.loc, pretrain.cluster, pretrain.line) == (
        "src/export/pretrain.rs", 668, "A", 22)
    assert pretrain.context == "Pretrain export — SafeTensors? HuggingFace format?"


def test_seed_questions_each_bound_to_its_file(seed: Plan) -> None:
    assert len(seed.questions) == 9
    assert sorted(q.id for q in seed.questions) == sorted(f"Q95-{i}" for i in SEED_IDS)
    for question in seed.questions:
        (file_id,) = question.file_ids
        assert question.id == f"Q95-{file_id}"
        planned = seed.file(file_id)
        assert planned is not None and planned.cluster == question.cluster
    first = seed.questions[0]
    assert first.line == 34
    assert first.text.startswith("Does it produce valid SafeTensors files")
    napi = seed.question("Q95-4468")
    assert napi is not None and "Buffer ↔ Vec<f32>" in napi.text


def test_seed_outcomes_tags_and_no_warnings(seed: Plan) -> None:
    assert len(seed.outcomes) == 6
    assert seed.outcomes[4] == "DEEP count: ~1,366 → ~1,375"
    (tag,) = seed.domain_tags
    assert tag.all_files and tag.domains == ("memory-and-learning", "v4-priority")
    assert sorted(tag.file_ids) == SEED_IDS
    assert seed.problems == ()


def test_placeholder_date_is_an_informational_warning(seed: Plan) -> None:
    (note,) = seed.warnings
    assert (note.code, note.line, note.informational, note.severity) == (DATE_PLACEHOLDER, 3, True, "info")
    assert note.to_kb_warning(seed.source).code == DATE_PLACEHOLDER


def test_to_json_has_the_traceability_shape(seed: Plan) -> None:
    data = json.loads(json.dumps(seed.to_json()))
    for key in ("source", "session", "title", "date", "focus", "strategic_value", "target", "clusters",
                "files", "questions", "cluster_questions", "outcomes", "domain_tags", "warnings"):
        assert key in data
    assert data["target"]["files"] == 9 and data["target"]["loc"] == 4129
    assert {"name", "stated_files", "stated_loc", "files"} <= set(data["clusters"][0])
    assert data["clusters"][0]["files"] == [4458, 4456, 4455, 4457]
    assert {"file_id", "path", "loc", "context", "package", "tier", "cluster"} <= set(data["files"][0])
    assert {"id", "text", "file_ids", "line"} <= set(data["questions"][0])
    assert {"line", "message"} <= set(data["warnings"][0])


def test_content_hash_ignores_line_endings(seed: Plan) -> None:
    crlf = parse_plan(SEED.read_text(encoding="utf-8").replace("\n", "\r\n"), "crlf.md")
    assert crlf.content_hash == seed.content_hash
    assert [q.line for q in crlf.questions] == [q.line for q in seed.questions]


# --- IDs are stable across edits ----------------------------------------------

def test_question_ids_survive_edits_elsewhere(seed: Plan) -> None:
    text = SEED.read_text(encoding="utf-8")
    edited = (text
              .replace("SONA has been characterized", "SONA was first characterized")
              .replace("| 7 | 4473 | `src/training/metrics.rs` | 467 | Training metrics — loss tracking, "
                       "learning curves? |",
                       "| 7 | 4473 | `src/training/metrics.rs` | 467 | Training metrics — loss tracking, "
                       "learning curves? |\n| 7b | 4474 | `src/training/optim.rs` | 100 | Optimisers |")
              .replace("- `templates.rs` (662 LOC):",
                       "- Which trainer is the default?\n- `optim.rs` (100 LOC): Adam or SGD?\n"
                       "- `templates.rs` (662 LOC):")
              .replace("Or just print statements?", "Or only print statements?"))
    plan = parse_plan(edited, "edited.md")
    before = {(q.file_ids, q.text): q.id for q in seed.questions}
    after = {(q.file_ids, q.text): q.id for q in plan.questions}
    unchanged = before.keys() & after.keys()
    assert len(unchanged) == 8  # all but the reworded metrics.rs bullet
    assert all(before[k] == after[k] for k in unchanged)
    assert plan.question("Q95-4473") is not None  # reworded, same file: same ID
    assert plan.question("Q95-4474") is not None and plan.question("Q95-N1") is not None


# --- variants -----------------------------------------------------------------

def _file(plan: Plan, file_id: int) -> PlannedFile:
    planned = plan.file(file_id)
    assert planned is not None, f"no file {file_id}"
    return planned


def _plan(body: str, header: str = "# R9 Execution Plan: Test\n\n**Date**: 2026-01-01\n") -> Plan:
    return parse_plan(header + body, "test.md")


TABLE = """
### Cluster A: One (2 files, ~30 LOC)

| # | File ID | File | LOC | Context |
|---|---------|------|-----|---------|
| 1 | 11 | `src/a/mod.rs` | 10 | first |
| 2 | 12 | `src/a/x.rs` | 20 | second |

### Cluster B: Two (1 files, ~5 LOC)

| # | File ID | File | LOC | Context |
|---|---------|------|-----|---------|
| 1 | 21 | `src/b/mod.rs` | 5 | third |

**Key questions**:
- `mod.rs` (5 LOC): which mod.rs?
"""


def test_bare_name_in_two_clusters_prefers_the_bullets_cluster() -> None:
    plan = _plan(TABLE)
    (question,) = plan.questions
    assert (question.id, question.file_ids, question.cluster) == ("Q9-21", (21,), "B")
    assert question.text == "which mod.rs?"


def test_path_suffix_disambiguates() -> None:
    plan = _plan(TABLE + "- `a/mod.rs`: and this one?\n")
    assert plan.questions[1].file_ids == (11,)


def test_prose_bullets_bind_by_file_name_without_warnings() -> None:
    plan = _plan(TABLE + "- Does x.rs call the other one, e.g. mod.rs?\n- Nothing named here.\n")
    assert [q.file_ids for q in plan.questions[1:]] == [(12, 21), ()]
    assert plan.questions[2].id == "Q9-N1"
    assert plan.problems == ()


def test_unknown_backticked_file_in_a_question_warns() -> None:
    plan = _plan(TABLE + "- `ghost.rs`: is it there? Does `todo!()` appear?\n")
    (warning,) = plan.problems
    assert (warning.code, warning.line) == (QUESTION_UNKNOWN_FILE, 20)
    assert "ghost.rs" in warning.message
    assert plan.questions[1].id == "Q9-N1"


def test_stated_counts_that_disagree_with_the_rows_warn() -> None:
    body = TABLE.replace("(2 files, ~30 LOC)", "(3 files, ~31 LOC)")
    plan = _plan("## Targets: 3 Clusters, 4 Files, ~40 LOC\n" + body)
    codes = {(w.code, w.line) for w in plan.problems}
    assert codes == {(CLUSTER_FILES_MISMATCH, 6), (CLUSTER_LOC_MISMATCH, 6), (TARGET_FILES_MISMATCH, 4),
                     (TARGET_LOC_MISMATCH, 4), (TARGET_CLUSTERS_MISMATCH, 4)}
    messages = {w.message for w in plan.problems}
    assert "Cluster A states ~31 LOC, rows sum to 30" in messages
    assert "Target states ~40 LOC, rows sum to 35" in messages


def test_duplicate_file_id_warns_and_keeps_the_first_row() -> None:
    plan = _plan(TABLE.replace("| 1 | 21 |", "| 1 | 11 |"))
    assert [w.code for w in plan.problems] == [DUPLICATE_FILE_ID]
    assert plan.problems[0].line == 16
    assert plan.file_ids == (11, 12)
    assert _file(plan, 11).cluster == "A"


def test_table_column_variants_and_escaped_pipes() -> None:
    body = """
| # | File ID | Path | LOC | Repo | Connects To | Tier |
|---|---|---|---|---|---|---|
| 1 | 31 | lib/a\\|b.py | 1,204 | tools | `x.py` \\| `y.py` | NEARBY |
"""
    plan = _plan(body)
    (planned,) = plan.files
    assert (planned.path, planned.loc, planned.repo, planned.tier) == ("lib/a|b.py", 1204, "tools", "NEARBY")
    assert planned.extra == {"Connects To": "x.py | y.py"}
    assert planned.context is None and planned.cluster == "A"
    assert plan.clusters[0].implicit


def test_escaped_pipe_in_a_fixture_cell() -> None:
    plan = parse_plan_file(DATA / "P04-multi-question.md")
    load = plan.file(4401)
    assert load is not None and load.context == "Reads a.toml | b.yaml in that order"
    schema = plan.file(4403)
    assert schema is not None and schema.repo is None  # no Full paths entry
    assert [q.id for q in plan.questions] == ["Q44-4401", "Q44-4401-2", "Q44-4402", "Q44-4402-2",
                                              "Q44-4403", "Q44-N1"]
    multi = plan.question("Q44-4402-2")
    assert multi is not None and multi.file_ids == (4402, 4403)


def test_legacy_plan_repo_paths_and_cluster_question() -> None:
    plan = parse_plan_file(DATA / "P02-legacy-context.md")
    queue = plan.file(201)
    assert queue is not None
    assert (queue.repo, queue.repo_path) == ("taskmill", "src/scheduler/queue.js")
    assert _file(plan, 231).repo_path == "src/workers/child.js"
    (cq,) = plan.cluster_questions
    assert (cq.cluster, cq.line) == ("A", 12)
    assert plan.target_clusters == 2
    assert plan.rationale is not None and plan.rationale.startswith("Two unread areas")


def test_domain_tags_ranges_and_lists() -> None:
    plan = parse_plan_file(DATA / "P01-canonical.md")
    assert [(t.file_ids, t.domains, t.line) for t in plan.domain_tags] == [
        ((501, 502, 503), ("parsing",), 77), ((610, 611), ("build-cache",), 78)]


def test_extra_header_fields_are_kept() -> None:
    plan = parse_plan_file(DATA / "P03-extra-columns.md")
    assert plan.fields == {"Parallel with": "R32 (no shared files — R32 covers only the formatter crate)"}
    assert _file(plan, 3101).domain == "diagnostics"


def test_template_comment_disagreeing_with_the_table_warns() -> None:
    body = """
| # | File ID | File | LOC | Tier |
|---|---|---|---|---|
| 1 | 11 | `a.rs` | 10 | NEARBY |
| 2 | 12 | `b.rs` | 20 | |

```js
// 11: a.rs (10 LOC) — core, CONNECTED
// 12: b.rs (20 LOC) — core, NEARBY
```
"""
    plan = _plan(body)
    assert (_file(plan, 11).tier, _file(plan, 11).package) == ("NEARBY", "core")  # the table wins
    assert _file(plan, 12).tier == "NEARBY"  # the comment fills the gap
    (warning,) = plan.problems
    assert (warning.code, warning.line) == (FACT_CONFLICT, 11)


def test_cluster_headings_at_level_two_and_summary_tables() -> None:
    body = """
## Targets: 1 Clusters, 1 Files, ~7 LOC

| Cluster | Files | LOC |
|---|---|---|
| A | 1 | 7 |

## Cluster A: Only (1 file, ~7 LOC)

| # | File ID | File | LOC |
|---|---|---|---|
| 1 | 5 | `only.go` | 7 |

## Isolation Check

| Metric | Value |
|---|---|
| deps | 3 |
"""
    plan = _plan(body)
    assert [(c.letter, c.name, c.implicit) for c in plan.clusters] == [("A", "Only", False)]
    assert plan.file_ids == (5,) and plan.problems == ()


def test_full_paths_base_carries_to_later_clusters() -> None:
    body = """
### Cluster A: One (1 files, ~1 LOC)

| # | File ID | File | LOC |
|---|---|---|---|
| 1 | 1 | `src/a.rs` | 1 |

**Full paths** (all under `~/repos/big/crates/one/`):
1. `src/a.rs`

### Cluster B: Two (1 files, ~2 LOC)

| # | File ID | File | LOC |
|---|---|---|---|
| 2 | 2 | `src/b.rs` | 2 |

**Full paths**:
2. `src/b.rs`
"""
    plan = _plan(body)
    assert [(f.repo, f.repo_path) for f in plan.files] == [
        ("big", "crates/one/src/a.rs"), ("big", "crates/one/src/b.rs")]


def test_session_from_the_field_alone() -> None:
    plan = parse_plan("# Execution Plan: Field Only\n\n**Session ID**: 9\n", "x.md")
    assert (plan.session, plan.title) == (9, "Field Only")


def test_plans_are_hashable_values(seed: Plan) -> None:
    assert hash(seed) == hash(parse_plan_file(SEED))
    assert len({seed, parse_plan_file(SEED)}) == 1


def test_unfilled_session_id_with_a_title_number_warns() -> None:
    plan = parse_plan("# R3: T\n\n**Session ID**: {N}\n", "x.md")
    assert plan.session == 3
    assert [(w.code, w.line) for w in plan.problems] == [(SESSION_ID_UNREADABLE, 3)]


def test_unreadable_date_warns() -> None:
    plan = _plan("", header="# R9: T\n\n**Date**: March 2nd\n")
    assert plan.date is None and [w.line for w in plan.problems] == [3]


@pytest.mark.parametrize(("text", "line", "cause"), [
    ("", 1, "no session number"),
    ("# R3: T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n", None, None),
    ("# R3: T\n\n### Cluster A: X\n\n| # | File ID | LOC |\n|---|---|---|\n| 1 | 4 | 5 |\n", 5, "File/Path"),
    ("# R3: T\n\n| # | File ID | Name | LOC |\n|---|---|---|---|\n| 1 | 4 | a | 5 |\n", 3, "File/Path"),
    ("# R3: T\n\n## Target: 1 file\n\n| # | Path | LOC |\n|---|---|---|\n| 1 | a.py | 5 |\n", 5, "File ID"),
    ("# Plan\n\n**Session ID**: {N}\n", 3, "Session ID"),
])
def test_errors_carry_the_line(text: str, line: int | None, cause: str | None) -> None:
    if line is None:
        parse_plan(text, "x.md")  # a stray table or an unfilled field outside a file section is fine
        return
    with pytest.raises(PlanParseError) as info:
        parse_plan(text, "x.md")
    assert info.value.line == line and cause is not None and cause in info.value.message
    assert str(info.value).startswith(f"x.md:{line}: ")


def test_error_messages_follow_the_fixtures() -> None:
    for name, line, message in [
        ("B01-bad-file-id.md", 15, "File ID 'x77' is not a number"),
        ("B02-no-session.md", 2, "no session number: the title has no R<n> and there is no Session ID field"),
        ("B03-conflicting-session.md", 5, "Session ID 80 contradicts the title's R81"),
    ]:
        with pytest.raises(PlanParseError) as info:
            parse_plan_file(DATA / name)
        assert (info.value.line, info.value.message) == (line, message)


def test_unreadable_file_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(PlanParseError):
        parse_plan_file(tmp_path / "missing.md")
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"# R1: \xff\n")
    with pytest.raises(PlanParseError):
        parse_plan_file(bad)


def test_check_against_inventory(seed: Plan) -> None:
    assert check_against_inventory(seed, set(SEED_IDS)) == []
    (warning,) = check_against_inventory(seed, set(SEED_IDS) - {4463})
    assert (warning.code, warning.line) == (FILE_NOT_IN_DATABASE, 70)


# --- files without an ID, shortened paths, results, --session, expectations ----

NEW_FILES = """
### Cluster A: New (3 files, ~60 LOC)

| # | File ID | File | LOC | Context |
|---|---------|------|-----|---------|
| 1 | 31 | `src/old.rs` | 10 | known |
| 2 | {mark} | `src/new.rs` | 20 | new since the inventory |
| 3 | TBD | `src/other/new2.rs` | 30 | also new |

**Key questions**:
- `new.rs` (20 LOC): Is it wired in?
- `old.rs` and `new2.rs`: Do they agree?
- Which one is faster?
"""


@pytest.mark.parametrize("mark", ["—", "-", "–", "?", "TBD", "tbd", "", " ", "N/A"])
def test_a_not_yet_known_id_keeps_the_file_by_path(mark: str) -> None:
    plan = _plan(NEW_FILES.format(mark=mark))
    assert plan.problems == ()
    assert [(f.file_id, f.path) for f in plan.files] == [
        (31, "src/old.rs"), (None, "src/new.rs"), (None, "src/other/new2.rs")]
    assert plan.file_ids == (31,) and len(plan.files_without_id) == 2
    assert plan.loc_total == 60
    assert plan.clusters[0].file_ids == (31, None, None)
    assert plan.clusters[0].paths == ("src/old.rs", "src/new.rs", "src/other/new2.rs")
    new, both, none = plan.questions
    # The ID comes from the text alone: a question on a file without an ID counts as N<n>.
    assert (new.id, new.file_ids, new.paths, new.bound) == ("Q9-N1", (), ("src/new.rs",), True)
    assert (both.id, both.file_ids, both.paths) == ("Q9-31", (31,), ("src/old.rs", "src/other/new2.rs"))
    assert (none.id, none.bound) == ("Q9-N2", False)
    data = json.loads(json.dumps(plan.to_json()))
    assert data["files"][1]["file_id"] is None and data["files"][1]["path"] == "src/new.rs"
    assert data["clusters"][0]["files"] == [31, None, None]
    assert data["questions"][0]["file_ids"] == [] and data["questions"][0]["paths"] == ["src/new.rs"]


def test_a_malformed_id_is_still_an_error_and_says_what_to_write() -> None:
    with pytest.raises(PlanParseError) as info:
        _plan(NEW_FILES.format(mark="x77"))
    assert (info.value.line, info.value.message) == (10, "File ID 'x77' is not a number")
    assert "dash" in str(info.value)


def test_a_row_with_neither_id_nor_path_is_an_error_and_an_empty_row_is_skipped() -> None:
    body = "| # | File ID | File | LOC |\n|---|---|---|---|\n| 1 | 5 | `a.rs` | 1 |\n| | | | |\n"
    assert _plan(body).file_ids == (5,)
    with pytest.raises(PlanParseError) as info:
        _plan(body + "| 3 | — | | 4 |\n")
    assert info.value.line == 8


def test_two_rows_for_the_same_new_path_warn_as_duplicates() -> None:
    plan = _plan(NEW_FILES.format(mark="—").replace("| 3 | TBD | `src/other/new2.rs`", "| 3 | ? | `src/new.rs`"))
    assert (DUPLICATE_FILE_ID, 11) in [(w.code, w.line) for w in plan.problems]
    assert len(plan.files) == 2


def test_with_resolved_ids_binds_clusters_and_questions_but_keeps_question_ids() -> None:
    plan = _plan(NEW_FILES.format(mark="—"))
    resolved = plan.with_resolved_ids({1: 900})
    assert [(f.file_id, f.resolved_by) for f in resolved.files] == [(31, None), (900, "path"), (None, None)]
    assert resolved.clusters[0].file_ids == (31, 900, None)
    assert [(q.id, q.file_ids) for q in resolved.questions] == [("Q9-N1", (900,)), ("Q9-31", (31,)),
                                                                ("Q9-N2", ())]
    assert resolved.file_ids == (31, 900)


SHORTENED = """
| # | File ID | File | LOC |
|---|---|---|---|
| 1 | 1 | `src/pattern-server/src/server.js` | 10 |
| 2 | 2 | `packages/shared/lib/limits.js` | 10 |
| 3 | 3 | `apps/a/src/index.js` | 10 |
| 4 | 4 | `apps/b/src/index.js` | 10 |

**Key questions**:
"""


@pytest.mark.parametrize(("name", "bound"), [
    ("pattern-server/server.js", (1,)),  # a middle folder left out
    ("src/server.js", (1,)),  # a plain suffix
    ("shared/limits.js", (2,)),  # leading and middle folders left out
    ("packages/limits.js", (2,)),
    ("apps/index.js", ()),  # two files match: not bound
    ("a/index.js", (3,)),
    ("server/pattern-server.js", ()),  # folders out of order / another name
    ("lib/shared/limits.js", ()),  # folders out of order
])
def test_shortened_paths_bind_when_exactly_one_file_matches(name: str, bound: tuple[int, ...]) -> None:
    plan = _plan(SHORTENED + f"- `{name}`: question?\n")
    (question,) = plan.questions
    assert question.file_ids == bound
    if bound:
        assert plan.problems == ()
    else:
        (warning,) = plan.problems
        assert warning.line == 13 and name in warning.message


def test_results_section_is_kept_as_text_and_adds_no_files() -> None:
    body = NEW_FILES.format(mark="17") + """
## Results (after the session)

### Cluster A Verdict: mostly real

| File | LOC | Realness | Key Finding |
|------|-----|----------|-------------|
| `old.rs` | 10 | 80% | Works; `<script>` in a cell |

- old.rs is real
- new.rs is a stub

```text
raw log
```

## Domain Tags

- Files 17, 31 → `core`
"""
    plan = _plan(body)
    assert plan.file_ids == (31, 17) and plan.problems == ()
    assert [c.letter for c in plan.clusters] == ["A"]
    results = plan.results
    assert results is not None
    assert (results.title, results.line) == ("Results (after the session)", 18)
    assert [b.kind for b in results.blocks] == ["heading", "table", "list", "code"]
    assert results.blocks[1].rows[1] == ("old.rs", "10", "80%", "Works; <script> in a cell")
    assert results.blocks[2].items == ("old.rs is real", "new.rs is a stub")
    assert results.text.startswith("### Cluster A Verdict") and results.text.endswith("```")
    assert [t.domains for t in plan.domain_tags] == [("core",)]  # the section after Results is read
    assert json.loads(json.dumps(plan.to_json()))["results"]["blocks"][0] == {
        "kind": "heading", "text": "Cluster A Verdict: mostly real", "level": 3}


def test_a_plan_without_a_number_takes_the_given_session() -> None:
    text = (DATA / "B02-no-session.md").read_text(encoding="utf-8")
    with pytest.raises(PlanParseError) as info:
        parse_plan(text, "dated.md")
    assert "--session" in str(info.value)
    plan = parse_plan(text, "dated.md", session=104)
    assert (plan.session, plan.session_given, plan.file_ids) == (104, True, (9001,))
    assert plan.questions == () and plan.to_json()["session_given"] is True
    assert parse_plan_file(SEED, session=95).session_given is False


def test_a_given_session_must_agree_with_the_plan() -> None:
    with pytest.raises(PlanParseError) as info:
        parse_plan_file(SEED, session=96)
    assert "R95" in info.value.message and "96" in info.value.message
    with pytest.raises(PlanParseError) as info:
        parse_plan("# Plan\n\n**Session ID**: 9\n", "x.md", session=8)
    assert info.value.line == 3


@pytest.mark.parametrize(("text", "expected"), [
    ("New findings: ~50-70 expected across 4,129 LOC", [("new_findings", 50, 70, True, None)]),
    ("New findings: 12", [("new_findings", 12, 12, False, None)]),
    ("~15 new findings", [("new_findings", 15, 15, True, None)]),
    ("New findings (expected): 10–20", [("new_findings", 10, 20, False, None)]),
    ("DEEP count: ~1,366 → ~1,375", [("deep_count", 1375, 1375, True, 1366)]),
    ("DEEP count: 5 -> 12", [("deep_count", 12, 12, False, 5)]),
    ("DEEP files: 120 to ~125", [("deep_count", 125, 125, True, 120)]),
    ("DEEP count: ~1,400", [("deep_count", 1400, 1400, True, None)]),
    ("Files read: 9", [("files_read", 9, 9, False, None)]),
    ("All 7 files read DEEP; 20-30 new findings",
     [("new_findings", 20, 30, False, None), ("files_read", 7, 7, False, None)]),
    ("Verdict on the sandbox claim — real, partial or facade", []),
    ("Tokenizer directory fully DEEP", []),
    ("Check 3 findings from R12", []),
])
def test_expected_outcome_figures(text: str, expected: list[tuple[object, ...]]) -> None:
    from kbgen.plan.outcomes import expectation

    got = [(e.kind, e.low, e.high, e.approx, e.before) for e in expectation(text, 1, 5)]
    assert got == expected


def test_seed_expectations(seed: Plan) -> None:
    assert [(e.kind, e.low, e.high, e.before, e.outcome, e.line) for e in seed.expectations] == [
        ("deep_count", 1375, 1375, 1366, 5, 88), ("new_findings", 50, 70, None, 6, 89)]
    assert seed.outcomes[4] == "DEEP count: ~1,366 → ~1,375"  # the prose is kept as written
