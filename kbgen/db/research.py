"""The research tables: the de-facto schema teams' scripts write.

kbgen reads these databases as they are found in the wild. Two consequences
shape this module:

* The ``Table`` objects below describe the *documented* schema; they are used
  to create a new database (``kbgen db init``) and to build queries. Reading
  never selects a column the live table lacks: :class:`ResearchSchema`
  inspects the database once and queries substitute ``NULL`` for optional
  columns that are absent (``files.file_type``, ``files.knowability``, ...).
* Unknown extra columns and views are ignored; absent optional tables
  (crates, artifacts) read as empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    null,
)

research_metadata = MetaData()

packages = Table(
    "packages", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("base_path", Text),
    Column("repo_url", Text),
    Column("description", Text),
    Column("total_files", Integer),
    Column("total_loc", Integer),
    Column("populated_at", Text),
)

files = Table(
    "files", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("package_id", Integer, ForeignKey("packages.id")),
    Column("relative_path", Text, nullable=False),
    Column("loc", Integer),
    Column("depth", Text),
    Column("lines_read", Integer),
    Column("last_read_date", Text),
    Column("notes", Text),
    Column("file_type", Text),
    Column("knowability", Text),
    UniqueConstraint("package_id", "relative_path"),
)

domains = Table(
    "domains", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text),
    Column("priority", Text),
    Column("synthesis_path", Text),
)

file_domains = Table(
    "file_domains", research_metadata,
    Column("file_id", Integer, ForeignKey("files.id")),
    Column("domain_id", Integer, ForeignKey("domains.id")),
    PrimaryKeyConstraint("file_id", "domain_id"),
)

sessions = Table(
    "sessions", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text),
    Column("date", Text),
    Column("focus", Text),
    Column("agent_count", Integer),
    Column("notes", Text),
)

file_reads = Table(
    "file_reads", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("file_id", Integer, ForeignKey("files.id")),
    Column("session_id", Integer, ForeignKey("sessions.id")),
    Column("depth", Text),
    Column("lines_read", Integer),
    Column("line_ranges", Text),
    Column("notes", Text),
)

findings = Table(
    "findings", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("file_id", Integer, ForeignKey("files.id")),
    Column("session_id", Integer, ForeignKey("sessions.id"), nullable=True),
    Column("line_start", Integer),
    Column("line_end", Integer),
    Column("severity", Text),
    Column("category", Text),
    Column("description", Text),
    Column("followed_up", Integer, default=0),
)

dependencies = Table(
    "dependencies", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("files.id")),
    Column("target_file_id", Integer, ForeignKey("files.id")),
    Column("relationship", Text),
    Column("evidence", Text),
    Column("verified", Integer, default=0),
    UniqueConstraint("source_file_id", "target_file_id", "relationship"),
)

package_dependencies = Table(
    "package_dependencies", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("source_package_id", Integer, ForeignKey("packages.id")),
    Column("target_package_id", Integer, ForeignKey("packages.id")),
    Column("relationship", Text),
    Column("notes", Text),
)

exclude_paths = Table(
    "exclude_paths", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("pattern", Text, unique=True),
    Column("reason", Text),
    Column("added_session_id", Integer),
    Column("added_date", Text),
)

crates = Table(
    "crates", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text),
    Column("package_id", Integer),
    Column("path", Text),
    Column("version", Text),
)

crate_dependencies = Table(
    "crate_dependencies", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("source_crate_id", Integer),
    Column("target_crate_id", Integer),
    Column("kind", Text),
)

artifacts = Table(
    "artifacts", research_metadata,
    Column("id", Integer, primary_key=True),
    Column("crate_id", Integer),
    Column("path", Text),
    Column("kind", Text),
)

#: Tables a research database must have for kbgen to make sense of it.
REQUIRED_TABLES: tuple[str, ...] = (
    "packages", "files", "domains", "file_domains", "sessions", "file_reads", "findings",
)
#: Tables that may be absent (read as empty).
OPTIONAL_TABLES: tuple[str, ...] = (
    "dependencies", "package_dependencies", "exclude_paths", "crates", "crate_dependencies", "artifacts",
)


@dataclass(frozen=True)
class ResearchSchema:
    """What the live database actually has: tables and their columns.

    Inspected once per command so queries can adapt to databases written by
    other tools (older or newer column sets) instead of failing on them.
    """

    columns: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def inspect(cls, engine: Engine) -> ResearchSchema:
        insp = inspect(engine)
        names = set(insp.get_table_names())
        cols = {
            name: frozenset(c["name"] for c in insp.get_columns(name))
            for name in (*REQUIRED_TABLES, *OPTIONAL_TABLES)
            if name in names
        }
        return cls(columns=cols)

    def has_table(self, name: str) -> bool:
        return name in self.columns

    def missing_required(self) -> list[str]:
        return [t for t in REQUIRED_TABLES if t not in self.columns]

    def col(self, table: Table, name: str) -> ColumnElement[Any]:
        """The column if the live table has it, else a NULL labelled like it."""
        if name in self.columns.get(table.name, frozenset()):
            return table.c[name]
        return null().label(name)
