"""The site's Pagefind search index, kept up to date at the cost of the pages each build changed.

Pagefind has no incremental mode: indexing a site reads every page, and at
campaign scale that was a fixed cost of every build however small the change
(bench/README.md). Pagefind's browser library can search several bundles at once
(``mergeIndex``), so kbgen keeps a stack of them:

* the **main** bundle (``pagefind/``), an index of the whole site as it was at
  some build;
* the **delta stack** (``pagefind-delta/``): one bundle per incremental build
  (``pagefind-delta/1/``, ``2/``, …, oldest first) holding just the pages whose
  indexed content that build changed, and a manifest (``kbgen-delta.json``)
  listing the bundles in order and the entries of the main bundle and older
  deltas that newer ones replace, and those of pages the site no longer has. A
  bundle none of whose entries is current any more is dropped from the stack.

A build indexes only the pages it changed, not every page changed since the
main bundle was written: the cost of a build follows its own change, not the
age of the main bundle. The search page loads Pagefind through kbgen's entry
module (``_static/kbgen-pagefind/pagefind.js``), which merges every bundle of
the stack and drops the replaced entries from the results, so every page is
found once, with its newest text. A page rewritten with new links but the same
text gets from Pagefind the very entry (same id) an older bundle holds: that
entry is not replaced, the page keeps it, and the search page lists an entry
two bundles hold once. A build re-indexes only the pages whose indexed content
changed: a page's entry depends only on the content element Pagefind reads
(pydata-sphinx-theme's article, :data:`PAGEFIND_ROOT`), so a page Sphinx
rewrote with the same article — a new sidebar entry, say — keeps its entry.
Which pages changed is found from file stats first and content digests of the
pages whose stats changed, recorded in ``kbgen-pagefind.json`` next to the
doctrees, with the bundle that holds each page's entry.

A build writes its bundle under a name the manifest does not list, then the
manifest (atomically: a new file renamed over the old), then kbgen's record,
and only then removes the bundles the manifest no longer lists: a build
interrupted at any point leaves a manifest whose bundles are all on disk. A
record that does not describe the manifest on disk (a build cut off between
the two) is not trusted: the next build folds.

The stack is folded into the main bundle — the whole site indexed afresh, the
stack removed — when the HTML of its pages grows past :data:`FOLD_SHARE` of the
site's, on ``kbgen build --clean``, on ``kbgen publish``, and whenever the main
bundle cannot be trusted (missing, written by another Pagefind release or with
other options). Past :data:`MAX_DELTAS` bundles, a build merges the stack
instead: it indexes its own pages and those of the stack's bundles into one
bundle that replaces them — all of them, or the newer ones when the older ones
hold more pages than the rest (the merged pages of most of a fold cycle, which
are then not indexed again by every merge). What each costs is measured in
bench/README.md.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kbgen.errors import EnvironmentProblem

#: Where Pagefind writes its bundle inside the site.
PAGEFIND_SUBDIR = "pagefind"
#: The delta stack: one bundle per incremental build, in numbered folders, and the manifest.
DELTA_SUBDIR = "pagefind-delta"
#: In the delta stack: its bundles in order and the entries they replace (read by the search page).
DELTA_MANIFEST = "kbgen-delta.json"
#: kbgen's record of what each bundle holds, next to the doctrees (never published).
STATE_NAME = "kbgen-pagefind.json"
STATE_FORMAT = 2
#: The stack is folded into the main bundle once the HTML of its pages exceeds this share of the
#: site's: search results merge several rankings (each bundle weighs words by its own pages), and
#: a merge (:data:`MAX_DELTAS`) re-indexes the whole stack, whose cost grows with it, while a fold
#: indexes the whole site (bench/bench_pagefind_delta.py, bench/README.md).
FOLD_SHARE = 0.25
#: Past this many bundles the build merges the stack (its pages indexed afresh with the build's own).
#: The search page fetches one index chunk per search word from every bundle (a chunk is about as
#: large in a session's bundle as in the main one): more bundles, more bytes per query; fewer, more
#: frequent merges, each re-indexing up to the whole stack — never more than one build of the single
#: growing delta the stack replaced (bench/README.md).
MAX_DELTAS = 4
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
#: A page's record: size, modification time (ns), digest of what Pagefind indexes, Pagefind's entry id,
#: and the bundle holding that entry ("" for the main bundle, else the delta's folder name).
PageRecord = list[object]


@dataclass(frozen=True)
class IndexUpdate:
    """What :func:`update_index` did."""

    #: "full" (the whole site indexed into the main bundle), "delta" (changed pages into a new delta
    #: bundle, or the stack merged into one) or "unchanged" (no indexed content changed since the
    #: last update).
    mode: str
    #: Pages Pagefind read in this update.
    indexed: int
    #: Pages whose entry is in the delta stack after the update (0 after a full index).
    delta_pages: int
    #: Why a full index was made, or the stack merged, when it was.
    reason: str = ""
    #: Bundles in the delta stack after the update.
    bundles: int = 0


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

def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("format") == 1 and data.get("delta") == {} and data.get("gone") == [] \
            and isinstance(data.get("main"), dict):
        # a record of kbgen's single-delta index with no delta (a fresh full index): the same main bundle
        return {"format": STATE_FORMAT, "pagefind": data.get("pagefind"), "root": data.get("root"),
                "pages": {rel: [*record, ""] for rel, record in data["main"].items()},
                "deltas": [], "superseded": {}}
    return data if data.get("format") == STATE_FORMAT else None


def _write_atomic(path: Path, text: str) -> None:
    """``path`` holds ``text`` or what it held before, never a part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_state(path: Path, state: dict[str, Any]) -> None:
    _write_atomic(path, json.dumps(state, separators=(",", ":"), sort_keys=True))


