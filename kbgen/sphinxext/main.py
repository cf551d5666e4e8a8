"""``python -m kbgen.sphinxext.main ARGS``: sphinx-build without the interpreter teardown.

``kbgen build`` runs Sphinx in a child process through this module. Once
Sphinx has written everything and returned its exit code, the only work left
is deallocating the build's objects one by one as the interpreter shuts down:
4-6 seconds at the x1 benchmark scale, a quarter of a one-page incremental
build. The outputs are closed files by then, so the process flushes its
streams and ends at once with Sphinx's exit code.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    from sphinx.cmd.build import main as sphinx_main

    return sphinx_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
