"""Dependency digests: make every page's source change when what Sphinx resolves on it changes.

Sphinx re-reads and re-writes only pages whose source changed. A kbgen page
also shows things Sphinx resolves from *other* pages at write time: the
incoming links of the needs it defines ("answered by", "depended on by"),
the location of every need it links to, and — on domain pages — the findings
that finding labels link to. This pass computes those facts from the
generated text itself and appends a MyST comment line holding their digest
(``% kbgen-deps: …``, invisible on the site). When any of them changes the
page's bytes change, ``kbgen sync`` rewrites it, and an incremental build
re-reads exactly the pages that need it — no ``-a``, no stale links.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict

from kbgen.needs_model import LINKS

_NEED_START = re.compile(r"^:::\{(?:session|question|finding|file|domain)\} ", re.MULTILINE)
_BLOCK = re.compile(r"^:::\{(?:session|question|finding|file|domain)\} .*?^:::$", re.MULTILINE | re.DOTALL)
_ID = re.compile(r"^:id: (\S+)$", re.MULTILINE)
_LINK = re.compile(r"^:(" + "|".join(LINKS) + r"): (.+)$", re.MULTILINE)
_REF = re.compile(r"\]\(#need-([A-Za-z0-9-]+)\)")
_DOMAIN = re.compile(r"^kbgen-domain: (\".*\")$", re.MULTILINE)
DIGEST_PREFIX = "% kbgen-deps: "


def with_dependency_digests(pages: dict[str, str], labels: dict[str, dict[str, str]]) -> dict[str, str]:
    """The pages with a digest line appended to every MyST page that depends on others."""
    defined_on: dict[str, str] = {}
    defines: dict[str, list[str]] = defaultdict(list)
    incoming: dict[str, list[str]] = defaultdict(list)
    texts = {rel: text for rel, text in pages.items() if rel.endswith((".md", ".inc"))}
    for rel, text in texts.items():
        for block in _BLOCK.finditer(text):
            body = block.group(0)
            id_match = _ID.search(body)
            if id_match is None:
                continue
            need_id = id_match.group(1)
            defined_on[need_id] = rel
            defines[rel].append(need_id)
            for link in _LINK.finditer(body):
                for target in link.group(2).split(","):
                    incoming[target.strip()].append(f"{link.group(1)}:{need_id}")
    result = dict(pages)
    for rel, text in texts.items():
        facts: list[str] = []
        for need_id in defines.get(rel, ()):
            facts += [f"in {need_id} {source}" for source in sorted(incoming.get(need_id, ()))]
        facts += sorted({f"ref {target} {defined_on.get(target, '?')}" for target in _REF.findall(text)})
        domain = _DOMAIN.search(text)
        if domain:
            for label, finding in sorted(labels.get(json.loads(domain.group(1)), {}).items()):
                facts.append(f"label {label} {finding} {defined_on.get(finding, '?')}")
        if facts:
            digest = hashlib.sha256("\n".join(facts).encode("utf-8")).hexdigest()[:20]
            result[rel] = text.rstrip("\n") + f"\n\n{DIGEST_PREFIX}{digest}\n"
    return result
