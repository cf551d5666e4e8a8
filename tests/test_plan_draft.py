"""``kbgen plan draft``: the next session's plan, drafted from the priority gaps, read back by the parser.

On the example knowledge base, on a generated campaign and on a database of
hostile names, every draft must parse with no warnings, plan only priority
gaps of the best tiers left, add up, and state figures the database backs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert

from bench.synthetic import generate
from kbgen import analysis
from kbgen.analysis import TIERS
from kbgen.config import Options
from kbgen.db import research as rt
from kbgen.db.engine import open_engine
from kbgen.db.migrate import init_research_db
from kbgen.draft import Draft, DraftRequest, draft_plan, next_session, write_plan
from kbgen.draft.clusters import paths_collide
from kbgen.draft.select import rank_key
from kbgen.errors import UsageError
from kbgen.model import Snapshot
from kbgen.plan import QUESTION_PLACEHOLDER, Plan, parse_plan
from kbgen.plan.outcomes import DEEP_COUNT, FILES_READ, NEW_FINDINGS
from tests.conftest import make_example_project

DATE = "2025-10-01"
TEST_PATH = re.compile(r"(^|/)(tests?|__tests__)/|\.(test|spec)\.|_test\.")


def load(options: Options) -> Snapshot:
    from kbgen.report import load as load_readonly  # the snapshot as `kbgen plan draft` reads it

    return load_readonly(options)


def kbgen(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(project), *args],
                          capture_output=True, text=True)


# -- the checks every draft must pass ---------------------------------------------------------

def check_draft(snap: Snapshot, options: Options, request: DraftRequest, draft: Draft) -> Plan:
    """Everything the issue's acceptance asks of a draft, computed independently where it can be."""
    plan = parse_plan(draft.text, f"R{draft.session}-plan.md")
    assert not plan.problems, "\n".join(f"{w.line}: {w.message} [{w.code}]" for w in plan.problems)
    # The only notes: each key question is still the draft's placeholder (the date is filled in).
    assert [(w.code, w.line) for w in plan.warnings] == [(QUESTION_PLACEHOLDER, q.line) for q in plan.questions]
    assert plan.placeholder_questions == plan.questions
    assert (plan.session, plan.date) == (draft.session, draft.date)
    # Counted nouns agree with their numbers, whatever the number of files.
    n = len(draft.selection.picks)
    reach = {1: "(if the planned file reaches DEEP)", 2: "(if both planned files reach DEEP)"}.get(
        n, f"(if all {n:,} planned files reach DEEP)")
    assert reach in draft.text and not re.search(r"\b1 [A-Z_]+ priority gaps\b|\ball 2 planned", draft.text)

    picks = [g for c in draft.clusters for g in c.picks]
    assert sorted(g.file.id for g in picks) == sorted(g.file.id for g in draft.selection.picks)
    assert [f.file_id for f in plan.files] == [g.file.id for g in picks]
    for planned, gap in zip(plan.files, picks, strict=True):
        f = gap.file
        # Table cells are read with runs of white space collapsed (the parser's rule for every plan).
        assert (planned.path, planned.loc, planned.package, planned.tier) == (
            " ".join(f.path.split()), f.loc, f.package, gap.tier)
        assert planned.context and planned.context.startswith(f"{gap.tier}: ")

    # Only priority gaps, of the best tiers left: recomputed from the analysis, ranked here.
    gaps = {g.file.id: g for g in analysis.priority_gaps(snap, options, high_only=not request.domains)}
    excludes = [e.pattern for e in snap.exclude_paths]
    for g in picks:
        assert g.file.id in gaps and gaps[g.file.id].tier == g.tier
        assert g.file.depth == "NOT_TOUCHED" and g.file.depth != "EXCLUDED"
        assert not TEST_PATH.search("/" + g.file.path), g.file.path
        assert not any(analysis.like_to_regex(p).match(c) for p in excludes for c in analysis.path_candidates(g.file))
        if request.domains:
            assert set(request.domains) & set(g.domains)
        if request.packages:
            assert g.file.package in request.packages
        if request.tiers:
            assert g.tier in request.tiers
    allowed = [g for g in gaps.values()
               if (not request.domains or set(request.domains) & set(g.domains))
               and (not request.packages or g.file.package in request.packages)
               and (not request.tiers or g.tier in request.tiers)]
    chosen = {g.file.id for g in picks}
    taken_loc = 0
    ranked = sorted(allowed, key=lambda g: (TIERS.index(g.tier), -len(g.deep_links), -g.deep_nearby,
                                            -(g.file.loc or 0), g.file.package, g.file.path, g.file.id))
    last = max(ranked.index(g) for g in allowed if g.file.id in chosen)
    for g in ranked[:last + 1]:
        if g.file.id in chosen:
            taken_loc += g.file.loc or 0
        else:  # a better-ranked gap left out: only because it did not fit the LOC budget
            assert taken_loc + (g.file.loc or 0) > request.loc_budget, g.file.path
    assert len(picks) <= request.files
    assert draft.selection.loc <= request.loc_budget or len(picks) == 1
    if len(picks) < request.files and draft.selection.loc < request.loc_budget:
        fits = [g for g in ranked[last + 1:] if draft.selection.loc + (g.file.loc or 0) <= request.loc_budget]
        assert not fits, "the plan stopped short of the count and the budget"

    # Clusters and the target add up, rows and stated figures alike.
    total = sum(f.loc or 0 for f in plan.files)
    assert (plan.target_files, plan.target_loc) == (len(plan.files), total) == (len(picks), draft.selection.loc)
    assert sum(c.stated_loc or 0 for c in plan.clusters) == total
    for cluster, drafted in zip(plan.clusters, draft.clusters, strict=True):
        rows = [f for f in plan.files if f.cluster == cluster.letter]
        assert cluster.stated_files == len(rows) == len(drafted.picks)
        assert cluster.stated_loc == sum(f.loc or 0 for f in rows) == drafted.loc
        if drafted.package is not None:
            assert {g.file.package for g in drafted.picks} == {drafted.package}
        assert not any(paths_collide(a.file.path, b.file.path)
                       for i, a in enumerate(drafted.picks) for b in drafted.picks[i + 1:])

    # One placeholder question per file, bound to it; tags as the database has them.
    assert [q.file_ids for q in plan.questions] == [(g.file.id,) for g in picks]
    assert all(q.text.startswith("TODO (researcher):") for q in plan.questions)
    tagged = {fid: set(t.domains) for t in plan.domain_tags for fid in t.file_ids}
    assert tagged == {g.file.id: set(snap.domains_of_file[g.file.id]) for g in picks}

    # The expected outcomes are figures the parser extracts, and the DEEP count is today's.
    figures = {e.kind: e for e in plan.expectations}
    assert set(figures) >= {DEEP_COUNT, FILES_READ}
    deep_now = sum(1 for f in snap.files if f.depth == "DEEP")
    gain = sum(1 for g in picks if g.file.depth != "DEEP")
    assert (figures[DEEP_COUNT].before, figures[DEEP_COUNT].low, figures[DEEP_COUNT].high) == (
        deep_now, deep_now + gain, deep_now + gain)
    assert figures[FILES_READ].low == len(picks)
    if NEW_FINDINGS in figures:
        assert figures[NEW_FINDINGS].low <= figures[NEW_FINDINGS].high
    return plan


