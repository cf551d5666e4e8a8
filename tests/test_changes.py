"""What changed per session: the model against plain SQL, stability, and the three text outputs.

The example knowledge base is loaded (it has one superseded and one resolved
finding, and one edge whose evidence names its session), then given more:
statuses (resolved in several sessions, one naming no session, one superseded
by a finding without a session), an explicit partial answer that overrides
inferred ones, edges whose evidence names their session in other spellings
(and one that only mentions a session later in the text), a read without a
session and a read of a file the files table does not have. Each session's
changes are then recomputed here with SQL written independently of
:mod:`kbgen.changes` and compared field by field.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from kbgen import analysis
from kbgen.changes import changes_index, find_session, what_changed
from kbgen.config import Options
from kbgen.db.engine import open_engine, resolve_url, sqlite_path
from kbgen.db.load import load_snapshot
from kbgen.errors import UsageError
from kbgen.model import Snapshot
from kbgen.render import changes_md, gfm
from kbgen.render.changes_json import to_dict
from kbgen.report import load
from tests.conftest import make_example_project

RANK = ("CASE UPPER(TRIM({col})) WHEN 'DEEP' THEN 5 WHEN 'MEDIUM' THEN 4 WHEN 'SURFACE' THEN 3 "
        "WHEN 'MENTIONED' THEN 2 WHEN 'NOT_TOUCHED' THEN 1 WHEN 'EXCLUDED' THEN 0 ELSE 1 END")
NAMES = {5: "DEEP", 4: "MEDIUM", 3: "SURFACE", 2: "MENTIONED", 1: "NOT_TOUCHED", 0: "EXCLUDED"}
MISSING_FILE = 9999

EXTRAS = """
INSERT INTO kbgen_finding_status (finding_id, status, session_id, superseded_by, reason, updated_at) VALUES
  (28, 'resolved', 4, NULL, NULL, '2025-09-23T10:00:00Z'),
  (10, 'resolved', 3, NULL, NULL, '2025-09-16T10:00:00Z'),
  (11, 'resolved', 99, NULL, NULL, '2025-09-16T10:00:00Z'),
  (60, 'superseded', NULL, 59, 'Both from the notes.', '2025-09-09T10:00:00Z');
INSERT INTO kbgen_answers (question_id, finding_id, partial, note, created_at) VALUES
  ('Q3-1012', 57, 1, 'R4 found the caching bug the question asked about.', '2025-09-23T10:00:00Z');
UPDATE dependencies SET evidence = 'R3: ' || evidence WHERE id = 5;
UPDATE dependencies SET evidence = 'R2-verify: ' || evidence WHERE id = 2;
UPDATE dependencies SET evidence = '(R4) ' || evidence WHERE id = 12;
UPDATE dependencies SET evidence = 'Confirmed in R3: ' || evidence WHERE id = 6;
INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) VALUES
  (90, 1010, NULL, 'DEEP', 740, '1-740', 'From the notes; no session.'),
  (91, 9999, 4, 'DEEP', 10, '1-10', 'A file the inventory does not have.');
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Options, Path, Snapshot]:
    options = make_example_project(tmp_path_factory.mktemp("changes") / "kb", synced=False)
    db = sqlite_path(resolve_url(options.database, options.project_dir))
    assert db is not None
    with sqlite3.connect(db) as conn:
        conn.executescript(EXTRAS)
    return options, db, _load(options)


def _load(options: Options) -> Snapshot:
    return load(options)


# -- the independent computation ----------------------------------------------------------

