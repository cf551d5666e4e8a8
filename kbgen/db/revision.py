"""The revision of kbgen's own tables, without SQLAlchemy: the fast readers check it too.

:mod:`kbgen.db.kbtables` re-exports both names; ``kbgen report``'s direct SQLite reader
(:mod:`kbgen.report_sql`) compares the stored revision with :data:`HEAD_REVISION` before
trusting the tables it reads.
"""

from __future__ import annotations

VERSION_TABLE = "kbgen_alembic_version"
#: The migration revision this kbgen writes and understands.
HEAD_REVISION = "0004"
