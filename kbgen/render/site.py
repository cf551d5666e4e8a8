"""All generated pages of a site: relative path (under the generated folder) → MyST text."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from kbgen.config import Options
from kbgen.model import Snapshot
from kbgen.render import pages
from kbgen.render.deps import with_dependency_digests
from kbgen.render.pages import SiteLayout, SiteView

#: Extra page producers (dashboards, reports) register here: view → {relpath: text}.
PageProducer = Callable[[SiteView, Options], dict[str, str]]
EXTRA_PRODUCERS: list[PageProducer] = []


def _producers() -> list[PageProducer]:
    from kbgen.render.dashboard import dashboard

    return [dashboard, *EXTRA_PRODUCERS]


def render_site(snap: Snapshot, options: Options, domain_docs: dict[str, Path]) -> dict[str, str]:
    """Every generated page. ``domain_docs`` maps domain name → its analysis.md path."""
    layout = SiteLayout(root=options.generated_subdir)
    view = SiteView(snap, layout, graph_max_nodes=options.graph_max_nodes)
    out: dict[str, str] = {}

    def put(docname: str, text: str) -> None:
        rel = docname.removeprefix(layout.root + "/")
        out[rel if rel.endswith((".md", ".json")) else rel + ".md"] = text

    for s in snap.sessions:
        put(layout.session(s), pages.session_page(view, s))
    for docname, text in pages.sessions_index(view).items():
        put(docname, text)
    for f in view.page_files:
        put(layout.file(f), pages.file_page(view, f))
    put(f"{layout.root}/files/other", pages.other_files_page(view))
    for docname, text in pages.files_pages(view).items():
        put(docname, text)
    unsessioned = pages.unsessioned_findings_page(view)
    extra_toc = []
    if unsessioned is not None:
        put(f"{layout.root}/findings/unsessioned", unsessioned)
        extra_toc.append(f"/{layout.root}/findings/unsessioned")
    generated_domains = options.generated_path / "domains"
    for d in snap.domains:
        doc = domain_docs.get(d.name)
        if doc is None:
            continue
        slug = view.domain_slugs[d.name]
        include = Path(os.path.relpath(doc, generated_domains)).as_posix()
        put(layout.domain(slug), pages.domain_page(view, d.name, include))
    put(f"{layout.root}/domains/index", pages.domains_index(view))
    put(f"{layout.root}/traceability", pages.traceability_page(view))
    for producer in _producers():
        for rel, text in producer(view, options).items():
            out[rel] = text
            if rel.endswith(".md") and rel.count("/") == 0 and rel != "index.md":
                extra_toc.append(f"/{layout.root}/{rel[:-3]}")
    out["_labels.json"] = pages.labels_json(view)
    put(f"{layout.root}/index", pages.kb_index(view, extra_toc))
    return with_dependency_digests(out, json.loads(out["_labels.json"]))