# -- the example knowledge base ----------------------------------------------------------------

@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Options, Snapshot]:
    options = make_example_project(tmp_path_factory.mktemp("draft") / "kb", synced=False)
    return options, load(options)


def test_example_draft(example: tuple[Options, Snapshot]) -> None:
    options, snap = example
    request = DraftRequest()
    draft = draft_plan(snap, options, request, date=DATE)
    plan = check_draft(snap, options, request, draft)
    assert draft.session == next_session(snap) == 5
    assert [f.file_id for f in plan.files] == [1015, 1011]  # the CONNECTED gap, then the OWN_CODE one
    assert plan.files[0].context == "CONNECTED: imported by src/plugin/host.rs (DEEP)"
    assert plan.files[1].context == "OWN_CODE: in the team's own package quillc-core"
    assert "**Focus**: Deep-read 2 files (~816 LOC) in `src` — priority gaps: 1 CONNECTED, 1 OWN_CODE.\n" in draft.text
    assert (plan.files[0].repo, plan.files[0].repo_path) == ("quillc", "crates/quillc-core/src/plugin/abi.rs")
    assert "host.rs" in (plan.rationale or "")
    coverage = {c.name: c for c in analysis.coverage_by_domain(snap)}
    sandbox = coverage["plugin-sandbox"]
    after = 100.0 * (sandbox.loc_read + 226) / sandbox.loc
    assert (f"`plugin-sandbox` coverage: {100.0 * sandbox.loc_read / sandbox.loc:.1f}% → {after:.1f}%"
            in draft.text)
    # The isolation check comes from the dependency edges: html.rs has none to anything read.
    iso = draft.text.split("## Isolation Check", 1)[1]
    assert "1 of 2 planned files has no dependency edge to anything read so far: `src/render/html.rs`" in iso
    assert "`domains/plugin-sandbox/analysis.md`" in draft.text


