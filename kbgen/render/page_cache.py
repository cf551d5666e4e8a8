"""Pages kept, not rendered again, when their inputs did not change.

A sync renders every page before it can tell which changed; at campaign scale
most of them are file and session pages, and a new session changes a handful. The
inputs of each file page, session page and chart are digested
(:func:`kbgen.render.pages.file_page_inputs`, :func:`~kbgen.render.pages.session_page_inputs`,
the chart's data in :mod:`kbgen.render.dashboard`) and the digest
is stored after the sync, with a digest of the page's text as rendered (before the
dependency digest line of :mod:`kbgen.render.deps` is appended) and the graphs the
page shows. On the next sync a page whose inputs digest the same is taken from the
file on disk, its dependency line stripped, provided the result still digests as
stored: a deleted, truncated or hand-edited page is rendered again.

Everything the pages share is the cache's salt: kbgen's code fingerprint
(:mod:`kbgen.fingerprint`), the options, the layout, and the versions of Python and of
the libraries whose output lands in a page or chart. Another kbgen, another configuration,
another matplotlib: every page is rendered. The cache lives next to the manifest in
the generated folder (``.kbgen-pages.json``, machine-local like the sync state).

``KBGEN_PAGE_CACHE_VERIFY=1`` renders the pages the cache would keep as well and
raises when the two differ: the test suite's guard against an input the digest forgot.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbgen.outputs import write_if_changed
from kbgen.render.deps import DIGEST_PREFIX

CACHE_NAME = ".kbgen-pages.json"
VERIFY_ENV = "KBGEN_PAGE_CACHE_VERIFY"
_FORMAT = 1


class StaleCacheEntry(AssertionError):
    """A page the cache kept differs from the page rendered again (``KBGEN_PAGE_CACHE_VERIFY``)."""


@dataclass(frozen=True)
class Entry:
    """What is kept of one page: its inputs' digest, its text's digest and trailing newlines, its graphs."""

    inputs: str
    text: str
    tail: int
    graphs: dict[str, str]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_stamped(path: Path, fmt: int, salt: str) -> dict[str, Any] | None:
    """A cache file's data when it is JSON of format ``fmt`` made with ``salt``; else None (start afresh).

    Shared by the caches that keep a sync's work (this one, :mod:`kbgen.render.domain_cache`).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != fmt or data.get("salt") != salt:
        return None
    return data


def input_digest(inputs: str) -> str:
    return _sha(inputs)


def without_dependency_line(text: str) -> str:
    """A written page without the line :func:`kbgen.render.deps.with_dependency_digests` appends, right-stripped."""
    body = text.rstrip("\n")
    cut = body.rfind("\n")
    if body[cut + 1:].startswith(DIGEST_PREFIX):
        body = body[:cut].rstrip("\n")
    return body


@dataclass
class PageCache:
    """The pages of the last sync, by relative path under the generated folder."""

    root: Path
    salt: str
    entries: dict[str, Entry] = field(default_factory=dict)
    #: What this sync rendered or kept: what :meth:`save` stores.
    fresh: dict[str, Entry] = field(default_factory=dict)
    kept: int = 0
    #: Each page kept, as its file is on disk: the length of its text before the trailing newlines
    #: and dependency line, and what follows it (:meth:`on_disk`).
    kept_files: dict[str, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path, salt: str) -> PageCache:
        cache = cls(root, salt)
        data = read_stamped(root / CACHE_NAME, _FORMAT, salt)
        if data is None:
            return cache
        try:
            cache.entries = {rel: Entry(str(e[0]), str(e[1]), int(e[2]), {str(k): str(v) for k, v in e[3].items()})
                             for rel, e in data["pages"].items()}
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            cache.entries = {}
        return cache

    def page(self, rel: str, inputs: str,
             render: Callable[[], tuple[str, dict[str, str]]]) -> tuple[str, dict[str, str]]:
        """The page at ``rel`` and its graphs: kept from disk when ``inputs`` are the last sync's, else rendered."""
        key = input_digest(inputs)
        kept = self._kept(rel, key)
        if kept is not None and os.environ.get(VERIFY_ENV):
            rendered = render()
            if rendered != kept:
                raise StaleCacheEntry(f"{rel}: the page kept by the cache differs from the page rendered again: "
                                      "its inputs (kbgen.render.pages, *_inputs) miss something it shows")
        if kept is None:
            text, graphs = render()
        else:
            text, graphs = kept
            self.kept += 1
        self.fresh[rel] = Entry(key, _sha(text), len(text) - len(text.rstrip("\n")), dict(graphs))
        return text, graphs

    def _kept(self, rel: str, key: str) -> tuple[str, dict[str, str]] | None:
        entry = self.entries.get(rel)
        if entry is None or entry.inputs != key:
            return None
        try:
            written = (self.root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        body = without_dependency_line(written)
        text = body + "\n" * entry.tail
        if _sha(text) != entry.text:
            return None
        if entry.graphs:  # a graph's file is named by its DOT: a DOT that does not match is no page's
            from kbgen.render.graph_svg import svg_relpath

            if any(svg_relpath(dot) != graph for graph, dot in entry.graphs.items()):
                return None
        self.kept_files[rel] = (len(body), written[len(body):])
        return text, dict(entry.graphs)

    def on_disk(self, rel: str, final: str) -> bool:
        """Whether ``final``, the page at ``rel`` as the sync writes it, is the file just read for it.

        The page was kept: its text is the file's without the trailing newlines and dependency line,
        and :func:`kbgen.render.deps.with_dependency_digests` only ever replaces that tail, so the
        file holds ``final`` exactly when the tails match. The sync then neither reads the file
        again nor compares it byte for byte.
        """
        known = self.kept_files.get(rel)
        if known is None:
            return False
        size, tail = known
        return len(final) == size + len(tail) and final.endswith(tail)

    def save(self) -> None:
        data = {"format": _FORMAT, "salt": self.salt,
                "pages": {rel: [e.inputs, e.text, e.tail, e.graphs] for rel, e in sorted(self.fresh.items())}}
        write_if_changed(self.root / CACHE_NAME, json.dumps(data, sort_keys=True).encode("utf-8"), durable=False)


#: Libraries whose output is part of a page or chart: another version may write other bytes.
LIBRARIES = ("jinja2", "markupsafe", "matplotlib", "markdown_it")


def _versions() -> list[str]:
    """Python's version and, for each library, its package file's path, size and modification time:
    an upgrade or reinstall rewrites it. (Asking ``importlib.metadata`` costs a tenth of a second,
    importing matplotlib for its ``__version__`` more.)"""
    from importlib.util import find_spec

    out = [sys.version]
    for name in LIBRARIES:
        spec = find_spec(name)
        origin = spec.origin if spec is not None else None
        try:
            st = os.stat(origin) if origin else None
        except OSError:
            st = None
        out.append(f"{name} {origin} {st.st_size if st else '-'} {st.st_mtime_ns if st else '-'}")
    return out


def cache_salt(code: str, options: object, layout_root: str) -> str:
    """What every page shares: kbgen's code, the options, the layout, Python and the libraries that write."""
    return _sha("\n".join([code, repr(options), layout_root, *_versions()]))
