"""Two linear-time replacements inside sphinx-needs 9, for sites with thousands of needs.

Both keep sphinx-needs' results byte for byte (tests/test_sphinx_speedups.py
compares them with the originals) and are applied only to the sphinx-needs
versions they were checked against.

* ``NeedItem.add_backlink`` checks whether a back link is already in the
  need's list before appending it: a linear scan, so collecting the back links
  of a need with k incoming links costs k²/2 comparisons. kbgen's domain needs
  receive an ``in_domain`` link from every file and finding of their domain;
  at x1 that was 15 million comparisons, 4-8 seconds on every build. The only
  caller, ``build_backlinks``, sorts every back list right after collecting
  them (``NeedItem.sort_backlinks``, its only caller too): the replacement
  appends, and the replacement sort first drops repeats keeping the first of
  each (``dict.fromkeys``), which gives the very lists the check gave.
* ``NeedsList.write_json`` writes needs.json with ``json.dump``, which encodes
  through Python's pure-Python encoder (only ``json.dumps`` uses the C one):
  5-6 seconds for the 27 MB needs.json at x1 against 0.5 s. The replacement
  writes the same text with ``json.dumps``.
"""

from __future__ import annotations

import json
import os
from operator import attrgetter
from typing import Any

import sphinx_needs
from sphinx_needs.need_item import NeedItem, NeedLink
from sphinx_needs.needsfile import NeedsList

#: The sphinx-needs releases whose internals these replacements were checked against.
CHECKED_MAJOR = "9."


def applies() -> bool:
    """True when the installed sphinx-needs is one the replacements were checked against."""
    return str(sphinx_needs.__version__).startswith(CHECKED_MAJOR) and hasattr(NeedItem, "sort_backlinks")


def add_backlink(self: NeedItem, link_type: str, backlink: str | NeedLink) -> None:
    """Append a back link; ``build_backlinks`` de-duplicates and sorts the lists afterwards."""
    backlinks = self._backlinks
    if link_type not in backlinks:
        raise KeyError(f"Link type {link_type!r} does not exist in backlinks.")
    backlinks[link_type].append(NeedLink.from_string(backlink) if isinstance(backlink, str) else backlink)


def sort_backlinks(self: NeedItem) -> None:
    """Drop repeated back links (first kept, as ``add_backlink`` used to), then sort as sphinx-needs does.

    Parts' back lists are sorted only: sphinx-needs never de-duplicated those.
    """
    for value in self._backlinks.values():
        value[:] = sorted(dict.fromkeys(value), key=attrgetter("id"))
    for part in self._parts.values():
        for links in part.backlinks.values():
            links.sort(key=attrgetter("id"))


def write_json(self: NeedsList, needs_file: str = "needs.json", needs_path: str = "") -> None:
    """Write needs.json as sphinx-needs does, encoded by the C encoder."""
    self._finalise()
    text = json.dumps(self.needs_list, sort_keys=True)
    with open(os.path.join(needs_path or self.outdir, needs_file), "w") as handle:
        handle.write(text)


ORIGINALS: dict[str, Any] = {}


def apply() -> bool:
    """Install the replacements once (idempotent); False when this sphinx-needs is not a checked one."""
    if not applies():
        return False
    if not ORIGINALS:
        ORIGINALS["add_backlink"] = NeedItem.add_backlink
        ORIGINALS["sort_backlinks"] = NeedItem.sort_backlinks
        ORIGINALS["write_json"] = NeedsList.write_json
        NeedItem.add_backlink = add_backlink  # type: ignore[method-assign]
        NeedItem.sort_backlinks = sort_backlinks  # type: ignore[method-assign]
        NeedsList.write_json = write_json  # type: ignore[method-assign]
    return True
