"""``python -m kbgen.sphinxext.main ARGS``: sphinx-build as ``kbgen build`` runs it.

``kbgen build`` runs Sphinx in a child process through this module, which
owns that process for one build, so it can do what a library must not:

* turn the garbage collector off while Sphinx starts up and loads its pickled
  environment (:func:`kbgen.sphinxext.gcpolicy.paused_for_startup`; back on
  once the builder is ready, and in any case when the build ends);
* skip the interpreter teardown. Once Sphinx has written everything and
  returned its exit code, the only work left is deallocating the build's
  objects one by one; the outputs are closed files by then, so the process
  flushes its streams and ends at once with Sphinx's exit code (unless
  conf.py says ``kbgen_speedups = False``).

What each saves is measured in bench/README.md.
"""

from __future__ import annotations

import os
import sys

from kbgen.sphinxext import gcpolicy


def main(argv: list[str] | None = None) -> int:
    from sphinx.cmd.build import main as sphinx_main

    with gcpolicy.paused_for_startup():
        return sphinx_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if gcpolicy.PROCESS.fast_exit:
        os._exit(code)
    sys.exit(code)