def clear(out_dir: Path, state_dir: Path) -> None:
    """Remove every bundle and kbgen's record of them (a site searched without Pagefind)."""
    for sub in (PAGEFIND_SUBDIR, DELTA_SUBDIR):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    (state_dir / STATE_NAME).unlink(missing_ok=True)


def index_with_pagefind(out_dir: Path) -> None:
    """Write (replace) a full Pagefind bundle of a built site, keeping no record (benchmarks, other tools)."""
    shutil.rmtree(out_dir / PAGEFIND_SUBDIR, ignore_errors=True)
    shutil.rmtree(out_dir / DELTA_SUBDIR, ignore_errors=True)
    _run(pagefind_command(out_dir))


def has_delta(out_dir: Path) -> bool:
    """True when the site's search merges a delta stack into its main bundle."""
    return (out_dir / DELTA_SUBDIR / DELTA_MANIFEST).exists()


def index_ready(out_dir: Path, state_dir: Path) -> bool:
    """True when the main bundle is in place and kbgen's record describes it."""
    return (out_dir / PAGEFIND_SUBDIR / "pagefind.js").exists() and (state_dir / STATE_NAME).exists()


def stack_manifest(deltas: list[str], superseded: dict[str, str]) -> dict[str, object] | None:
    """The manifest the search page reads for a stack (None: no stack, the main bundle alone).

    ``bundles``: the delta bundles' folders, oldest first; ``superseded``: the entries (of the main
    bundle or of older deltas) that newer bundles replace or whose pages are gone, sorted.
    """
    if not deltas and not superseded:
        return None
    return {"bundles": [f"{name}/" for name in deltas], "superseded": sorted(superseded)}