def test_example_options_narrow_the_choice(example: tuple[Options, Snapshot]) -> None:
    options, snap = example
    for request in (DraftRequest(domains=("live-preview",)), DraftRequest(packages=("quill-editor-bridge",),
                                                                          domains=("live-preview",)),
                    DraftRequest(tiers=("CONNECTED",)), DraftRequest(files=1),
                    DraftRequest(loc_budget=300), DraftRequest(domains=("LIVE-PREVIEW",), tiers=("domain_only",))):
        draft = draft_plan(snap, options, request, date=DATE)
        check_draft(snap, options, DraftRequest(
            files=request.files, loc_budget=request.loc_budget, tiers=tuple(t.upper() for t in request.tiers),
            domains=tuple(d.lower() for d in request.domains), packages=request.packages), draft)
    # A MEDIUM domain named explicitly: its gaps, ranked in the same tiers.
    draft = draft_plan(snap, options, DraftRequest(domains=("live-preview",)), date=DATE)
    assert {g.file.id for g in draft.selection.picks} == {2007, 2010}
    assert draft_plan(snap, options, DraftRequest(tiers=("CONNECTED",)), date=DATE).selection.picks[0].file.id == 1015
    # The budget: 300 LOC leaves room for abi.rs (226) and debounce.ts (42); html.rs (590) and
    # decorations.ts (230) rank higher but do not fit, and the rationale says so.
    small = draft_plan(snap, options, DraftRequest(loc_budget=300, domains=(
        "incremental-build", "plugin-sandbox", "live-preview")), date=DATE)
    assert [g.file.id for g in small.selection.picks] == [1015, 2010]
    assert [g.file.id for g in small.selection.over_budget] == [1011, 2007]
    assert ("Passed over for the 300 LOC budget: `src/render/html.rs` (590 LOC, OWN_CODE) and "
            "`src/vscode/decorations.ts` (230 LOC, DOMAIN_ONLY)") in small.text


