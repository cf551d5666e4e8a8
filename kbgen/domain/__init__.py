"""Domain analysis documents: pure text in, text out (no database, no Sphinx).

``sections`` cuts a document into human text and kbgen-generated blocks,
``update`` rewrites the generated blocks in place, ``lint`` checks a document
for hand-maintenance drift and ``migrate`` converts a legacy document once.
"""

from kbgen.domain.lint import LintProblem, lint_paths, lint_text
from kbgen.domain.migrate import MigrationEntry, MigrationResult, migrate_text
from kbgen.domain.sections import GENERATED_KEYS, GeneratedBlock, HumanBlock, is_managed, join, split
from kbgen.domain.update import GeneratedSections, render_document

__all__ = [
    "GENERATED_KEYS",
    "GeneratedBlock",
    "GeneratedSections",
    "HumanBlock",
    "LintProblem",
    "MigrationEntry",
    "MigrationResult",
    "is_managed",
    "join",
    "lint_paths",
    "lint_text",
    "migrate_text",
    "render_document",
    "split",
]
