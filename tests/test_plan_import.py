"""``plan import`` against real databases: files known by path only, ``--session``, every fixture at once.

The fixtures' ``import_*`` expect keys (P06) state what import must do with
a planned file that has no ID: bind it when a database file has its path
(package root + File), warn at its row's line when none has. The small
databases here are built from each fixture's own rows, so a fixture added to
``shared/fixtures/plans`` with such keys is checked without touching this file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from kbgen.db import kbtables as kb
from kbgen.db.engine import open_engine
from kbgen.db.migrate import current_revision, ensure_kb_tables, init_research_db, upgrade
from kbgen.db.plans import import_plan, stored_plan, stored_plans
from kbgen.errors import PlanParseError
from kbgen.plan import Plan, parse_plan_file
from kbgen.plan.model import FILE_NOT_IN_DATABASE, PATH_AMBIGUOUS, SESSION_REPLACED
from tests.conftest import shared_dir
from tests.test_plan_parser import DATA, SEED, parse_expect

#: File IDs the small databases give to files a plan lists without an ID.
NEW_ID = 90_001


def _fixture_dirs() -> list[Path]:
    dirs = [DATA]
    shared = shared_dir()
    if shared is not None:
        dirs.append(shared / "fixtures" / "plans")
    return dirs


def _import_fixtures() -> list[object]:
    params: list[object] = []
    for folder in _fixture_dirs():
        label = "data" if folder == DATA else "shared"
        for path in sorted(folder.glob("*.md")):
            text_ = path.read_text(encoding="utf-8")
            if "<!-- expect:" in text_ and any(k.startswith("import_") for k in parse_expect(text_)):
                params.append(pytest.param(path, id=f"{label}/{path.name}"))
    return params


def _db(tmp_path: Path, name: str = "research.db") -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / name}"
    engine = open_engine(url, must_exist=False)
    init_research_db(engine)
    return url, engine


def _package_root(plan: Plan) -> str:
    """``~/repos/quillc/crates/quill-render`` from the plan's full paths (repository root + package folder)."""
    for f in plan.files:
        if f.repo and f.repo_path and f.repo_path.endswith(f.path):
            folder = f.repo_path[: len(f.repo_path) - len(f.path)].rstrip("/")
            return f"~/repos/{f.repo}" + (f"/{folder}" if folder else "")
    return "~/repos/unknown"


