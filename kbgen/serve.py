"""Serving a built site on localhost (``kbgen demo --serve``)."""

from __future__ import annotations

import functools
import http.server
from collections.abc import Callable
from pathlib import Path


def serve_static(root: Path, *, port: int = 8000, host: str = "127.0.0.1",
                 log: Callable[[str], None] = print) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        log(f"serving {root} at http://{host}:{port}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log("stopped")
