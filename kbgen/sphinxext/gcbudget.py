"""When the collector runs a full collection: one pacing, a policy per kind of build.

CPython starts a full (oldest-generation) collection whenever the objects that
survived into the oldest generation since the last one exceed a quarter of it.
Each one walks every live object not frozen (:mod:`kbgen.sphinxext.gcpolicy`
freezes the environment), and in a Sphinx build most of those walks find
nothing to free. Which walks are wasted depends on the build, so kbgen paces
the collector with one of two policies, chosen when reading starts (after
:mod:`~kbgen.sphinxext.gcpolicy` has decided whether the build keeps its
doctrees), and puts CPython's thresholds back when the build ends, failed or
not:

* **A full build** (it reads more than ``gcpolicy.KEEP_DOCTREES_MAX`` pages and
  keeps none of their doctrees) reads and then writes thousands of pages, and
  each page's doctree (cycles: every node points to its parent) lives long
  enough to reach the oldest generation before it dies. CPython would then run
  a full collection every few pages, each walking everything not frozen (on a
  fresh build, the environment being built while reading). kbgen asks for one
  at most once every :data:`FULL_BUILD_THRESHOLD2` collections of the middle
  generation (CPython's default: 10); the garbage waiting meanwhile is bounded
  by that count. What a fresh build adds to the environment while reading is
  not frozen yet: every :data:`FREEZE_EVERY_PAGES` pages read (between two
  pages, when none of their doctrees is held any more), kbgen collects and
  freezes what is there. Once sphinx-needs has post-processed its needs
  (``write-started``), what that made is collected and frozen too, before the
  pages are written.
* **An incremental build** (a new session reads a few dozen pages, some of them
  large: a domain page includes an analysis document of thousands of table
  rows, over a hundred thousand doctree objects) keeps the doctrees it read in
  memory until it writes them. Every large page read would start full
  collections, each walking all the doctrees kept so far again only to find
  them alive. What those collections are for is the garbage that only they can
  free: objects in reference cycles that lived long enough to reach the oldest
  generation (a doctree once it is written, the parser's state once a page is
  read). So CPython's automatic full collections are off (the young
  generations are still collected as usual) and kbgen runs its own. Between
  two pages read it collects and freezes: what is not frozen then is only the
  page just read (its doctree, kept for writing, and the garbage its reading
  left), so that collection is cheap and no later one walks that doctree again.
  :mod:`~kbgen.sphinxext.gcpolicy` makes sure a frozen doctree is still freed
  once its page is written or the cache lets it go (frozen objects in cycles
  are otherwise never freed). While a page is read and written, a full
  collection runs when the process's resident memory has grown by
  :data:`BUDGET_BYTES` since the last one, checked as each page is read and as
  each page is about to be written: the memory a build may hold in uncollected
  garbage is bounded by the budget, and the number of those collections
  follows the memory the build allocates rather than the objects it keeps. The
  budget needs the resident memory (``/proc``); :data:`BUDGET_ENV` sets it or
  turns it off (and with it this policy: CPython's pacing). The freeze between
  pages needs the Sphinx releases of
  :data:`kbgen.sphinxext.speedups.TESTED_SPHINX` (what frees the frozen
  doctrees relies on Sphinx's doctree cache and ``write_doc``).

Either way, one collection runs just before ``gcpolicy`` freezes what reading
left alive (``env-updated``): garbage frozen there would stay until the build
ends. Only with ``kbgen_speedups`` on.
"""

from __future__ import annotations

import enum
import gc
import os
from collections.abc import Iterable

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from kbgen.sphinxext import gcpolicy, speedups

#: A full build's third collector threshold (see the module text; CPython's default is 10).
FULL_BUILD_THRESHOLD2 = 50
#: A full build freezes what reading added to the environment every this many pages.
FREEZE_EVERY_PAGES = 100
#: An incremental build runs a full collection once its resident memory has grown by this much
#: since the last one.
BUDGET_BYTES = 32 * 1024 * 1024
#: Environment variable: ``0`` turns the incremental builds' pacing off (CPython's own), a number
#: of megabytes sets the budget; for measuring it (bench/bench_first_incremental.py), it changes
#: no output.
BUDGET_ENV = "KBGEN_GC_BUDGET_MB"
#: The oldest generation's threshold while the budget paces full collections: never reached.
_NEVER = 1 << 30
_STATM = "/proc/self/statm"
_ATTR = "_kbgen_gcpacing"


class Policy(enum.Enum):
    """Which pacing a build runs under (see the module text)."""

    FULL = "full build"
    INCREMENTAL = "incremental build"


