"""Memory and garbage-collector policy for big builds.

Two things make a large knowledge base's build slow or fat, both measured at
the x1 benchmark scale (bench/run.py):

* CPython's cyclic garbage collector walks every live object in each full
  collection, and a Sphinx environment holds millions that live until the
  process ends (every need with its fields and links, toctrees, labels). A
  one-page incremental build spent about 8 of its 20 seconds collecting.
  ``gc.freeze()`` moves the objects alive at that moment into a permanent
  generation the collector no longer scans (reference counting still frees
  them). kbgen freezes once the environment is loaded (before reading) and
  once reading is done (before writing), and unfreezes when the build ends,
  so a process that runs several builds (tests, live preview) gets its memory
  back.
* A serial build keeps every doctree it read in memory until the write phase
  (Sphinx's ``_write_doc_doctree_cache``), to save reading them back from the
  pickles it has just written: about 2 GB at x1, and a freeze would pin them.
  kbgen empties that cache as reading goes on, so the write phase loads each
  doctree from its pickle; that costs seconds, not gigabytes.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterable

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

#: The applications whose environment load runs with the collector paused by kbgen.
_PAUSED: weakref.WeakSet[Sphinx] = weakref.WeakSet()


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _pause_for_environment_load, priority=900)
    app.connect("builder-inited", _collect_again, priority=1)
    app.connect("env-before-read-docs", _freeze_loaded_environment, priority=1)
    app.connect("doctree-read", _drop_cached_doctrees)
    app.connect("env-updated", _freeze_read_environment, priority=999)
    app.connect("build-finished", _unfreeze, priority=10_000)


def _pause_for_environment_load(app: Sphinx, config: object) -> None:
    """Turn the collector off for loading the environment (the last step before it)."""
    if gc.isenabled():  # not when the caller manages the collector itself
        gc.disable()
        _PAUSED.add(app)


def _collect_again(app: Sphinx) -> None:
    """Re-enable the collector paused for the environment load, freezing the environment first.

    Without the freeze, the first full collection after this point (Sphinx
    listing the source files, 1 s at x1) would walk the whole environment.
    """
    if app in _PAUSED:
        _PAUSED.discard(app)
        gc.freeze()
        gc.enable()


def _freeze_loaded_environment(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    gc.freeze()


def _drop_cached_doctrees(app: Sphinx, doctree: nodes.document) -> None:
    _clear_doctree_cache(app.env)


def _clear_doctree_cache(env: BuildEnvironment) -> None:
    """Forget the doctrees read so far (each is pickled to disk already); see the module text."""
    cache = getattr(env, "_write_doc_doctree_cache", None)
    if isinstance(cache, dict):
        cache.clear()


def _freeze_read_environment(app: Sphinx, env: BuildEnvironment) -> Iterable[str]:
    _clear_doctree_cache(env)
    gc.freeze()
    return ()


def _unfreeze(app: Sphinx, exception: BaseException | None) -> None:
    gc.unfreeze()
