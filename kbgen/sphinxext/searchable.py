"""Needs as search results: a hit on a finding, a question or a file lands on that need.

Pagefind splits a page into sub-results at headings that carry an ``id``, and
weights headings above other text; sphinx-needs draws a need as a table whose
head line is a plain ``div``. So on HTML pages, after sphinx-needs has laid a
need out, its head line (type, title, ID) becomes a heading one level below
the section it sits in, and the need's ``id`` moves from the table onto that
heading: every link to ``#F25`` lands on the same line as before, and a search
hit inside the need is a sub-result whose URL ends in ``#F25`` and whose title
is the need's head line (kbgen.js shows the best such sub-result as the hit).

What the indexes leave out: the metadata rows of every need (``severity_raw:
…, followed_up: no, on file: FILE2397`` repeated on every finding drowned the
excerpts) get Sphinx's own ``no-search`` class, which its indexer skips and
Pagefind's ``--exclude-selectors`` names too (:data:`kbgen.pagefind.PAGEFIND_EXCLUDE`).
Weights (``data-pagefind-weight``): a need's head line counts like a page
title, the text of a finding or question twice a normal word.

Digests are left out too: a session page's "Changes in this session" section
repeats, in a few lines, verdicts and paths that the page's own needs hold in
full. Indexed, the digest sits under the session's heading, so a search for a
finding's words landed on the session instead of on the finding.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.writers.html5 import HTML5Translator

#: Class Sphinx's indexer skips (sphinx.search.WordCollector); Pagefind is told to skip it too.
NO_SEARCH = "no-search"
#: Pagefind weights: a need's head line (ID, type, title) and the text of findings and questions.
HEAD_WEIGHT = "7"
TEXT_WEIGHT = "2"
WEIGHTED_TYPES = ("needs_type_finding", "needs_type_question")
#: Titles of generated sections that only repeat what the page's needs say
#: (``kbgen/render/templates/session_changes.md.j2``).
DIGEST_TITLES = frozenset({"Changes in this session"})


class need_heading(nodes.Element):  # type: ignore[misc]  # (docutils node classes are lower case)
    """A need's head line, written as ``<hN id="F25" class="kb-need-head">``."""


class search_weight(nodes.Element):  # type: ignore[misc]
    """Content Pagefind weighs more than ordinary text, written as ``<div data-pagefind-weight=…>``."""


def visit_need_heading(self: HTML5Translator, node: need_heading) -> None:
    self.body.append(self.starttag(node, f"h{node['level']}", "", **{"data-pagefind-weight": HEAD_WEIGHT}))


def depart_need_heading(self: HTML5Translator, node: need_heading) -> None:
    self.body.append(f"</h{node['level']}>")


def visit_search_weight(self: HTML5Translator, node: search_weight) -> None:
    self.body.append(self.starttag(node, "div", "", **{"data-pagefind-weight": node["weight"]}))


def depart_search_weight(self: HTML5Translator, node: search_weight) -> None:
    self.body.append("</div>")


def _section_depth(node: nodes.Node) -> int:
    depth = 0
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.section):
            depth += 1
        parent = parent.parent
    return depth


def _head_line(table: nodes.table) -> nodes.line | None:
    for block in table.findall(nodes.line_block):
        if "needs_head" in block["classes"]:
            return next((c for c in block.children if isinstance(c, nodes.line)), None)
    return None


def make_needs_searchable(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give every need table of an HTML page a heading with its id, unindexed metadata and weights."""
    if app.builder.format != "html":
        return
    for section in doctree.findall(nodes.section):
        if section.children and isinstance(section[0], nodes.title) and section[0].astext() in DIGEST_TITLES:
            section["classes"].append(NO_SEARCH)
    for table in list(doctree.findall(nodes.table)):
        classes = table["classes"]
        if "need" not in classes or not table["ids"]:
            continue
        line = _head_line(table)
        if line is None:
            continue
        heading = need_heading("", *line.children, ids=list(table["ids"]), classes=["line", "kb-need-head"],
                               level=min(6, max(2, _section_depth(table) + 1)))
        line.replace_self(heading)
        # The collapse arrows follow the heading: they are no part of the need's title.
        for button in [n for n in heading.findall(nodes.inline) if "needs_collapse" in n["classes"]]:
            button.parent.remove(button)
            heading.parent.insert(heading.parent.index(heading) + 1, button)
        table["ids"] = []
        weighted = any(c in classes for c in WEIGHTED_TYPES)
        for row in table.findall(nodes.row):
            if "meta" in row["classes"]:
                row["classes"].append(NO_SEARCH)
            elif weighted and "content" in row["classes"]:
                for entry in row.findall(nodes.entry):
                    if entry.children:
                        entry[:] = [search_weight("", *entry.children, weight=TEXT_WEIGHT)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(need_heading, html=(visit_need_heading, depart_need_heading))
    app.add_node(search_weight, html=(visit_search_weight, depart_search_weight))
    # After sphinx-needs lays needs out (process_need_nodes, doctree-resolved at the default 500).
    app.connect("doctree-resolved", make_needs_searchable, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
