"""Stable HTML ids for sphinx-needs' need containers, so the same pages give the same HTML.

sphinx-needs wraps every need in a ``div`` whose id is ``SNCB-`` plus eight
characters of a random UUID (``sphinx_needs.layout.create_need_from_data``):
each build of a page writes different HTML although nothing changed, which
defeats byte comparison of builds, makes every publish a diff of every page
and churns deploy caches. The id's only use is sphinx-needs' collapse script,
which looks up ``div[id^=SNCB-]`` and uses it as a CSS selector; so after the
layout is done each container gets ``SNCB-`` plus its need's id (``SNCB-F25``),
or, for a container without a need id, its position on the page. The ids stay
unique on a page and keep the prefix the script looks for. No sphinx-needs code
is replaced: this is a doctree pass after sphinx-needs' own.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

PREFIX = "SNCB-"
#: A need id usable in a CSS ``#id`` selector as the collapse script builds it.
_CSS_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def stabilise_container_ids(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Replace the random ``SNCB-`` ids of a resolved page with ids derived from its needs."""
    taken: set[str] = set()
    position = 0
    for container in doctree.findall(nodes.container):
        ids = container["ids"]
        if not any(i.startswith(PREFIX) for i in ids):
            continue
        position += 1
        table = next((t for t in container.findall(nodes.table) if "need" in t["classes"]), None)
        need_id = next((i for i in (table["ids"] if table is not None else []) if _CSS_SAFE.fullmatch(i)), None)
        stable = f"{PREFIX}{need_id}" if need_id else f"{PREFIX}{position}"
        if stable in taken:
            stable = f"{stable}-{position}"
        taken.add(stable)
        container["ids"] = [stable if i.startswith(PREFIX) else i for i in ids]


def setup(app: Sphinx) -> dict[str, Any]:
    # After sphinx-needs lays needs out (doctree-resolved at the default 500) and before
    # kbgen.sphinxext.searchable moves each need's id from its table onto its heading (600).
    app.connect("doctree-resolved", stabilise_container_ids, priority=550)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
