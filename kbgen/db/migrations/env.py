"""Alembic environment: runs on the connection kbgen hands over, kbgen tables only."""

from __future__ import annotations

from typing import Any

from alembic import context

from kbgen.db.kbtables import VERSION_TABLE, kb_metadata


def _only_kbgen(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return type_ != "table" or bool(name and name.startswith("kbgen_"))


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=kb_metadata,
    version_table=VERSION_TABLE,
    include_object=_only_kbgen,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
