"""Opening a page in the user's browser, only where a browser can be shown.

Python's :mod:`webbrowser` falls back to text browsers (lynx, w3m, www-browser)
when there is no graphical display: on a server or in CI, ``--open`` would
then take over the terminal, or hang a ``make demo`` that runs without one.
kbgen asks for a browser only on macOS and Windows, where a desktop is
assumed, with an X11 or Wayland display, or when ``$BROWSER`` names one the
user chose; otherwise the caller prints the path or URL to open instead.
"""

from __future__ import annotations

import os
import sys
import webbrowser


def display_available() -> bool:
    """A graphical browser could be shown here (or the user named one in ``$BROWSER``)."""
    if sys.platform in ("darwin", "win32") or os.environ.get("BROWSER"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    """Open ``url`` in a browser; False when there is none to show it (nothing is started then)."""
    if not display_available():
        return False
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False
