"""kbgen tables: plans, plan files, questions, answers, finding labels and statuses.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kbgen_plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session", sa.Integer, nullable=False, unique=True),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("date", sa.Text),
        sa.Column("focus", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("imported_at", sa.Text, nullable=False),
    )
    op.create_table(
        "kbgen_plan_files",
        sa.Column("plan_id", sa.Integer, nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("file_id", sa.Integer, nullable=False),
        sa.Column("cluster", sa.Text),
        sa.Column("path", sa.Text),
        sa.Column("loc", sa.Integer),
        sa.Column("context", sa.Text),
        sa.Column("package", sa.Text),
        sa.Column("tier", sa.Text),
        sa.Column("repo", sa.Text),
        sa.PrimaryKeyConstraint("plan_id", "ordinal"),
    )
    op.create_table(
        "kbgen_questions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("plan_id", sa.Integer, nullable=False),
        sa.Column("session", sa.Integer, nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("file_id", sa.Integer),
        sa.Column("file_ids", sa.Text, nullable=False),
        sa.Column("cluster", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("line", sa.Integer),
    )
    op.create_index("ix_kbgen_questions_session", "kbgen_questions", ["session"])
    op.create_table(
        "kbgen_answers",
        sa.Column("question_id", sa.Text, nullable=False),
        sa.Column("finding_id", sa.Integer, nullable=False),
        sa.Column("partial", sa.Integer, nullable=False, server_default="0"),
        sa.Column("note", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("question_id", "finding_id"),
    )
    op.create_table(
        "kbgen_finding_labels",
        sa.Column("domain", sa.Text, nullable=False),
        sa.Column("letter", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("finding_id", sa.Integer, nullable=False),
        sa.Column("assigned_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("domain", "letter", "number"),
        sa.UniqueConstraint("domain", "finding_id", name="uq_kbgen_label_finding"),
    )
    op.create_table(
        "kbgen_finding_status",
        sa.Column("finding_id", sa.Integer, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("session_id", sa.Integer),
        sa.Column("superseded_by", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("updated_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("kbgen_finding_status", "kbgen_finding_labels", "kbgen_answers",
                 "kbgen_questions", "kbgen_plan_files", "kbgen_plans"):
        op.drop_table(name)
