"""kbgen.db.urls reads the plain SQLite URLs without SQLAlchemy and agrees with kbgen.db.engine
(SQLAlchemy's ``make_url``) on every URL, plain or not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kbgen.db import engine, urls

URLS = ["sqlite:///db/research.db", "sqlite:////abs/research.db", "sqlite+pysqlite:///db/r.db",
        "sqlite+pysqlite:////abs/r.db", "sqlite://", "sqlite:///:memory:", "sqlite:///file:db/r.db?mode=ro&uri=true",
        "sqlite:///db/with%20space.db", "sqlite:///db/r.db?timeout=5", "sqlite:///db/ünï.db",
        "postgresql+psycopg://me@host/research", "postgresql://me:pw@localhost:5432/research?sslmode=require",
        "mysql://x@y/z"]


@pytest.mark.parametrize("url", URLS)
def test_same_sqlite_path_as_sqlalchemy(url: str) -> None:
    assert urls.sqlite_path(url) == engine.sqlite_path(url)


@pytest.mark.parametrize("url", URLS)
def test_same_resolved_url_as_sqlalchemy(url: str, tmp_path: Path) -> None:
    fast, slow = urls.resolve_url(url, tmp_path), engine.resolve_url(url, tmp_path)
    assert fast == slow or engine.sqlite_path(fast) == engine.sqlite_path(slow)
    assert urls.sqlite_path(fast) == engine.sqlite_path(slow)


def test_a_no_op_sync_check_loads_no_sqlalchemy(tmp_path: Path) -> None:
    """Importing kbgen.sync and fingerprinting a SQLite project's inputs loads no SQLAlchemy."""
    code = ("import sys\nfrom pathlib import Path\nfrom kbgen.config import Options\nimport kbgen.sync\n"
            "from kbgen.sync_state import input_fingerprint\nfrom kbgen.db.urls import resolve_url\n"
            f"o = Options(project_dir=Path({str(tmp_path)!r}))\n"
            "input_fingerprint(o, resolve_url(o.database, o.project_dir))\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic', 'jinja2'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
