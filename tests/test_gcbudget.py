"""Full collections paced by memory in incremental builds (:mod:`kbgen.sphinxext.gcbudget`).

Real in-process Sphinx builds of a small kbgen site: while a build that keeps its doctrees reads
and writes, CPython's automatic full collections are off and kbgen runs its own when the resident
memory grew by the budget (every page with a budget of one byte), between two pages read (then
freezes: the next collection walks only what is new), and once before the read environment is
frozen (garbage made while reading is freed, not frozen); each doctree kept from reading, frozen,
is freed once its page is written or once the cache lets it go; the collector's thresholds are back
when the build ends, failed or not. A build that does not keep its doctrees (a full
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
    # one as each page was read, and one (then a freeze) between the two pages
    assert read == [1, 3]
    assert resolved == [5, 6]  # one before the freeze, then one per page written
    assert probe.garbage_alive_after_reading == [False, False]  # freed before the freeze, not frozen

    monkeypatch.setenv(gcbudget.BUDGET_ENV, "100000")  # never reached: between the pages, before the freeze
    full_collections.clear()
    probe = build(tmp_path, "large-budget", full_collections)
    assert probe.collections["doctree-read"] == [0, 1]
    assert probe.collections["doctree-resolved"] == [2, 2]
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


class KeptDoctrees:
    """Weak references to every doctree read, and which were alive and frozen at given moments."""

    def __init__(self) -> None:
        self.read: dict[str, weakref.ref[Any]] = {}
        self.frozen_before_next_read: list[int] = []
        self.alive_when_written: dict[str, list[str]] = {}
        self.alive_at_the_end: list[str] = []
        self.wrapped_after_build: bool | None = None

    def alive(self) -> list[str]:
        """The doctrees still whole: neither freed nor dismantled (an empty ``document`` object
        the HTML writer holds until its next page is all that may stay of one)."""
        return sorted(name for name, ref in self.read.items() if ref() is not None and vars(ref()))

    def connect(self, app: Sphinx) -> None:
        def remember(app: Sphinx, doctree: Any) -> None:
            self.read[app.env.docname] = weakref.ref(doctree)

        def frozen(app: Sphinx, docname: str) -> None:
            self.frozen_before_next_read.append(gc.get_freeze_count())

        def written(app: Sphinx, doctree: Any, docname: str) -> None:
            self.alive_when_written[docname] = self.alive()

        def end(app: Sphinx, exception: BaseException | None) -> None:
            self.alive_at_the_end = self.alive()  # before kbgen unfreezes (10_000): still frozen then

        app.connect("doctree-read", remember, priority=100)
        app.connect("source-read", lambda app, docname, source: frozen(app, docname))
        app.connect("doctree-resolved", written, priority=900)
        app.connect("build-finished", end, priority=9_998)


BIG_PAGES = {  # a page large enough that its doctree is worth keeping track of, and a small one
    "index.md": "# Home\n\n```{toctree}\nother\n```\n\n" + "".join(
        f":::{{finding}} Finding {n}\n:id: F{n}\n\nSome *text* with `code` and [a link](#F1).\n:::\n\n"
        for n in range(1, 60)),
    "other.md": "# Other\n\n:::{file} a.rs\n:id: FILE1\n:::\n\nSee {need}`F1`.\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("trim", [False, True])
def test_kept_doctrees_frozen_between_pages_are_freed_once_written_or_let_go(
        trim: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_collections: list[int]) -> None:
    """The doctree of each page read is frozen before the next page is read (the collector does not
    walk it again), and freed all the same: once its page is written, or once the cache lets it go
    (``trim``: no doctree kept). The pages are the bytes CPython's own pacing writes."""
    monkeypatch.delenv(gcbudget.BUDGET_ENV, raising=False)
    if trim:
        monkeypatch.setattr(gcpolicy, "KEEP_DOCTREES_BYTES", 0)
    src = write_site(tmp_path / "src", BIG_PAGES)
    kept = KeptDoctrees()
    app, _ = build_in_process(src, tmp_path / "paced", buildername="html", connect=kept.connect)
    assert sorted(kept.read) == ["index", "other"]
    first, second = kept.frozen_before_next_read
    assert second > first  # the first page's objects (its doctree unless trimmed) frozen before the second
    if trim:
        assert kept.alive_when_written == {"index": [], "other": []}  # let go while reading
    else:
        # each kept doctree stays until its page is written (index before other), then goes
        assert kept.alive_when_written == {"index": ["index", "other"], "other": ["other"]}
    assert kept.alive_at_the_end == []
    assert "write_doc" not in vars(app.builder)  # the builder's own method again
    assert gc.get_freeze_count() == 0

    monkeypatch.setenv(gcbudget.BUDGET_ENV, "0")
    reference = KeptDoctrees()
    build_in_process(src, tmp_path / "cpython", buildername="html", connect=reference.connect,
                     confoverrides={"kbgen_speedups": False})
    for name in ("index.html", "other.html", "searchindex.js"):
        assert (tmp_path / "paced" / "html" / name).read_bytes() == (tmp_path / "cpython" / "html" / name).read_bytes()


def test_a_dismantled_doctree_is_freed_even_frozen() -> None:
    """Frozen objects in cycles are never collected; a dismantled doctree has no cycle left."""
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    document = new_document("<test>", get_default_settings(Parser))
    section = nodes.section(ids=["s1"])
    section += nodes.title(text="Title")
    section += nodes.paragraph(text="Some text")
    document += section
    document.note_explicit_target(section)
    refs = [weakref.ref(node) for node in (document, section, *section.children)]
    gc.collect()
    gc.freeze()
    try:
        del section
        gcpolicy.dismantle(document)
        assert not vars(document)  # no children, no ids: nothing points back to it
        del document
        assert [ref() for ref in refs] == [None] * len(refs)  # reference counting alone freed them
    finally:
        gc.unfreeze()
