"""Shared fixtures: real SQLite files, a real PostgreSQL server, example projects."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbgen.config import Options, load_options
from tests.pg import PgServer, start_server, stop_server

REPO = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.seeds"]

#: Fixtures that run a Sphinx build: a test using one is slow, whatever its own marks say.
BUILDING_FIXTURES = frozenset({"built_example"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow every test that builds a site through a fixture (the fast lane runs no Sphinx build)."""
    for item in items:
        if BUILDING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def _sphinx_build_in_the_fast_lane(*args: object, **kwargs: object) -> None:
    raise AssertionError("this test runs a Sphinx build: mark it @pytest.mark.slow (make test-fast runs none)")


@pytest.fixture(autouse=True)
def _no_sphinx_build_unless_slow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test not marked slow that starts a Sphinx build in this process fails, saying why, so the
    fast lane stays fast by construction (builds in a subprocess: marked by hand)."""
    if request.node.get_closest_marker("slow") is not None:
        return
    from sphinx.application import Sphinx

    import kbgen.build

    monkeypatch.setattr(Sphinx, "build", _sphinx_build_in_the_fast_lane)
    monkeypatch.setattr(kbgen.build, "_run_sphinx", _sphinx_build_in_the_fast_lane)


def shared_dir() -> Path | None:
    """The read-only ``shared/`` folder of specs and fixtures, when present (CI always has it)."""
    for candidate in (REPO.parent / "shared", Path("/work/shared")):
        if (candidate / "fixtures").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server, reason = start_server()
    if server is None:
        if os.environ.get("KBGEN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (KBGEN_REQUIRE_POSTGRES=1) but: {reason}")
        pytest.skip(reason)
    yield server
    stop_server(server)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_server.url(pg_server.create_database())


def make_example_project(project: Path, *, synced: bool = True) -> Options:
    """Copy this repository's example knowledge base to ``project`` and load its database."""
    from kbgen.demo import load_demo_database, seed_narratives
    from kbgen.sync import sync

    for rel in ("conf", "docs", "domains"):
        src = REPO / rel
        if src.exists():
            shutil.copytree(src, project / rel, ignore=shutil.ignore_patterns("_build", ".kbgen-*"))
    options = load_options(project)
    load_demo_database(options)
    seed_narratives(options)
    if synced:
        sync(options)
    return options


@pytest.fixture
def example_project(tmp_path: Path) -> Options:
    """A copy of this repository's example knowledge base with the example database loaded and synced."""
    return make_example_project(tmp_path / "kb")


@pytest.fixture(scope="session")
def built_example(tmp_path_factory: pytest.TempPathFactory) -> Options:
    """The example knowledge base synced and built once (strict) for read-only HTML checks."""
    from kbgen.build import build_site

    options = make_example_project(tmp_path_factory.mktemp("built") / "kb")
    build_site(options, strict=True)
    return options