@pytest.mark.parametrize(("request_", "message"), [
    (DraftRequest(domains=("python-bindings",), tiers=("CONNECTED",)),
     "no priority gaps left for domain python-bindings; tier CONNECTED"),
    (DraftRequest(packages=("pyquill",)), "no priority gaps left for package pyquill"),
    (DraftRequest(domains=("nope",)), "unknown domain 'nope'"),
    (DraftRequest(tiers=("CLOSE",)), "unknown tier 'CLOSE'"),
    (DraftRequest(files=0), "--files 0"),
    (DraftRequest(loc_budget=0), "--loc-budget 0"),
])
def test_impossible_selections_are_usage_errors(example: tuple[Options, Snapshot], request_: DraftRequest,
                                                message: str) -> None:
    options, snap = example
    with pytest.raises(UsageError) as info:
        draft_plan(snap, options, request_, date=DATE)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_draft_is_deterministic(example: tuple[Options, Snapshot]) -> None:
    options, snap = example
    first = draft_plan(snap, options, DraftRequest(), date=DATE).text
    again = draft_plan(load(options), options, DraftRequest(), date=DATE).text
    assert first == again
    assert draft_plan(snap, options, DraftRequest(), date="2025-10-02").text != first
    assert draft_plan(snap, options, DraftRequest(), session=42, date=DATE).text.startswith("# R42 Execution Plan")


def test_write_plan_never_replaces_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "plans" / "R5-plan.md"
    write_plan(path, "first\n")
    with pytest.raises(UsageError, match=r"R5-plan\.md already exists"):
        write_plan(path, "second\n")
    assert path.read_text() == "first\n"
    write_plan(path, "second\n", force=True)
    assert path.read_text() == "second\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["R5-plan.md"], "no temporary file left behind"


def test_cli_draft_parse_import(example: tuple[Options, Snapshot], tmp_path: Path) -> None:
    options, _ = example
    project = options.project_dir
    target = options.plans_path / "R5-plan.md"
    target.unlink(missing_ok=True)
    done = kbgen(project, "plan", "draft", "--date", DATE)
    assert done.returncode == 0, done.stderr
    assert target.exists() and "R5, 2 files (~816 LOC) in 1 cluster" in done.stdout
    text = target.read_text(encoding="utf-8")

    again = kbgen(project, "plan", "draft", "--date", "2025-10-09")
    assert again.returncode == 2
    assert again.stderr.strip().startswith("error: ") and "R5-plan.md already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and target.read_text(encoding="utf-8") == text

    printed = kbgen(project, "plan", "draft", "--date", DATE, "-o", "-")
    assert printed.returncode == 0 and printed.stdout == text

    forced = kbgen(project, "plan", "draft", "--date", "2025-10-09", "--force", "--files", "1")
    assert forced.returncode == 0 and "**Date**: 2025-10-09" in target.read_text(encoding="utf-8")

    other = tmp_path / "R77.md"
    made = kbgen(project, "plan", "draft", "--session", "R77", "--date", DATE, "--tier", "own_code", "-o", str(other))
    assert made.returncode == 0, made.stderr
    assert "R77, 1 file (~" in made.stdout and "in 1 cluster;" in made.stdout
    assert "**Focus**: Deep-read 1 file (~" in other.read_text(encoding="utf-8")
    assert " — an OWN_CODE priority gap.\n" in other.read_text(encoding="utf-8")
    parsed = kbgen(project, "plan", "parse", str(other))
    assert parsed.returncode == 0 and "R77" in parsed.stdout
    assert "1 question (1 still a placeholder), 0 warnings" in parsed.stdout, "a template slot is not a warning"
    line = next(i for i, text in enumerate(other.read_text(encoding="utf-8").splitlines(), 1) if "**TODO (res" in text)
    note = (f"note: {other}:{line}: question Q77-1011 is still the draft's placeholder 'TODO (researcher)': write "
            "the question the session should answer [plan.placeholder-question]")
    assert parsed.stderr.splitlines() == [note]
    imported = kbgen(project, "plan", "import", str(other))
    assert imported.returncode == 0, imported.stderr
    assert "1 file," in imported.stdout
    assert imported.stderr.splitlines() == [note, (
        f"warning: {other}: 1 question (line {line}) is still a 'TODO (researcher)' placeholder: it shows as an "
        "open question until you write it and import the plan again")]
    # Written, the question is a question: no note, no warning.
    written = re.sub(r"\*\*TODO \(researcher\):\*\* .*", "is the HTML escaping complete?", other.read_text("utf-8"))
    other.write_text(written, encoding="utf-8")
    parsed = kbgen(project, "plan", "parse", str(other))
    assert parsed.stderr == "" and "1 question, 0 warnings" in parsed.stdout
    imported = kbgen(project, "plan", "import", str(other))
    assert imported.returncode == 0 and imported.stderr == "", imported.stderr

    impossible = kbgen(project, "plan", "draft", "--domain", "python-bindings", "--tier", "CONNECTED", "-o", "-")
    assert impossible.returncode == 2 and impossible.stdout == ""
    assert impossible.stderr.strip().splitlines() == [
        "error: no priority gaps left for domain python-bindings; tier CONNECTED (the database has 2 priority "
        "gaps in HIGH domains without these limits)"]
    # The next session counts imported plans too: R77 is in the database now.
    assert kbgen(project, "plan", "draft", "-o", "-", "--date", DATE).stdout.startswith("# R78 Execution Plan")
    taken = kbgen(project, "plan", "draft", "-o", "-", "--session", "3")
    assert taken.returncode == 0 and taken.stdout.startswith("# R3 Execution Plan")
    assert re.search(r"^warning: R3 already has [0-9]+ recorded reads", taken.stderr, re.M)
    assert "warning: R3 already has an imported plan (kbgen/example/plans/R3-plan.md)" in taken.stderr


