"""All generated pages of a site: relative path (under the generated folder) → MyST text."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kbgen.config import Options
from kbgen.forked import run_aside
from kbgen.model import Domain, Snapshot
from kbgen.render import pages
from kbgen.render.changes import session_changes
from kbgen.render.deps import with_dependency_digests
from kbgen.render.domain_cache import DomainCache
from kbgen.render.page_cache import VERIFY_ENV, Entry, PageCache, StaleCacheEntry
from kbgen.render.registries import DomainRegistries, domain_registries
from kbgen.render.registry_pages import GAPS_PAGE, SplitDomainPage, domain_page_body
from kbgen.render.view import SiteLayout, SiteView

#: Extra page producers (dashboards, reports) register here: view → {relpath: text}.
PageProducer = Callable[[SiteView, Options], dict[str, str]]
EXTRA_PRODUCERS: list[PageProducer] = []


def _producers() -> list[PageProducer]:
    from kbgen.render.changes import latest_changes
    from kbgen.render.dashboard import dashboard

    return [latest_changes, dashboard, *EXTRA_PRODUCERS]


@dataclass(frozen=True)
class RenderedSite:
    """What a sync writes, as text: the pages, and the DOT of every graph they show."""

    #: Relative path (under the generated folder) → text: MyST pages, fragments, JSON, chart SVGs.
    pages: dict[str, str]
    #: Relative path of each graph's SVG (:func:`kbgen.render.graph_svg.svg_relpath`) → its DOT.
    graphs: dict[str, str]


def render_site(snap: Snapshot, options: Options, domain_docs: dict[str, Path],
                cache: PageCache | None = None, *, documents: Mapping[str, str] | None = None,
                registries: Mapping[str, DomainRegistries] | None = None,
                domain_cache: DomainCache | None = None) -> RenderedSite:
    """Every generated page. ``domain_docs`` maps domain name → its analysis.md path.

    ``documents`` (domain name → the document's text as the sync writes it; else read from disk) and
    ``registries`` (its registry rows, :func:`kbgen.render.registries.domain_registries`; else built
    here) say which registries go on their own pages (:mod:`kbgen.render.registry_pages`).

    With a ``cache`` (:mod:`kbgen.render.page_cache`), the file pages, session pages and charts
    whose inputs did not change since the last sync are taken from disk instead of rendered; the
    result is the same. With a ``domain_cache`` as well (:mod:`kbgen.render.domain_cache`, filled by
    :func:`kbgen.sync.render_domain_docs`), so are the registry pages of the domains it keeps.
    """
    view = SiteView(snap, SiteLayout(root=options.generated_subdir), graph_max_nodes=options.graph_max_nodes)
    # Session and file pages (about half of the rendering time when each is rendered) are rendered in a
    # forked child meanwhile, where the platform allows it (kbgen.forked); the result is the same either way.
    view.page_files  # noqa: B018 - computed once here, inherited by the child
    view.page_cache = cache
    session_changes(view)
    compute = functools.partial(_entity_pages, view, cache)
    entity_pages = run_aside(compute) if _renders_most(view, cache) else compute
    try:
        registry_pages: dict[str, str] = {}
        out = _other_pages(view, options, domain_docs, documents, registries, registry_pages,
                           cache if domain_cache is not None else None, domain_cache)
    finally:
        entities, entity_graphs, fresh, kept, kept_files = entity_pages()
    if cache is not None and fresh is not cache.fresh:  # what a forked child rendered or kept, to store
        cache.fresh.update(fresh)
        cache.kept += kept
        cache.kept_files.update(kept_files)
    out.update(entities)
    layout = view.layout
    domain_docnames = {d.name: layout.domain(view.domain_slugs[d.name]) for d in snap.domains if d.name in domain_docs}
    needs = {_relpath(layout, docname): items
             for docname, items in pages.needs_by_page(view, domain_docnames).items()}
    domain_pages = {_relpath(layout, docname): name for name, docname in domain_docnames.items()}
    # A knowledge-gaps page shows a block of the document (question texts may name any label), as the
    # domain page does: it depends on every label of its domain, the other registry pages on theirs.
    for rel in [rel for rel in registry_pages if rel.endswith(f"/{GAPS_PAGE}.md")]:
        domain_pages[rel] = registry_pages.pop(rel)
    graphs = {**view.graph_sources, **entity_graphs}
    return RenderedSite(with_dependency_digests(out, needs, json.loads(out["_labels.json"]), domain_pages,
                                                registry_pages),
                        dict(sorted(graphs.items())))


def _renders_most(view: SiteView, cache: PageCache | None) -> bool:
    """Whether most session and file pages will be rendered, not kept: the case a forked child pays for.

    With the last sync's pages in the cache (a new session, an edit) most of them are kept; the
    child then overlaps little work and costs more CPU than it saves: the pages it sends back
    pickled and the memory it copies on write as it touches the inherited snapshot.
    """
    if cache is None:
        return True
    pages = len(view.snap.sessions) + len(view.page_files)
    return len(cache.entries) < pages // 2


def _relpath(layout: SiteLayout, docname: str) -> str:
    """A page's path under the generated folder, from its docname."""
    rel = docname.removeprefix(layout.root + "/")
    return rel if rel.endswith((".md", ".json")) else rel + ".md"


class _Pages(dict[str, str]):
    """Relative path (under the generated folder) → text, filled by docname."""

    def __init__(self, layout: SiteLayout) -> None:
        super().__init__()
        self.layout = layout

    def put(self, docname: str, text: str) -> None:
        self[_relpath(self.layout, docname)] = text


def _entity_pages(view: SiteView, cache: PageCache | None
                  ) -> tuple[dict[str, str], dict[str, str], dict[str, Entry], int, dict[str, tuple[int, str]]]:
    """One page per session and per file that has one; the graphs they show; the cache's new entries.

    In a forked child the view and the cache are the child's copies, so the graphs and the
    cache's entries (with the count of pages kept and what their files hold) travel back with the pages.
    """
    out = _Pages(view.layout)
    kept_graphs: dict[str, str] = {}

    def page(docname: str, inputs: str, render: Callable[[], str]) -> None:
        assert cache is not None

        def rendered() -> tuple[str, dict[str, str]]:
            """The page and the graphs it shows (collected apart, then added to the view's)."""
            shared, view.graph_sources = view.graph_sources, {}
            try:
                return render(), dict(view.graph_sources)
            finally:
                shared.update(view.graph_sources)
                view.graph_sources = shared
        text, page_graphs = cache.page(_relpath(view.layout, docname), inputs, rendered)
        out.put(docname, text)
        kept_graphs.update(page_graphs)

    for s in view.snap.sessions:
        docname = view.layout.session(s)
        if cache is None:
            out.put(docname, pages.session_page(view, s))
            continue
        context = pages.session_context(view, s)
        page(docname, pages.session_page_inputs(view, s, context),
             lambda s=s, context=context: pages.render_session_page(view, s, context))  # type: ignore[misc]
    for f in view.page_files:
        docname = view.layout.file(f)
        if cache is None:
            out.put(docname, pages.file_page(view, f))
            continue
        page(docname, pages.file_page_inputs(view, f), lambda f=f: pages.file_page(view, f))  # type: ignore[misc]
    graphs = {**view.graph_sources, **kept_graphs}
    if cache is None:
        return out, graphs, {}, 0, {}
    return out, graphs, cache.fresh, cache.kept, cache.kept_files


def _other_pages(view: SiteView, options: Options, domain_docs: dict[str, Path],
                 documents: Mapping[str, str] | None, registries: Mapping[str, DomainRegistries] | None,
                 registry_pages: dict[str, str], cache: PageCache | None = None,
                 domain_cache: DomainCache | None = None) -> dict[str, str]:
    """Indexes, listings, domain pages, dashboards and the labels file.

    ``registry_pages`` is filled with the page (relative path) of each registry page → its domain.
    """
    snap, layout = view.snap, view.layout
    out = _Pages(layout)
    put = out.put
    for docname, text in pages.sessions_index(view).items():
        put(docname, text)
    put(f"{layout.root}/files/other", pages.other_files_page(view))
    for docname, text in pages.files_pages(view).items():
        put(docname, text)
    unsessioned = pages.unsessioned_findings_page(view)
    extra_toc = []
    if unsessioned is not None:
        put(f"{layout.root}/findings/unsessioned", unsessioned)
        extra_toc.append(f"/{layout.root}/findings/unsessioned")
    generated_domains = options.generated_path / "domains"
    verify = bool(os.environ.get(VERIFY_ENV))
    for d in snap.domains:
        doc = domain_docs.get(d.name)
        if doc is None:
            continue
        slug = view.domain_slugs[d.name]
        include = Path(os.path.relpath(doc, generated_domains)).as_posix()
        document = documents.get(d.name) if documents is not None else (
            doc.read_text(encoding="utf-8") if doc.is_file() else None)

        @functools.cache
        def split(d: Domain = d, document: str | None = document, include: str = include,
                  slug: str = slug) -> SplitDomainPage:
            """The domain page's body and registry pages, from the domain's registry rows."""
            regs = registries.get(d.name) if registries is not None else None
            if regs is None:
                regs = domain_registries(snap, d, options)
            return domain_page_body(domain=d.name, document=document, include_path=include, regs=regs,
                                    domain_docname=layout.domain(slug), folder=generated_domains / slug)
        # The domain cache of this sync, when it digested this domain's inputs (kbgen.sync.render_domain_docs).
        digested = domain_cache if (domain_cache is not None and document is not None
                                    and d.name in domain_cache.inputs) else None
        kept = digested.keeping.get(d.name) if digested is not None else None
        if kept is not None:
            body, names = kept.body, kept.pages
            if verify and (split().body, tuple(split().pages)) != (body, names):
                raise StaleCacheEntry(f"{d.name}: the domain page body kept differs from the one rendered again: its "
                                      "inputs (kbgen.render.domain_cache.domain_inputs) miss something it shows")
        else:
            body, names = split().body, tuple(split().pages)
        put(layout.domain(slug), pages.domain_page(view, d.name, body))
        for docname in names:
            rel = _relpath(layout, docname)
            if cache is not None and digested is not None and document is not None:
                text, _ = cache.page(rel, digested.page_inputs(d.name, document),
                                     lambda docname=docname, split=split: (split().pages[docname], {}))  # type: ignore[misc]
            else:
                text = split().pages[docname]
            put(docname, text)
            registry_pages[rel] = d.name
        if digested is not None and document is not None:
            digested.store(d.name, document, body, names)
    put(f"{layout.root}/domains/index", pages.domains_index(view))
    put(f"{layout.root}/traceability", pages.traceability_page(view))
    for producer in _producers():
        for rel, text in producer(view, options).items():
            out[rel] = text
            if rel.endswith(".md") and rel.count("/") == 0 and rel != "index.md":
                extra_toc.append(f"/{layout.root}/{rel[:-3]}")
    out["_labels.json"] = pages.labels_json(view)
    put(f"{layout.root}/index", pages.kb_index(view, extra_toc))
    return out
