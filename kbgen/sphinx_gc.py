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
from collections.abc import Iterable

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment


def setup(app: Sphinx) -> None:
    if gc.isenabled():  # not when the caller manages the collector itself
        gc.disable()
        app.connect("builder-inited", _collect_again, priority=1)
        app.connect("build-finished", _collect_again, priority=1)  # whatever failed in between
    app.connect("env-before-read-docs", _freeze_loaded_environment, priority=1)
    app.connect("doctree-read", _drop_cached_doctrees)
    app.connect("env-updated", _freeze_read_environment, priority=999)
    app.connect("build-finished", _unfreeze, priority=10_000)


def _collect_again(app: Sphinx, *args: object) -> None:
    """Re-enable the collector turned off in :func:`setup`, once the environment is loaded."""
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
