"""The bundled example (``kbgen/example``): it loads, and it tells one consistent story.

The example is the first thing a newcomer sees, so its data is tested like
code: every ID resolves, depths agree with the reads that justify them, line
ranges add up, the R3 plan matches the files table row for row, and the quirks
kbgen must survive are really present (so the demo exercises them).
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbgen.errors import DatabaseError
from kbgen.example import example_dir, example_plans
from kbgen.example.loader import load_example, research_sql
from kbgen.example.narrative import load_narrative

PLAN = example_dir() / "plans" / "R3-plan.md"
PLAN_SESSION = 3
DEPTH_RANK = {"DEEP": 5, "MEDIUM": 4, "SURFACE": 3, "MENTIONED": 2, "NOT_TOUCHED": 1}

_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*`([^`]+)`\s*\|\s*([\d,]+)\s*\|")
_CLUSTER = re.compile(r"^### Cluster ([A-Z]): .*\((\d+) files, ~([\d,]+) LOC\)\s*$")
_TARGET = re.compile(r"^## Target: (\d+) files, ~([\d,]+) LOC\s*$")
_TEMPLATE = re.compile(r"^(?://|#) (\d+): (\S+) \(([\d,]+) LOC\) — ([\w-]+), ([A-Z_]+)$")
_DATE = re.compile(r"^\*\*Date\*\*: (\d{4}-\d{2}-\d{2})\s*$")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("example") / "research.db"
    load_example(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def _count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _plan_rows() -> list[tuple[int, str, int]]:
    rows = []
    for line in PLAN.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows.append((int(match.group(2)), match.group(3), _number(match.group(4))))
    return rows


def _lines_of(ranges: str) -> set[int]:
    lines: set[int] = set()
    for part in ranges.split(","):
        low, _, high = part.partition("-")
        lines.update(range(int(low), int(high or low) + 1))
    return lines


# --- the SQL file itself ---------------------------------------------------------

def test_sql_is_insert_statements_and_one_update() -> None:
    statements, buffer = [], ""
    for line in research_sql().splitlines():
        if line.lstrip().startswith("--") and not buffer.strip():
            continue
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    assert not buffer.strip(), "trailing incomplete statement"
    assert statements
    for statement in statements:
        body = "\n".join(s for s in statement.splitlines() if not s.lstrip().startswith("--")).lstrip()
        # Rows are inserted; the one UPDATE is R4's script moving host.rs on after R3 was recorded.
        assert body.upper().startswith(("INSERT INTO ", "UPDATE FILES SET ")), statement[:80]


def test_example_dir_holds_the_data() -> None:
    assert (example_dir() / "research.sql").is_file()
    assert (example_dir() / "narrative.yaml").is_file()
    assert example_plans() == [PLAN]


# --- loading ------------------------------------------------------------------------

def test_load_refuses_non_empty_file_unless_replace(tmp_path: Path) -> None:
    path = tmp_path / "ex.db"
    load_example(f"sqlite:///{path}")
    with pytest.raises(DatabaseError, match="not empty"):
        load_example(f"sqlite:///{path}")
    load_example(f"sqlite:///{path}", replace=True)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM findings").fetchone()[0] == 60


def test_load_accepts_empty_file_and_refuses_to_replace_non_sqlite(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    load_example(f"sqlite:///{empty}")
    other = tmp_path / "notes.txt"
    other.write_text("precious", encoding="utf-8")
    with pytest.raises(DatabaseError, match="not a SQLite database"):
        load_example(f"sqlite:///{other}", replace=True)
    assert other.read_text(encoding="utf-8") == "precious"


def test_load_refuses_non_file_urls() -> None:
    with pytest.raises(DatabaseError, match="SQLite file"):
        load_example("sqlite://")
    with pytest.raises(DatabaseError, match="SQLite file"):
        load_example("postgresql://user@localhost/kb")


# --- counts and referential integrity ----------------------------------------------

@pytest.mark.parametrize(("table", "low", "high"), [
    ("packages", 3, 3), ("files", 35, 45), ("domains", 3, 4), ("sessions", 4, 4),
    ("file_domains", 40, 70), ("file_reads", 25, 50), ("findings", 55, 65),
    ("dependencies", 8, 15), ("package_dependencies", 2, 3), ("exclude_paths", 2, 2),
])
def test_counts(db: sqlite3.Connection, table: str, low: int, high: int) -> None:
    assert low <= _count(db, table) <= high


def test_foreign_keys_resolve(db: sqlite3.Connection) -> None:
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    dangling = db.execute("""SELECT id FROM findings WHERE file_id NOT IN (SELECT id FROM files)
                             OR (session_id IS NOT NULL AND session_id NOT IN (SELECT id FROM sessions))""")
    assert dangling.fetchall() == []
    assert db.execute("SELECT count(*) FROM findings WHERE session_id IS NULL").fetchone()[0] == 2
    assert db.execute("""SELECT id FROM exclude_paths
                         WHERE added_session_id NOT IN (SELECT id FROM sessions)""").fetchall() == []


def test_session_names_and_ids(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT id, name, date FROM sessions ORDER BY id").fetchall()
    assert [r[1] for r in rows] == ["R1", "R2-verify", "R3", "R4"]
    dates = [r[2] for r in rows]
    assert len(set(dates)) == len(dates) - 1, "exactly two sessions share a date"
    assert dates == sorted(dates)


# --- reads, depths, line ranges ----------------------------------------------------

def test_file_depth_is_strongest_read(db: sqlite3.Connection) -> None:
    reads: dict[int, list[str]] = defaultdict(list)
    for file_id, depth in db.execute("SELECT file_id, depth FROM file_reads"):
        reads[file_id].append(depth)
    for file_id, depth in db.execute("SELECT id, depth FROM files"):
        if file_id in reads:
            assert depth == max(reads[file_id], key=DEPTH_RANK.__getitem__), file_id
        else:
            assert depth in ("NOT_TOUCHED", "EXCLUDED"), file_id


def test_last_read_date_is_latest_reading_session(db: sqlite3.Connection) -> None:
    latest = dict(db.execute("""SELECT r.file_id, max(s.date) FROM file_reads r
                                JOIN sessions s ON s.id = r.session_id GROUP BY r.file_id"""))
    for file_id, last in db.execute("SELECT id, last_read_date FROM files"):
        assert last == latest.get(file_id), file_id


def test_line_ranges_add_up(db: sqlite3.Connection) -> None:
    loc = dict(db.execute("SELECT id, loc FROM files"))
    union: dict[int, set[int]] = defaultdict(set)
    for file_id, depth, lines_read, ranges in db.execute(
            "SELECT file_id, depth, lines_read, line_ranges FROM file_reads"):
        if depth == "MENTIONED":
            assert (lines_read, ranges) == (0, None), file_id
            continue
        lines = _lines_of(ranges)
        assert len(lines) == lines_read, (file_id, ranges)
        assert max(lines) <= loc[file_id], (file_id, ranges)
        union[file_id] |= lines
    for file_id, lines_read in db.execute("SELECT id, lines_read FROM files"):
        if file_id in union:
            assert lines_read == len(union[file_id]), file_id


def test_finding_lines_within_file(db: sqlite3.Connection) -> None:
    for fid, start, end, loc in db.execute("""SELECT f.id, f.line_start, f.line_end, fl.loc
                                              FROM findings f JOIN files fl ON fl.id = f.file_id"""):
        if start is None:
            assert end is None, fid
            continue
        assert 1 <= start <= end, fid
        assert loc is None or end <= loc, fid


# --- vocabularies and quirks ----------------------------------------------------------

def test_every_severity_after_case_folding(db: sqlite3.Connection) -> None:
    raw = [r[0] for r in db.execute("SELECT severity FROM findings")]
    folded = {s.upper() for s in raw}
    assert {"CRITICAL", "HIGH", "MEDIUM", "INFO"} <= folded
    assert folded <= {"CRITICAL", "HIGH", "MEDIUM", "INFO", "LOW"}
    assert sum(s.upper() == "LOW" for s in raw) == 1
    assert any(s != s.upper() for s in raw), "mixed case must be present"


def test_categories_are_messy(db: sqlite3.Connection) -> None:
    categories = {r[0] for r in db.execute("SELECT category FROM findings")}
    assert {"ARCHITECTURE", "architecture", "Integration Point", "fabricated-data", "genuine"} <= categories
    assert len(categories) >= 10


def test_text_that_must_render_literally(db: sqlite3.Connection) -> None:
    text = "\n".join(r[0] for r in db.execute("SELECT description FROM findings"))
    for needle in ("`", " | ", "<script>", "<unknown>", "**", "naïve", "→"):
        assert needle in text, needle


def test_quirks_present(db: sqlite3.Connection) -> None:
    zero = db.execute("""SELECT p.name FROM packages p WHERE p.total_files = 0
                         AND EXISTS (SELECT 1 FROM files f WHERE f.package_id = p.id)""").fetchall()
    assert len(zero) == 1
    assert _count(db, "files WHERE loc IS NULL") == 1
    assert _count(db, "files WHERE depth = 'EXCLUDED'") == 1
    shared = db.execute("""SELECT relative_path FROM files GROUP BY relative_path
                           HAVING count(DISTINCT package_id) > 1""").fetchall()
    assert shared == [("src/lib.rs",)]
    depths = {r[0] for r in db.execute("SELECT DISTINCT depth FROM files")}
    assert depths == {"DEEP", "MEDIUM", "SURFACE", "MENTIONED", "NOT_TOUCHED", "EXCLUDED"}


def test_package_totals_match_files_where_populated(db: sqlite3.Connection) -> None:
    for name, total_files, total_loc, files, loc in db.execute("""
            SELECT p.name, p.total_files, p.total_loc, count(f.id), coalesce(sum(f.loc), 0)
            FROM packages p JOIN files f ON f.package_id = p.id GROUP BY p.id"""):
        if total_files:
            assert (total_files, total_loc) == (files, loc), name


def test_integration_hotspots(db: sqlite3.Connection) -> None:
    hot = db.execute("""SELECT file_id FROM file_domains GROUP BY file_id
                        HAVING count(*) >= 3""").fetchall()
    assert len(hot) >= 2


def test_domains_shape(db: sqlite3.Connection) -> None:
    for name, priority, synthesis in db.execute("SELECT name, priority, synthesis_path FROM domains"):
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name)
        assert priority in ("HIGH", "MEDIUM", "LOW")
        assert synthesis == f"domains/{name}/analysis.md"


def test_exclude_patterns_match_something(db: sqlite3.Connection) -> None:
    for (pattern,) in db.execute("SELECT pattern FROM exclude_paths"):
        assert _count(db, f"files WHERE relative_path LIKE '{pattern}'") >= 1, pattern


# --- the R3 plan against the database ---------------------------------------------------

def test_plan_rows_match_files_table(db: sqlite3.Connection) -> None:
    rows = _plan_rows()
    assert 6 <= len(rows) <= 8
    for file_id, path, loc in rows:
        row = db.execute("SELECT relative_path, loc FROM files WHERE id = ?", (file_id,)).fetchone()
        assert row == (path, loc), file_id
    basenames = [Path(p).name for _, p, _ in rows]
    assert len(set(basenames)) == len(basenames)


def test_plan_stated_counts_equal_row_sums() -> None:
    lines = PLAN.read_text(encoding="utf-8").splitlines()
    clusters: dict[str, tuple[int, int]] = {}
    sums: dict[str, list[int]] = defaultdict(list)
    target: tuple[int, int] | None = None
    current = None
    for line in lines:
        if (m := _TARGET.match(line)) is not None:
            target = (int(m.group(1)), _number(m.group(2)))
        elif (m := _CLUSTER.match(line)) is not None:
            current = m.group(1)
            clusters[current] = (int(m.group(2)), _number(m.group(3)))
        elif (m := _ROW.match(line)) is not None:
            assert current is not None
            sums[current].append(_number(m.group(4)))
    assert sorted(clusters) == ["A", "B"]
    for letter, stated in clusters.items():
        assert stated == (len(sums[letter]), sum(sums[letter])), letter
    every = [loc for locs in sums.values() for loc in locs]
    assert target == (len(every), sum(every))


def test_plan_template_and_date_match_database(db: sqlite3.Connection) -> None:
    text = PLAN.read_text(encoding="utf-8")
    comments = [m.groups() for line in text.splitlines() if (m := _TEMPLATE.match(line))]
    rows = {file_id: (path, loc) for file_id, path, loc in _plan_rows()}
    assert sorted(int(c[0]) for c in comments) == sorted(rows)
    for file_id, name, loc, package, _tier in comments:
        path, row_loc = rows[int(file_id)]
        assert (Path(path).name, row_loc) == (name, _number(loc))
        assert db.execute("""SELECT p.name FROM files f JOIN packages p ON p.id = f.package_id
                             WHERE f.id = ?""", (int(file_id),)).fetchone() == (package,)
    dates = [m.group(1) for line in text.splitlines() if (m := _DATE.match(line))]
    session_date = db.execute("SELECT date FROM sessions WHERE id = ?", (PLAN_SESSION,)).fetchone()[0]
    assert dates == [session_date]


def test_plan_questions_answered_and_open(db: sqlite3.Connection) -> None:
    planned = {file_id for file_id, _, _ in _plan_rows()}
    with_findings = {r[0] for r in db.execute(
        "SELECT DISTINCT file_id FROM findings WHERE session_id = ?", (PLAN_SESSION,))}
    answered = planned & with_findings
    assert len(answered) == 5
    assert 1 <= len(planned - with_findings) <= 2
    read = {r[0] for r in db.execute("SELECT file_id FROM file_reads WHERE session_id = ?", (PLAN_SESSION,))}
    assert 1 <= len(read - planned) <= 2, "R3 also reads files the plan did not name"
    assert with_findings - planned, "off-plan reads produced findings too"


def test_plan_parses_without_warnings(db: sqlite3.Connection) -> None:
    from kbgen.plan.checks import check_against_inventory
    from kbgen.plan.parser import parse_plan_file

    plan = parse_plan_file(PLAN)
    problems = [w for w in plan.warnings if "placeholder" not in w.code]
    assert problems == []
    assert plan.session == PLAN_SESSION
    assert [f.file_id for f in plan.files] == [file_id for file_id, _, _ in _plan_rows()]
    # One question per file, plus one about Cluster B as a whole (it names no file).
    assert len(plan.questions) == len(plan.files) + 1
    (cluster_level,) = [q for q in plan.questions if not q.file_ids]
    assert (cluster_level.id, cluster_level.cluster) == ("Q3-N1", "B")
    # The stated figures the example's session page compares: one met, one missed.
    assert [(e.kind, e.low, e.high, e.before) for e in plan.expectations] == [
        ("deep_count", 12, 12, 5), ("new_findings", 15, 25, None)]
    known = {r[0] for r in db.execute("SELECT id FROM files")}
    assert check_against_inventory(plan, known) == []


# --- the narrative ---------------------------------------------------------------------

def test_narrative_covers_every_domain(db: sqlite3.Connection) -> None:
    narrative = load_narrative()
    assert sorted(narrative) == sorted(r[0] for r in db.execute("SELECT name FROM domains"))
    for entry in narrative.values():
        assert len(entry.summary) > 200
        assert 2 <= len(entry.subsystems) <= 3
        assert all(s.title and s.text for s in entry.subsystems)
