"""A page is not written again for a page it lists only in a hidden table of contents.

Before writing, Sphinx adds to the pages it writes every page whose table of contents lists one
of them (``env.files_to_rebuild``): a visible toctree shows the listed page's title and headings.
A hidden toctree shows nothing in the page's body; what it feeds is the navigation (the sidebar,
the breadcrumbs, the previous and next links), and :mod:`kbgen.sphinxext.deps` already writes again
every page whose navigation changed, from the titles in it. So a domain page, which lists its
registry and knowledge-gaps pages in a hidden toctree, is not written again when only one of those
pages was (a session that changed another domain's reads moves a gap's reason on that page).

Applied while the pages are written (``write-started`` to ``build-finished``), after the
environment is pickled, with kbgen's speedups on and on the Sphinx releases they were checked
against (:mod:`kbgen.sphinxext.speedups`).
"""

from __future__ import annotations

from typing import Any

from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.environment import BuildEnvironment

from kbgen.sphinxext import speedups

#: The environment attribute holding Sphinx's own mapping while the narrowed one is in place.
_SAVED = "_kbgen_files_to_rebuild"


def setup(app: Sphinx) -> None:
    app.connect("write-started", _narrow)
    app.connect("build-finished", _restore)


def visible_children(env: BuildEnvironment, doc: str) -> set[str]:
    """The pages ``doc`` lists in a toctree that is not hidden."""
    toc = env.tocs.get(doc)
    if toc is None:
        return set()
    shown: set[str] = set()
    for node in toc.findall(addnodes.toctree):
        if not node.get("hidden"):
            shown.update(node.get("includefiles", ()))
    return shown


def narrowed(env: BuildEnvironment) -> dict[str, set[str]]:
    """``env.files_to_rebuild`` without the pages that list a page in hidden toctrees only."""
    shown: dict[str, set[str]] = {}

    def lists_visibly(parent: str, child: str) -> bool:
        if parent not in shown:
            shown[parent] = visible_children(env, parent)
        return child in shown[parent]

    return {child: {parent for parent in parents if lists_visibly(parent, child)}
            for child, parents in env.files_to_rebuild.items()}


def _narrow(app: Sphinx, builder: Builder) -> None:
    env = app.env
    if not (speedups.enabled(app.config) and speedups.sphinx_tested()) or hasattr(env, _SAVED):
        return
    setattr(env, _SAVED, env.files_to_rebuild)
    env.files_to_rebuild = narrowed(env)


def _restore(app: Sphinx, exception: Any) -> None:
    env = app.env
    saved = getattr(env, _SAVED, None)
    if saved is not None:
        env.files_to_rebuild = saved
        delattr(env, _SAVED)
