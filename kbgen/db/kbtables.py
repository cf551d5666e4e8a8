"""kbgen's own tables, next to the research tables and never altering them.

Imported plans, their questions, explicit answer links, text answers, stable
per-domain finding labels, finding statuses, the keys that tie a session
worksheet's entries to the research rows it wrote, and accepted category
aliases live here. They are created and upgraded
only by the Alembic migrations in :mod:`kbgen.db.migrations` (version table
``kbgen_alembic_version``, so a team's own Alembic setup is not disturbed).
These ``Table`` objects mirror the newest migration and are used for queries.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from kbgen.db.revision import HEAD_REVISION as HEAD_REVISION  # re-exported: migrations look here
from kbgen.db.revision import VERSION_TABLE as VERSION_TABLE

kb_metadata = MetaData()

plans = Table(
    "kbgen_plans", kb_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session", Integer, nullable=False, unique=True),
    Column("source_path", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("title", Text),
    Column("date", Text),
    Column("focus", Text),
    Column("data", Text, nullable=False),  # the parsed plan as JSON (plan parse --json shape)
    Column("imported_at", Text, nullable=False),
)

plan_files = Table(
    "kbgen_plan_files", kb_metadata,
    Column("plan_id", Integer, nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("file_id", Integer),  # NULL: a file the plan knows by path only, not (yet) in the database
    Column("cluster", Text),
    Column("path", Text),
    Column("loc", Integer),
    Column("context", Text),
    Column("package", Text),
    Column("tier", Text),
    Column("repo", Text),
    Column("resolved_by", Text),  # "path": the plan gave no ID, import found the file by its path
    PrimaryKeyConstraint("plan_id", "ordinal"),
)

questions = Table(
    "kbgen_questions", kb_metadata,
    Column("id", Text, primary_key=True),
    Column("plan_id", Integer, nullable=False),
    Column("session", Integer, nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("file_id", Integer),
    Column("file_ids", Text, nullable=False),  # space-separated, first is file_id
    Column("cluster", Text),
    Column("text", Text, nullable=False),
    Column("line", Integer),
)

answers = Table(
    "kbgen_answers", kb_metadata,
    Column("question_id", Text, nullable=False),
    Column("finding_id", Integer, nullable=False),
    Column("partial", Integer, nullable=False, default=0),
    Column("note", Text),
    Column("created_at", Text, nullable=False),
    PrimaryKeyConstraint("question_id", "finding_id"),
)

finding_labels = Table(
    "kbgen_finding_labels", kb_metadata,
    Column("domain", Text, nullable=False),
    Column("letter", Text, nullable=False),
    Column("number", Integer, nullable=False),
    Column("finding_id", Integer, nullable=False),
    Column("assigned_at", Text, nullable=False),
    PrimaryKeyConstraint("domain", "letter", "number"),
    UniqueConstraint("domain", "finding_id", name="uq_kbgen_label_finding"),
)

finding_status = Table(
    "kbgen_finding_status", kb_metadata,
    Column("finding_id", Integer, primary_key=True),
    Column("status", Text, nullable=False),  # resolved | superseded
    Column("session_id", Integer),
    Column("superseded_by", Integer),
    Column("reason", Text),
    Column("updated_at", Text, nullable=False),
)

text_answers = Table(
    "kbgen_text_answers", kb_metadata,
    Column("question_id", Text, primary_key=True),
    Column("session", Integer, nullable=False),  # the R-number of the plan that asks the question
    Column("answer", Text, nullable=False),  # full | partial
    Column("verdict", Text),
    Column("updated_at", Text, nullable=False),
)

record_keys = Table(
    "kbgen_record_keys", kb_metadata,
    Column("session_id", Integer, nullable=False),  # sessions.id
    Column("kind", Text, nullable=False),  # read | finding | link | tag | dependency
    Column("key", Text, nullable=False),
    Column("row_id", Integer),  # file_reads.id, findings.id, dependencies.id, ...
    Column("detail", Text),  # JSON: what kbgen needs to undo or re-derive (a file's state before the read)
    Column("recorded_at", Text, nullable=False),
    PrimaryKeyConstraint("session_id", "kind", "key"),
)

category_aliases = Table(
    "kbgen_category_aliases", kb_metadata,
    Column("alias", Text, primary_key=True),  # a category key (lowercase kebab-case)
    Column("canonical", Text, nullable=False),  # the key it is grouped under
    Column("note", Text),  # why it was accepted (the suggestion's reason), for people reading the table
    Column("created_at", Text, nullable=False),
)

KB_TABLES: tuple[str, ...] = tuple(sorted(kb_metadata.tables))
