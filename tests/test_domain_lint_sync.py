"""What kbgen generates into a domain document lints clean, whatever the database holds.

Random research databases (Hypothesis): session names of every shape the spec
mentions (``R3``, ``R3-verify``, ``R22b``, ``R10-swarm-coverage``), ids in no
particular order, several sessions on one date, packages and paths with
markup characters, hostile finding text. Each is synced into a fresh project
and every domain document must pass ``kbgen lint`` — twice, since a second
sync rewrites a document that already exists.
"""

from __future__ import annotations

import sqlite3
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from kbgen.config import Options, load_options
from kbgen.db import research
from kbgen.db.engine import open_engine, resolve_url, sqlite_path
from kbgen.db.migrate import init_research_db
from kbgen.domain.lint import lint_paths
from kbgen.scaffold import init_project
from kbgen.sync import sync
from kbgen.vocab import session_order_key
from tests.hostile_corpus import hostile_text

SUFFIXES = ("", "", "", "-verify", "b", "-swarm-coverage", "-deep", "a", "-2", " retry", "_x")
DATES = ("2025-09-08", "2025-09-08", "2025-09-15", "2025-10-01", None)
DEPTHS = ("DEEP", "MEDIUM", "SURFACE", "NOT_TOUCHED", "deep", "Medium")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "INFO", "LOW", "high", "Critical")
CATEGORIES = ("bug", "security", "real-functionality", "stub", "genuine", "architecture")

names = st.builds(lambda n, s: f"R{n}{s}", st.integers(0, 40), st.sampled_from(SUFFIXES))
words = st.text(string.ascii_letters + string.digits + "-_.*`[]|<>#:()$~&{}\\! ", min_size=1, max_size=12)
paths = st.lists(words, min_size=1, max_size=3).map("/".join)


@dataclass(frozen=True)
class Campaign:
    packages: list[str]
    files: list[tuple[int, str, str, int | None, str | None]]  # package index, path, depth, loc, notes
    sessions: list[tuple[int, str, str | None, str]]  # id, name, date, focus
    reads: list[tuple[int, int, str]]  # file index, session index, depth
    findings: list[tuple[int, int | None, str, str, str]]  # file index, session index, severity, category, text
    domain_files: list[list[int]]  # per domain: file indexes


@st.composite
def campaigns(draw: st.DrawFn) -> Campaign:
    packages = draw(st.lists(words, min_size=1, max_size=3, unique_by=lambda p: p.strip()))
    files = draw(st.lists(st.tuples(st.integers(0, len(packages) - 1), paths, st.sampled_from(DEPTHS),
                                    st.one_of(st.none(), st.integers(0, 5000)), st.one_of(st.none(), hostile_text)),
                          min_size=1, max_size=8, unique_by=lambda f: (f[0], f[1])))
    session_names = draw(st.lists(names, min_size=1, max_size=7, unique=True))
    ids = draw(st.permutations(range(1, len(session_names) + 1)))
    sessions = [(sid, name, draw(st.sampled_from(DATES)), draw(hostile_text))
                for sid, name in zip(ids, session_names, strict=True)]
    n_files, n_sessions = len(files), len(sessions)
    reads = draw(st.lists(st.tuples(st.integers(0, n_files - 1), st.integers(0, n_sessions - 1),
                                    st.sampled_from(DEPTHS)), max_size=12))
    findings = draw(st.lists(st.tuples(st.integers(0, n_files - 1),
                                       st.one_of(st.none(), st.integers(0, n_sessions - 1)),
                                       st.sampled_from(SEVERITIES), st.sampled_from(CATEGORIES), hostile_text),
                             max_size=10))
    domain_files = draw(st.lists(st.lists(st.integers(0, n_files - 1), unique=True), min_size=1, max_size=2))
    return Campaign(packages, files, sessions, reads, findings, domain_files)


def _load(url: str, c: Campaign) -> None:
    engine = open_engine(url, must_exist=False)
    try:
        init_research_db(engine)
        with engine.begin() as con:
            con.execute(insert(research.packages), [{"id": i + 1, "name": p} for i, p in enumerate(c.packages)])
            con.execute(insert(research.files), [
                {"id": i + 1, "package_id": pkg + 1, "relative_path": path, "depth": depth, "loc": loc,
                 "notes": notes} for i, (pkg, path, depth, loc, notes) in enumerate(c.files)])
            con.execute(insert(research.sessions), [
                {"id": sid, "name": name, "date": date, "focus": focus} for sid, name, date, focus in c.sessions])
            if c.reads:
                con.execute(insert(research.file_reads), [
                    {"id": i + 1, "file_id": f + 1, "session_id": c.sessions[s][0], "depth": depth}
                    for i, (f, s, depth) in enumerate(c.reads)])
            if c.findings:
                con.execute(insert(research.findings), [
                    {"id": i + 1, "file_id": f + 1, "session_id": None if s is None else c.sessions[s][0],
                     "severity": sev, "category": cat, "description": text, "followed_up": 0}
                    for i, (f, s, sev, cat, text) in enumerate(c.findings)])
            con.execute(insert(research.domains), [
                {"id": i + 1, "name": f"domain-{i}", "priority": "HIGH", "synthesis_path": f"domains/d{i}/analysis.md"}
                for i in range(len(c.domain_files))])
            rows = [{"file_id": f + 1, "domain_id": d + 1} for d, fs in enumerate(c.domain_files) for f in fs]
            if rows:
                con.execute(insert(research.file_domains), rows)
    finally:
        engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(campaigns())
def test_sync_then_lint_finds_nothing(campaign: Campaign) -> None:
    with tempfile.TemporaryDirectory(prefix="kbgen-lint-") as tmp:
        project = Path(tmp) / "kb"
        init_project(project, title="lint")
        options = load_options(project)
        _load(resolve_url(options.database, options.project_dir), campaign)
        for _ in range(2):
            sync(options, force=True)
            docs = sorted(options.domains_path.glob("**/analysis.md"))
            assert len(docs) == len(campaign.domain_files)
            problems = lint_paths(docs)
            for doc in docs:
                note(doc.read_text(encoding="utf-8"))
            assert [str(p) for p in problems] == []


def test_session_order_is_natural() -> None:
    given_order = ["R10", "R3-verify", "R4", "R3", "R22b", "R22", "R2", "R100", "R3-a"]
    assert sorted(given_order, key=session_order_key) == [
        "R2", "R3", "R3-a", "R3-verify", "R4", "R10", "R22", "R22b", "R100"]
    assert session_order_key("R03") != session_order_key("R3")


def test_same_date_sessions_are_logged_by_name_not_id(example_project: Options) -> None:
    """R1 recorded after R2-verify on the same date (a higher id) is still logged first."""
    db = sqlite_path(resolve_url(example_project.database, example_project.project_dir))
    assert db is not None
    con = sqlite3.connect(db)
    # R2-verify (id 2) and R1 share a date in the example; give R1 the highest id of all.
    con.execute("PRAGMA foreign_keys = OFF")
    (top,) = con.execute("SELECT max(id) FROM sessions").fetchone()
    for table, column in (("file_reads", "session_id"), ("findings", "session_id")):
        con.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = 1", (top + 1,))
    con.execute("UPDATE sessions SET id = ? WHERE id = 1", (top + 1,))
    con.commit()
    con.close()
    sync(example_project)
    doc = (example_project.domains_path / "incremental-build" / "analysis.md").read_text(encoding="utf-8")
    log = doc[doc.index("## 8. Session Log"):]
    assert log.index("### R1 (") < log.index("### R2-verify (") < log.index("### R3 (")
    assert lint_paths([example_project.domains_path]) == []