def sql_changes(db: Path, session: int) -> dict[str, Any]:
    """One session's changes from SQL alone (sessions in id order: the example's campaign order)."""
    with sqlite3.connect(db) as conn:
        reads = (f"SELECT file_id, session_id, {RANK.format(col='depth')} AS rank FROM file_reads "
                 "WHERE session_id IN (SELECT id FROM sessions)")
        # Before: earlier sessions' reads, and the files table's depth kbgen record noted for this read.
        prior = RANK.format(col="json_extract(k.detail, '$.depth')")
        rises = {row[0]: (None if row[1] is None else NAMES[row[1]], NAMES[row[2]]) for row in conn.execute(f"""
            WITH r AS ({reads}),
                 e AS (SELECT file_id, MAX(rank) AS rank FROM r WHERE session_id < :s GROUP BY file_id),
                 p AS (SELECT fr.file_id, MAX({prior}) AS rank FROM file_reads fr
                       JOIN kbgen_record_keys k ON k.kind = 'read' AND k.row_id = fr.id
                       WHERE fr.session_id = :s GROUP BY fr.file_id),
                 a AS (SELECT file_id, MAX(rank) AS rank FROM r WHERE session_id = :s GROUP BY file_id),
                 b AS (SELECT a.file_id,
                              CASE WHEN e.rank IS NULL THEN p.rank WHEN p.rank IS NULL THEN e.rank
                                   ELSE MAX(e.rank, p.rank) END AS rank
                       FROM a LEFT JOIN e USING (file_id) LEFT JOIN p USING (file_id))
            SELECT a.file_id, b.rank, MAX(a.rank, COALESCE(b.rank, -1)) FROM a JOIN b USING (file_id)
            WHERE b.rank IS NULL OR a.rank > b.rank""", {"s": session})}
        first_medium = (f"SELECT file_id, MIN(session_id) AS s FROM ({reads}) WHERE rank >= 4 GROUP BY file_id")

        def coverage(group_sql: str) -> dict[str, tuple[int, int, int, int]]:
            rows = conn.execute(f"""
                WITH fm AS ({first_medium}), g AS ({group_sql})
                SELECT g.name,
                       COALESCE(SUM(CASE WHEN fm.s < :s THEN 1 END), 0),
                       COALESCE(SUM(CASE WHEN fm.s <= :s THEN 1 END), 0),
                       COALESCE(SUM(CASE WHEN fm.s < :s THEN COALESCE(f.loc, 0) END), 0),
                       COALESCE(SUM(CASE WHEN fm.s <= :s THEN COALESCE(f.loc, 0) END), 0)
                FROM g JOIN files f ON f.id = g.file_id JOIN fm ON fm.file_id = f.id
                GROUP BY g.name HAVING SUM(CASE WHEN fm.s = :s THEN 1 END) > 0""", {"s": session})
            return {name: (fb, fa, lb, la) for name, fb, fa, lb, la in rows}

        domains = coverage("SELECT fd.file_id, d.name FROM file_domains fd JOIN domains d ON d.id = fd.domain_id")
        packages = coverage("SELECT f.id AS file_id, p.name FROM files f JOIN packages p ON p.id = f.package_id")
        findings = {row[0]: row[1] for row in conn.execute(
            "SELECT id, UPPER(TRIM(severity)) FROM findings WHERE session_id = ?", (session,))}
        resolved = {row[0] for row in conn.execute(
            "SELECT finding_id FROM kbgen_finding_status WHERE status = 'resolved' AND session_id = ?", (session,))}
        superseded = {(row[0], row[1]) for row in conn.execute(
            "SELECT s.finding_id, s.superseded_by FROM kbgen_finding_status s "
            "JOIN findings f ON f.id = s.superseded_by "
            "WHERE s.status = 'superseded' AND f.session_id = ?", (session,))}
        answered: dict[str, set[int]] = defaultdict(set)
        for qid, fid in conn.execute(
                "SELECT a.question_id, a.finding_id FROM kbgen_answers a JOIN findings f ON f.id = a.finding_id "
                "WHERE f.session_id = ?", (session,)):
            answered[qid].add(fid)
        # An answer in words counts for the session of the plan that asks the question.
        for (qid,) in conn.execute("SELECT ta.question_id FROM kbgen_text_answers ta JOIN sessions s "
                                   "ON s.name = 'R' || ta.session WHERE s.id = ?", (session,)):
            answered[qid] |= set()
        # Inferred: a finding of the question's session on a file it names, or, for a question that
        # names no file (the example's Q3-N1), on a planned file of its cluster.
        for qid, fid in conn.execute("""
                SELECT q.id, f.id FROM kbgen_questions q
                JOIN sessions s ON s.name = 'R' || q.session
                JOIN findings f ON f.session_id = s.id
                WHERE s.id = :s AND q.id NOT IN (SELECT question_id FROM kbgen_answers)
                  AND q.id NOT IN (SELECT question_id FROM kbgen_text_answers)
                  AND ((q.file_ids <> '' AND (' ' || q.file_ids || ' ') LIKE ('% ' || f.file_id || ' %'))
                    OR (q.file_ids = '' AND f.file_id IN (
                        SELECT pf.file_id FROM kbgen_plan_files pf JOIN kbgen_plans p ON p.id = pf.plan_id
                        WHERE p.session = q.session AND pf.cluster = q.cluster)))""", {"s": session}):
            answered[qid].add(fid)
        # Edges: the session whose worksheet added them (kbgen record's note), else the evidence's start.
        recorded = ("SELECT row_id FROM kbgen_record_keys "
                    "WHERE kind = 'dependency' AND json_extract(detail, '$.created')")
        edges = {row[0] for row in conn.execute(
            f"{recorded} AND session_id = :s UNION SELECT d.id FROM dependencies d, sessions s WHERE s.id = :s "
            f"AND d.id NOT IN ({recorded}) "
            "AND (d.evidence LIKE s.name || ':%' OR d.evidence LIKE '(' || s.name || ')%')", {"s": session})}
    return {"rises": rises, "domains": domains, "packages": packages, "findings": findings, "resolved": resolved,
            "superseded": superseded, "answered": {k: sorted(v) for k, v in answered.items()}, "edges": edges}


