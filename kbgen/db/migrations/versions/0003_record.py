"""kbgen tables for recording sessions: text answers and worksheet keys.

Revision ID: 0003
Revises: 0002

``kbgen_text_answers`` holds a question's answer in words (full or partial,
with a short verdict), with or without findings. ``kbgen_record_keys`` ties a
worksheet entry (a read, a finding, an answer link, a tag, a dependency edge)
to the research row it wrote, so recording the same worksheet again updates
those rows instead of adding new ones — without a column in the research
tables.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kbgen_text_answers",
        sa.Column("question_id", sa.Text, primary_key=True),
        sa.Column("session", sa.Integer, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("verdict", sa.Text),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_index("ix_kbgen_text_answers_session", "kbgen_text_answers", ["session"])
    op.create_table(
        "kbgen_record_keys",
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("row_id", sa.Integer),
        sa.Column("detail", sa.Text),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "kind", "key"),
    )


def downgrade() -> None:
    op.drop_table("kbgen_record_keys")
    op.drop_index("ix_kbgen_text_answers_session", "kbgen_text_answers")
    op.drop_table("kbgen_text_answers")
