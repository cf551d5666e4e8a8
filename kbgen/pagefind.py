"""The site's Pagefind search index, kept up to date at the cost of the pages that changed.

Pagefind has no incremental mode: indexing a site reads every page, and at
campaign scale that was a fixed cost of every build however small the change
(bench/README.md). Pagefind's browser library can search several bundles at once
(``mergeIndex``), so kbgen keeps two:

* the **main** bundle (``pagefind/``), an index of the whole site as it was at
  some build;
* the **delta** bundle (``pagefind-delta/``), an index of just the pages whose
  content changed since the main bundle was written, with a manifest
  (``kbgen-delta.json``) listing the main bundle's entries they replace, and
  those of pages the site no longer has.

The search page loads Pagefind through kbgen's entry module
(``_static/kbgen-pagefind/pagefind.js``), which merges the delta bundle and
drops the replaced entries from the results, so every page is found once, with
its current text. A page rewritten with new links but the same text gets from
Pagefind the very entry (same id) the main bundle holds: that entry is not
replaced, and the search page lists an entry both bundles hold once. A build
re-indexes only the pages whose indexed content changed: a page's entry depends
only on the content element Pagefind reads (pydata-sphinx-theme's article,
:data:`PAGEFIND_ROOT`), so a page Sphinx rewrote
with the same article — a new sidebar entry, say — keeps its entry. Which pages
changed is found from file stats first and content digests of the pages whose
stats changed, recorded in ``kbgen-pagefind.json`` next to the doctrees.

The delta is folded into the main bundle — the whole site indexed afresh, the
delta removed — when its pages grow past :data:`FOLD_SHARE` of the site's HTML,
on ``kbgen build --clean``, on ``kbgen publish``, and whenever the main bundle
cannot be trusted (missing, written by another Pagefind release or with other
options). What each costs is measured in bench/README.md.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kbgen.errors import EnvironmentProblem

#: Where Pagefind writes its bundle inside the site.
PAGEFIND_SUBDIR = "pagefind"
#: The bundle of the pages changed since the main bundle was written.
DELTA_SUBDIR = "pagefind-delta"
#: In the delta bundle: which main-bundle entries it replaces (read by the search page).
DELTA_MANIFEST = "kbgen-delta.json"
#: kbgen's record of what each bundle holds, next to the doctrees (never published).
STATE_NAME = "kbgen-pagefind.json"
STATE_FORMAT = 1
#: The delta is folded into the main bundle once the HTML of its pages exceeds this share of the
#: site's: search results merge two rankings (each bundle weighs words by its own pages), and
#: every build re-indexes the whole delta, whose cost grows with it, while a fold indexes the
#: whole site. A build's average cost is lowest when a fold comes every √(2 × fold / (delta cost
#: of one session's pages)) sessions; the search page fetches one index chunk per word from the
#: delta whatever its size (bench/bench_pagefind_delta.py, bench/README.md).
FOLD_SHARE = 0.25
#: Page parts that are navigation, not content: Pagefind leaves them out of the index.
PAGEFIND_EXCLUDE = (
    ".bd-header", ".bd-sidebar-primary", ".bd-sidebar-secondary", ".bd-footer", ".bd-footer-article",
    ".bd-search", ".prev-next-area", ".headerlink", ".needs_collapse", ".search-button-field",
    ".sphinxsidebar", ".related", ".sidebar-drawer", ".toc-drawer", "nav",
    ".no-search",  # need metadata rows (kbgen.sphinxext.searchable), skipped by Sphinx's index too
)
#: pydata-sphinx-theme's page content. When the built pages have it, Pagefind indexes only that
#: element: the same pages and words, faster (it skips the page chrome; bench/README.md).
PAGEFIND_ROOT = "article.bd-article"
_ROOT_OPEN = '<article class="bd-article'
_ROOT_CLOSE = "</article>"
#: A page's record: size, modification time (ns), digest of what Pagefind indexes, Pagefind's entry id.
PageRecord = list[object]


@dataclass(frozen=True)
class IndexUpdate:
    """What :func:`update_index` did."""

    #: "full" (the whole site indexed into the main bundle), "delta" (changed pages into the delta
    #: bundle) or "unchanged" (no indexed content changed since the last update).
    mode: str
    #: Pages Pagefind read in this update.
    indexed: int
    #: Pages in the delta bundle after the update (0 after a full index).
    delta_pages: int
    #: Why a full index was made, when it was.
    reason: str = ""


# -- the binary ----------------------------------------------------------------------------

@cache
def pagefind_version() -> str | None:
    """The version of the Pagefind binary from the ``pagefind_bin`` wheel, or None when it does not run."""
    try:
        proc = subprocess.run([sys.executable, "-m", "pagefind_bin", "--version"], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) < 2 or words[0].lower() != "pagefind":
        return None
    return words[1]


def pagefind_available() -> bool:
    """True when the Pagefind binary from the ``pagefind_bin`` wheel runs on this machine."""
    return pagefind_version() is not None


def pagefind_command(site: Path, *, output: Path | None = None, content_root: bool | None = None) -> list[str]:
    """The command that indexes every page under ``site`` into ``output`` (default: the site's bundle)."""
    cmd = [sys.executable, "-m", "pagefind_bin", "--site", str(site)]
    cmd += ["--output-path", str(output)] if output is not None else ["--output-subdir", PAGEFIND_SUBDIR]
    cmd += ["--exclude-selectors", ", ".join(PAGEFIND_EXCLUDE), "--force-language", "en", "--quiet"]
    if content_root if content_root is not None else _has_content_root(site / "index.html"):
        cmd += ["--root-selector", PAGEFIND_ROOT]
    return cmd


def _has_content_root(page: Path) -> bool:
    try:
        return _ROOT_OPEN in page.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EnvironmentProblem(f"pagefind failed (exit {proc.returncode}): "
                                 f"{(proc.stderr or proc.stdout).strip()[-2000:]}",
                                 hint="use --search sphinx to build without it")


# -- the pages -----------------------------------------------------------------------------

def site_pages(out_dir: Path) -> dict[str, os.stat_result]:
    """Every HTML page of the built site (what Pagefind's default glob finds), by relative path."""
    skip = {out_dir / PAGEFIND_SUBDIR, out_dir / DELTA_SUBDIR}
    pages: dict[str, os.stat_result] = {}
    for folder, dirs, files in os.walk(out_dir):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in files:
            if name.endswith(".html"):
                path = here / name
                pages[path.relative_to(out_dir).as_posix()] = path.stat()
    return pages


def content_digest(path: Path) -> str:
    """A digest of what Pagefind indexes of a page: its content element when it has one, else all of it."""
    data = path.read_bytes()
    start = data.find(_ROOT_OPEN.encode())
    end = data.rfind(_ROOT_CLOSE.encode())
    if start >= 0 and end > start:
        data = data[start:end]
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def page_url(rel: str) -> str:
    """The URL Pagefind records for a page (``kb/index.html`` → ``/kb/``)."""
    url = "/" + rel
    return url[: -len("index.html")] if url.endswith("/index.html") else url


def _bundle_ids(bundle: Path) -> dict[str, str]:
    """Pagefind's entry id of every page in a bundle, by URL (read from its fragments)."""
    ids: dict[str, str] = {}
    for fragment in (bundle / "fragment").glob("*.pf_fragment"):
        raw = gzip.decompress(fragment.read_bytes())
        if raw.startswith(b"pagefind_dcd"):
            raw = raw[len(b"pagefind_dcd"):]
        url = json.loads(raw).get("url")
        if isinstance(url, str):
            ids[url] = fragment.name[: -len(".pf_fragment")]
    return ids


# -- the state -----------------------------------------------------------------------------

def _read_state(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == STATE_FORMAT else None


def _write_state(path: Path, state: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, separators=(",", ":"), sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def clear(out_dir: Path, state_dir: Path) -> None:
    """Remove both bundles and kbgen's record of them (a site searched without Pagefind)."""
    for sub in (PAGEFIND_SUBDIR, DELTA_SUBDIR):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    (state_dir / STATE_NAME).unlink(missing_ok=True)


def index_with_pagefind(out_dir: Path) -> None:
    """Write (replace) a full Pagefind bundle of a built site, keeping no record (benchmarks, other tools)."""
    shutil.rmtree(out_dir / PAGEFIND_SUBDIR, ignore_errors=True)
    shutil.rmtree(out_dir / DELTA_SUBDIR, ignore_errors=True)
    _run(pagefind_command(out_dir))


def has_delta(out_dir: Path) -> bool:
    return (out_dir / DELTA_SUBDIR / DELTA_MANIFEST).exists()


def index_ready(out_dir: Path, state_dir: Path) -> bool:
    """True when the main bundle is in place and kbgen's record describes it."""
    return (out_dir / PAGEFIND_SUBDIR / "pagefind.js").exists() and (state_dir / STATE_NAME).exists()


# -- updating ------------------------------------------------------------------------------

def update_index(out_dir: Path, state_dir: Path, *, fold: bool = False) -> IndexUpdate:
    """Bring the site's Pagefind index up to date with its pages (see the module text).

    ``fold``: index the whole site into the main bundle and drop the delta, whatever changed.
    """
    state_path = state_dir / STATE_NAME
    pages = site_pages(out_dir)
    version = pagefind_version()
    root = _has_content_root(out_dir / "index.html")
    state = _read_state(state_path)
    reason = _distrust(out_dir, state, version, root)
    if fold or reason:
        return _full(out_dir, state_path, pages, version, root, reason or "folded on request")
    assert state is not None
    main: dict[str, PageRecord] = state["main"]  # type: ignore[assignment]
    old_delta: dict[str, str] = state["delta"]  # type: ignore[assignment]
    changed: dict[str, str] = {}
    for rel, st in pages.items():
        record = main.get(rel)
        if record is not None and record[0] == st.st_size and record[1] == st.st_mtime_ns:
            continue
        digest = content_digest(out_dir / rel)
        if record is not None and record[2] == digest:
            record[0], record[1] = st.st_size, st.st_mtime_ns  # rewritten with the same content
            continue
        if root and not _has_content_root(out_dir / rel):
            # Pagefind indexes no page without the content element (the search page itself): noted, never
            # staged, else a delta of such pages alone stops Pagefind ("not able to build an index").
            main[rel] = [st.st_size, st.st_mtime_ns, digest, None]
            continue
        changed[rel] = digest
    gone = sorted(rel for rel in main if rel not in pages)
    total = sum(st.st_size for st in pages.values()) or 1
    if sum(pages[rel].st_size for rel in changed) > FOLD_SHARE * total:
        return _full(out_dir, state_path, pages, version, root,
                     f"{len(changed)} changed pages exceed {FOLD_SHARE:.0%} of the site")
    if changed == old_delta and gone == state.get("gone") and (has_delta(out_dir) or (not changed and not gone)):
        _write_state(state_path, state)  # refreshed stats of rewritten pages
        return IndexUpdate("unchanged", 0, len(changed))
    shutil.rmtree(out_dir / DELTA_SUBDIR, ignore_errors=True)
    indexed = len(changed)
    if changed or gone:
        collision, same = _write_delta(out_dir, state_dir, main, changed, gone, root)
        if collision:
            return _full(out_dir, state_path, pages, version, root, collision)
        # Pages whose entry Pagefind wrote again unchanged (what changed is no part of what it indexes:
        # a link's target, a metadata row): the main bundle's entry stays theirs. The delta keeps its
        # copy of that very entry, which the search page lists once (see the module text).
        for rel, entry_id in same.items():
            st = pages[rel]
            main[rel] = [st.st_size, st.st_mtime_ns, changed.pop(rel), entry_id]
        if not changed:
            shutil.rmtree(out_dir / DELTA_SUBDIR, ignore_errors=True)  # nothing but copies of main entries
            if gone:  # a delta of removed pages alone has nothing for Pagefind to index
                return _full(out_dir, state_path, pages, version, root, "pages removed, none changed")
    state["delta"], state["gone"] = changed, gone
    _write_state(state_path, state)
    return IndexUpdate("delta", indexed, len(changed))


def _distrust(out_dir: Path, state: dict[str, object] | None, version: str | None, root: bool) -> str:
    """Why the main bundle cannot take a delta ("" when it can)."""
    if state is None or not (out_dir / PAGEFIND_SUBDIR / "pagefind.js").exists():
        return "no main bundle"
    if state.get("pagefind") != version or state.get("root") != root:
        return "the main bundle was written by another Pagefind or with other options"
    if not isinstance(state.get("main"), dict) or not isinstance(state.get("delta"), dict):
        return "unreadable record of the main bundle"
    return ""


def _full(out_dir: Path, state_path: Path, pages: dict[str, os.stat_result], version: str | None, root: bool,
          reason: str) -> IndexUpdate:
    """Index the whole site into a new main bundle; drop the delta."""
    state_path.unlink(missing_ok=True)  # an interrupted index must not look complete
    shutil.rmtree(out_dir / DELTA_SUBDIR, ignore_errors=True)
    bundle = out_dir / PAGEFIND_SUBDIR
    shutil.rmtree(bundle, ignore_errors=True)
    _run(pagefind_command(out_dir, content_root=root))
    ids = _bundle_ids(bundle)
    main = {rel: [st.st_size, st.st_mtime_ns, content_digest(out_dir / rel), ids.get(page_url(rel))]
            for rel, st in pages.items()}
    _write_state(state_path, {"format": STATE_FORMAT, "pagefind": version, "root": root, "main": main,
                              "delta": {}, "gone": []})
    return IndexUpdate("full", len(pages), 0, reason)


def _write_delta(out_dir: Path, state_dir: Path, main: dict[str, PageRecord], changed: dict[str, str],
                 gone: list[str], root: bool) -> tuple[str, dict[str, str]]:
    """Index the changed pages into the delta bundle and write its manifest.

    Returns why the delta cannot be used ("" when it can), and the changed pages whose delta
    entry is the very entry the main bundle holds for them (Pagefind names an entry by a digest
    of what it indexed): they are not changed for the search. Their main entries are not
    superseded, and the search page lists an entry both bundles hold once, so the delta keeps
    them rather than Pagefind indexing the other pages a second time.
    """
    staging = state_dir / "kbgen-pagefind-pages"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for rel in changed:
            _link(out_dir / rel, staging / rel)
        target = out_dir / DELTA_SUBDIR
        _run(pagefind_command(staging, output=target, content_root=root))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    delta_ids = _bundle_ids(target)
    main_ids = {str(record[3]): rel for rel, record in main.items() if record[3]}
    same: dict[str, str] = {}
    for rel in changed:
        entry_id = delta_ids.get(page_url(rel))
        if entry_id is not None and main_ids.get(entry_id) == rel:
            same[rel] = entry_id
    if set(delta_ids.values()) - set(same.values()) & main_ids.keys():
        # Pagefind's short entry ids collided across pages: the search page could not tell them apart
        shutil.rmtree(target, ignore_errors=True)
        return "a delta entry id equals a main one", same
    # the main entries of the pages changed or gone, except those the delta holds again unchanged
    replaced = sorted({str(main[rel][3]) for rel in _iter(changed, gone)
                       if rel in main and main[rel][3] and rel not in same})
    manifest = {"pages": len(changed) - len(same), "superseded": replaced}
    (target / DELTA_MANIFEST).write_text(json.dumps(manifest, separators=(",", ":")) + "\n", encoding="utf-8")
    return "", same


def _iter(changed: dict[str, str], gone: list[str]) -> Iterable[str]:
    yield from changed
    yield from gone


def _link(source: Path, target: Path) -> None:
    """``target`` holds ``source``'s content: a hard link (free) or, across file systems, a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)