# -- a generated campaign -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Options, Snapshot]:
    folder = tmp_path_factory.mktemp("campaign")
    url = f"sqlite:///{folder / 'research.db'}"
    generate(url, scale=0.05, seed=11)
    options = Options(project_dir=folder, database=url, own_packages=("agentmesh",))
    return options, load(options)


def test_campaign_drafts(campaign: tuple[Options, Snapshot]) -> None:
    options, snap = campaign
    gaps = analysis.priority_gaps(snap, options)
    domain = max(sorted({d for g in gaps for d in g.domains}), key=lambda d: sum(d in g.domains for g in gaps))
    package = gaps[-1].file.package
    requests = [DraftRequest(), DraftRequest(files=14, loc_budget=12_000), DraftRequest(domains=(domain,)),
                DraftRequest(packages=(package,)), DraftRequest(tiers=("PROXIMATE", "NEARBY")),
                DraftRequest(files=5, loc_budget=900), DraftRequest(files=60, loc_budget=100_000)]
    for request in requests:
        draft = draft_plan(snap, options, request, date=DATE)
        check_draft(snap, options, request, draft)
    default = draft_plan(snap, options, DraftRequest(), date=DATE)
    assert default.selection.picks[0].tier == "CONNECTED" and len(default.selection.picks) == 9
    assert default.expected.rate is not None, "a campaign has a findings rate"
    assert default.session == max(s.number for s in snap.sessions) + 1


def test_gaps_carry_their_evidence(campaign: tuple[Options, Snapshot]) -> None:
    options, snap = campaign
    deep = {f.id for f in snap.files if f.depth == "DEEP"}
    gaps = analysis.priority_gaps(snap, options, high_only=False)
    for g in gaps:
        assert (g.tier == "CONNECTED") == bool(g.deep_edges)
        assert set(g.deep_links) <= deep and all(g.file.id in (d.source_file_id, d.target_file_id)
                                                 for d in g.deep_edges)
        same_dir = sum(1 for f in snap.files if f.depth == "DEEP" and f.package_id == g.file.package_id
                       and analysis.dir2(f.path) == analysis.dir2(g.file.path))
        assert g.deep_nearby == same_dir
    assert sorted(gaps, key=rank_key)[0].tier == "CONNECTED"


# -- hostile names ---------------------------------------------------------------------------------

