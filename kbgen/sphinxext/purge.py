"""Forget every document a build re-reads before reading the first one.

Sphinx reading one process at a time forgets a document (``env-purge-doc``,
``clear_doc``) just before reading it; reading in parallel, it forgets all of
them first. The serial order lets a need move between pages wrongly: when a
file read for the first time gets a page of its own, its need leaves the shared
listing page, and the new page (``kb/files/FILE1015``) is read before the
listing (``kb/files/other``), which still holds the need, so sphinx-needs
reports a duplicate ID and the build keeps the stale copy's links. Forgetting
them all first, as the parallel read does, gives both orders the same result.
A second purge of the same document, by Sphinx's own loop, changes nothing.

With the Sphinx speedups installed, the standard domain (every label of the site)
forgets all those documents in one pass
(:func:`kbgen.sphinxext.speedups.purge_standard_domain`) instead of one whole
pass per document and purge.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from kbgen.sphinxext import speedups


def setup(app: Sphinx) -> None:
    # After the handlers that may reorder or extend the list (the default priority is 500).
    app.connect("env-before-read-docs", _purge_all, priority=900)


def _purge_all(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if speedups.sphinx_installed():
        speedups.purge_standard_domain(env, docnames)
    for docname in docnames:
        app.events.emit("env-purge-doc", env, docname)
        env.clear_doc(docname)
