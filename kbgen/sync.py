"""``kbgen sync``: database → generated pages and domain documents.

Deterministic (same database, same bytes), write-if-changed, atomic, and
owning only what it wrote: generated pages are tracked in a manifest inside
the generated folder; domain documents are rewritten in place, their human
sections untouched, and never deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kbgen.config import Options
from kbgen.db.urls import resolve_url, sqlite_path
from kbgen.domain_paths import domain_doc_paths as domain_doc_paths  # re-exported: callers import it from here
from kbgen.domain_paths import portable_relpath as portable_relpath
from kbgen.errors import DatabaseError, KbgenError, KbWarning
from kbgen.fingerprint import code_fingerprint
from kbgen.gcpause import collector_paused
from kbgen.outputs import (
    LOCK_NAME,
    MANIFEST_NAME,
    SafeRoot,
    digest,
    read_manifest,
    remove_tmp_leftovers,
    safe_join,
    sync_lock,
    write_if_changed,
    write_manifest,
)
from kbgen.sync_state import input_fingerprint, store_fingerprint, stored_fingerprint

if TYPE_CHECKING:
    from kbgen.model import Snapshot
    from kbgen.render.domain_cache import DomainCache
    from kbgen.render.registries import DomainRegistries

Progress = Callable[[str, int, int], None]


@dataclass
class SyncReport:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    warnings: list[KbWarning] = field(default_factory=list)
    new_labels: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    check: bool = False
    shortcut: bool = False  # no input changed: nothing was rendered
    kept: int = 0  # pages taken from disk: their inputs had not changed (kbgen.render.page_cache)

    @property
    def stale(self) -> list[str]:
        return [*self.written, *self.removed]

    def summary(self) -> str:
        verb = "would write" if (self.dry_run or self.check) else "written"
        gone = "would remove" if (self.dry_run or self.check) else "removed"
        note = " (no input changed since the last sync)" if self.shortcut else ""
        return (f"{len(self.written):,} {verb}, {self.unchanged:,} unchanged, {len(self.removed):,} {gone} "
                f"in {self.seconds:.1f} s{note}")


def render_domain_docs(snap: Snapshot, options: Options, paths: dict[str, Path],
                       registries: dict[str, DomainRegistries] | None = None,
                       cache: DomainCache | None = None) -> dict[Path, str]:
    """Each domain's document with fresh registries. ``registries`` is filled with their rows, by domain
    name: the site shows the long ones on pages of their own (:mod:`kbgen.render.registry_pages`).

    With a ``cache`` (:mod:`kbgen.render.domain_cache`), a domain whose inputs did not change since
    the last sync, and whose document is the one written then, keeps its document: it is not
    rendered, nor are its registries built.
    """
    import os

    from kbgen.domain.update import GeneratedSections, render_document
    from kbgen.render.domain_cache import domain_inputs
    from kbgen.render.page_cache import VERIFY_ENV, StaleCacheEntry
    from kbgen.render.registries import domain_registries, domain_sections, domain_title

    verify = bool(os.environ.get(VERIFY_ENV))
    out: dict[Path, str] = {}
    for d in snap.domains:
        path = paths[d.name]
        existing = path.read_text(encoding="utf-8") if path.exists() else None
        kept = None
        if cache is not None:
            cache.inputs[d.name] = domain_inputs(snap, d, options, path)
            kept = cache.kept(d.name, cache.inputs[d.name], existing)
            if kept is not None and existing is not None:
                cache.keeping[d.name] = kept
                if not verify:
                    out[path] = existing  # kept: it is the document written
                    continue
        regs = domain_registries(snap, d, options)
        if registries is not None:
            registries[d.name] = regs
        sections = GeneratedSections(**domain_sections(snap, d, options, path, regs))
        out[path] = render_document(existing, sections, title=domain_title(d))
        if kept is not None and out[path] != existing:
            raise StaleCacheEntry(f"{path}: the domain document kept differs from the document rendered again: "
                                  "its inputs (kbgen.render.domain_cache.domain_inputs) miss something it shows")
    return out


@collector_paused()
def sync(options: Options, *, check: bool = False, dry_run: bool = False, readonly: bool = False,
         wait: float = 0.0, progress: Progress | None = None, force: bool = False) -> SyncReport:
    """Bring the generated pages and domain documents in line with the database.

    When no input changed since the last writing sync (:mod:`kbgen.sync_state`), nothing
    is rendered; ``force`` renders and compares everything anyway.
    """
    started = time.perf_counter()
    report = SyncReport(dry_run=dry_run, check=check)
    url = resolve_url(options.database, options.project_dir)
    code = code_fingerprint()  # read once: the input fingerprint, before and after, and the page cache's salt
    fingerprint = input_fingerprint(options, url, code)
    if not force and fingerprint is not None and fingerprint == stored_fingerprint(options):
        report.unchanged = _unchanged_outputs(options)
        report.shortcut = True
        report.seconds = time.perf_counter() - started
        return report
    # What a sync that renders needs (SQLAlchemy, Alembic, the renderers) is imported here, past
    # the shortcut above: a sync or build with nothing to do answers without loading it.
    from kbgen.db.engine import open_engine
    from kbgen.db.load import load_snapshot
    from kbgen.db.migrate import check_research_schema, ensure_kb_tables
    from kbgen.labels import assign_labels
    from kbgen.render import graph_svg
    from kbgen.render.domain_cache import DomainCache
    from kbgen.render.page_cache import PageCache, cache_salt
    from kbgen.render.site import render_site

    writes_db = not (check or dry_run or readonly)
    engine = open_engine(url, readonly=readonly)
    try:
        # Refuse a database without the research tables before creating kbgen's tables in it.
        check_research_schema(engine, url)
        if writes_db:
            try:
                ensure_kb_tables(engine)
            except DatabaseError:
                raise
            except Exception as exc:  # a read-only role: carry on without kbgen writes
                report.warnings.append(KbWarning("sync.kb-tables", f"cannot create kbgen tables: {exc}"))
                writes_db = False
        if readonly or sqlite_path(url) is None:
            snap = load_snapshot(engine, options, url)
        else:  # read through a mode=ro engine: a writable SQLite engine would hold the write lock meanwhile
            reader = open_engine(url, readonly=True)
            try:
                snap = load_snapshot(reader, options, url)
            finally:
                reader.dispose()
        snap, report.new_labels, label_warning = assign_labels(engine if writes_db else None, snap)
        if label_warning and not (check or dry_run):
            report.warnings.append(KbWarning("sync.labels-provisional", label_warning))
    finally:
        engine.dispose()

    doc_paths = domain_doc_paths(snap, options, report.warnings)
    root = options.generated_path
    write = not (check or dry_run)
    with sync_lock(root, wait=wait):
        # Domain documents are read, merged and rewritten under the lock: one sync at a time.
        registries: dict[str, DomainRegistries] = {}
        # ``force`` renders every page; the caches' entries are stored afresh all the same.
        salt = cache_salt(code, options, options.generated_subdir)
        cache = PageCache.load(root, salt)
        domain_cache = DomainCache.load(root, salt)
        if force:
            cache.entries = {}
            domain_cache.entries = {}
        domain_docs = render_domain_docs(snap, options, doc_paths, registries, domain_cache)
        site = render_site(snap, options, doc_paths, cache, registries=registries,
                           documents={name: domain_docs[path] for name, path in doc_paths.items()},
                           domain_cache=domain_cache)
        report.kept = cache.kept
        if write:
            remove_tmp_leftovers(root, ".*.tmp")
            remove_tmp_leftovers(options.domains_path)
        manifest_old = read_manifest(root)
        # Graphs are drawn here, not by Sphinx: each SVG once, reused while its DOT is unchanged.
        reused: set[str] = set()
        pages = {**site.pages, **graph_svg.svg_files(site.graphs, root, manifest_old, reused)}
        manifest_new = {rel: digest(text.encode("utf-8")) for rel, text in pages.items()}
        if write and not set(manifest_new) <= set(manifest_old):
            # Own every file before creating it: a sync killed half-way leaves a manifest that
            # lists old and new files alike, so the next sync still removes what it no longer makes.
            write_manifest(root, {**manifest_old, **manifest_new})
        total = len(pages) + len(domain_docs)
        done = 0
        under_root = SafeRoot(root)
        for rel, text in sorted(pages.items()):
            if rel in reused or cache.on_disk(rel, text):
                # Just read from its file (a graph reused, a page kept, kbgen.render.graph_svg.svg_files and
                # kbgen.render.page_cache): the file holds these bytes, no need to read it again.
                report.unchanged += 1
            else:
                _apply(under_root.join(rel), text.encode("utf-8"), report,
                       label=f"{options.docs_dir.as_posix()}/{options.generated_subdir}/{rel}", write=write,
                       durable=rel not in site.graphs)
            done += 1
            if progress and done % 200 == 0:
                progress("pages", done, total)
        for path, text in sorted(domain_docs.items()):
            _apply(path, text.encode("utf-8"), report, label=_rel(path, options.project_dir), write=write)
            done += 1
        for rel in sorted(set(manifest_old) - set(manifest_new) - {MANIFEST_NAME, LOCK_NAME}):
            try:
                target = safe_join(root, rel)
            except KbgenError:  # a hand-edited manifest never makes kbgen delete outside its folder
                report.warnings.append(KbWarning("sync.unsafe-manifest-entry",
                                                 f"ignoring manifest entry {rel!r} outside {root}"))
                continue
            if target.is_file():
                report.removed.append(f"{options.docs_dir.as_posix()}/{options.generated_subdir}/{rel}")
                if write:
                    target.unlink()
        if write:
            write_manifest(root, manifest_new)
            cache.save()
            domain_cache.save()
            store_fingerprint(options, input_fingerprint(options, url, code))
        if progress:
            progress("pages", total, total)
    report.seconds = time.perf_counter() - started
    return report


def _unchanged_outputs(options: Options) -> int:
    """What a sync that renders nothing leaves unchanged: every generated page, every domain document."""
    documents = sum(1 for _ in options.domains_path.rglob("analysis.md")) if options.domains_path.is_dir() else 0
    return len(read_manifest(options.generated_path)) + documents


def _apply(target: Path, data: bytes, report: SyncReport, *, label: str, write: bool, durable: bool = True) -> None:
    if write:
        changed = write_if_changed(target, data, durable=durable)
    else:
        try:
            changed = target.read_bytes() != data
        except FileNotFoundError:
            changed = True
    if changed:
        report.written.append(label)
    else:
        report.unchanged += 1


def _rel(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)
