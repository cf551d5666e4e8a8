"""Domain documents kept, not rendered again, when their domain's data did not change.

A sync rewrites every domain document (its registries, gaps, session log) and the site
pages built from them, though a new session touches few domains. The data each domain's
document reads is digested (:func:`domain_inputs`: the domain, its files with their reads
and findings, the labels, statuses and sessions these show, its coverage row, cross-domain
counts, priority gaps and plan questions) and stored after the sync with a digest of the
document as written and the domain page's body (:func:`kbgen.render.registry_pages.domain_page_body`).

On the next sync a domain whose inputs digest the same and whose document on disk is the one
written then keeps that document (rendering it again would give the same bytes: the renderer
only replaces generated blocks, with the same bodies) and its page body; its registry pages are
kept through the page cache (:mod:`kbgen.render.page_cache`), verified from disk. A document
edited by hand digests otherwise and is rendered. What the whole site shares (code, options,
layout, libraries) is the salt, as for the page cache; the cache lives next to it in the generated
folder (``.kbgen-domains.json``, machine-local).

``KBGEN_PAGE_CACHE_VERIFY=1`` renders kept documents and bodies as well and raises on a difference.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from kbgen import analysis
from kbgen.config import Options
from kbgen.model import Domain, File, Snapshot
from kbgen.outputs import write_if_changed
from kbgen.render.page_cache import read_stamped

CACHE_NAME = ".kbgen-domains.json"
_FORMAT = 1


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check(entry: DomainEntry) -> str:
    """The digest of an entry's fields: an entry of the cache's file edited by hand (its body, its pages) is
    not used."""
    return _sha(json.dumps([entry.inputs, entry.document, entry.body, list(entry.pages)]))


@dataclass(frozen=True)
class DomainEntry:
    """What is kept of one domain: its inputs' digest, its document's digest, its page body, its registry pages."""

    inputs: str
    document: str
    body: str
    pages: tuple[str, ...]


@dataclass
class DomainCache:
    """The domains of the last sync, by name."""

    root: Path
    salt: str
    entries: dict[str, DomainEntry] = field(default_factory=dict)
    #: This sync's input digest of each domain (:func:`domain_inputs`).
    inputs: dict[str, str] = field(default_factory=dict)
    #: The entries this sync keeps: their documents were not rendered again.
    keeping: dict[str, DomainEntry] = field(default_factory=dict)
    #: What this sync rendered or kept: what :meth:`save` stores.
    fresh: dict[str, DomainEntry] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path, salt: str) -> DomainCache:
        cache = cls(root, salt)
        data = read_stamped(root / CACHE_NAME, _FORMAT, salt)
        if data is None:
            return cache
        try:
            for name, e in data["domains"].items():
                entry = DomainEntry(str(e[0]), str(e[1]), str(e[2]), tuple(str(p) for p in e[3]))
                if isinstance(e[3], list) and e[4] == _check(entry):  # the body is kept as stored: checked
                    cache.entries[str(name)] = entry
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            cache.entries = {}
        return cache

    def kept(self, name: str, inputs: str, existing: str | None) -> DomainEntry | None:
        """The last sync's entry of ``name`` when its inputs are these and its document on disk is the one written."""
        entry = self.entries.get(name)
        if entry is None or entry.inputs != inputs or existing is None or _sha(existing) != entry.document:
            return None
        return entry

    def store(self, name: str, document: str, body: str, pages: tuple[str, ...]) -> None:
        """What this sync made of ``name`` (its inputs as digested by this sync)."""
        self.fresh[name] = DomainEntry(self.inputs[name], _sha(document), body, pages)

    def page_inputs(self, name: str, document: str) -> str:
        """The inputs of a registry page of ``name`` for the page cache: the domain's and its document's."""
        return f"domain {self.inputs[name]} {_sha(document)}"

    def save(self) -> None:
        data = {"format": _FORMAT, "salt": self.salt,
                "domains": {name: [e.inputs, e.document, e.body, list(e.pages), _check(e)]
                            for name, e in sorted(self.fresh.items())}}
        write_if_changed(self.root / CACHE_NAME, json.dumps(data, sort_keys=True).encode("utf-8"), durable=False)


