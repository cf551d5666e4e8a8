"""Keep CPython's cyclic garbage collector off for a stretch of work that makes no cycles.

Loading a snapshot, rendering pages or walking needs.json allocate millions of
short-lived containers and no garbage cycles worth collecting, while every
collection walks everything still alive (what that costs is in bench/README.md).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off inside, back to what it was afterwards (also when the work raises)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