def model_changes(snap: Snapshot, session: int) -> dict[str, Any]:
    c = changes_index(snap).every_session()[session]
    return {
        "rises": {r.file_id: (r.before, r.after) for r in c.depth_rises},
        "domains": {d.name: (d.files_before, d.files_after, d.loc_before, d.loc_after) for d in c.domains},
        "packages": {d.name: (d.files_before, d.files_after, d.loc_before, d.loc_after) for d in c.packages},
        "findings": {f.id: f.severity for f in c.new_findings},
        "resolved": {r.finding.id for r in c.resolved},
        "superseded": {(s.finding.id, s.by.id) for s in c.superseded},
        "answered": {a.question.id: list(a.finding_ids) for a in c.answered},
        "edges": {e.dependency.id for e in c.edges},
    }


# -- tests --------------------------------------------------------------------------------

def test_every_sessions_changes_match_plain_sql(example: tuple[Options, Path, Snapshot]) -> None:
    _, db, snap = example
    ordered = analysis.ordered_sessions(snap)
    assert [s.id for s in ordered] == sorted(s.id for s in ordered), "the SQL assumes id order is campaign order"
    seen: set[str] = set()
    for s in ordered:
        expected, actual = sql_changes(db, s.id), model_changes(snap, s.id)
        for key in expected:
            assert actual[key] == expected[key], f"{s.label} {key}: model {actual[key]} != SQL {expected[key]}"
            if expected[key]:
                seen.add(key)
    assert seen == {"rises", "domains", "packages", "findings", "resolved", "superseded", "answered", "edges"}, (
        "the augmented example exercises every kind of change")


def test_what_the_database_cannot_tell_is_said(example: tuple[Options, Path, Snapshot]) -> None:
    _, _, snap = example
    every = changes_index(snap).every_session()
    r4 = every[4]
    missing = [r for r in r4.depth_rises if r.file_id == MISSING_FILE]
    assert missing and missing[0].file is None and missing[0].before is None
    # 1010 was read DEEP by a read without a session: no session gets it, before or after.
    assert all(r.file_id != 1010 or r.after == "MENTIONED" for c in every.values() for r in c.depth_rises)
    # A first recorded read has no "before", even though the file's inventory depth existed.
    assert all(r.before is None for r in every[1].depth_rises)
    # R3's worksheet answered its questions explicitly and in words; R4's F57 answers Q3-1012 again, partly.
    r3 = {a.question.id: a for a in every[3].answered}
    r4 = {a.question.id: a for a in every[4].answered}
    assert r3["Q3-1012"].finding_ids == (25, 26, 27) and r3["Q3-1012"].verdict and r3["Q3-1012"].earlier is None
    assert r4["Q3-1012"].finding_ids == (57,) and r4["Q3-1012"].partial and r4["Q3-1012"].earlier == every[3].first
    assert r3["Q3-2003"].finding_ids == () and r3["Q3-2003"].kind == "in words" and r3["Q3-2003"].partial
    assert r3["Q3-N1"].kind == "inferred from the cluster" and "Q3-1015" not in r3
    # R3 was recorded with kbgen record: its notes give the files' depth before the session.
    assert {r.file_id: r.before for r in every[3].depth_rises}[1012] == "NOT_TOUCHED"
    attribution = changes_index(snap).attribution()
    assert attribution.reads_without_session == 1
    assert attribution.findings_without_session == 2
    assert attribution.statuses_without_session == 2  # resolved in session 99; superseded by an unsessioned finding
    assert (attribution.edges_attributed, attribution.edges_total) == (7, 14)


