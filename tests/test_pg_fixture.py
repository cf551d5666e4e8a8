"""The throwaway PostgreSQL server really runs and kbgen can create a research database in it."""

from __future__ import annotations

from sqlalchemy import inspect

from kbgen.db.engine import open_engine
from kbgen.db.kbtables import HEAD_REVISION
from kbgen.db.migrate import current_revision, init_research_db


def test_research_schema_on_postgres(pg_url: str) -> None:
    engine = open_engine(pg_url)
    created = init_research_db(engine)
    assert "findings" in created and "files" in created
    assert current_revision(engine) == HEAD_REVISION
    tables = set(inspect(engine).get_table_names())
    assert {"kbgen_questions", "kbgen_answers", "kbgen_finding_labels"} <= tables
    engine.dispose()
