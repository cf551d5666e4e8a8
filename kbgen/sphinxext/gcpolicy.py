"""Memory, garbage-collector and exit policy for big builds.

What makes a large knowledge base's build slow or fat, and what kbgen does
about it (figures in bench/README.md):

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
* When the collector runs its full collections (the policies of a full and
  of an incremental build) is :mod:`kbgen.sphinxext.gcbudget`'s part: it runs
  one just before the freeze that ends reading, so what reading left as
  garbage is freed rather than frozen.
* A doctree kept for writing is frozen, with what reading left alive or
  earlier (an incremental build freezes between pages read:
  :mod:`~kbgen.sphinxext.gcbudget`), and a frozen object in a reference cycle
  is never freed until the build ends (docutils nodes point to their parent,
  the document to its nodes by id). Once nothing uses a kept doctree any more
  (its page written: Sphinx's ``write_doc`` returned; or the cache let it go),
  kbgen dismantles it (:func:`dismantle`: every node emptied, so no cycle is
  left) and reference counting frees it. Without that, the doctrees of the
  pages written would stay in memory to the end, and what resolving them for
  writing added (not frozen) would be walked by every later collection.
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
from sphinx.builders import Builder
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


class _Process:
    """What the runner's process may do, set by the build's configuration."""

    #: The collector is off because :func:`paused_for_startup` turned it off, and not back on yet.
    paused = False
    #: The runner may end with ``os._exit`` (speedups on, see :mod:`kbgen.sphinxext.main`).
    fast_exit = True


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
    app.connect("doctree-read", drop_cached_doctrees)
    app.connect("env-updated", _freeze_read_environment, priority=999)
    app.connect("write-started", _dismantle_when_written, priority=900)
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


def keeps_doctrees(app: Sphinx) -> bool:
    """Whether the build ``app`` runs keeps the doctrees it reads for writing (an incremental
    build) rather than loading them from their pickles (a full build); set when reading starts."""
    return bool(getattr(app, "_kbgen_keep_doctrees", False))


def drop_cached_doctrees(app: Sphinx, doctree: nodes.document | None = None) -> None:
    """Trim (incremental build) or empty (full build) the doctrees kept for writing."""
    if keeps_doctrees(app):
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
        dismantle(cache.pop(docname))


def dismantle(doctree: nodes.Node) -> None:
    """Break every reference cycle of a doctree nothing uses any more, so reference counting
    frees it even frozen (see the module text); each node is left empty."""
    stack: list[nodes.Node] = [doctree]
    while stack:
        node = stack.pop()
        attributes = getattr(node, "__dict__", None)
        if attributes is None:
            continue
        children = attributes.get("children")
        if children:
            stack.extend(children)
        attributes.clear()


def _dismantle_when_written(app: Sphinx, builder: Builder) -> None:
    """Dismantle each doctree kept from reading once the builder has written its page.

    They were frozen with what reading left alive; a frozen doctree is never collected, and
    after ``write_doc`` Sphinx holds none of it (the writer's last document is replaced by the
    next page's). Only the builder's ``write_doc`` knows that moment: kbgen wraps it on this
    builder, for this build, and only for the doctrees that were in the cache when writing
    started (a doctree loaded from its pickle is not frozen: the collector frees it).
    """
    if not (_active(app) and speedups.sphinx_tested() and keeps_doctrees(app)):
        return
    cache = getattr(app.env, "_write_doc_doctree_cache", None)
    if not isinstance(cache, dict) or not cache:
        return
    kept: dict[str, nodes.document] = dict(cache)
    write_doc = builder.write_doc

    def write_and_dismantle(docname: str, doctree: nodes.document) -> None:
        write_doc(docname, doctree)
        if kept.get(docname) is doctree:
            del kept[docname]
            dismantle(doctree)

    builder.write_doc = write_and_dismantle  # type: ignore[method-assign]
    app._kbgen_unwrap_write_doc = (builder, kept)  # type: ignore[attr-defined]


def _clear_doctree_cache(app: Sphinx) -> None:
    """Forget the doctrees read so far (each is pickled to disk already); see the module text."""
    if not (_active(app) and speedups.sphinx_tested()) or keeps_doctrees(app):
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


def release_last_read(app: Sphinx) -> None:
    """Sphinx 8 reuses one docutils publisher per file type for reading, and it holds the last
    page read (its document, and its reader's and writer's) until the next page: frozen then,
    that doctree would stay to the end of the build. The next page read sets them again."""
    if not speedups.sphinx_tested():
        return
    for publisher in getattr(app.registry, "publishers", {}).values():
        for holder in (publisher, getattr(publisher, "reader", None), getattr(publisher, "writer", None)):
            if holder is not None and getattr(holder, "document", None) is not None:
                holder.document = None


def _freeze_read_environment(app: Sphinx, env: BuildEnvironment) -> Iterable[str]:
    """Reading is done: freeze what it left alive (gcbudget collected the garbage just before)."""
    if _active(app):
        drop_cached_doctrees(app)  # the last page read counts too
        gc.freeze()
    return ()


def _unfreeze(app: Sphinx, exception: BaseException | None) -> None:
    wrapped = getattr(app, "_kbgen_unwrap_write_doc", None)
    if wrapped is not None:
        builder, kept = wrapped
        vars(builder).pop("write_doc", None)  # the class's method again
        kept.clear()
        del app._kbgen_unwrap_write_doc  # type: ignore[attr-defined]
    if _active(app):
        gc.unfreeze()
