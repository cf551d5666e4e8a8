"""The ``{kbgen-graph}`` directive: a dependency graph's SVG, inline in the page.

``kbgen sync`` draws every graph itself (:mod:`kbgen.render.graph_svg`) and
writes it under ``<generated>/graphs/``; a page names the file::

    ```{kbgen-graph} /kb/graphs/0123abcd.svg
    :alt: Dependency graph of this file: 3 of 3 neighbouring files, 3 edges
    ```

and the HTML holds the SVG itself, so node links are relative to the page
(an ``<img>`` would show no links; an ``<object>`` would resolve them from the
image folder), the page's CSS styles it, and Sphinx runs no Graphviz. kbgen
writes the path absolute from the source folder, so it resolves the same in
a fragment another page includes (a relative path is taken from the page
being read). The file is read when the page is written
and noted as a dependency of the page; it is trusted like any file in the
source folder (kbgen's own files are rebuilt from a whitelist at sync time).
The wrapper carries the alt text as the figure's accessible name and keeps
the drawing out of Pagefind's index (node labels would make every neighbour's
page a hit); Sphinx's own index sees no text in it either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxTranslator

logger = logging.getLogger(__name__)


class kbgen_graph(nodes.General, nodes.Element):  # type: ignore[misc]  # docutils names node classes in lower case
    """A graph: ``path`` (relative to the source folder) and ``alt``."""


class GraphDirective(SphinxDirective):
    required_arguments = 1
    has_content = False
    option_spec = {"alt": directives.unchanged}  # noqa: RUF012 - the docutils interface

    def run(self) -> list[nodes.Node]:
        rel, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        if not Path(path).is_file():
            return [self.state.document.reporter.warning(
                f"kbgen-graph: no such file {self.arguments[0]!r} (run kbgen sync)", line=self.lineno)]
        self.env.note_dependency(rel)
        node = kbgen_graph(path=rel, alt=self.options.get("alt", ""))
        self.set_source_info(node)
        return [node]


def visit_html(translator: SphinxTranslator, node: kbgen_graph) -> None:
    svg = (Path(translator.builder.srcdir) / node["path"]).read_text(encoding="utf-8")
    if not svg.startswith("<svg "):  # e.g. emptied by a power cut after a sync: the next sync redraws it
        logger.warning("kbgen-graph: %s is not an SVG drawing (run kbgen sync)", node["path"], location=node)
        raise nodes.SkipNode
    attrs: dict[str, Any] = {"CLASS": "kbgen-graph", "role": "figure", "data-pagefind-ignore": ""}
    if node["alt"]:
        attrs["aria-label"] = node["alt"]
    translator.body.append(translator.starttag(node, "div", **attrs) + svg + "</div>\n")  # type: ignore[attr-defined]
    raise nodes.SkipNode


def visit_text(translator: SphinxTranslator, node: kbgen_graph) -> None:
    """The text builder shows the alt text."""
    translator.add_text(f"[{node['alt'] or 'graph'}]")  # type: ignore[attr-defined]
    raise nodes.SkipNode


def skip(translator: SphinxTranslator, node: kbgen_graph) -> None:
    """LaTeX, man and Texinfo output leave graphs out."""
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(kbgen_graph, html=(visit_html, None), text=(visit_text, None), latex=(skip, None),
                 man=(skip, None), texinfo=(skip, None))
    app.add_directive("kbgen-graph", GraphDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
