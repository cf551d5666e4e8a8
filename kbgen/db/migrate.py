"""Creating research databases and upgrading kbgen's own tables.

Policy (documented in the README): commands that *write* kbgen's tables
(``plan import``, ``answer``, ``finding ...``, ``sync``) create or upgrade
them automatically — migrations touch only ``kbgen_*`` tables, so this is
safe for the team's scripts. ``kbgen db upgrade`` does the same explicitly.
A database whose kbgen schema is *newer* than this kbgen is refused (exit 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from kbgen.db.kbtables import HEAD_REVISION, VERSION_TABLE
from kbgen.db.research import ResearchSchema, research_metadata
from kbgen.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The kbgen schema revision stored in the database (None: no kbgen tables).

    The version table is read directly when it holds one revision (every command that reads
    or writes kbgen's tables asks, and importing Alembic costs more than the rest of a small
    command); Alembic answers the other cases (no row, several heads) as it always did.
    """
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        rows = conn.execute(text(f'SELECT version_num FROM "{VERSION_TABLE}"')).all()
        if len(rows) == 1 and isinstance(rows[0][0], str):
            return rows[0][0]
        from alembic.runtime.migration import MigrationContext

        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return ctx.get_current_revision()


def check_kb_schema(engine: Engine) -> str | None:
    """Refuse a kbgen schema newer than this kbgen; return the current revision."""
    rev = current_revision(engine)
    if rev is not None and rev != HEAD_REVISION and rev not in known_revisions():
        raise DatabaseError(
            f"the database's kbgen tables are at revision {rev}, newer than this kbgen understands",
            hint="upgrade kbgen (pip install -U kbgen)")
    return rev


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create or upgrade kbgen's tables to the newest revision; (before, after)."""
    before = check_kb_schema(engine)
    if before == HEAD_REVISION:
        return before, before
    with engine.begin() as conn:
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        if conn.dialect.name == "postgresql":
            # Two processes upgrading at once must not both create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            if ctx.get_current_revision() == HEAD_REVISION:
                return before, HEAD_REVISION
        command.upgrade(_alembic_config(conn), "head")
    return before, HEAD_REVISION


def ensure_kb_tables(engine: Engine) -> None:
    """Auto-upgrade before a command that writes kbgen's tables."""
    if check_kb_schema(engine) != HEAD_REVISION:
        upgrade(engine)


def kb_tables_present(engine: Engine) -> bool:
    """Whether kbgen's tables exist (for readers); a newer kbgen schema is refused, as for writers."""
    return check_kb_schema(engine) is not None


def check_research_schema(engine: Engine, shown: str) -> ResearchSchema:
    """Inspect the research tables; a database without them is refused clearly."""
    schema = ResearchSchema.inspect(engine)
    missing = schema.missing_required()
    if missing:
        raise DatabaseError(
            f"{shown} is not a research database (missing tables: {', '.join(missing)})",
            hint="create one with 'kbgen db init URL' or point --db at the right database")
    return schema


def init_research_db(engine: Engine) -> list[str]:
    """Create every research table that does not exist yet; return the created ones."""
    existing = set(inspect(engine).get_table_names())
    research_metadata.create_all(engine)
    created = [t for t in research_metadata.tables if t not in existing]
    upgrade(engine)
    return created