def test_a_session_does_not_change_when_later_sessions_are_added(
        example: tuple[Options, Path, Snapshot], tmp_path: Path) -> None:
    """Cut the database after each session: that session's changes are the same as with everything.

    Without the explicit answer that links R3's question to R4's finding: that row is R4's data
    about R3's question (explicit answers replace inferred ones), so it rightly changes R3's list.
    """
    options, db, _ = example
    base = tmp_path / "base.db"
    with sqlite3.connect(db) as src, sqlite3.connect(base) as dst:
        src.backup(dst)
    with sqlite3.connect(base) as conn:
        conn.execute("DELETE FROM kbgen_answers")
    snap = _load(options.with_database(f"sqlite:///{base}"))
    full = changes_index(snap).every_session()
    for s in analysis.ordered_sessions(snap):
        cut = tmp_path / f"cut-{s.id}.db"
        with sqlite3.connect(base) as src, sqlite3.connect(cut) as dst:
            src.backup(dst)
        with sqlite3.connect(cut) as conn:
            conn.execute("DELETE FROM file_reads WHERE session_id > ?", (s.id,))
            conn.execute("DELETE FROM findings WHERE session_id > ?", (s.id,))
            conn.execute("DELETE FROM sessions WHERE id > ?", (s.id,))
        truncated = _load(options.with_database(f"sqlite:///{cut}"))
        alone = changes_index(truncated).every_session()[s.id]
        assert to_dict(truncated, alone) == to_dict(snap, full[s.id]), s.label


def test_coverage_gains_add_up_to_the_growth_chart(example: tuple[Options, Path, Snapshot]) -> None:
    _, _, snap = example
    every = changes_index(snap).every_session()
    growth = {p.session.id: p for p in analysis.coverage_growth(snap)}
    for sid, c in every.items():
        assert c.loc_gained == growth[sid].new_loc
        for d in c.packages:  # each file counts in exactly one package
            assert d.loc_after - d.loc_before == d.loc_gained
        assert sum(d.loc_gained for d in c.packages) == c.loc_gained


def test_a_run_combines_its_sessions(example: tuple[Options, Path, Snapshot]) -> None:
    _, _, snap = example
    report = what_changed(snap, "R4", "R2-verify")
    assert report is not None
    run, parts = report.changes, report.breakdown
    assert [c.label for c in parts] == ["R2-verify", "R3", "R4"] and run.label == "R2-verify–R4"
    assert [f.id for f in sorted(run.new_findings, key=lambda f: f.id)] == sorted(
        f.id for c in parts for f in c.new_findings)
    assert {r.finding.id for r in run.resolved} == {r.finding.id for c in parts for r in c.resolved}
    # Depth before the run (R1's reads) → after its last session.
    rises = {r.file_id: (r.before, r.after) for r in run.depth_rises}
    assert rises[1005] == ("MEDIUM", "DEEP") and rises[3001] == ("SURFACE", "DEEP")
    assert rises[1012] == ("NOT_TOUCHED", "DEEP"), "R3's recorded note: the files table before R3"
    for d in run.domains:
        first = next((x for c in parts for x in c.domains if x.name == d.name), None)
        last = next(x for c in reversed(parts) for x in c.domains if x.name == d.name)
        assert first is not None and (d.loc_before, d.loc_after) == (first.loc_before, last.loc_after)
    assert what_changed(snap, "R3") is not None and what_changed(snap, "R3").changes.label == "R3"  # type: ignore[union-attr]