class Pacing:
    """One build's pacing, kept on the application (one build per application)."""

    def __init__(self, policy: Policy, thresholds: tuple[int, int, int], budget: int = 0,
                 baseline: int = 0) -> None:
        self.policy = policy
        #: CPython's thresholds before the build changed them, put back when it ends.
        self.thresholds = thresholds
        self.budget = budget
        self.baseline = baseline
        #: Full collections kbgen ran itself.
        self.collections = 0
        #: Pages purged before reading (a full build's count).
        self.pages = 0
        #: A page was read since the last freeze (an incremental build's).
        self.read_since_freeze = False


def resident_bytes() -> int | None:
    """The process's resident memory in bytes, or None where ``/proc`` does not say."""
    try:
        with open(_STATM, "rb") as handle:
            fields = handle.read().split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def budget_bytes() -> int:
    """The budget (:data:`BUDGET_BYTES` unless :data:`BUDGET_ENV` says otherwise); 0: off."""
    value = os.environ.get(BUDGET_ENV, "").strip()
    try:
        return max(0, int(float(value) * 1024 * 1024)) if value else BUDGET_BYTES
    except ValueError:
        return BUDGET_BYTES


def setup(app: Sphinx) -> None:
    # After gcpolicy's handler (priority 1), which decides whether the build keeps its doctrees.
    app.connect("env-before-read-docs", _start, priority=2)
    app.connect("env-purge-doc", _between_pages)
    app.connect("doctree-read", _maybe_collect)
    app.connect("doctree-resolved", _maybe_collect_resolved)
    app.connect("env-updated", _collect_before_freeze, priority=998)  # gcpolicy freezes at 999
    app.connect("write-started", _freeze_post_processed, priority=900)  # after sphinx-needs (500)
    app.connect("build-finished", _stop, priority=9_999)  # gcpolicy unfreezes at 10000


def pacing(app: Sphinx) -> Pacing | None:
    """The pacing of the build ``app`` runs, if kbgen paces it."""
    state = getattr(app, _ATTR, None)
    return state if isinstance(state, Pacing) else None


def _start(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if pacing(app) is not None or not speedups.enabled(app.config):
        return
    first, second, _ = thresholds = gc.get_threshold()
    if not gcpolicy.keeps_doctrees(app):
        setattr(app, _ATTR, Pacing(Policy.FULL, thresholds))
        gc.set_threshold(first, second, FULL_BUILD_THRESHOLD2)
        return
    budget = budget_bytes()
    baseline = resident_bytes()
    if not gc.isenabled() or not budget or baseline is None:
        return
    setattr(app, _ATTR, Pacing(Policy.INCREMENTAL, thresholds, budget, baseline))
    gc.set_threshold(first, second, _NEVER)


def _collect(app: Sphinx, state: Pacing, *, freeze: bool = False) -> None:
    gcpolicy.release_last_read(app)
    gc.collect()
    state.collections += 1
    if freeze:
        gc.freeze()
    if state.policy is Policy.INCREMENTAL:
        state.baseline = resident_bytes() or state.baseline


def _between_pages(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    """Between two pages read: a full build collects and freezes every FREEZE_EVERY_PAGES pages,
    an incremental build after every page (what is new since the last page: that page's doctree,
    kept for writing, and the garbage its reading left)."""
    state = pacing(app)
    if state is None:
        return
    state.pages += 1
    if state.policy is Policy.FULL:
        if state.pages % FREEZE_EVERY_PAGES == 0:
            gcpolicy.drop_cached_doctrees(app)  # the last page's doctree: already pickled, garbage once let go
            _collect(app, state, freeze=True)
    elif state.read_since_freeze and speedups.sphinx_tested():
        # (kbgen.sphinxext.purge purges every page to read before the first: not a page read)
        _collect(app, state, freeze=True)
        state.read_since_freeze = False


def _maybe_collect(app: Sphinx, doctree: nodes.document | None = None) -> None:
    """An incremental build: a full collection once the memory grew by the budget."""
    state = pacing(app)
    if state is None or state.policy is not Policy.INCREMENTAL:
        return
    if doctree is not None:
        state.read_since_freeze = True
    now = resident_bytes()
    if now is not None and now - state.baseline > state.budget:
        gc.collect()
        state.collections += 1
        state.baseline = resident_bytes() or state.baseline


def _maybe_collect_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    _maybe_collect(app, None)


def _collect_before_freeze(app: Sphinx, env: BuildEnvironment) -> Iterable[str]:
    """Reading is done: free its garbage before gcpolicy freezes what is alive."""
    state = pacing(app)
    if state is not None:
        gcpolicy.drop_cached_doctrees(app)  # the last page read counts too
        _collect(app, state)
    return ()


def _freeze_post_processed(app: Sphinx, builder: object) -> None:
    state = pacing(app)
    if state is not None and state.policy is Policy.FULL:
        _collect(app, state, freeze=True)


def _stop(app: Sphinx, exception: BaseException | None) -> None:
    state = pacing(app)
    if state is None:
        return
    gc.set_threshold(*state.thresholds)
    delattr(app, _ATTR)