HOSTILE_PATHS = (
    "src/a|b/pipe|name.rs",
    "src/a|b/``tick`s``.rs",
    "src/a|b/<script>alert(1)</script>.ts",
    "src/**bold** _em_/[link](javascript:x).rs",
    "src/**bold** _em_/{eval-rst} :::{raw} html.rs",
    "lib/mod.rs",
    "x/lib/mod.rs",
    "src/1. list/# heading.rs",
    "src/trailing\\/back\\slash\\.rs",
    "src/ünïcödé/指南.rs",
    "src/two  spaces/tab\there.rs",
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Options, Snapshot]:
    """Names that are markup, pipes and backticks everywhere a plan shows one; copies of a path in two packages."""
    folder = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{folder / 'research.db'}"
    engine = open_engine(url, must_exist=False)
    init_research_db(engine)
    rows: dict[str, list[dict[str, object]]] = {
        "packages": [{"id": 1, "name": "pkg|`one`", "base_path": "~/repos/we|rd`/p k g"},
                     {"id": 2, "name": "**two**", "base_path": "~/repos/two (copy)"},
                     {"id": 3, "name": "<b>three</b>", "base_path": None}],
        "domains": [{"id": 1, "name": "dom|ain`x`", "priority": "HIGH", "synthesis_path": "x/analysis.md"},
                    {"id": 2, "name": "*star*", "priority": "high"}],
        "files": [], "file_domains": [], "dependencies": [],
    }
    fid = 0
    for package in (1, 2, 3):
        for path in HOSTILE_PATHS:
            fid += 1
            rows["files"].append({"id": fid, "package_id": package, "relative_path": path,
                                  "loc": None if fid == 4 else 40 + fid, "depth": "NOT_TOUCHED"})
            rows["file_domains"].append({"file_id": fid, "domain_id": 1 + fid % 2})
        fid += 1
        rows["files"].append({"id": fid, "package_id": package, "relative_path": "src/a|b/deep.rs", "loc": 10,
                              "depth": "DEEP"})
        rows["dependencies"].append({"id": fid, "source_file_id": fid - 2, "target_file_id": fid,
                                     "relationship": "im|ports `x`"})
        rows["dependencies"].append({"id": 100 + fid, "source_file_id": fid, "target_file_id": fid - 3,
                                     "relationship": "calls"})
    with engine.begin() as conn:
        for table in ("packages", "domains", "files", "file_domains", "dependencies"):
            for row in rows[table]:
                conn.execute(insert(rt.research_metadata.tables[table]).values(**row))
    engine.dispose()
    options = Options(project_dir=folder, database=url, own_packages=("**two**",))
    return options, load(options)


def test_hostile_names_survive_the_round_trip(hostile: tuple[Options, Snapshot]) -> None:
    options, snap = hostile
    request = DraftRequest(files=40, loc_budget=100_000)
    draft = draft_plan(snap, options, request, date=DATE)
    plan = check_draft(snap, options, request, draft)
    assert len(plan.files) == 33, "every gap, copies in three packages included"
    by_id = {f.file_id: f for f in plan.files}
    for f in snap.files:
        if f.depth == "NOT_TOUCHED":
            assert by_id[f.id].path == " ".join(f.path.split()) and by_id[f.id].package == f.package
    with_base = [f for f in plan.files if f.package == "pkg|`one`"]
    assert all(f.repo == "we|rd`" and " ".join((f.repo_path or "").split()) == "p k g/" + f.path for f in with_base)
    assert not [f for f in plan.files if f.package == "<b>three</b>" and f.repo_path], "no base path, no full path"
    # The relationship is data, escaped; the DEEP neighbour is a code span.
    assert r"| CONNECTED: linked (im\|ports `x`) to `src/a\|b/deep.rs` (DEEP) |" in draft.text
    assert ("- `<b>three</b>/src/ünïcödé/指南.rs` — CONNECTED: linked (im|ports `x`) to `src/a|b/deep.rs` (DEEP)"
            in draft.text)
    assert {t for tag in plan.domain_tags for t in tag.domains} == {"dom|ain`x`", "*star*"}
    assert next(f for f in plan.files if f.file_id == 4).loc is None


