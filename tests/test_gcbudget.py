"""Full collections paced by memory in incremental builds (:mod:`kbgen.sphinxext.gcbudget`).

Real in-process Sphinx builds of a small kbgen site: while a build that keeps its doctrees reads
and writes, CPython's automatic full collections are off and kbgen runs its own when the resident
memory grew by the budget (every page with a budget of one byte), and once before the read
environment is frozen (garbage made while reading is freed, not frozen); the collector's thresholds
are back when the build ends, failed or not. A build that does not keep its doctrees (a full
build), ``KBGEN_GC_BUDGET_MB=0`` and ``kbgen_speedups = False`` leave CPython's pacing alone. The
pages are the same bytes either way.
"""

from __future__ import annotations

import gc
import mmap
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

from kbgen.sphinxext import gcbudget, gcpolicy
from tests.test_sphinx_speedups import GC_PAGES, build_in_process, write_site

#: What each page read or written leaves as cyclic garbage in these tests.
GARBAGE_BYTES = 8 * 1024 * 1024

pytestmark = pytest.mark.skipif(gcbudget.resident_bytes() is None, reason="no /proc/self/statm here")


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """Full collections seen while the test runs (one entry each)."""
    seen: list[int] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            seen.append(1)

    gc.callbacks.append(callback)
    before = gc.get_threshold()
    try:
        yield seen
    finally:
        gc.callbacks.remove(callback)
        assert gc.get_threshold() == before, "the build left the collector's thresholds changed"
        gc.unfreeze()


class Probe:
    """Thresholds and full collections seen at each event of a build."""

    def __init__(self, counter: list[int]) -> None:
        self.counter = counter
        self.thresholds: dict[str, list[int]] = {}
        self.collections: dict[str, list[int]] = {}
        self.garbage_alive_after_reading: list[bool] = []
        self._garbage: list[weakref.ref[Any]] = []
        self.started = 0

    def listener(self, name: str) -> Callable[..., None]:
        def record(app: Sphinx, *args: Any) -> None:
            self.thresholds.setdefault(name, []).append(gc.get_threshold()[2])
            self.collections.setdefault(name, []).append(len(self.counter) - self.started)
        return record

    def mark_start(self, app: Sphinx, *args: Any) -> None:
        """Count from the moment reading starts: what ran before (start-up, extensions) is CPython's."""
        self.started = len(self.counter)

    def make_garbage(self, app: Sphinx, *args: Any) -> None:
        """A reference cycle holding 8 MB, garbage once the handler returns: only a full collection
        frees it (the resident memory grows by more than the test's budget at every page)."""
        payload = mmap.mmap(-1, GARBAGE_BYTES)  # its own mapping: resident once touched, returned when freed
        for offset in range(0, GARBAGE_BYTES, mmap.PAGESIZE):
            payload[offset] = 1
        cycle: dict[str, Any] = {"payload": payload}
        cycle["self"] = cycle
        holder = type("Holder", (), {})()
        holder.cycle = cycle
        self._garbage.append(weakref.ref(holder))
        cycle["holder"] = holder
        gc.collect(1)  # promoted to the oldest generation while alive
        gc.collect(1)

    def after_reading(self, app: Sphinx, env: Any) -> list[str]:
        self.garbage_alive_after_reading = [ref() is not None for ref in self._garbage]
        self._garbage.clear()
        return []

    def connect(self, app: Sphinx) -> None:
        app.connect("env-before-read-docs", self.mark_start, priority=900)  # after gcbudget's start (2)
        app.connect("doctree-read", self.make_garbage, priority=100)
        app.connect("doctree-resolved", self.make_garbage, priority=100)
        app.connect("doctree-read", self.listener("doctree-read"), priority=900)
        app.connect("env-updated", self.after_reading, priority=1000)  # after gcpolicy's freeze (999)
        app.connect("doctree-resolved", self.listener("doctree-resolved"), priority=900)
        app.connect("build-finished", self.listener("build-finished, after kbgen"), priority=10_001)


