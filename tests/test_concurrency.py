"""Concurrent ``kbgen plan import`` and ``kbgen answer`` processes leave consistent data.

On a research database nobody ran kbgen on yet, several processes import the
same plans at once (so they also race to create kbgen's tables), then plan
re-imports (one of them changed) run at the same time as ``kbgen answer``
processes. Afterwards kbgen's tables hold exactly what a serial run gives:
one schema revision, one plan per session, each plan's questions and files
once, no orphans, every requested answer link.

Every process must succeed on both backends: PostgreSQL serialises kbgen's
writers with advisory locks, SQLite with ``BEGIN IMMEDIATE`` transactions and
the busy timeout (without them, two SQLite imports could both decide a plan
was new, and one failed on a UNIQUE constraint).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from kbgen.db.engine import open_engine
from kbgen.db.kbtables import HEAD_REVISION, KB_TABLES, VERSION_TABLE
from tests.pg import PgServer

pytestmark = pytest.mark.slow

PROCESSES = 4


@dataclass
class Backend:
    name: str
    new_url: Callable[[], str]  # a fresh empty database


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        counter = iter(range(100))
        yield Backend("sqlite", lambda: f"sqlite:///{tmp_path / f'r{next(counter)}.db'}")
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        yield Backend("postgres", lambda: server.url(server.create_database("cc")))


def research_db(url: str, plans: Path | None) -> None:
    """A synthetic research database without kbgen's tables (its plans written to ``plans``)."""
    from bench.synthetic import generate

    generate(url, scale=0.05, seed=21, plans_dir=plans, hostile=False)
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            for table in (*KB_TABLES, VERSION_TABLE):
                conn.execute(text(f"DROP TABLE {table}"))
    finally:
        engine.dispose()


def start(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "KBGEN_SQLITE_BUSY_TIMEOUT": "60"}
    return subprocess.Popen([sys.executable, "-m", "kbgen", "--db", url, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish(procs: list[subprocess.Popen[str]]) -> None:
    """Wait for every process; each must succeed."""
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "Traceback" not in err, err


def kb_state(url: str) -> dict[str, object]:
    """kbgen's tables, without ids and timestamps (what two equivalent histories share)."""
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            def rows(sql: str) -> list[tuple[object, ...]]:
                return [tuple(r) for r in conn.execute(text(sql))]

            return {
                "revisions": rows(f"SELECT version_num FROM {VERSION_TABLE}"),
                "plans": rows("SELECT session, content_hash, title, data FROM kbgen_plans ORDER BY session"),
                "questions": rows("SELECT q.id, p.session, q.ordinal, q.file_ids, q.text FROM kbgen_questions q "
                                  "JOIN kbgen_plans p ON p.id = q.plan_id ORDER BY q.id"),
                "plan_files": rows("SELECT p.session, f.ordinal, f.file_id, f.path FROM kbgen_plan_files f "
                                   "JOIN kbgen_plans p ON p.id = f.plan_id ORDER BY p.session, f.ordinal"),
                "orphan_questions": rows("SELECT id FROM kbgen_questions WHERE plan_id NOT IN "
                                         "(SELECT id FROM kbgen_plans)"),
                "orphan_files": rows("SELECT plan_id FROM kbgen_plan_files WHERE plan_id NOT IN "
                                     "(SELECT id FROM kbgen_plans)"),
                "answers": rows("SELECT question_id, finding_id, partial FROM kbgen_answers "
                                "ORDER BY question_id, finding_id"),
            }
    finally:
        engine.dispose()


def test_concurrent_plan_imports_and_answers(backend: Backend, tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    url, reference = backend.new_url(), backend.new_url()
    research_db(url, plans)
    research_db(reference, None)
    plan_files = sorted(plans.glob("R*-plan.md"))  # the dated plan (no session number) needs --session
    assert len(plan_files) >= 2

    # 1. Everyone imports every plan at once, on a database without kbgen's tables.
    finish([start(url, "plan", "import", *map(str, plan_files)) for _ in range(PROCESSES)])

    # 2. Re-imports (one plan changed) while answers are being linked.
    engine = open_engine(url)
    with engine.connect() as conn:
        questions = [r[0] for r in conn.execute(text("SELECT id FROM kbgen_questions ORDER BY id"))]
        findings = [r[0] for r in conn.execute(text("SELECT id FROM findings ORDER BY id"))]
    engine.dispose()
    assert len(questions) >= 6
    changed = tmp_path / "changed" / plan_files[0].name
    changed.parent.mkdir()
    shutil.copy(plan_files[0], changed)
    with changed.open("a", encoding="utf-8") as handle:
        handle.write("\n## Notes\n\nRe-imported while answers were being linked.\n")
    pairs = [(questions[i], f"F{findings[i]}") for i in range(6)]
    procs = [start(url, "plan", "import", str(changed), *map(str, plan_files[1:])),
             start(url, "plan", "import", *map(str, plan_files[1:]))]
    procs += [start(url, "answer", q, f, "--partial") for q, f in pairs]
    finish(procs)

    # 3. The same history, serially, on the reference database.
    for args in (["plan", "import", *map(str, plan_files)],
                 ["plan", "import", str(changed), *map(str, plan_files[1:])],
                 *(["answer", q, f, "--partial"] for q, f in pairs)):
        finish([start(reference, *args)])

    got, want = kb_state(url), kb_state(reference)
    assert got["revisions"] == [(HEAD_REVISION,)]
    assert got["orphan_questions"] == [] and got["orphan_files"] == []
    assert got == want
    assert got["answers"] == [(q, int(f[1:]), 1) for q, f in sorted(pairs)]
