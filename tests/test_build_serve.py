"""``kbgen serve``: live preview of the example knowledge base with real builds.

The server runs in a thread of the test (stopped through its stop event);
pages are fetched over HTTP. A hand-written page edit and a database change
must both show up in the served site, and open pages must be told to reload.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kbgen.config import Options
from kbgen.serve import RELOAD_PATH, WatchPlan, serve_live

pytestmark = pytest.mark.slow


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


def wait_for(condition: Callable[[], bool], seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError("condition not met in time")


def test_watch_plan_accepts_inputs_and_ignores_outputs(example_project: Options) -> None:
    watch = WatchPlan.for_project(example_project)
    project = example_project.project_dir.resolve()
    roots = set(watch.roots)
    assert {project / "docs", project / "domains", project / "conf", project / "db"} <= roots
    assert not watch.polls_database
    accepts = watch.accepts
    assert accepts(project / "docs" / "about.md")
    assert accepts(project / "domains" / "plugin-sandbox" / "analysis.md")
    assert accepts(project / "conf" / "kbgen.yaml")
    assert accepts(project / "db" / "research.db") and accepts(project / "db" / "research.db-wal")
    assert not accepts(project / "db" / "research.db-journal")
    assert not accepts(project / "docs" / "kb" / "sessions" / "S3.md")  # written by sync itself
    assert not accepts(project / "build" / "site" / "index.html")
    assert not accepts(project / "docs" / ".about.md.swp") and not accepts(project / "docs" / "about.md~")
    assert watch.plan_changed({example_project.plans_path.resolve() / "R9-plan.md"})
    assert not watch.plan_changed({project / "docs" / "about.md"})


@pytest.fixture
def live(example_project: Options) -> Iterator[tuple[Options, str, list[str]]]:
    stop = threading.Event()
    ready: list[str] = []
    log: list[str] = []
    thread = threading.Thread(target=serve_live, args=(example_project,), daemon=True,
                              kwargs={"port": 0, "stop": stop, "log": log.append, "ready": ready.append})
    thread.start()
    try:
        wait_for(lambda: bool(ready) or not thread.is_alive())
        assert ready, f"serve did not start: {log}"
        yield example_project, ready[0], log
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert log[-1] == "stopped"


def test_serve_rebuilds_on_page_and_database_changes(live: tuple[Options, str, list[str]]) -> None:
    options, url, log = live
    about = fetch(url + "about.html")
    assert RELOAD_PATH in about  # open pages poll for a new version
    version = fetch(url + RELOAD_PATH.lstrip("/"))

    page = options.docs_path / "about.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nLive edit marker 7d1e.\n", encoding="utf-8")
    wait_for(lambda: "7d1e" in fetch(url + "about.html"))
    wait_for(lambda: fetch(url + RELOAD_PATH.lstrip("/")) != version)
    version = fetch(url + RELOAD_PATH.lstrip("/"))

    db = Path(options.project_dir) / "db" / "research.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE findings SET description = description || ' Marker 9c2f.' WHERE id = 25")
    wait_for(lambda: "9c2f" in fetch(url + "kb/sessions/S3.html"))
    wait_for(lambda: fetch(url + RELOAD_PATH.lstrip("/")) != version)
    assert any(line.startswith("sync: ") for line in log), log
    assert not any(line.startswith("error") for line in log), log
