"""Run one pure computation in a forked child while the parent goes on with another.

``kbgen sync`` renders every page on each run, most of a sync's time at
campaign scale and all of it on one core, while a research team's machine has
several. The page functions are pure (snapshot in, text out), so half of them
can run in a child made with ``fork()``: it inherits the loaded snapshot for
free, renders its pages, and sends back the text pickled through a pipe. What
it saves is measured in bench/README.md.

Falls back to computing in this process — same result, same order of effects —
where forking is not safe: off Linux (macOS system libraries do not survive a
fork), when other threads are running (one could hold a lock the child
needs), or when ``KBGEN_NO_FORK`` is set.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

NO_FORK_ENV = "KBGEN_NO_FORK"


class ChildFailed(RuntimeError):
    """The forked computation raised something that could not be sent back as itself."""


def fork_allowed() -> bool:
    return sys.platform == "linux" and threading.active_count() == 1 and not os.environ.get(NO_FORK_ENV)


def run_aside(compute: Callable[[], T]) -> Callable[[], T]:
    """Start ``compute`` in a forked child; the returned function waits for and returns its result.

    An exception raised by ``compute`` is raised again by the returned function
    (as itself when it pickles, else as :class:`ChildFailed` with its traceback).
    """
    if not fork_allowed():
        return compute
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without running the parent's exit handlers
        code = 0
        try:
            os.close(read_end)
            try:
                payload = pickle.dumps((True, compute()), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # everything goes back to the parent
                try:
                    payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
                    pickle.loads(payload)
                except Exception:
                    payload = pickle.dumps((False, ChildFailed(traceback.format_exc())))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)

    def result() -> T:
        with os.fdopen(read_end, "rb") as incoming:
            payload = incoming.read()
        _, status = os.waitpid(pid, 0)
        if not payload:
            raise ChildFailed(f"the forked worker ended without a result (wait status {status})")
        ok, value = pickle.loads(payload)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    return result