def test_an_unknown_loc_is_stated_not_unreadable() -> None:
    """A dash in the LOC column and ``(? LOC)`` in a template comment: the database has no LOC (NULL)."""
    text = ("# R9 Execution Plan: x\n\n## Target: 3 files, ~10 LOC\n\n### Cluster A: a (3 files, ~10 LOC)\n\n"
            "| # | File ID | File | LOC | Context |\n|---|---|---|---|---|\n| 1 | 5 | `a.rs` | — | x |\n"
            "| 2 | 6 | `b.rs` | 10 | x |\n| 3 | 7 | `c.rs` | ten | x |\n\n"
            "```text\n// 5: a.rs (? LOC) — pkg, CONNECTED\n// 6: b.rs (10 LOC) — pkg, NEARBY\n```\n")
    plan = parse_plan(text, "R9.md")
    assert [(w.code, w.line) for w in plan.problems] == [("plan.loc-unreadable", 11)]
    assert "'ten'" in plan.problems[0].message
    assert [(f.loc, f.package, f.tier) for f in plan.files] == [(None, "pkg", "CONNECTED"), (10, "pkg", "NEARBY"),
                                                                (None, None, None)]


@pytest.mark.postgres
def test_same_draft_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """The same campaign on SQLite and on PostgreSQL drafts the same bytes."""
    sqlite_url = f"sqlite:///{tmp_path / 'research.db'}"
    texts = []
    for url in (sqlite_url, pg_url):
        generate(url, scale=0.02, seed=5)
        options = Options(project_dir=tmp_path, database=url, own_packages=("agentmesh",))
        texts.append(draft_plan(load(options), options, DraftRequest(files=12), date=DATE).text)
    assert texts[0] == texts[1]
    assert parse_plan(texts[1], "R.md").problems == ()


def test_the_loop_draft_start_record_draft_again(tmp_path: Path) -> None:
    """Draft → session start (worksheet prefilled from the draft) → record → the plan's figures met → next draft."""
    import json

    import yaml

    options = make_example_project(tmp_path / "kb", synced=False)
    project = options.project_dir
    plan_path = options.plans_path / "R5-plan.md"
    drafted = kbgen(project, "plan", "draft", "--date", DATE, "-o", str(plan_path))
    assert drafted.returncode == 0, drafted.stderr
    assert "kbgen session start R5 --plan" in drafted.stdout

    started = kbgen(project, "session", "start", "R5", "--plan", str(plan_path))
    assert started.returncode == 0, started.stderr
    assert re.fullmatch(r"warning: \S*R5-plan\.md: 2 questions \(lines \d+, \d+\) are still 'TODO \(researcher\)' "
                        r"placeholders: they show as open questions until you write them and import the plan again\n",
                        started.stderr), started.stderr
    assert "session created" in started.stdout and "plan created" in started.stdout
    worksheet = options.project_dir / "kbgen" / "example" / "worksheets" / "R5.yaml"
    data = yaml.safe_load(worksheet.read_text(encoding="utf-8"))
    assert (data["session"], str(data["date"]), data["plan"]) == ("R5", DATE, "kbgen/example/plans/R5-plan.md")
    assert data["focus"].startswith("Deep-read 2 files (~816 LOC)")
    assert [(r["file"], r["package"], r["path"], r["loc"], r["depth_so_far"]) for r in data["reads"]] == [
        (1015, "quillc-core", "src/plugin/abi.rs", 226, "NOT_TOUCHED"),
        (1011, "quillc-core", "src/render/html.rs", 590, "NOT_TOUCHED")]
    assert [(q["id"], q["files"]) for q in data["questions"]] == [("Q5-1015", [1015]), ("Q5-1011", [1011])]
    assert all(q["text"].startswith("TODO (researcher):") for q in data["questions"])
    assert sorted((t["domains"], t["files"]) for t in data["tags"]) == [
        (["incremental-build"], [1011]), (["plugin-sandbox"], [1015])]

    # The researcher reads both files DEEP and records the worksheet.
    text = worksheet.read_text(encoding="utf-8")
    worksheet.write_text(re.sub(r"(?m)^    depth:$", "    depth: DEEP", re.sub(r"(?m)^    lines:$", "    lines: all",
                                                                                  text)), encoding="utf-8")
    recorded = kbgen(project, "record", str(worksheet))
    assert recorded.returncode == 0, recorded.stderr
    shown = kbgen(project, "plan", "show", "R5", "--json")
    verdicts = {row["kind"]: (row["expected"], row["actual"], row["verdict"])
                for row in json.loads(shown.stdout)["expected_vs_actual"]}
    assert verdicts["deep_count"] == ("13 → 15 (+2)", "13 → 15 (+2)", "met")
    assert verdicts["files_read"] == ("2", "2", "met")
    assert verdicts["new_findings"][2] == "missed"  # no finding was recorded

    # Both gaps are read now: the HIGH domains have none left, and the next draft says so.
    again = kbgen(project, "plan", "draft", "-o", "-")
    assert again.returncode == 2
    assert again.stderr.startswith("error: no priority gaps left: every source file of the HIGH domains is read")
    nxt = kbgen(project, "plan", "draft", "-o", "-", "--domain", "live-preview", "--date", DATE)
    assert nxt.returncode == 0 and nxt.stdout.startswith("# R6 Execution Plan")


