"""Keep CPython's cyclic garbage collector off for a stretch of work that makes no cycles.

Loading a snapshot, rendering pages or walking needs.json allocate millions of
short-lived containers and no garbage cycles worth collecting, while every
collection walks everything still alive (what that costs is in bench/README.md).

When the pause ends, the first young collection walks every object the work made that is
still tracked: the snapshot with its caches (it refers to itself through them), the
rendered registries, matplotlib's figures. A command whose process ends soon after (the
command line's ``kbgen sync`` and ``kbgen build``, see :func:`freezing_at_resume`) has no use
for that walk, nor for the interpreter's last collection at exit: the pause then ends by
freezing what is there (:func:`gc.freeze`), which neither collection looks at. A
long-running process (``kbgen serve``) keeps the plain pause: there the garbage must go.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_freeze_at_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off inside, back to what it was afterwards (also when the work raises)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freeze_at_resume:
            gc.freeze()
        if enabled:
            gc.enable()


@contextmanager
def freezing_at_resume() -> Iterator[None]:
    """Inside, a pause of the collector ends by freezing every tracked object instead of leaving them
    to the next collection: for work after which the process ends (the memory it holds is not given
    back to the system by a collection either, so the process's peak is the same)."""
    global _freeze_at_resume
    before = _freeze_at_resume
    _freeze_at_resume = True
    try:
        yield
    finally:
        _freeze_at_resume = before