def build(tmp_path: Path, name: str, counter: list[int], **kwargs: Any) -> Probe:
    probe = Probe(counter)
    src = write_site(tmp_path / "src", GC_PAGES)
    build_in_process(src, tmp_path / name, buildername="html", connect=probe.connect, **kwargs)
    return probe


@pytest.mark.slow
def test_full_collections_follow_the_budget_in_a_build_that_keeps_its_doctrees(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_collections: list[int]) -> None:
    original = gc.get_threshold()[2]
    monkeypatch.setenv(gcbudget.BUDGET_ENV, "1")  # 1 MB: each page's 8 MB of garbage starts a collection
    probe = build(tmp_path, "paced", full_collections)
    assert probe.thresholds["doctree-read"] == [gcbudget._NEVER] * 2  # CPython's own full collections off
    assert probe.thresholds["doctree-resolved"] == [gcbudget._NEVER] * 2
    assert probe.thresholds["build-finished, after kbgen"] == [original]
    read, resolved = probe.collections["doctree-read"], probe.collections["doctree-resolved"]
    assert read == [1, 2]  # one as each page was read (after the first, the garbage of the one before)
    assert resolved == [4, 5]  # one before the freeze, then one per page written
    assert probe.garbage_alive_after_reading == [False, False]  # freed before the freeze, not frozen

    monkeypatch.setenv(gcbudget.BUDGET_ENV, "100000")  # never reached: only the collection before the freeze
    full_collections.clear()
    probe = build(tmp_path, "large-budget", full_collections)
    assert probe.collections["doctree-read"] == [0, 0]
    assert probe.collections["doctree-resolved"] == [1, 1]  # the one before the freeze
    assert probe.garbage_alive_after_reading == [False, False]
    paced = sorted(p.relative_to(tmp_path / "paced") for p in (tmp_path / "paced").rglob("*.html"))
    assert paced
    for rel in paced:  # the same pages whatever the collector did
        assert (tmp_path / "paced" / rel).read_bytes() == (tmp_path / "large-budget" / rel).read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["budget off", "speedups off", "full build"])
def test_cpython_paces_the_collector_otherwise(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               full_collections: list[int]) -> None:
    """No budget: CPython's pacing, or on a full build gcpolicy's (full collections asked for less often)."""
    original = gc.get_threshold()[2]
    paced = gcbudget.FULL_BUILD_THRESHOLD2 if case == "full build" else original
    overrides: dict[str, Any] = {}
    if case == "budget off":
        monkeypatch.setenv(gcbudget.BUDGET_ENV, "0")
    elif case == "speedups off":
        overrides["kbgen_speedups"] = False
    else:
        monkeypatch.setattr(gcpolicy, "KEEP_DOCTREES_MAX", 0)  # as a build reading many pages
    probe = build(tmp_path, "site", full_collections, confoverrides=overrides)
    assert probe.thresholds["doctree-read"] == [paced] * 2
    assert probe.thresholds["doctree-resolved"] == [paced] * 2
    assert probe.thresholds["build-finished, after kbgen"] == [original]


@pytest.mark.slow
def test_thresholds_restored_after_a_failed_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  full_collections: list[int]) -> None:
    original = gc.get_threshold()
    seen: list[int] = []

    def fail(app: Sphinx, *args: Any) -> None:
        seen.append(gc.get_threshold()[2])
        raise RuntimeError("kbgen test: this build fails")

    src = write_site(tmp_path / "src", GC_PAGES)
    with pytest.raises(ExtensionError):
        build_in_process(src, tmp_path / "_build", buildername="html",
                         connect=lambda app: app.connect("doctree-resolved", fail))
    assert seen == [gcbudget._NEVER]
    assert gc.get_threshold() == original


def test_budget_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(gcbudget.BUDGET_ENV, raising=False)
    assert gcbudget.budget_bytes() == gcbudget.BUDGET_BYTES
    for value, expected in (("0", 0), ("8", 8 * 1024 * 1024), ("0.5", 512 * 1024), ("x", gcbudget.BUDGET_BYTES),
                            ("-3", 0)):
        monkeypatch.setenv(gcbudget.BUDGET_ENV, value)
        assert gcbudget.budget_bytes() == expected, value
