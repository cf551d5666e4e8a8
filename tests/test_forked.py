"""``kbgen.forked``: a computation run in a forked child gives what it gives in-process.

What is checked: the value comes back from another process (on Linux, with no
other thread running); an exception comes back as itself, or as ChildFailed
with its traceback when it cannot be pickled; a child that dies without a
result is an error, not a hang or a None; the in-process fallback (other
threads running, ``KBGEN_NO_FORK``) gives the same; and ``render_site`` makes
the very same pages, in the same order, either way.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

import pytest

from kbgen.config import Options
from kbgen.db.engine import open_engine, resolve_url
from kbgen.db.load import load_snapshot
from kbgen.errors import UsageError
from kbgen.forked import NO_FORK_ENV, ChildFailed, fork_allowed, run_aside
from kbgen.render.site import render_site
from kbgen.sync import domain_doc_paths

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="kbgen forks only on Linux")


@pytest.fixture(autouse=True)
def fork_not_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NO_FORK_ENV, raising=False)


class Unpicklable(Exception):
    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("not picklable")


@linux_only
def test_the_value_comes_from_another_process() -> None:
    parent = os.getpid()
    pending = run_aside(lambda: (os.getpid(), [n * n for n in range(10_000)]))
    child, squares = pending()
    assert child != parent
    assert squares == [n * n for n in range(10_000)]


@linux_only
def test_a_large_result_does_not_block_the_pipe() -> None:
    text = "x" * 5_000_000  # far beyond a pipe's buffer: the child blocks until the parent reads
    pending = run_aside(lambda: {"page.md": text, "other.md": text[::-1]})
    assert pending() == {"page.md": text, "other.md": text}


@linux_only
def test_an_exception_comes_back_as_itself() -> None:
    def fail() -> None:
        raise UsageError("bad input", path="plans/R1.md", line=12, hint="do this instead")

    pending = run_aside(fail)
    with pytest.raises(UsageError) as raised:
        pending()
    error = raised.value
    assert (error.message, error.path, error.line, error.hint) == ("bad input", "plans/R1.md", 12, "do this instead")


@linux_only
def test_an_unpicklable_exception_comes_back_as_its_traceback() -> None:
    def fail() -> None:
        raise Unpicklable("cannot travel")

    pending = run_aside(fail)
    with pytest.raises(ChildFailed, match="Unpicklable: cannot travel"):
        pending()


@linux_only
def test_a_child_that_dies_without_a_result_is_an_error() -> None:
    pending = run_aside(lambda: os._exit(3))
    with pytest.raises(ChildFailed, match="without a result"):
        pending()


def test_in_process_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NO_FORK_ENV, "1")
    assert not fork_allowed()
    assert run_aside(os.getpid)() == os.getpid()


@pytest.fixture
def another_thread() -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def test_in_process_while_another_thread_runs(another_thread: None) -> None:
    assert not fork_allowed()
    assert run_aside(os.getpid)() == os.getpid()


def test_render_site_same_pages_forked_or_not(example_project: Options, monkeypatch: pytest.MonkeyPatch) -> None:
    url = resolve_url(example_project.database, example_project.project_dir)
    engine = open_engine(url)
    try:
        snap = load_snapshot(engine, example_project, url)
    finally:
        engine.dispose()
    docs = domain_doc_paths(snap, example_project, [])
    forked = render_site(snap, example_project, docs)
    monkeypatch.setenv(NO_FORK_ENV, "1")
    in_process = render_site(snap, example_project, docs)
    assert list(forked.pages.items()) == list(in_process.pages.items())
    assert list(forked.graphs.items()) == list(in_process.graphs.items())
    assert any(rel.startswith("sessions/S") for rel in forked.pages)
    assert any(rel.startswith("files/FILE") for rel in forked.pages)
    # file pages (rendered in the child) and domain pages (in this process) both show graphs
    assert sum(f"/kb/{rel}" in text for rel in forked.graphs for text in forked.pages.values()) >= len(forked.graphs)
    assert any(text.count("{kbgen-graph}") for name, text in forked.pages.items() if name.startswith("files/"))
    assert any(text.count("{kbgen-graph}") for name, text in forked.pages.items() if name.startswith("domains/"))