def domain_inputs(snap: Snapshot, domain: Domain, options: Options, path: Path) -> str:
    """The digest of everything a domain's document and registries read (:func:`kbgen.render.registries.
    domain_sections`, :func:`~kbgen.render.registries.domain_registries`), written to ``path``.

    It errs on the side of more: each file of the domain with its reads and findings, each
    finding's label, status text, positiveness and session, the session that last read each file,
    every session touching the domain, the labels of the domain with their findings' files and
    sessions, the excluded files among the domain's, the plan questions on its files with their
    status and text answer, its coverage row, its cross-domain counts and the priority gaps it lists (these
    three computed, as they depend on other domains' files), and every domain's id and name, in order (the slugs,
    :attr:`kbgen.render.view.SiteView.domain_slugs`).
    """
    from kbgen.render.registries import shown_gaps

    files = snap.files_of_domain.get(domain.name, ())
    by_id = snap.session_by_id
    parts: list[object] = [_fields(domain), str(path), [(d.id, d.name) for d in snap.domains],
                           analysis.domain_coverage_row(snap, domain.name), analysis.cross_domain(snap, domain.name),
                           [(tier, total, [(g.file.path, g.file.package, g.file.loc, g.reason) for g in shown])
                            for tier, total, shown in shown_gaps(snap, options, domain.name)]]
    digests = _file_digests(snap)
    ids = {f.id for f in files}
    sessions: set[int] = set()
    for f in files:
        known = digests.get(f.id)
        if known is None:
            known = digests[f.id] = _file_digest(snap, f)
        parts.append(known[0])
        sessions.update(known[1])
    for lab in snap.labels_of_domain.get(domain.name, ()):
        parts.append((lab.domain, lab.letter, lab.number, lab.finding_id))
        labelled = snap.finding_by_id.get(lab.finding_id)
        if labelled is not None and labelled.file_id not in ids:  # else in its file's digest
            parts += [_fields(labelled), snap.finding_status_text(labelled.id), snap.is_positive(labelled)]
            shown = snap.file_by_id.get(labelled.file_id) if labelled.file_id is not None else None
            parts.append(_fields(shown) if shown is not None else None)
            if labelled.session_id is not None:
                sessions.add(labelled.session_id)
    parts += [_fields(by_id[sid]) if sid in by_id else sid for sid in sorted(sessions)]
    parts.append(sorted(ids & analysis.excluded_ids(snap)))
    for q in snap.questions:
        if not ids.isdisjoint(q.file_ids):
            answer = snap.text_answer_of.get(q.id)
            parts += [_fields(q), snap.question_status(q.id), _fields(answer) if answer is not None else None]
    return _sha(repr(parts))


def _fields(row: object) -> tuple[object, ...]:
    """A row's field values, in their order: the facts of its repr, at a fraction of the cost."""
    return tuple(vars(row).values())


def _file_digests(snap: Snapshot) -> dict[int, tuple[object, frozenset[int]]]:
    """File id → :func:`_file_digest`, cached on the snapshot: a file of several domains is digested once."""
    cached: dict[int, tuple[object, frozenset[int]]] = vars(snap).setdefault("_kbgen_domain_file_digests", {})
    return cached


def _file_digest(snap: Snapshot, f: File) -> tuple[object, frozenset[int]]:
    """What a domain document shows of file ``f``, and the sessions it names.

    A file read MEDIUM or deeper, or with reads or findings: its fields, its reads, its findings with their
    status text and positiveness, and the session that last read it, as a digest. Any other file shows in a
    document only through its domain's coverage row and priority gaps (digested apart) and its id.
    """
    from kbgen.render.registries import _last_sessions

    reads = snap.reads_of_file.get(f.id, ())
    findings = snap.findings_of_file.get(f.id, ())
    if not reads and not findings and not analysis.read_medium_plus(f):
        return f.id, frozenset()
    last = _last_sessions(snap).get(f.id)
    parts: list[object] = [_fields(f), last]
    sessions = {last} if last is not None else set()
    for r in reads:
        parts.append(_fields(r))
        if r.session_id is not None:
            sessions.add(r.session_id)
    for x in findings:
        parts += [_fields(x), snap.finding_status_text(x.id), snap.is_positive(x)]
        if x.session_id is not None:
            sessions.add(x.session_id)
    return _sha(repr(parts)), frozenset(sessions)
