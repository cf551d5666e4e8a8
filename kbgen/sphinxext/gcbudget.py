"""Full collections paced by memory, not by object counts, in incremental builds.

CPython starts a full (oldest-generation) collection whenever the objects that
survived into the oldest generation since the last one exceed a quarter of it.
An incremental build reads a few dozen pages, some of them large (a domain page
includes an analysis document of thousands of table rows: over a hundred
thousand doctree objects), and keeps their doctrees in memory until it writes
them (:mod:`kbgen.sphinxext.gcpolicy`). Every large page read therefore starts
full collections, and each one walks all the doctrees kept so far again, only
to find them alive: at campaign scale the collector took a quarter of the
Sphinx time of a new session's build, and most of the difference between a
session that touches one domain and one that touches three (bench/README.md).

What those collections are for is the garbage that only they can free: objects
in reference cycles that lived long enough to reach the oldest generation (a
doctree once it is written, the parser's state once a page is read). So, from
the moment an incremental build starts reading until it ends, this module turns
the automatic full collections off (the young generations are still collected
as usual) and runs one itself when the process's resident memory has grown by
:data:`BUDGET_BYTES` since the last one, checked as each page is read and as
each page is about to be written, and once when reading is done, before
:mod:`kbgen.sphinxext.gcpolicy` freezes what is alive (garbage frozen there
would stay until the build ends). The memory a build may hold in uncollected
garbage is bounded by the budget, and the number of full collections follows
the memory the build allocates rather than the number of objects it keeps.

Only in builds that keep their doctrees (``gcpolicy``'s incremental case), with
``kbgen_speedups`` on, where the resident memory can be read (``/proc``); the
collector's thresholds are put back when the build ends, failed or not.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from kbgen.sphinxext import speedups

#: A full collection runs once the resident memory has grown by this much since the last one.
BUDGET_BYTES = 32 * 1024 * 1024
#: Environment variable: ``0`` turns the pacing off (CPython's own), a number of megabytes sets the
#: budget; for measuring it (bench/bench_first_incremental.py), it changes no output.
BUDGET_ENV = "KBGEN_GC_BUDGET_MB"
#: The oldest generation's threshold while the budget paces full collections: never reached.
_NEVER = 1 << 30
_STATM = "/proc/self/statm"


class _State:
    """The build's pacing, kept on the application (one build per application)."""

    def __init__(self, thresholds: tuple[int, int, int], baseline: int, budget: int) -> None:
        self.thresholds = thresholds
        self.budget = budget
        self.baseline = baseline
        self.collections = 0


_ATTR = "_kbgen_gcbudget"


def resident_bytes() -> int | None:
    """The process's resident memory in bytes, or None where ``/proc`` does not say."""
    try:
        with open(_STATM, "rb") as handle:
            fields = handle.read().split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def setup(app: Sphinx) -> None:
    # After gcpolicy's handler (priority 1), which decides whether the build keeps its doctrees.
    app.connect("env-before-read-docs", _start, priority=2)
    app.connect("doctree-read", _maybe_collect)
    app.connect("doctree-resolved", _maybe_collect_resolved)
    app.connect("env-updated", _collect_before_freeze, priority=998)  # gcpolicy freezes at 999
    app.connect("build-finished", _stop, priority=9_999)


def _state(app: Sphinx) -> _State | None:
    state = getattr(app, _ATTR, None)
    return state if isinstance(state, _State) else None


def budget_bytes() -> int:
    """The budget (:data:`BUDGET_BYTES` unless :data:`BUDGET_ENV` says otherwise); 0: off."""
    value = os.environ.get(BUDGET_ENV, "").strip()
    try:
        return max(0, int(float(value) * 1024 * 1024)) if value else BUDGET_BYTES
    except ValueError:
        return BUDGET_BYTES


def _start(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if _state(app) is not None or not speedups.enabled(app.config) or not gc.isenabled():
        return
    budget = budget_bytes()
    if not budget:
        return
    if not getattr(app, "_kbgen_keep_doctrees", False):
        return  # a full build empties the doctree cache as it reads: the usual pacing suits it
    baseline = resident_bytes()
    if baseline is None:
        return
    first, second, _ = gc.get_threshold()
    setattr(app, _ATTR, _State(gc.get_threshold(), baseline, budget))
    gc.set_threshold(first, second, _NEVER)


def _maybe_collect(app: Sphinx, doctree: nodes.document | None = None) -> None:
    state = _state(app)
    if state is None:
        return
    now = resident_bytes()
    if now is not None and now - state.baseline > state.budget:
        _collect(state)


def _maybe_collect_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    _maybe_collect(app)


def _collect(state: _State) -> None:
    gc.collect()
    state.collections += 1
    state.baseline = resident_bytes() or state.baseline


def _collect_before_freeze(app: Sphinx, env: BuildEnvironment) -> Iterable[str]:
    state = _state(app)
    if state is not None:
        _collect(state)
    return ()


def _stop(app: Sphinx, exception: BaseException | None) -> None:
    state = _state(app)
    if state is None:
        return
    gc.set_threshold(*state.thresholds)
    delattr(app, _ATTR)