def _read_manifest(out_dir: Path) -> object:
    try:
        return json.loads((out_dir / DELTA_SUBDIR / DELTA_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# -- updating ------------------------------------------------------------------------------

def update_index(out_dir: Path, state_dir: Path, *, fold: bool = False) -> IndexUpdate:
    """Bring the site's Pagefind index up to date with its pages (see the module text).

    ``fold``: index the whole site into the main bundle and drop the delta stack, whatever changed.
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
    records: dict[str, PageRecord] = state["pages"]
    deltas: list[str] = state["deltas"]
    superseded: dict[str, str] = state["superseded"]
    hidden = len(superseded)
    changed: dict[str, str] = {}
    for rel, st in pages.items():
        record = records.get(rel)
        if record is not None and record[0] == st.st_size and record[1] == st.st_mtime_ns:
            continue
        digest = content_digest(out_dir / rel)
        if record is not None and record[2] == digest:
            record[0], record[1] = st.st_size, st.st_mtime_ns  # rewritten with the same content
            continue
        if root and not _has_content_root(out_dir / rel):
            # Pagefind indexes no page without the content element (the search page itself): noted, never
            # staged, else a bundle of such pages alone stops Pagefind ("not able to build an index").
            if record is not None and record[3]:
                superseded[str(record[3])] = rel
            records[rel] = [st.st_size, st.st_mtime_ns, digest, None, ""]
            continue
        changed[rel] = digest
    gone = sorted(rel for rel in records if rel not in pages)
    stacked = {rel for rel, record in records.items() if record[4] and rel in pages} | changed.keys()
    total = sum(st.st_size for st in pages.values()) or 1
    if sum(pages[rel].st_size for rel in stacked) > FOLD_SHARE * total:
        return _full(out_dir, state_path, pages, version, root,
                     f"{len(stacked)} pages of the delta stack exceed {FOLD_SHARE:.0%} of the site")
    if not changed and not gone and len(superseded) == hidden:
        _write_state(state_path, state)  # refreshed stats of rewritten pages
        return IndexUpdate("unchanged", 0, len(stacked), bundles=len(deltas))
    kept = _kept_in_merge(deltas, records, changed) if changed and len(deltas) >= MAX_DELTAS else deltas
    todo = dict(changed)  # a merge indexes the pages of the bundles it replaces with the build's
    todo.update({rel: str(records[rel][2]) for rel in sorted(stacked - changed.keys()) if records[rel][4] not in kept})
    name = str(max((int(d) for d in deltas), default=0) + 1)
    target = out_dir / DELTA_SUBDIR / name
    new_ids = _index_pages(out_dir, state_dir, todo, target, root) if todo else {}
    owners = {str(record[3]): rel for rel, record in records.items() if record[3]}
    for entry_id, rel in superseded.items():
        owners.setdefault(entry_id, rel)
    if any(owners.get(entry_id, rel) != rel for rel, entry_id in new_ids.items()):
        # Pagefind's short entry ids collided across pages: the search page could not tell them apart
        return _full(out_dir, state_path, pages, version, root, "a delta entry id equals another page's")
    live = {"", *kept}
    for rel, digest in todo.items():
        st, record, new_id = pages[rel], records.get(rel), new_ids.get(rel)
        old_id, old_bundle = (record[3], record[4]) if record is not None else (None, "")
        if new_id is not None and new_id == old_id and old_bundle in live:
            # Pagefind wrote the entry the page has again (what changed is no part of what it indexes: a
            # link's target, a metadata row): the older bundle's entry stays the page's, the new bundle
            # keeps its copy of that very entry, which the search page lists once (see the module text).
            records[rel] = [st.st_size, st.st_mtime_ns, digest, old_id, old_bundle]
            continue
        if old_id and old_id != new_id:  # (the same entry may be in an older bundle than the record's)
            superseded[str(old_id)] = rel
        records[rel] = [st.st_size, st.st_mtime_ns, digest, new_id, name]
    for rel in gone:
        record = records.pop(rel)
        if record[3]:
            superseded[str(record[3])] = rel
    ids = {str(record[3]) for record in records.values() if record[3]}
    superseded = {entry_id: rel for entry_id, rel in sorted(superseded.items()) if entry_id not in ids}
    # a bundle no page's entry is in any more (each replaced by a newer one, or a copy) is dropped
    holding = {record[4] for record in records.values()}
    stack = [bundle for bundle in [*kept, name] if bundle in holding]
    _publish_stack(out_dir, stack, superseded)
    state.update(pages=records, deltas=stack, superseded=superseded)
    _write_state(state_path, state)
    _remove_unlisted(out_dir, stack)
    in_stack = sum(1 for record in records.values() if record[4])
    merged = f"merged {len(deltas) - len(kept)} delta bundles into one" if todo.keys() - changed.keys() else ""
    return IndexUpdate("delta", len(todo), in_stack, merged, len(stack))


def _kept_in_merge(deltas: list[str], records: dict[str, PageRecord], changed: dict[str, str]) -> list[str]:
    """The bundles a merge keeps: the longest run of the oldest (at most ``MAX_DELTAS - 2``, so that a
    build or more passes before the next merge) whose pages outnumber those the merged bundle would
    hold (the newer bundles' and the build's). The pages a fold cycle has gathered are then indexed
    once, not by every merge; the newer bundles, where the pages every session changes move, are
    merged among themselves."""
    held = Counter(str(record[4]) for rel, record in records.items() if record[4] and rel not in changed)
    sizes = [held[name] for name in deltas]
    for keep in range(min(len(deltas), MAX_DELTAS - 2), 0, -1):
        if sum(sizes[:keep]) > sum(sizes[keep:]) + len(changed):
            return deltas[:keep]
    return []


def _distrust(out_dir: Path, state: dict[str, Any] | None, version: str | None, root: bool) -> str:
    """Why the main bundle and the delta stack cannot take a new delta ("" when they can)."""
    if state is None or not (out_dir / PAGEFIND_SUBDIR / "pagefind.js").exists():
        return "no main bundle"
    if state.get("pagefind") != version or state.get("root") != root:
        return "the main bundle was written by another Pagefind or with other options"
    deltas, superseded = state.get("deltas"), state.get("superseded")
    if not isinstance(state.get("pages"), dict) or not isinstance(deltas, list) \
            or not isinstance(superseded, dict):
        return "unreadable record of the search index"
    if stack_manifest(deltas, superseded) != _read_manifest(out_dir) \
            or not all((out_dir / DELTA_SUBDIR / name / "pagefind-entry.json").exists() for name in deltas):
        return "the delta stack on disk is not the one recorded (an interrupted build)"
    return ""


def _full(out_dir: Path, state_path: Path, pages: dict[str, os.stat_result], version: str | None, root: bool,
          reason: str) -> IndexUpdate:
    """Index the whole site into a new main bundle; drop the delta stack."""
    state_path.unlink(missing_ok=True)  # an interrupted index must not look complete
    shutil.rmtree(out_dir / DELTA_SUBDIR, ignore_errors=True)
    bundle = out_dir / PAGEFIND_SUBDIR
    shutil.rmtree(bundle, ignore_errors=True)
    _run(pagefind_command(out_dir, content_root=root))
    ids = _bundle_ids(bundle)
    records = {rel: [st.st_size, st.st_mtime_ns, content_digest(out_dir / rel), ids.get(page_url(rel)), ""]
               for rel, st in pages.items()}
    _write_state(state_path, {"format": STATE_FORMAT, "pagefind": version, "root": root, "pages": records,
                              "deltas": [], "superseded": {}})
    return IndexUpdate("full", len(pages), 0, reason)


def _index_pages(out_dir: Path, state_dir: Path, todo: dict[str, str], target: Path, root: bool) -> dict[str, str]:
    """Index the pages ``todo`` names into the bundle ``target`` (a folder the manifest does not list);
    returns Pagefind's entry id of each, by page."""
    staging = state_dir / "kbgen-pagefind-pages"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)  # a bundle an interrupted build left
    try:
        for rel in todo:
            _link(out_dir / rel, staging / rel)
        _run(pagefind_command(staging, output=target, content_root=root))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    by_url = _bundle_ids(target)
    return {rel: by_url[page_url(rel)] for rel in todo if page_url(rel) in by_url}


def _publish_stack(out_dir: Path, stack: list[str], superseded: dict[str, str]) -> None:
    """Write the manifest the search page reads (atomically), or remove it when there is no stack."""
    manifest = stack_manifest(stack, superseded)
    path = out_dir / DELTA_SUBDIR / DELTA_MANIFEST
    if manifest is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomic(path, json.dumps(manifest, separators=(",", ":")) + "\n")


def _remove_unlisted(out_dir: Path, stack: list[str]) -> None:
    """Remove the delta bundles the manifest no longer lists (after it is written, never before)."""
    folder = out_dir / DELTA_SUBDIR
    if not stack and not has_delta(out_dir):
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir() and child.name not in stack:
            shutil.rmtree(child, ignore_errors=True)


def _link(source: Path, target: Path) -> None:
    """``target`` holds ``source``'s content: a hard link (free) or, across file systems, a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
