"""Dependency graphs: what each graph shows, its Graphviz DOT, and the directive that shows it.

Model first, syntax last: :func:`file_neighbourhood`, :func:`domain_network`
and :func:`package_network` choose what a graph shows (bounded to
``max_nodes`` so a page stays readable, keeping the best-connected files and
counting what was left out); :func:`to_dot` writes DOT; :func:`directive`
names the graph's SVG file (:mod:`kbgen.render.graph_svg`, drawn by ``kbgen
sync``) in a ``{kbgen-graph}`` directive that shows it inline, and records
the DOT on the view so the sync can draw it.

Everything from the database reaches DOT only through :func:`dot_string`
(a quoted string with backslashes, quotes, ampersands and line breaks
escaped), node IDs are kbgen's own (``f12``, ``p3``), and URLs are kbgen's
own links to file pages, relative to the page that shows the graph (the SVG
is inline in that page). The directive's ``:alt:`` is made of kbgen's words
and numbers only (:func:`safe_alt`).
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kbgen import analysis, vocab
from kbgen.model import Dependency, File
from kbgen.render import escape, graph_svg
from kbgen.render.myst import Md
from kbgen.render.view import DEFAULT_GRAPH_MAX_NODES, SiteView
from kbgen.wording import count, verb

DEFAULT_MAX_NODES = DEFAULT_GRAPH_MAX_NODES
NODE_LABEL_MAX = 40
EDGE_LABEL_MAX = 48
DEPTH_STYLE: dict[str, str] = {
    "DEEP": 'style="rounded,filled", fillcolor="#3b6ea5", fontcolor="white"',
    "MEDIUM": 'style="rounded,filled", fillcolor="#9ecae1"',
    "SURFACE": 'style="rounded,filled", fillcolor="#deebf7"',
    "MENTIONED": 'style="rounded,dashed"',
    "NOT_TOUCHED": 'style="rounded,dashed", color="#888888", fontcolor="#555555"',
    "EXCLUDED": 'style="rounded,dotted", color="#aaaaaa", fontcolor="#777777"',
}
_NOT_XML = re.compile("[\ufffe\uffff]")


def dot_string(text: object, limit: int = 0) -> str:
    """Database text as a DOT quoted string that Graphviz shows literally: one line, escapes escaped.

    Graphviz reads ``\\n``, ``\\l`` and friends inside labels as escapes, so
    every backslash is doubled; a quote is the only character that ends the
    string, so it gets a backslash too. Graphviz also decodes HTML entities
    (``&lt;``, ``&#45;``) in labels and tooltips, so ``&`` becomes ``&amp;``
    and the text shows as written. U+FFFE and U+FFFF are dropped: they are
    not allowed in XML, so an SVG holding them would not load.
    """
    value = " ".join(_NOT_XML.sub("", escape.clean(text)).split())
    if limit and len(value) > limit:
        value = value[: limit - 1] + "…"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;") + '"'


def safe_alt(text: str) -> str:
    """Alt text safe for raw HTML and a one-line directive option: word characters and simple punctuation."""
    return re.sub(r"[^\w .,:;()/+%-]", "", " ".join(text.split()))


def short_path(path: str, limit: int = NODE_LABEL_MAX) -> str:
    """The tail of a path that fits a node label (``…/src/core/x.ts``)."""
    if len(path) <= limit:
        return path
    parts = path.split("/")
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + len(tail) + 2 > limit:
            break
        tail = f"{part}/{tail}"
    return "…/" + tail if len(tail) + 2 <= limit else tail[: limit - 1] + "…"


# -- model --------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    id: str
    label: str
    tooltip: str
    url: str = ""
    style: str = ""
    highlight: bool = False


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    dashed: bool = False


@dataclass(frozen=True)
class Graph:
    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    alt: str
    left_out_nodes: int = 0
    left_out_edges: int = 0
    note_extra: tuple[str, ...] = field(default_factory=tuple)

    @property
    def note(self) -> str:
        """One line saying what the graph shows and what it leaves out."""
        shown = f"{count(len(self.nodes), 'node')} and {count(len(self.edges), 'edge')} shown"
        if self.left_out_nodes or self.left_out_edges:
            shown += (f"; {count(self.left_out_nodes, 'more node', 'more nodes')} and "
                      f"{count(self.left_out_edges, 'more edge', 'more edges')} left out "
                      "(kept: grown from the best-connected files)")
        return "; ".join([shown, *self.note_extra]) + "."


def page_url(view: SiteView, from_docname: str, f: File) -> str:
    """The HTML of a file's page relative to the page the graph sits on ('' when it has none)."""
    if f.id not in view.page_file_ids:
        return ""
    target = view.layout.file(f) + ".html"
    return posixpath.relpath(target, posixpath.dirname(from_docname) or ".")


def _file_node(view: SiteView, from_docname: str, f: File, *, highlight: bool = False) -> Node:
    return Node(id=f"f{f.id}", label=f"{short_path(f.path)}\n{f.package}", tooltip=f"{f.package}: {f.path} ({f.depth})",
                url=page_url(view, from_docname, f), style=DEPTH_STYLE.get(f.depth, ""), highlight=highlight)


def _edges(deps: Iterable[Dependency], keep: set[int]) -> list[Edge]:
    """Edges between kept files, parallel ones merged (relationships joined; dashed if any is unverified)."""
    merged: dict[tuple[int, int], list[Dependency]] = defaultdict(list)
    for d in deps:
        if d.source_file_id in keep and d.target_file_id in keep and d.source_file_id != d.target_file_id:
            merged[(d.source_file_id, d.target_file_id)].append(d)
    return [Edge(f"f{s}", f"f{t}", ", ".join(sorted({d.relationship for d in ds})),
                 dashed=not all(d.verified for d in ds))
            for (s, t), ds in sorted(merged.items())]


def _rank(view: SiteView, ids: Iterable[int], degree: Counter[int]) -> list[int]:
    """Best-connected first; then files with pages, deeper reads, id (stable)."""
    snap = view.snap
    return sorted(ids, key=lambda i: (-degree[i], -vocab.depth_rank(snap.file_by_id[i].depth), i))


def _grow(ranked: Sequence[int], adjacent: dict[int, set[int]], max_nodes: int) -> list[int]:
    """Up to ``max_nodes`` files, grown from the best-connected outward along edges.

    Keeping the top files by degree alone leaves many of them without any
    drawn edge (their partners fall outside the budget); growing along edges
    keeps what is drawn connected. A new cluster starts from the next
    best-connected file only when at least two slots are left.
    """
    position = {n: i for i, n in enumerate(ranked)}
    kept: list[int] = []
    seen: set[int] = set()
    for seed in ranked:
        if len(kept) >= max_nodes - 1 and kept:
            break
        if seed in seen:
            continue
        frontier = {seed}
        while frontier and len(kept) < max_nodes:
            best = min(frontier, key=position.__getitem__)
            frontier.discard(best)
            kept.append(best)
            seen.add(best)
            frontier |= adjacent.get(best, set()) - seen
    return kept


def file_neighbourhood(view: SiteView, f: File, from_docname: str, max_nodes: int = DEFAULT_MAX_NODES) -> Graph | None:
    """The file and its direct dependency neighbours (None when it has no edge)."""
    snap = view.snap
    deps = [*snap.deps_out.get(f.id, ()), *snap.deps_in.get(f.id, ())]
    deps = [d for d in deps if d.source_file_id in snap.file_by_id and d.target_file_id in snap.file_by_id]
    neighbours = {d.target_file_id if d.source_file_id == f.id else d.source_file_id for d in deps} - {f.id}
    if not neighbours:
        return None
    degree: Counter[int] = Counter()
    for n in neighbours:
        degree[n] = len(snap.deps_out.get(n, ())) + len(snap.deps_in.get(n, ()))
    kept = _rank(view, neighbours, degree)[: max(max_nodes - 1, 1)]
    keep = {f.id, *kept}
    edges = _edges(deps, keep)
    all_edges = _edges(deps, {f.id, *neighbours})
    nodes = [_file_node(view, from_docname, f, highlight=True),
             *(_file_node(view, from_docname, snap.file_by_id[i]) for i in sorted(kept))]
    return Graph(name="file", nodes=tuple(nodes), edges=tuple(edges),
                 alt=f"Dependency graph of this file: {len(nodes) - 1} of "
                     f"{count(len(neighbours), 'neighbouring file')}, {count(len(edges), 'edge')}",
                 left_out_nodes=len(neighbours) - len(kept), left_out_edges=len(all_edges) - len(edges))


def domain_network(view: SiteView, name: str, from_docname: str, max_nodes: int = DEFAULT_MAX_NODES) -> Graph | None:
    """Dependency edges inside one domain, its best-connected files (None when it has none)."""
    snap = view.snap
    members = {f.id for f in snap.files_of_domain.get(name, ())}
    inside = [d for d in snap.dependencies
              if d.source_file_id in members and d.target_file_id in members and d.source_file_id != d.target_file_id]
    crossing = sum(1 for d in snap.dependencies if (d.source_file_id in members) != (d.target_file_id in members))
    if not inside:
        return None
    degree: Counter[int] = Counter()
    adjacent: dict[int, set[int]] = defaultdict(set)
    for d in inside:
        degree[d.source_file_id] += 1
        degree[d.target_file_id] += 1
        adjacent[d.source_file_id].add(d.target_file_id)
        adjacent[d.target_file_id].add(d.source_file_id)
    kept = _grow(_rank(view, degree, degree), adjacent, max_nodes)
    edges = _edges(inside, set(kept))
    all_edges = _edges(inside, set(degree))
    nodes = [_file_node(view, from_docname, snap.file_by_id[i]) for i in sorted(kept)]
    extra = (f"{count(crossing, 'edge')} {verb(crossing, 'crosses', 'cross')} the domain boundary (not drawn)",
             ) if crossing else ()
    return Graph(name="domain", nodes=tuple(nodes), edges=tuple(edges),
                 alt=f"Dependency graph inside the domain: {len(nodes)} of {count(len(degree), 'connected file')}, "
                     f"{len(edges)} of {count(len(all_edges), 'edge')}",
                 left_out_nodes=len(degree) - len(kept), left_out_edges=len(all_edges) - len(edges),
                 note_extra=extra)


def package_network(view: SiteView, links: Sequence[analysis.PackageLink], coverage: Sequence[analysis.Coverage],
                    max_nodes: int = DEFAULT_MAX_NODES) -> Graph | None:
    """Packages and their edges: declared ones solid, those seen only in file edges dashed."""
    if not links:
        return None
    degree: Counter[str] = Counter()
    for link in links:
        degree[link.source] += 1
        degree[link.target] += 1
    kept = sorted(sorted(degree, key=lambda n: (-degree[n], n))[:max_nodes])
    ids = {n: f"p{i}" for i, n in enumerate(kept)}
    cov = {c.name: c for c in coverage}
    nodes = []
    for n in kept:
        c = cov.get(n)
        facts = "" if c is None else f"{count(c.files, 'file')}, " + (
            f"{c.percent:.0f}% read" if c.has_coverage else analysis.coverage_text(c))
        nodes.append(Node(id=ids[n], label=f"{label_text(n)}\n{facts}".strip(), tooltip=n))
    edges = []
    for link in links:
        if link.source in ids and link.target in ids:
            parts = list(link.relationships)
            if link.file_edges:
                parts.append(count(link.file_edges, "file edge"))
            edges.append(Edge(ids[link.source], ids[link.target], ", ".join(parts), dashed=not link.relationships))
    return Graph(name="packages", nodes=tuple(nodes), edges=tuple(edges),
                 alt=f"Package dependency map: {count(len(nodes), 'package')}, {count(len(edges), 'edge')}",
                 left_out_nodes=len(degree) - len(kept), left_out_edges=len(links) - len(edges))


def label_text(text: str) -> str:
    return " ".join(escape.clean(text).split())


# -- syntax -------------------------------------------------------------------------

def to_dot(graph: Graph) -> str:
    """DOT text: kbgen's IDs and attribute names, every database string through :func:`dot_string`."""
    lines = [f"digraph {graph.name} {{",
             '  graph [rankdir=LR, fontname="DejaVu Sans", fontsize=10, overlap=false, splines=true];',
             '  node [shape=box, fontname="DejaVu Sans", fontsize=9, style="rounded"];',
             '  edge [fontname="DejaVu Sans", fontsize=8, color="#555555"];']
    for n in graph.nodes:
        attrs = [f"label={dot_label(n.label)}", f"tooltip={dot_string(n.tooltip, 300)}"]
        if n.url:
            attrs.append(f"URL={dot_string(n.url)}")
        if n.style:
            attrs.append(n.style)
        if n.highlight:
            attrs.append("penwidth=2.5")
        lines.append(f"  {n.id} [{', '.join(attrs)}];")
    for e in graph.edges:
        attrs = [f"label={dot_string(e.label, EDGE_LABEL_MAX)}"] if e.label else []
        if e.dashed:
            attrs.append('style="dashed"')
        lines.append(f"  {e.source} -> {e.target}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines)


def dot_label(text: str) -> str:
    """A multi-line label: each line escaped, joined with Graphviz's centred line break."""
    return "\"" + "\\n".join(dot_string(line, NODE_LABEL_MAX)[1:-1] for line in text.split("\n")) + "\""


def directive(view: SiteView, graph: Graph) -> Md:
    """The ``{kbgen-graph}`` directive showing the graph's SVG, and the line saying what was left out.

    The SVG's path is absolute from the Sphinx source folder, so it resolves
    the same in a fragment another page includes (the dashboard's package map).
    """
    dot = to_dot(graph)
    rel = graph_svg.svg_relpath(dot)
    view.graph_sources[rel] = dot
    return Md(f"```{{kbgen-graph}} /{view.layout.root}/{rel}\n:alt: {safe_alt(graph.alt)}\n```\n\n"
              f"{escape.inline(graph.note)}\n")


def file_graph(view: SiteView, f: File, max_nodes: int = DEFAULT_MAX_NODES) -> Md:
    """The graph section of a file page ('' when the file has no dependency edge)."""
    graph = file_neighbourhood(view, f, view.layout.file(f), max_nodes)
    if graph is None:
        return Md("")
    return Md("### Dependency graph\n\n" + directive(view, graph))


def domain_graph(view: SiteView, name: str, max_nodes: int = DEFAULT_MAX_NODES) -> Md:
    """The graph section of a domain page ('' when no edge joins two of its files)."""
    docname = view.layout.domain(view.domain_slugs[name])
    graph = domain_network(view, name, docname, max_nodes)
    if graph is None:
        return Md("")
    return Md("## Dependency graph\n\n" + directive(view, graph))