def _small_database(engine: Engine, plan: Plan, extra_paths: list[str]) -> None:
    """One package at the plan's root, every planned file with an ID, and ``extra_paths`` as new files."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO packages (id, name, base_path) VALUES (1, 'pkg', :base)"),
                     {"base": _package_root(plan)})
        conn.execute(text("INSERT INTO sessions (id, name, date) VALUES (:id, :name, '2026-04-02')"),
                     {"id": plan.session, "name": f"R{plan.session}"})
        rows = [{"id": f.file_id, "path": f.path, "loc": f.loc} for f in plan.files if f.file_id is not None]
        rows += [{"id": NEW_ID + i, "path": p, "loc": 1} for i, p in enumerate(extra_paths)]
        conn.execute(text("INSERT INTO files (id, package_id, relative_path, loc, depth) "
                          "VALUES (:id, 1, :path, :loc, 'NOT_TOUCHED')"), rows)


@pytest.mark.parametrize("path", _import_fixtures())
def test_fixture_import_binding(path: Path, tmp_path: Path) -> None:
    expect = parse_expect(path.read_text(encoding="utf-8"))
    plan = parse_plan_file(path)
    binds = [part.split("->")[0].strip() for part in (expect.get("import_binds") or "").split(";") if part.strip()]
    _, engine = _db(tmp_path)
    _small_database(engine, plan, binds)
    ensure_kb_tables(engine)
    result = import_plan(engine, plan, path.name)
    assert result.action == "created"
    stored = stored_plan(engine, plan.session)
    assert stored is not None
    files = {f["path"]: f for f in stored.data["files"]}
    for i, bound_path in enumerate(binds):
        assert (files[bound_path]["file_id"], files[bound_path]["resolved_by"]) == (NEW_ID + i, "path")
    assert result.resolved == len(binds)
    problems = [w for w in result.warnings if not w.informational]
    if expect.get("import_warning") is not None:
        assert [(w.line, w.message) for w in problems] == [
            (int(expect["import_warning_line"] or 0), expect["import_warning"])]
    unbound = [f for f in stored.data["files"] if f["file_id"] is None]
    assert len(unbound) == len(plan.files_without_id) - len(binds)
    # The questions about a bound file carry its ID; their own IDs come from the text alone.
    assert [q["id"] for q in stored.data["questions"]] == [q.id for q in plan.questions]
    for question in stored.data["questions"]:
        assert question["file_ids"] == [files[p]["file_id"] for p in question["paths"]
                                        if files[p]["file_id"] is not None]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT path, file_id, resolved_by FROM kbgen_plan_files ORDER BY ordinal")).all()
    assert len(rows) == len(plan.files)
    assert {(r.path, r.file_id, r.resolved_by) for r in rows if r.path in binds} == {
        (p, NEW_ID + i, "path") for i, p in enumerate(binds)}
    engine.dispose()


def test_p06_import_on_the_command_line(tmp_path: Path) -> None:
    """The warning names the row's line in ``path:line: message`` form and the plan is imported anyway."""
    fixture = DATA / "P06-unknown-ids.md"
    plan = parse_plan_file(fixture)
    url, engine = _db(tmp_path)
    _small_database(engine, plan, ["src/render/pool.rs"])
    engine.dispose()
    result = subprocess.run([sys.executable, "-m", "kbgen", "--db", url, "plan", "import", str(fixture)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "R58 created (6 files, 1 found by path, 6 questions" in result.stdout
    assert (f"{fixture}:25: planned file src/render/cache_v2.rs has no File ID and no database file has that "
            "path") in result.stderr
    assert result.stderr.count("warning:") == 1
    shown = subprocess.run([sys.executable, "-m", "kbgen", "--db", url, "plan", "show", "R58", "--json"],
                           capture_output=True, text=True, cwd=tmp_path)
    data = json.loads(shown.stdout)
    assert [f["file_id"] for f in data["files"]] == [5801, 5802, 5803, 5804, NEW_ID, None]
    assert data["clusters"][1]["files"] == [NEW_ID, None]
    pool = next(q for q in data["questions"] if q["paths"] == ["src/render/pool.rs"])
    assert (pool["id"], pool["file_ids"]) == ("Q58-N1", [NEW_ID])


def test_a_later_import_binds_a_file_the_database_learned(tmp_path: Path) -> None:
    plan = parse_plan_file(DATA / "P06-unknown-ids.md")
    _, engine = _db(tmp_path)
    _small_database(engine, plan, ["src/render/pool.rs"])
    ensure_kb_tables(engine)
    first = import_plan(engine, plan, "P06.md")
    assert first.action == "created" and first.resolved == 1
    assert import_plan(engine, plan, "P06.md").action == "unchanged"
    with engine.begin() as conn:  # the session recorded the new cache file
        conn.execute(text("INSERT INTO files (id, package_id, relative_path, loc) "
                          "VALUES (95000, 1, 'src/render/cache_v2.rs', 240)"))
    again = import_plan(engine, plan, "P06.md")
    assert (again.action, again.resolved) == ("updated", 2)
    assert not [w for w in again.warnings if not w.informational]
    stored = stored_plan(engine, 58)
    assert stored is not None
    assert [f["file_id"] for f in stored.data["files"]][-2:] == [NEW_ID, 95000]
    with engine.connect() as conn:
        question = conn.execute(text("SELECT id, file_ids FROM kbgen_questions WHERE id = 'Q58-N2'")).one()
    assert question.file_ids == "95000"
    engine.dispose()


def _plan_text(rows: str, full_paths: str = "") -> str:
    return ("# R9 Execution Plan: Paths\n\n**Session ID**: 9\n\n### Cluster A: New (1 files, ~5 LOC)\n\n"
            "| # | File ID | File | LOC |\n|---|---|---|---|\n" + rows + "\n\n" + full_paths
            + "\n**Key questions**:\n- Is it real?\n")


def _packages(engine: Engine, packages: list[tuple[int, str, str | None]], files: list[tuple[int, int, str]]) -> None:
    with engine.begin() as conn:
        for pid, name, base in packages:
            conn.execute(text("INSERT INTO packages (id, name, base_path) VALUES (:i, :n, :b)"),
                         {"i": pid, "n": name, "b": base})
        for fid, pid, rel in files:
            conn.execute(text("INSERT INTO files (id, package_id, relative_path, loc) VALUES (:i, :p, :r, 5)"),
                         {"i": fid, "p": pid, "r": rel})


@pytest.mark.parametrize(("rows", "full_paths", "expected", "code"), [
    # The full path's repository and folder pick the package (two packages share src/x.rs).
    ("| 1 | — | `src/x.rs` | 5 |", "**Full paths**:\n1. `~/repos/mono/crates/b/src/x.rs`\n", 202, None),
    ("| 1 | — | `src/x.rs` | 5 |", "**Full paths**:\n1. `~/repos/mono/crates/a/src/x.rs`\n", 201, None),
    # A package column decides too.
    ("| 1 | ? | `src/x.rs` | 5 |", "", None, PATH_AMBIGUOUS),
    ("| 1 | TBD | `src/x.rs` | 5 | beta |", "", 202, None),
    # No such path anywhere.
    ("| 1 | | `src/nowhere.rs` | 5 |", "", None, FILE_NOT_IN_DATABASE),
    # A path only one package has needs no root.
    ("| 1 | - | `lib/only.rs` | 5 |", "", 203, None),
])
def test_resolution_by_package_root_and_path(tmp_path: Path, rows: str, full_paths: str, expected: int | None,
                                             code: str | None) -> None:
    _, engine = _db(tmp_path)
    _packages(engine, [(1, "alpha", "~/repos/mono/crates/a"), (2, "beta", "~/repos/mono/crates/b/"),
                       (3, "gamma", None)],
              [(201, 1, "src/x.rs"), (202, 2, "src/x.rs"), (203, 3, "lib/only.rs")])
    ensure_kb_tables(engine)
    body = _plan_text(rows, full_paths)
    if rows.count("|") == 6:
        body = body.replace("| # | File ID | File | LOC |\n|---|---|---|---|",
                            "| # | File ID | File | LOC | Package |\n|---|---|---|---|---|")
    source = tmp_path / "R9.md"
    source.write_text(body, encoding="utf-8")
    result = import_plan(engine, parse_plan_file(source), "R9.md")
    stored = stored_plan(engine, 9)
    assert stored is not None
    assert stored.data["files"][0]["file_id"] == expected
    assert [w.code for w in result.warnings if not w.informational] == ([code] if code else [])
    if code:
        assert result.warnings[0].line == 9  # the row
    engine.dispose()


def test_session_option_binds_a_plan_without_a_number(tmp_path: Path) -> None:
    url, engine = _db(tmp_path)
    engine.dispose()
    plan = DATA / "B02-no-session.md"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kbgen", "--db", url, "plan", "import", *args],
                              capture_output=True, text=True, cwd=tmp_path)

    refused = run(str(plan))
    assert refused.returncode == 2
    assert f"{plan}:2: no session number" in refused.stderr and "--session N" in refused.stderr
    done = run(str(plan), "--session", "R104")
    assert done.returncode == 0, done.stderr
    assert "R104 created" in done.stdout
    contradicted = run(str(SEED), "--session", "96")
    assert contradicted.returncode == 2 and "R95" in contradicted.stderr and "96" in contradicted.stderr
    two = run(str(plan), str(SEED), "--session", "104")
    assert two.returncode == 2 and "one plan file" in two.stderr
    assert run(str(plan), "--session", "x").returncode == 2
    engine = open_engine(url)
    stored = stored_plan(engine, 104)
    assert stored is not None and stored.data["session_given"] is True
    engine.dispose()


def _import_everything(url: str) -> tuple[dict[str, Any], list[str]]:
    """Every fixture (copies and shared) and the seed into one database: what was stored, what refused."""
    engine = open_engine(url, must_exist=False)
    init_research_db(engine)
    outcomes: dict[str, Any] = {}
    refused: list[str] = []
    fixtures = {p.name: p for folder in _fixture_dirs() for p in folder.glob("*.md")
                if "<!-- expect:" in p.read_text(encoding="utf-8")}  # shared/ wins over the copies
    shared = shared_dir()
    seed = shared / "seed" / "R95-plan.md" if shared is not None else SEED
    for path in [*sorted(fixtures.values(), key=lambda p: p.name), seed]:
        try:
            plan = parse_plan_file(path)
        except PlanParseError:
            refused.append(path.name)
            continue
        outcomes[path.name] = import_plan(engine, plan, path.name)
    stored = {p.source_path: p for p in stored_plans(engine)}
    engine.dispose()
    return {"results": outcomes, "stored": stored}, refused


def _check_everything(found: dict[str, Any], refused: list[str]) -> None:
    assert sorted(refused) == ["B01-bad-file-id.md", "B02-no-session.md", "B03-conflicting-session.md"]
    results = found["results"]
    assert set(results) >= {"P01-canonical.md", "P06-unknown-ids.md", "P07-retroactive-results.md",
                            "P08-abbreviated-paths.md", "R95-plan.md"}
    assert all(r.action in ("created", "updated") for r in results.values())
    # P05 and P06 are both plans for R58: the later file replaces the earlier, and says so.
    p06 = results["P06-unknown-ids.md"]
    assert p06.replaced == "P05-no-clusters.md"
    assert any(w.code == SESSION_REPLACED and "P05-no-clusters.md" in w.message for w in p06.warnings)
    stored = found["stored"]
    assert "P05-no-clusters.md" not in stored and "P06-unknown-ids.md" in stored
    sessions = sorted(p.session for p in stored.values())
    assert sessions == sorted({r.session for r in results.values()})
    p07 = stored["P07-retroactive-results.md"].data
    assert p07["results"]["blocks"][1]["kind"] == "table" and len(p07["files"]) == 3


def test_every_fixture_and_the_seed_into_one_sqlite_database(tmp_path: Path) -> None:
    found, refused = _import_everything(f"sqlite:///{tmp_path / 'all.db'}")
    _check_everything(found, refused)


def test_every_fixture_and_the_seed_into_one_postgres_database(pg_url: str) -> None:
    found, refused = _import_everything(pg_url)
    _check_everything(found, refused)


# --- the schema upgrade 0001 → 0002 keeps stored plans ---------------------------------------------

def _at_revision_0001_with_a_plan(engine: Engine) -> None:
    from alembic import command

    from kbgen.db.migrate import _alembic_config

    init_research_db(engine)  # head: then step back to 0001 as an older kbgen left it
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO kbgen_plans (session, source_path, content_hash, data, imported_at) "
                          "VALUES (95, 'R95-plan.md', 'h', '{}', 'now')"))
        conn.execute(text("INSERT INTO kbgen_plan_files (plan_id, ordinal, file_id, path) "
                          "VALUES (1, 1, 4458, 'src/export/pretrain.rs')"))
        if engine.dialect.name == "sqlite":
            # A view written for another schema, as real databases carry: SQLite checks every view
            # when a table is renamed, and the upgrade rebuilds kbgen_plan_files.
            conn.execute(text("CREATE VIEW domain_coverage AS SELECT f.knowability_tier FROM files f"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_from_0001_keeps_plans_and_allows_files_without_id(backend: str, tmp_path: Path,
                                                                   request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = open_engine(url, must_exist=False)
    _at_revision_0001_with_a_plan(engine)
    assert current_revision(engine) == "0001"
    before, after = upgrade(engine)
    assert (before, after) == ("0001", kb.HEAD_REVISION)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT file_id, path, resolved_by FROM kbgen_plan_files")).one() == (
            4458, "src/export/pretrain.rs", None)
        conn.execute(text("INSERT INTO kbgen_plan_files (plan_id, ordinal, file_id, path, resolved_by) "
                          "VALUES (1, 2, NULL, 'src/new.rs', NULL)"))
    ensure_kb_tables(engine)  # already at head: nothing to do
    engine.dispose()


def test_live_preview_reimports_a_dated_plan_with_its_given_session(tmp_path: Path) -> None:
    """``kbgen serve`` re-imports changed plans; one imported with --session keeps that number."""
    import shutil

    from kbgen.serve import import_plans
    from tests.conftest import make_example_project

    options = make_example_project(tmp_path / "kb", synced=False)
    dated = options.plans_path / "plan-2026-05-02.md"
    options.plans_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "B02-no-session.md", dated)
    result = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(options.project_dir), "plan", "import",
                             str(dated), "--session", "4"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    logged: list[str] = []
    import_plans(options, logged.append)
    assert not [line for line in logged if "skipped" in line], logged
    dated.write_text(dated.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
    assert import_plans(options, logged.append) == 1 and not logged
    engine = open_engine(f"sqlite:///{options.project_dir / 'db/research.db'}")
    stored = stored_plan(engine, 4)
    engine.dispose()
    assert stored is not None and stored.source_path.endswith("plans/plan-2026-05-02.md")
    assert stored.data["session_given"] and "Edited." not in stored.data["title"]


def test_session_pages_of_drifting_plans(tmp_path: Path) -> None:
    """P06 (a file found by path, one unknown) and P07 (Results) on their session pages; P07 with figures."""
    from kbgen.config import load_options
    from kbgen.db.load import load_snapshot
    from kbgen.render.pages import session_page
    from kbgen.render.view import SiteLayout, SiteView

    p06 = parse_plan_file(DATA / "P06-unknown-ids.md")
    url, engine = _db(tmp_path)
    _small_database(engine, p06, ["src/render/pool.rs"])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sessions (id, name, date) VALUES (63, 'R63', '2026-04-20')"))
        conn.execute(text("INSERT INTO files (id, package_id, relative_path, loc, depth) VALUES "
                          "(6301, 1, 'src/sync/handshake.rs', 410, 'DEEP'), "
                          "(6302, 1, 'src/sync/delta.rs', 366, 'DEEP')"))
        conn.execute(text("INSERT INTO file_reads (id, file_id, session_id, depth, lines_read) VALUES "
                          "(1, 6301, 63, 'DEEP', 410), (2, 6302, 63, 'DEEP', 366)"))
        conn.execute(text("INSERT INTO findings (id, file_id, session_id, severity, category, description, "
                          "followed_up) VALUES (1, 6302, 63, 'HIGH', 'bug', 'Deltas unbounded', 0)"))
    ensure_kb_tables(engine)
    import_plan(engine, p06, "P06.md")
    text63 = (DATA / "P07-retroactive-results.md").read_text(encoding="utf-8").replace(
        "## Results", "## Expected Outcomes\n\n1. New findings: 2-4\n2. Files read: 3\n\n## Results")
    from kbgen.plan import parse_plan

    import_plan(engine, parse_plan(text63, "P07.md"), "P07.md")
    snap = load_snapshot(engine, load_options(None, required=False), url)
    engine.dispose()
    view = SiteView(snap, SiteLayout())
    s58 = session_page(view, snap.session_by_number[58])
    assert f"[src/render/pool.rs](#need-FILE{NEW_ID}) (no ID in the plan; found by path)" in s58
    assert "`src/render/cache_v2.rs` (no File ID; not in the database)" in s58
    s63 = session_page(view, snap.session_by_number[63])
    results = s63.split("## Results, as the plan reports them", 1)[1]
    assert "“Results (retroactive: the session ran before this plan was written)” is shown as written" in results
    assert "**Cluster A Verdict: Mostly real (60-80%)**" in results
    assert "| File | LOC | Realness | Key Finding |" in results
    assert "Deltas unbounded; a large edit allocates the whole file twice" in results
    assert "| New findings | 2-4 | 1 | missed (1 short) |" in s63
    assert "| Files read | 3 | 2 | missed (1 short) |" in s63