def test_session_references(example: tuple[Options, Path, Snapshot]) -> None:
    _, _, snap = example
    assert find_session(snap, "R2-VERIFY").id == 2
    assert find_session(snap, "r3").id == 3 and find_session(snap, "4").id == 4 and find_session(snap, "R2").id == 2
    with pytest.raises(UsageError, match=r"unknown session 'R7'.*from R1 to R4"):
        find_session(snap, "R7")
    with pytest.raises(UsageError, match="comes before"):
        what_changed(snap, "R2-verify", "R4")


# -- the command ----------------------------------------------------------------------------

def _kbgen(options: Options, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(options.project_dir), *args],
                          capture_output=True, text=True, timeout=120)


def test_changes_command_outputs(example: tuple[Options, Path, Snapshot]) -> None:
    options, _, snap = example
    data = json.loads(_kbgen(options, "changes", "R4", "--json").stdout)
    assert data == json.loads(json.dumps(to_dict(snap, what_changed(snap, "R4").changes,  # type: ignore[union-attr]
                                                 attribution=changes_index(snap).attribution())))
    assert data["summary"]["new_findings"] == 14 and data["resolved"][0]["id"] == 28
    run = json.loads(_kbgen(options, "changes", "--since", "R3", "--json").stdout)
    assert [p["session"] for p in run["per_session"]] == ["R3", "R4"]

    terminal = _kbgen(options, "changes", "R2-verify")
    assert terminal.returncode == 0, terminal.stderr
    assert "Changes in R2-verify" in terminal.stdout and "F17" in terminal.stdout and "superseded by F17" in (
        " ".join(terminal.stdout.split()))

    md = _kbgen(options, "changes", "--since", "R1", "--markdown").stdout
    assert md.startswith("## Research changes in R1–R4 (2025-09-08 to 2025-09-22)\n")
    assert "- **CRITICAL** F17 in `quillc-core/src/build/cache.rs:140-190`: Verified: a cache hit" in md
    assert "| incremental-build | 0 | 5,075 | +5,075 | 0% → 71% |" in md
    assert ("- F4 (HIGH) superseded by F17 (CRITICAL): Reproduced: a cache hit publishes stale HTML, so "
            "CRITICAL, not HIGH." in md)
    prose = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md)  # code spans hold the data's own backslashes
    assert not re.search(r"\\[A-Za-z0-9 -]", prose), "no needless backslashes"

    for args, message in ((("changes", "R9"), "unknown session 'R9'"),
                          (("changes", "--json", "--markdown"), "exclude each other"),
                          (("changes", "R1", "--since", "R4"), "comes before")):
        result = _kbgen(options, *args)
        assert result.returncode == 2 and message in result.stderr and result.stdout == "", args


def test_changes_on_a_database_without_sessions(tmp_path: Path) -> None:
    from kbgen.db.migrate import init_research_db
    from kbgen.scaffold import init_project

    init_project(tmp_path)
    engine = open_engine(f"sqlite:///{tmp_path / 'db' / 'research.db'}", must_exist=False)
    init_research_db(engine)
    engine.dispose()
    options = Options(project_dir=tmp_path)
    assert _kbgen(options, "changes").stdout.strip() == "No sessions recorded yet."
    assert _kbgen(options, "changes", "--json").stdout.strip() == "null"


# -- markdown for pull requests ---------------------------------------------------------------

_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _rendered_text(md: str) -> tuple[str, set[str]]:
    """The text of rendered inline markdown and the HTML tags it produced."""
    tokens = _MD.parseInline(md)[0].children or []
    text = "".join(t.content for t in tokens if t.type in ("text", "code_inline", "softbreak"))
    return text, {t.type for t in tokens}


def _expected(value: str) -> str:
    """What a reader should see: the text, with code spans shown as their content (CommonMark rule)."""
    out = []
    for is_code, piece in gfm.code_spans(gfm.one_line(value)):
        if is_code:
            inner = piece.strip("`")
            if inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
                inner = inner[1:-1]
            out.append(inner)
        else:
            out.append(piece)
    return "".join(out)