def test_an_empty_database_says_what_is_missing_not_that_everything_is_read(tmp_path: Path) -> None:
    """``kbgen init`` + ``kbgen db init``: nothing is read, so "every file is read or excluded" would be false."""
    project = tmp_path / "kb"
    assert kbgen(project, "init", str(project)).returncode == 0
    url = f"sqlite:///{tmp_path / 'research.db'}"
    assert kbgen(project, "db", "init", url).returncode == 0
    empty = kbgen(project, "--db", url, "plan", "draft", "-o", "-")
    assert empty.returncode == 2 and empty.stdout == ""
    assert empty.stderr.strip().splitlines() == [
        "error: nothing to draft from: the database has no files and no domains yet (load the inventory of the code "
        "under study first: packages, files, domains and file_domains, as kbgen's reference docs describe them in "
        "docs/reference/research-database.md)"]

    engine = open_engine(url)
    tables = rt.research_metadata.tables
    with engine.begin() as conn:
        conn.execute(insert(tables["packages"]).values(id=1, name="core", base_path="~/repos/core"))
        conn.execute(insert(tables["files"]).values(id=1, package_id=1, relative_path="src/a.rs", loc=10,
                                                    depth="NOT_TOUCHED"))
    options = Options(project_dir=project, database=url)

    def why() -> str:
        with pytest.raises(UsageError) as info:
            draft_plan(load(options), options, DraftRequest(), date=DATE)
        return str(info.value)

    assert why().startswith("nothing to draft from: the database has no domains yet")
    with engine.begin() as conn:
        conn.execute(insert(tables["domains"]).values(id=1, name="core", priority="MEDIUM"))
    assert why().startswith("no priority gaps: no domain has HIGH priority (name a domain with --domain")
    with engine.begin() as conn:
        conn.execute(insert(tables["domains"]).values(id=2, name="build", priority="HIGH"))
    assert why().startswith("no priority gaps: no file is tagged with a HIGH domain (build)")
    with engine.begin() as conn:
        conn.execute(insert(tables["file_domains"]).values(file_id=1, domain_id=2))
        conn.execute(tables["files"].update().values(depth="DEEP"))
    assert why().startswith("no priority gaps left: every source file of the HIGH domains is read or excluded")
    engine.dispose()
