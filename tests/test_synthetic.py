"""The synthetic research database: deterministic, messy in the documented ways, plans that fit it.

Everything runs at x0.01 on temporary SQLite files so the module stays fast;
benchmarks use the same generator at x1 and above (bench/generate.py).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.synthetic import GenerationSummary, content_digest, generate
from kbgen.errors import DatabaseError, UsageError

REPO = Path(__file__).resolve().parents[1]
SCALE = 0.01
RANK = {"DEEP": 5, "MEDIUM": 4, "SURFACE": 3, "MENTIONED": 2}


@dataclass(frozen=True)
class Generated:
    url: str
    path: Path
    plans: Path
    summary: GenerationSummary


def _generate(folder: Path, *, seed: int = 42, hostile: bool = True, scale: float = SCALE) -> Generated:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "research.db"
    url = f"sqlite:///{path}"
    summary = generate(url, scale=scale, seed=seed, plans_dir=folder / "plans", hostile=hostile)
    return Generated(url, path, folder / "plans", summary)


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return _generate(tmp_path_factory.mktemp("synthetic") / "a")


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """A tenth of a campaign: enough plans for every kind of drift, the dated plan among them."""
    return _generate(tmp_path_factory.mktemp("synthetic") / "tenth", scale=0.1)


@pytest.fixture
def db(gen: Generated) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{gen.path}?mode=ro", uri=True)
    yield conn
    conn.close()


def _plan_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.md"))}


# --------------------------------------------------------------------------- determinism


def test_same_arguments_same_rows_and_plans(gen: Generated, tmp_path: Path) -> None:
    again = _generate(tmp_path / "b")
    assert content_digest(again.url) == content_digest(gen.url)
    assert _plan_bytes(again.plans) == _plan_bytes(gen.plans)
    assert again.summary.counts == gen.summary.counts


def test_deterministic_across_processes_and_hash_seeds(gen: Generated, tmp_path: Path) -> None:
    """String hashing is randomised per process; the content must not depend on it."""
    target = tmp_path / "c.db"
    code = ("import sys; from pathlib import Path; from bench.synthetic import generate; "
            f"generate(sys.argv[1], scale={SCALE}, seed=42, plans_dir=Path(sys.argv[2]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code, f"sqlite:///{target}", str(tmp_path / "plans")],
                   check=True, env=env, cwd=tmp_path)
    assert content_digest(f"sqlite:///{target}") == content_digest(gen.url)
    assert _plan_bytes(tmp_path / "plans") == _plan_bytes(gen.plans)


def test_another_seed_gives_another_database(gen: Generated, tmp_path: Path) -> None:
    other = _generate(tmp_path / "d", seed=7)
    assert content_digest(other.url) != content_digest(gen.url)


# --------------------------------------------------------------------------- shape and minimums


def test_tiny_scale_keeps_a_few_of_everything(gen: Generated, db: sqlite3.Connection) -> None:
    counts = gen.summary.counts
    assert counts["packages"] >= 3 and counts["domains"] >= 3 and counts["sessions"] >= 4
    assert counts["findings"] >= 60 and counts["file_reads"] > 0 and counts["dependencies"] > 0
    assert counts["kbgen_answers"] > 0 and gen.summary.plans >= 2
    statuses = {r[0] for r in db.execute("SELECT status FROM kbgen_finding_status")}
    assert statuses == {"resolved", "superseded"}
    canonical = {r[0].upper() for r in db.execute("SELECT DISTINCT severity FROM findings")}
    assert {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"} <= canonical
    for table, n in counts.items():
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == n, table


def test_sessions_ids_names_and_dates(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT id, name, date FROM sessions ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert any(not re.fullmatch(r"R\d+", name) for _, name, _ in rows)  # R1-inventory, R3-verify, ...
    assert all(name == f"R{sid}" for sid, name, _ in rows if sid >= 25)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for _, _, d in rows)
    assert [d for _, _, d in rows] == sorted(d for _, _, d in rows)


def test_depth_is_the_strongest_read(db: sqlite3.Connection) -> None:
    strongest: dict[int, int] = {}
    for fid, depth, ranges, lines in db.execute("SELECT file_id, depth, line_ranges, lines_read FROM file_reads"):
        strongest[fid] = max(strongest.get(fid, 0), RANK[depth])
        if ranges is not None:
            spans = [tuple(map(int, part.split("-"))) for part in ranges.split(",")]
            assert all(a <= b for a, b in spans) and sum(b - a + 1 for a, b in spans) == lines
    descoped = 0
    for fid, depth in db.execute("SELECT id, depth FROM files"):
        if fid in strongest and depth == "EXCLUDED":
            descoped += 1  # read, then taken out of scope: the depth says EXCLUDED, the reads stay
        elif fid in strongest:
            assert RANK[depth] == strongest[fid]
        else:
            assert depth in ("NOT_TOUCHED", "EXCLUDED")
    assert descoped, "some files were read before they were excluded"


def test_excluded_files_carry_what_figures_must_leave_out(db: sqlite3.Connection) -> None:
    """Files taken out of scope after they were read keep LOC, domain tags, findings (some open) and edges."""
    excluded = "(SELECT id FROM files WHERE depth = 'EXCLUDED')"
    assert db.execute(f"SELECT SUM(loc) FROM files WHERE id IN {excluded}").fetchone()[0] > 0
    assert db.execute(f"SELECT COUNT(*) FROM file_domains WHERE file_id IN {excluded}").fetchone()[0] > 0
    assert db.execute(f"""SELECT COUNT(*) FROM findings WHERE file_id IN {excluded} AND followed_up = 0
                          AND UPPER(severity) IN ('CRITICAL', 'HIGH')""").fetchone()[0] > 0
    assert db.execute(f"""SELECT COUNT(*) FROM dependencies
                          WHERE source_file_id IN {excluded} OR target_file_id IN {excluded}""").fetchone()[0] > 0


def test_findings_of_a_session_are_on_files_it_read(db: sqlite3.Connection) -> None:
    orphans = db.execute("""
        SELECT COUNT(*) FROM findings f WHERE f.session_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM file_reads r WHERE r.file_id = f.file_id AND r.session_id = f.session_id)""").fetchone()
    assert orphans == (0,)


# --------------------------------------------------------------------------- quirks


def test_mixed_case_and_unknown_severities(db: sqlite3.Connection) -> None:
    severities = {r[0] for r in db.execute("SELECT DISTINCT severity FROM findings")}
    assert {"HIGH", "High", "high", "Critical", "info", "SEVERE"} <= severities


def test_free_form_categories(db: sqlite3.Connection) -> None:
    categories = {r[0] for r in db.execute("SELECT DISTINCT category FROM findings")}
    assert len(categories) >= 20
    assert any(c != c.lower() for c in categories)  # ARCHITECTURE, Integration Point, ...


def test_null_session_null_loc_and_stale_package_totals(db: sqlite3.Connection) -> None:
    assert db.execute("SELECT COUNT(*) FROM findings WHERE session_id IS NULL").fetchone()[0] >= 1
    assert db.execute("SELECT COUNT(*) FROM files WHERE loc IS NULL").fetchone()[0] >= 1
    assert db.execute("""SELECT COUNT(*) FROM packages p WHERE p.total_files = 0
                         AND EXISTS (SELECT 1 FROM files f WHERE f.package_id = p.id)""").fetchone()[0] >= 1


def test_same_relative_path_in_several_packages(db: sqlite3.Connection) -> None:
    copies = db.execute("""SELECT relative_path FROM files GROUP BY relative_path
                           HAVING COUNT(DISTINCT package_id) > 1""").fetchall()
    assert copies


def test_broken_view_fails_while_tables_and_other_views_read_fine(db: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        db.execute("SELECT * FROM domain_coverage").fetchall()
    assert db.execute("SELECT COUNT(*) FROM findings").fetchone()[0] > 0
    hotspots = db.execute("SELECT file_id, domain_count FROM integration_hotspots").fetchall()
    assert hotspots and all(n >= 3 for _, n in hotspots)
    assert db.execute("SELECT COUNT(*) FROM open_findings").fetchone()[0] > 0


def test_extra_unknown_column_on_findings(db: sqlite3.Connection) -> None:
    columns = {r[1] for r in db.execute("PRAGMA table_info(findings)")}
    assert "reviewer" in columns
    assert db.execute("SELECT COUNT(*) FROM findings WHERE reviewer IS NOT NULL").fetchone()[0] > 0


def test_hostile_text_only_when_asked(gen: Generated, db: sqlite3.Connection, tmp_path: Path) -> None:
    texts = [r[0] for r in db.execute("SELECT description FROM findings")]
    hostile = [t for t in texts if "<script>" in t or "{eval-rst}" in t or ":::" in t or "|" in t]
    assert 0 < len(hostile) < len(texts) / 5
    assert any(len(t) > 5000 for t in texts)
    assert any("{raw} html" in t for t in texts) and any(not t.isascii() for t in texts)
    assert db.execute("SELECT COUNT(*) FROM files WHERE relative_path LIKE '%<img%'").fetchone()[0] == 1
    tame = _generate(tmp_path / "tame", hostile=False)
    conn = sqlite3.connect(tame.path)
    try:
        tame_texts = [r[0] for r in conn.execute("SELECT description FROM findings")]
        assert not any("<" in t or "`" in t or "|" in t or not t.isascii() for t in tame_texts)
        assert max(len(t) for t in tame_texts) < 400
        # The hostile corpus is drawn apart: without it, the sessions and reads are the same.
        for table in ("sessions", "file_reads"):
            query = f"SELECT * FROM {table} ORDER BY id"
            plain = [r[:-1] for r in conn.execute(query)]  # notes (last column) differ
            assert plain == [r[:-1] for r in db.execute(query)]
    finally:
        conn.close()


# --------------------------------------------------------------------------- kbgen's own rows


def test_answer_links_and_statuses_are_consistent(gen: Generated, db: sqlite3.Connection) -> None:
    planned = _planned(gen)
    session_of = dict(db.execute("SELECT id, session_id FROM findings").fetchall())
    file_of = dict(db.execute("SELECT id, file_id FROM findings").fetchall())
    for qid, fid in db.execute("SELECT question_id, finding_id FROM kbgen_answers"):
        match = re.fullmatch(r"Q(\d+)-(\d+)", qid)
        assert match, qid
        session, file_id = int(match.group(1)), int(match.group(2))
        assert file_id in planned[session] and file_of[fid] == file_id
        assert session_of[fid] is not None and session_of[fid] >= session
    rows = db.execute("SELECT finding_id, status, session_id, superseded_by FROM kbgen_finding_status").fetchall()
    for fid, status, session, by in rows:
        if status == "superseded":
            assert file_of[by] == file_of[fid] and by > fid and session == session_of[by]
        else:
            assert by is None and session > (session_of[fid] or 0)


# --------------------------------------------------------------------------- plans

_ROW = re.compile(r"^\| (\d+) \| (\d+|\u2014|-|\?|TBD|) \| `([^`]+)` \| (\d+) \| ")
_BULLET = re.compile(r"^- `([^`]+)` \((\d+) LOC\): \S")
_CLUSTER = re.compile(r"^### Cluster ([A-D]): .+ \((\d+) files, ~([\d,]+) LOC\)$")


def _plan_files(gen: Generated) -> dict[Path, int]:
    """Every plan file with its session (a dated plan's from the generation summary)."""
    out: dict[Path, int] = {}
    for path in sorted(gen.plans.glob("*.md")):
        numbered = re.match(r"R(\d+)-plan\.md$", path.name)
        out[path] = int(numbered.group(1)) if numbered else gen.summary.dated_plans[path.name]
    return out


def _planned(gen: Generated) -> dict[int, set[int]]:
    """Session → the planned files the plan gives an ID (rows with a dash are known by path only)."""
    return {session: {int(m.group(2)) for m in map(_ROW.match, path.read_text().splitlines())
                      if m and m.group(2).isdigit()}
            for path, session in _plan_files(gen).items()}


def _names_file(name: str, path: str) -> bool:
    """A question's name for a file: its file name, or a shortened path (folders an ordered subsequence)."""
    named, full = name.split("/"), path.split("/")
    if named[-1] != full[-1]:
        return False
    folders = iter(full[:-1])
    return all(any(part == folder for folder in folders) for part in named[:-1])


@pytest.mark.parametrize("which", ["gen", "campaign"])
def test_plans_are_well_formed(which: str, request: pytest.FixtureRequest) -> None:
    gen: Generated = request.getfixturevalue(which)
    with sqlite3.connect(f"file:{gen.path}?mode=ro", uri=True) as db:
        files = {fid: (path, loc) for fid, path, loc in db.execute("SELECT id, relative_path, loc FROM files")}
    plans = _plan_files(gen)
    assert len(plans) == gen.summary.plans >= 2
    for path, session in plans.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        if path.name in gen.summary.dated_plans:
            assert re.fullmatch(r"# Execution Plan: \S.*", lines[0]), path
            assert not any(line.startswith("**Session ID**") for line in lines)
        else:
            assert re.fullmatch(rf"# R{session} Execution Plan: \S.*", lines[0]), path
            assert f"**Session ID**: {session}" in lines
        assert any(re.fullmatch(r"\*\*Date\*\*: \d{4}-\d{2}-\d{2}", line) for line in lines)
        rows = [m for m in map(_ROW.match, lines) if m]
        bullets = [m for m in map(_BULLET.match, lines) if m]
        assert 3 <= len(rows) <= 26 and len(bullets) == len(rows), path
        for row, bullet in zip(rows, bullets, strict=True):
            if row.group(2).isdigit():
                db_path, loc = files[int(row.group(2))]
                assert db_path.endswith(row.group(3)) and int(row.group(4)) == loc
                assert _names_file(bullet.group(1), db_path), (path, bullet.group(1), db_path)
            else:  # new since the inventory: the database may have it by path, or not at all
                assert _names_file(bullet.group(1), row.group(3))
        names = [r.group(3).rsplit("/", 1)[-1] for r in rows]
        assert len(set(names)) == len(names)  # unique basenames: questions bind unambiguously
        target = next(line for line in lines if line.startswith("## Target: "))
        assert target == f"## Target: {len(rows)} files, ~{sum(int(r.group(4)) for r in rows):,} LOC"
        clusters = [m for m in map(_CLUSTER.match, lines) if m]
        assert 1 <= len(clusters) <= 4 and sum(int(c.group(2)) for c in clusters) == len(rows)
        for heading in ("## Rationale", "## Expected Outcomes", "## DB Update Template", "## Domain Tags"):
            assert heading in lines, (path, heading)
        comments = [line for line in lines if re.match(r"^// \d+: \S+ \(\d+ LOC\) \u2014 \S+, [A-Z_]+$", line)]
        assert len(comments) == sum(1 for r in rows if r.group(2).isdigit())


def test_planned_files_were_mostly_read_and_carry_findings(gen: Generated, db: sqlite3.Connection) -> None:
    total = read = with_findings = 0
    for session, file_ids in _planned(gen).items():
        for fid in file_ids:
            total += 1
            read += bool(db.execute("SELECT 1 FROM file_reads WHERE file_id = ? AND session_id = ?",
                                    (fid, session)).fetchone())
            with_findings += bool(db.execute("SELECT 1 FROM findings WHERE file_id = ? AND session_id = ?",
                                             (fid, session)).fetchone())
    assert read >= 0.7 * total and with_findings >= 0.6 * total


@pytest.mark.parametrize("which", ["gen", "campaign"])
def test_plans_parse_and_every_file_question_binds(which: str, request: pytest.FixtureRequest) -> None:
    """The drift is the readable kind: every file question binds; the only warning names a file off the plan."""
    gen: Generated = request.getfixturevalue(which)
    from kbgen.plan import parse_plan_file
    from kbgen.plan.model import QUESTION_UNKNOWN_FILE

    for path, session in _plan_files(gen).items():
        plan = parse_plan_file(path, session=session if path.name in gen.summary.dated_plans else None)
        assert plan.session == session
        assert {w.code for w in plan.problems} <= {QUESTION_UNKNOWN_FILE}, (path, plan.problems)
        bound = [q for q in plan.questions if q.bound]
        assert sorted(i for q in bound for i in q.planned) == list(range(len(plan.files))), path


def test_plan_drift_covers_what_real_campaigns_do() -> None:
    """At a third of a campaign every kind of drift shows up, in realistic proportions."""
    from bench.synthetic import build_world, plan_drifts

    drifts = [d for _, d in plan_drifts(build_world(scale=0.3, hostile=False))]
    assert len(drifts) >= 15
    assert sum(d.dated for d in drifts) == 1
    assert any(d.dashed for d in drifts) and any(d.results for d in drifts) and any(d.files_read for d in drifts)
    cluster_level = sum(len(qs) for d in drifts for qs in d.cluster_questions.values())
    assert 0.5 <= cluster_level / len(drifts) <= 5
    assert sum(len(d.shortened) for d in drifts) >= len(drifts)
    everything = [d for _, d in plan_drifts(build_world(scale=1.0, hostile=False))]
    assert any(d.new_file for d in everything) and any(d.outside for d in everything)


def test_plans_import_with_drift(campaign: Generated, tmp_path: Path) -> None:
    """Every generated plan imports (the dated one with its session); files with a dash resolve by path."""
    gen = campaign
    assert len(gen.summary.dated_plans) == 1
    import shutil

    from kbgen.db.engine import open_engine
    from kbgen.db.plans import import_plan_folder, stored_plans

    copy = tmp_path / "research.db"
    shutil.copy(gen.path, copy)
    url = f"sqlite:///{copy}"
    results = import_plan_folder(url, gen.plans, sessions=gen.summary.dated_plans)
    assert len(results) == gen.summary.plans
    engine = open_engine(url)
    try:
        stored = stored_plans(engine)
    finally:
        engine.dispose()
    assert sorted(p.session for p in stored) == sorted(_plan_files(gen).values())
    for plan in stored:
        for f in plan.data["files"]:
            if f["file_id"] is None:
                assert f["path"].rsplit("/", 1)[-1].split(".")[0].endswith("_v2")  # the only truly new files


# --------------------------------------------------------------------------- refusals and the CLI


def test_refuses_a_database_with_research_rows(gen: Generated) -> None:
    with pytest.raises(DatabaseError, match="already holds research rows"):
        generate(gen.url, scale=SCALE)


@pytest.mark.parametrize("scale", [0, -1, float("nan"), 100])
def test_rejects_bad_scales(scale: float, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        generate(f"sqlite:///{tmp_path / 'x.db'}", scale=scale)


def _cli() -> object:
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = _cli().main  # type: ignore[attr-defined]
    args = ["--scale", "0.01", "--db", f"sqlite:///{tmp_path / 'r.db'}", "--plans", str(tmp_path / "plans")]
    assert main(args) == 0
    assert "findings" in capsys.readouterr().out
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_generates_on_postgresql(pg_url: str) -> None:
    from sqlalchemy import create_engine, inspect, text

    summary = generate(pg_url, scale=SCALE)
    engine = create_engine(pg_url)
    try:
        insp = inspect(engine)
        assert "reviewer" in {c["name"] for c in insp.get_columns("findings")}
        assert set(insp.get_view_names()) >= {"integration_hotspots", "open_findings"}
        assert "domain_coverage" not in insp.get_view_names()  # PostgreSQL refuses a broken view
        with engine.begin() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM findings")).scalar() == summary.counts["findings"]
            assert conn.execute(text("SELECT COUNT(*) FROM integration_hotspots")).scalar()
            # Sequences were moved past the explicit ids: a team script's insert still works.
            conn.execute(text("INSERT INTO sessions (name, date) VALUES ('R999', '2026-12-31')"))
    finally:
        engine.dispose()
