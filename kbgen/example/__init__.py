"""The bundled example research data that ``kbgen demo`` loads.

A fictional team audits *quillc*, an open-source static-site compiler with a
Rust core (``quillc-core``), a TypeScript editor bridge
(``quill-editor-bridge``) and a Python binding (``pyquill``), over four
research sessions. The folder holds:

``research.sql``
    INSERT statements for the research tables (schema:
    :mod:`kbgen.db.research`), commented so a newcomer can follow the story.
``plans/R3-plan.md``
    The execution plan of session R3, in the canonical plan format; its
    files, IDs and LOC match ``research.sql``.
``narrative.yaml``
    The human sections (current-state summary, subsystem sections) of each
    domain's analysis document.

:func:`kbgen.example.loader.load_example` builds a SQLite database from it.
The data also deliberately carries the quirks real ledgers have (mixed-case
severities, a NULL ``loc``, findings without a session, a package whose
``total_files`` is 0, one relative path in two packages), so the demo
exercises the same code paths a real campaign does.
"""

from __future__ import annotations

from pathlib import Path

#: File names inside :func:`example_dir`.
RESEARCH_SQL = "research.sql"
PLANS_DIR = "plans"
NARRATIVE_YAML = "narrative.yaml"


def example_dir() -> Path:
    """The folder holding the example data (inside the installed package)."""
    return Path(__file__).resolve().parent


def example_plans() -> list[Path]:
    """The example's execution plans, sorted by file name."""
    return sorted((example_dir() / PLANS_DIR).glob("*.md"))


__all__ = ["NARRATIVE_YAML", "PLANS_DIR", "RESEARCH_SQL", "example_dir", "example_plans"]
