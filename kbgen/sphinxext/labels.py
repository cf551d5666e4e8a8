"""Finding labels (C3, H12, ...) in domain documents become links to their findings.

Domain documents stay plain, readable markdown; on the site every label
token in them — in generated registries and in human prose alike — links to
the finding need. The label map is written by ``kbgen sync`` next to the
generated pages (``_labels.json``); documents carry ``kbgen-domain`` in their
front matter / metadata via the generated wrapper page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

from kbgen.vocab import LABEL_RE

LABELS_FILE = "_labels.json"


class LinkFindingLabels(SphinxPostTransform):
    """Turn ``C3`` in a domain page's text into a reference to the finding's page."""

    default_priority = 900

    def run(self, **kwargs: Any) -> None:
        domain = self.env.metadata.get(self.env.docname, {}).get("kbgen-domain")
        if not domain:
            return
        labels = _load_labels(self.app).get(str(domain), {})
        if not labels:
            return
        needs = _needs_locations(self.app)
        builder = self.app.builder
        for text in list(self.document.findall(nodes.Text)):
            parent = text.parent
            if parent is None or isinstance(parent, nodes.literal | nodes.literal_block | nodes.reference
                                            | nodes.raw | nodes.comment):
                continue
            value = str(text)
            if not LABEL_RE.search(value):
                continue
            pieces: list[nodes.Node] = []
            last = 0
            for match in LABEL_RE.finditer(value):
                finding_id = labels.get(match.group(0))
                location = needs.get(finding_id) if finding_id else None
                if not finding_id or not location:
                    continue
                pieces.append(nodes.Text(value[last:match.start()]))
                uri = builder.get_relative_uri(self.env.docname, location) + "#" + finding_id
                ref = nodes.reference("", match.group(0), refuri=uri, internal=True,
                                      classes=["kbgen-label"], reftitle=finding_id)
                pieces.append(ref)
                last = match.end()
            if not pieces:
                continue
            pieces.append(nodes.Text(value[last:]))
            parent.replace(text, pieces)


def _load_labels(app: Sphinx) -> dict[str, dict[str, str]]:
    cached: dict[str, dict[str, str]] | None = getattr(app, "_kbgen_labels", None)
    if cached is None:
        cached = {}
        for path in Path(app.srcdir).glob(f"**/{LABELS_FILE}"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for domain, mapping in data.items():
                cached.setdefault(domain, {}).update(mapping)
        app._kbgen_labels = cached  # type: ignore[attr-defined]
    return cached


def _needs_locations(app: Sphinx) -> dict[str, str]:
    """Need ID → the page defining it, made once per write phase.

    Every domain page and registry page asks for it, and it walks every need of
    the site: made again for each, it grew with the site times the pages a
    build writes. Needs change only while pages are read, so it is forgotten
    when reading starts and when it ends (:func:`_forget_needs_locations`).
    """
    cached: dict[str, str] | None = getattr(app, _LOCATIONS_ATTR, None)
    if cached is not None:
        return cached
    from sphinx_needs.data import SphinxNeedsData

    try:
        needs = SphinxNeedsData(app.env).get_needs_view()
    except Exception:  # sphinx-needs internals vary; labels then stay plain text
        return {}
    cached = {nid: str(need["docname"]) for nid, need in needs.items() if need.get("docname")}
    setattr(app, _LOCATIONS_ATTR, cached)
    return cached


_LOCATIONS_ATTR = "_kbgen_needs_locations"


def _forget_needs_locations(app: Sphinx, *args: object) -> list[str]:
    setattr(app, _LOCATIONS_ATTR, None)
    return []


def setup(app: Sphinx) -> None:
    app.add_post_transform(LinkFindingLabels)
    app.connect("env-before-read-docs", _forget_needs_locations)
    app.connect("env-updated", _forget_needs_locations)
