"""Dependency digests: make every page's source change when what Sphinx resolves on it changes.

Sphinx re-reads and re-writes only pages whose source changed. A kbgen page
also shows things Sphinx resolves from *other* pages at write time: the
incoming links of the needs it defines ("answered by", "depended on by"; not
those the need's details leave out, :data:`kbgen.needs_model.UNLISTED_INCOMING`),
the location of every need it links to, and — on domain pages — the findings
that finding labels link to. This pass gathers those facts and appends a MyST
comment line holding their digest (``% kbgen-deps: …``, invisible on the
site). When any of them changes the page's bytes change, ``kbgen sync``
rewrites it, and an incremental build re-reads exactly the pages that need it
— no ``-a``, no stale links.

The need graph (which page defines which need, and every need's links) comes
from the snapshot (:func:`kbgen.render.pages.needs_by_page`), never from the
written text: a description that happens to contain ``:answers: F1`` is data,
not a link. What a page links to is what its text says: the targets of its
:func:`~kbgen.render.myst.need_link` links (:func:`~kbgen.render.myst.referenced_needs`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence

from kbgen.needs_model import UNLISTED_INCOMING
from kbgen.render.myst import referenced_needs
from kbgen.vocab import LABEL_RE

DIGEST_PREFIX = "% kbgen-deps: "

#: Page (relative path) → the needs it defines, in page order: (need ID, link name → target IDs).
NeedsByPage = Mapping[str, Sequence[tuple[str, Mapping[str, Sequence[str]]]]]


def with_dependency_digests(pages: dict[str, str], needs: NeedsByPage, labels: dict[str, dict[str, str]],
                            domain_pages: Mapping[str, str],
                            registry_pages: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pages with a digest line appended to every MyST page that depends on others.

    ``labels`` is domain → finding label → finding need ID; ``domain_pages`` is the page
    (relative path) of each domain page → its domain name, ``registry_pages`` the same for the
    pages of a domain's registries (:mod:`kbgen.render.registry_pages`). A domain page depends
    on every label of its domain (the document's human text may name any); a registry page only
    on the labels its text shows, so a new finding leaves the other pages of the registry alone.
    """
    defined_on = {need_id: rel for rel, items in needs.items() for need_id, _ in items}
    incoming: dict[str, list[str]] = defaultdict(list)
    for items in needs.values():
        for need_id, links in items:
            for link, targets in links.items():
                if link in UNLISTED_INCOMING:
                    continue
                for target in targets:
                    incoming[target].append(f"{link}:{need_id}")
    result = dict(pages)
    for rel, text in pages.items():
        if not rel.endswith((".md", ".inc")):
            continue
        facts: list[str] = []
        for need_id, _ in needs.get(rel, ()):
            facts += [f"in {need_id} {source}" for source in sorted(incoming.get(need_id, ()))]
        facts += sorted({f"ref {target} {defined_on.get(target, '?')}" for target in referenced_needs(text)})
        domain = domain_pages.get(rel)
        if domain is not None:
            for label, finding in sorted(labels.get(domain, {}).items()):
                facts.append(f"label {label} {finding} {defined_on.get(finding, '?')}")
        domain = registry_pages.get(rel) if registry_pages else None
        if domain is not None:
            known = labels.get(domain, {})
            for label in sorted({m.group(0) for m in LABEL_RE.finditer(text)} & known.keys()):
                facts.append(f"label {label} {known[label]} {defined_on.get(known[label], '?')}")
        if facts:
            digest = hashlib.sha256("\n".join(facts).encode("utf-8")).hexdigest()[:20]
            result[rel] = text.rstrip("\n") + f"\n\n{DIGEST_PREFIX}{digest}\n"
    return result
