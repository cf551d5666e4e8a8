"""Memory, garbage-collector and exit policy for big builds.

Three things make a large knowledge base's build slow or fat (figures in
bench/README.md):

* CPython's cyclic garbage collector walks every live object in each full
  collection, and a Sphinx environment holds millions that live until the
  build ends (every need with its fields and links, toctrees, labels).
  ``gc.freeze()`` moves the objects alive at that moment into a permanent
  generation the collector no longer scans (reference counting still frees
  them). kbgen freezes once the environment is loaded (before reading) and
  once reading is done (before writing), and unfreezes when the build ends
  (Sphinx emits ``build-finished`` for failed builds too), so a process that
  runs several builds (tests) gets its memory back.
* Loading a pickled environment creates those millions of objects at once,
  each full collection meanwhile walking all created so far. The runner
  ``kbgen build`` starts (:mod:`kbgen.sphinxext.main`) turns the collector off
  for the start-up (:func:`paused_for_startup`) and this module turns it back
  on, freezing the environment first, when the builder is ready. The pause
  belongs to the runner, a context manager around the whole build, so the
  collector is back on whatever happens (a builder whose initialisation
  raises never reaches ``builder-inited``); a build in another process
  (plain sphinx-build, tests) is never paused.
* A serial build keeps every doctree it read in memory until the write phase
  (Sphinx's ``_write_doc_doctree_cache``), to save reading them back from the
  pickles it has just written, and a freeze would pin them. When a build reads
  more than :data:`KEEP_DOCTREES_MAX` pages (a full build), kbgen empties that
  cache as reading goes on, so the write phase loads each doctree from its
  pickle. An incremental build (a new session reads a few dozen pages, some of
  them large) keeps Sphinx's cache, up to :data:`KEEP_DOCTREES_BYTES` of their
  pickles (the oldest are let go past it, so the memory a build adds stays
  bounded on big sites): loading those pickles again was a tenth of its time.
  The cache is a Sphinx internal: emptied only on the Sphinx releases listed in
  :data:`kbgen.sphinxext.speedups.TESTED_SPHINX`.
* A full build reads and then writes thousands of pages, and each page's
  doctree (cycles: every node points to its parent) lives long enough to
  reach the oldest generation before it dies. CPython then runs a full
  collection whenever that garbage reaches a quarter of the objects left
  since the last one, which on a fresh build means every few pages, each
  walking everything not frozen (on a fresh build, the environment being built
  while reading). While a build reads more than :data:`KEEP_DOCTREES_MAX`
  pages, kbgen asks for a full collection at most once every
  :data:`FULL_BUILD_THRESHOLD2` collections of the middle generation (CPython's
  default: 10), and puts the thresholds back when the build ends. The garbage
  waiting meanwhile is bounded by that count (figures in bench/README.md).
  What a fresh build adds to the environment while reading is not frozen yet,
  and every full collection walked it: every :data:`FREEZE_EVERY_PAGES` pages
  read (between two pages, when none of their doctrees is held any more),
  kbgen collects and freezes what is there. Once sphinx-needs has
  post-processed its needs (``write-started``), what that made is collected and
  frozen too, before the pages are written.
* Sphinx also keeps the pickled bytes of every doctree it loads from disk
  (``_pickled_doctree_cache``), for the whole build, in case the page is
  loaded again. In the write phase each page is loaded once, so on a full build
  that cache ends up holding the pickles of the whole site (the doctree folder
  but the environment) next to everything else. kbgen drops a page's bytes
  once its doctree is resolved (``doctree-resolved``); a later load of the same
  page (rare: a numbered toctree, a ``numref``) reads its file again. Same
  Sphinx releases, same switch.

``kbgen_speedups = False`` turns all of this off, and the runner's fast exit.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment

from kbgen.sphinxext import speedups

#: Up to this many pages read, a build keeps the doctrees it read in memory for writing them
#: (Sphinx's default): a bounded memory cost, against unpickling each of them again.
KEEP_DOCTREES_MAX = 200
#: ... and as long as their pickles hold at most this many bytes (a doctree in memory is several
#: times its pickle: this keeps an incremental build's peak within tens of megabytes of a
#: one-page build's).
KEEP_DOCTREES_BYTES = 5_000_000
#: A full build's third collector threshold (see the module text; CPython's default is 10).
FULL_BUILD_THRESHOLD2 = 50
#: A full build freezes what reading added to the environment every this many pages.
FREEZE_EVERY_PAGES = 100


class _Process:
    """What the runner's process may do, set by the build's configuration."""

    #: The collector is off because :func:`paused_for_startup` turned it off, and not back on yet.
    paused = False
    #: The runner may end with ``os._exit`` (speedups on, see :mod:`kbgen.sphinxext.main`).
    fast_exit = True
    #: The collector's thresholds before a full build changed them (None: not changed).
    thresholds: tuple[int, int, int] | None = None


PROCESS = _Process()


@contextmanager
def paused_for_startup() -> Iterator[None]:
    """The collector off until the builder is ready (:func:`_collect_again`), and on again at the end
    whatever happens; left alone when the caller had turned it off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    PROCESS.paused = True
    try:
        yield
    finally:
        PROCESS.paused = False
        gc.enable()


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _configure, priority=900)
    app.connect("builder-inited", _collect_again, priority=1)
    app.connect("env-before-read-docs", _freeze_loaded_environment, priority=1)
    app.connect("doctree-read", _drop_cached_doctrees)
    app.connect("env-purge-doc", _freeze_now_and_then)
    app.connect("env-updated", _freeze_read_environment, priority=999)
    app.connect("write-started", _freeze_post_processed, priority=900)  # after sphinx-needs (500)
    app.connect("doctree-resolved", _forget_pickled_doctree)
    app.connect("build-finished", _unfreeze, priority=10_000)


