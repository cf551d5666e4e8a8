"""Planned files known by path only: kbgen_plan_files.file_id may be NULL, resolved_by says how an ID was found.

Plans list files that are new since the inventory with a dash in the File ID
column. ``plan import`` looks them up by package root and path; one the
database does not have yet is still a planned file, stored without an ID.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _sqlite_renames_without_view_checks(on: bool) -> None:
    """SQLite rebuilds the table (copy, drop, rename); the rename re-checks every view.

    Research databases carry views written for other schemas that fail when
    checked (``domain_coverage`` over a missing column): they must not stop
    kbgen from changing its own table. Legacy rename semantics skip that check.
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA legacy_alter_table = {'ON' if on else 'OFF'}")


def upgrade() -> None:
    _sqlite_renames_without_view_checks(True)
    with op.batch_alter_table("kbgen_plan_files") as batch:
        batch.alter_column("file_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("resolved_by", sa.Text))
    _sqlite_renames_without_view_checks(False)


def downgrade() -> None:
    op.execute("DELETE FROM kbgen_plan_files WHERE file_id IS NULL")
    _sqlite_renames_without_view_checks(True)
    with op.batch_alter_table("kbgen_plan_files") as batch:
        batch.drop_column("resolved_by")
        batch.alter_column("file_id", existing_type=sa.Integer, nullable=False)
    _sqlite_renames_without_view_checks(False)
