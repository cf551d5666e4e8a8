"""kbgen's Sphinx integration: everything that runs inside ``sphinx-build``.

A knowledge base's conf.py names this package (``extensions = ["kbgen.sphinxext"]``;
the older name ``kbgen.sphinx`` still works). The modules:

* :mod:`~kbgen.sphinxext.extension` — the extension proper: need types, fields
  and links, safe defaults, theme and static files;
* :mod:`~kbgen.sphinxext.feed` — the Atom feed ``kbgen sync`` writes, copied to the
  site's root and linked from every page's head;
* :mod:`~kbgen.sphinxext.labels` — finding labels (C3, H12) in domain documents
  become links;
* :mod:`~kbgen.sphinxext.graphs` — the ``{kbgen-graph}`` directive: a
  dependency graph's SVG (drawn by ``kbgen sync``) inline in the page;
* :mod:`~kbgen.sphinxext.search` — skip Sphinx's own search index for
  Pagefind-only sites;
* :mod:`~kbgen.sphinxext.searchable` — needs as search results: head lines as
  headings with the need's id, metadata rows out of both indexes, weights;
* :mod:`~kbgen.sphinxext.sources` — a source edited without a newer modification time
  (copied with its old time, or on a machine whose file times lag its clock) is read again;
* :mod:`~kbgen.sphinxext.gcpolicy` — the garbage-collector, doctree-cache and
  exit policy for big builds;
* :mod:`~kbgen.sphinxext.gcbudget` — when the collector runs its full
  collections: one pacing, a policy for full builds and one for incremental builds;
* :mod:`~kbgen.sphinxext.speedups` — kbgen's replacements inside sphinx-needs and the
  tested-versions guard of every change kbgen makes to third-party code;
* :mod:`~kbgen.sphinxext.main` — ``python -m kbgen.sphinxext.main``, the
  sphinx-build runner ``kbgen build`` starts.

This file imports nothing from Sphinx, so the build driver (:mod:`kbgen.build`)
can share the config names below without loading Sphinx, and the extension
never imports the build driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.application import Sphinx

#: Sphinx config value that turns Sphinx's own search index off (:mod:`kbgen.sphinxext.search`).
SEARCH_INDEX_CONFIG = "kbgen_sphinx_search_index"
#: Sphinx config value (conf.py: ``kbgen_speedups = False``) that turns every build speedup off:
#: the replacements inside sphinx-needs (:mod:`kbgen.sphinxext.speedups`) and the collector,
#: doctree-cache and exit policy (:mod:`kbgen.sphinxext.gcpolicy`).
SPEEDUPS_CONFIG = "kbgen_speedups"


def setup(app: Sphinx) -> dict[str, Any]:
    """Sphinx's entry point: see :func:`kbgen.sphinxext.extension.setup`."""
    from kbgen.sphinxext.extension import setup as extension_setup

    return extension_setup(app)