def _active(app: Sphinx) -> bool:
    return speedups.enabled(app.config)


def _configure(app: Sphinx, config: Config) -> None:
    """With speedups off: the collector back on now, and a normal interpreter exit."""
    PROCESS.fast_exit = speedups.enabled(config)
    if not PROCESS.fast_exit and PROCESS.paused:
        PROCESS.paused = False
        gc.enable()


def _collect_again(app: Sphinx) -> None:
    """Re-enable the collector paused for the start-up, freezing the environment first.

    Without the freeze, the first full collection after this point (Sphinx
    listing the source files) would walk the whole environment.
    """
    if PROCESS.paused:
        PROCESS.paused = False
        gc.freeze()
        gc.enable()


def _freeze_loaded_environment(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    app._kbgen_keep_doctrees = len(docnames) <= KEEP_DOCTREES_MAX  # type: ignore[attr-defined]
    if _active(app):
        gc.freeze()
        if not app._kbgen_keep_doctrees and PROCESS.thresholds is None:  # type: ignore[attr-defined]
            PROCESS.thresholds = gc.get_threshold()
            first, second, _ = PROCESS.thresholds
            gc.set_threshold(first, second, FULL_BUILD_THRESHOLD2)


def _drop_cached_doctrees(app: Sphinx, doctree: nodes.document | None = None) -> None:
    if getattr(app, "_kbgen_keep_doctrees", False):
        _trim_doctree_cache(app)
    else:
        _clear_doctree_cache(app)


def _trim_doctree_cache(app: Sphinx) -> None:
    """Let the oldest cached doctrees go while their pickles exceed :data:`KEEP_DOCTREES_BYTES`."""
    if not (_active(app) and speedups.sphinx_tested()):
        return
    cache = getattr(app.env, "_write_doc_doctree_cache", None)
    if not isinstance(cache, dict) or not cache:
        return
    sizes: dict[str, int] = getattr(app, "_kbgen_doctree_sizes", {})
    app._kbgen_doctree_sizes = sizes  # type: ignore[attr-defined]
    for docname in cache:
        if docname not in sizes:
            try:
                sizes[docname] = (app.env.doctreedir / f"{docname}.doctree").stat().st_size
            except OSError:
                sizes[docname] = 0
    total = sum(sizes[docname] for docname in cache)
    for docname in list(cache):
        if total <= KEEP_DOCTREES_BYTES:
            break
        total -= sizes[docname]
        del cache[docname]


def _clear_doctree_cache(app: Sphinx) -> None:
    """Forget the doctrees read so far (each is pickled to disk already); see the module text."""
    if not (_active(app) and speedups.sphinx_tested()) or getattr(app, "_kbgen_keep_doctrees", False):
        return
    cache = getattr(app.env, "_write_doc_doctree_cache", None)
    if isinstance(cache, dict):
        cache.clear()


def _forget_pickled_doctree(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Drop the bytes Sphinx kept of the page just resolved for writing (see the module text)."""
    if not (_active(app) and speedups.sphinx_tested()):
        return
    cache = getattr(app.env, "_pickled_doctree_cache", None)
    if isinstance(cache, dict):
        cache.pop(docname, None)


def _collect_and_freeze(app: Sphinx) -> None:
    _release_last_read(app)
    gc.collect()
    gc.freeze()


def _release_last_read(app: Sphinx) -> None:
    """Sphinx 8 reuses one docutils publisher per file type for reading, and it holds the last
    page read (its document, and its reader's and writer's) until the next page: frozen then,
    that doctree would stay to the end of the build. The next page read sets them again."""
    if not speedups.sphinx_tested():
        return
    for publisher in getattr(app.registry, "publishers", {}).values():
        for holder in (publisher, getattr(publisher, "reader", None), getattr(publisher, "writer", None)):
            if holder is not None and getattr(holder, "document", None) is not None:
                holder.document = None


def _freeze_now_and_then(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    """A full build, between two pages read: collect and freeze every FREEZE_EVERY_PAGES pages."""
    if PROCESS.thresholds is None or not _active(app):
        return
    count = getattr(app, "_kbgen_pages_purged", 0) + 1
    app._kbgen_pages_purged = count  # type: ignore[attr-defined]
    if count % FREEZE_EVERY_PAGES == 0:
        _clear_doctree_cache(app)  # the last page's doctree: already pickled, garbage once let go
        _collect_and_freeze(app)


def _freeze_post_processed(app: Sphinx, builder: object) -> None:
    if PROCESS.thresholds is not None and _active(app):
        _collect_and_freeze(app)


def _freeze_read_environment(app: Sphinx, env: BuildEnvironment) -> Iterable[str]:
    if _active(app):
        _drop_cached_doctrees(app)  # the last page read counts too
        if PROCESS.thresholds is not None:
            # A full build: the doctrees read are garbage waiting for a full collection; frozen,
            # they would stay in memory to the end of the build (and through the pickling of the
            # environment, the build's peak before this). One collection frees them first.
            _release_last_read(app)
            gc.collect()
        gc.freeze()
    return ()


def _unfreeze(app: Sphinx, exception: BaseException | None) -> None:
    if PROCESS.thresholds is not None:
        gc.set_threshold(*PROCESS.thresholds)
        PROCESS.thresholds = None
    if _active(app):
        gc.unfreeze()
