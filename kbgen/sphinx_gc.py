"""Keep CPython's cycle collector off the build's long-lived objects.

A knowledge base's Sphinx environment holds millions of objects that live
until the process ends: every need with its fields and links, toctrees,
labels. CPython's cyclic garbage collector walks all of them again in every
full collection, and a build allocates enough to trigger many. Measured at
the x1 benchmark scale (bench/run.py), an incremental build that re-reads one
page spent about 8 of its 20 seconds in the collector.

``gc.freeze()`` moves every object alive at that moment into a permanent
generation the collector no longer scans; reference counting still frees
them. kbgen freezes once the environment is loaded (before reading) and again
once reading is done (before writing), and unfreezes when the build ends, so a
process that runs several builds (tests, live preview) gets its memory back.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment


def setup(app: Sphinx) -> None:
    app.connect("env-before-read-docs", _freeze_loaded_environment, priority=1)
    app.connect("env-updated", _freeze_read_environment, priority=999)
    app.connect("build-finished", _unfreeze, priority=10_000)


def _freeze_loaded_environment(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    gc.freeze()


def _freeze_read_environment(app: Sphinx, env: BuildEnvironment) -> Iterable[str]:
    gc.freeze()
    return ()


def _unfreeze(app: Sphinx, exception: BaseException | None) -> None:
    gc.unfreeze()


