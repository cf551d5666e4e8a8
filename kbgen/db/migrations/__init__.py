"""Alembic migrations of kbgen's own tables (never the research tables)."""