@pytest.mark.parametrize("value", [
    "plain text, no markup: a - b, 1. 2) snake_case a * b 50% ~70 $5",
    "**bold** _em_ __init__ *x* ~~gone~~ ~one~ $x$ and $y$",
    "[link](http://x) ![img](y.png) [ref][1] <script>alert(1)</script> <!-- c --> <http://a.b>",
    "&amp; &#123; AT&T \\ back\\slash \\*star C:\\site\\x",
    "`code with *stars* and <b>` and ``two `ticks` inside`` and an unmatched ` tick",
    "@alice and #12 and a@b.com and issue#3",
])
def test_gfm_text_renders_literally(value: str) -> None:
    for cell in (False, True):
        escaped = gfm.text(value, cell=cell)
        source = f"| a |\n|---|\n| {escaped} |" if cell else escaped
        if cell:
            tokens = _MD.parse(source)
            inline = [t for t in tokens if t.type == "inline"][-1]  # the body cell
            text = "".join(t.content for t in inline.children or [] if t.type in ("text", "code_inline"))
            kinds = {t.type for t in inline.children or []}
        else:
            text, kinds = _rendered_text(source)
        assert text == _expected(value), (cell, escaped)
        assert kinds <= {"text", "code_inline"}, (cell, escaped, kinds)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab1 _*`~$[]()<>!&#;@\\|-+.:/=x?é", max_size=40))
def test_gfm_text_renders_literally_for_any_text(value: str) -> None:
    text, kinds = _rendered_text(gfm.text(value))
    assert text == _expected(value)
    assert kinds <= {"text", "code_inline"}


def test_gfm_text_keeps_github_from_notifying_or_doing_math() -> None:
    assert gfm.text("@alice, see #12") == "\\@alice, see \\#12"
    assert gfm.text("mail a@b.com about issue#3") == "mail a@b.com about issue#3"
    assert gfm.text("costs $5 to $10") == "costs \\$5 to \\$10" and gfm.text("costs $5") == "costs $5"
    assert gfm.text("~50-70 findings") == "~50-70 findings"
    assert gfm.text("- starts a list", line_start=True) == "\\- starts a list"
    assert gfm.text("12. starts a list", line_start=True) == "12\\. starts a list"


def test_markdown_output_of_a_hostile_finding(example: tuple[Options, Path, Snapshot], tmp_path: Path) -> None:
    options, db, _ = example
    copy = tmp_path / "hostile.db"
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE findings SET description = ? WHERE id = 53",
                     ("<img src=x onerror=alert(1)> [click](javascript:alert(1)) @everyone | **not bold**"
                      "\n# no heading",))
    snap = _load(options.with_database(f"sqlite:///{copy}"))
    text = changes_md.render(snap, what_changed(snap, "R4").changes)  # type: ignore[union-attr]
    line = next(x for x in text.splitlines() if " F53 " in x)
    rendered = MarkdownIt("commonmark").render(line)
    assert "<img" not in rendered and "<a " not in rendered and "<strong>not" not in rendered
    assert "\\@everyone" in line and "<h1>" not in rendered


# -- a generated campaign, SQLite and PostgreSQL -----------------------------------------------

def _campaign(url: str, plans: Path) -> Snapshot:
    from bench.synthetic import generate
    from kbgen.db.plans import import_plan_folder

    generate(url, scale=0.03, seed=7, plans_dir=plans)
    import_plan_folder(url, plans, source_prefix="plans/")
    engine = open_engine(url, readonly=True)
    try:
        return load_snapshot(engine, Options(project_dir=plans.parent), url)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_generated_campaign_gives_the_same_changes_on_sqlite_and_postgresql(tmp_path: Path, pg_url: str) -> None:
    lite = _campaign(f"sqlite:///{tmp_path / 'research.db'}", tmp_path / "plans-sqlite")
    pg = _campaign(pg_url, tmp_path / "plans-pg")
    every_lite, every_pg = changes_index(lite).every_session(), changes_index(pg).every_session()
    assert every_lite.keys() == every_pg.keys() and len(every_lite) >= 3
    for sid in every_lite:
        assert to_dict(lite, every_lite[sid]) == to_dict(pg, every_pg[sid])
    # The whole campaign as one run gains what the sessions gained one by one.
    ordered = analysis.ordered_sessions(lite)
    whole = changes_index(lite).run(ordered)
    assert whole.loc_gained == sum(c.loc_gained for c in every_lite.values())
    assert {f.id for f in whole.new_findings} == {f.id for c in every_lite.values() for f in c.new_findings}
    assert any(c.answered for c in every_lite.values()) and any(c.resolved or c.superseded for c in every_lite.values())
