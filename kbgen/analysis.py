"""Portable figures computed from the snapshot (never from the database's views).

Coverage, integration hotspots and the priority-gap tiers of the research
spec are computed here in Python so they agree on SQLite and PostgreSQL and
do not depend on views a database may or may not carry (or carry broken).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from kbgen import vocab
from kbgen.config import Options
from kbgen.model import File, Snapshot

TIERS: tuple[str, ...] = ("CONNECTED", "OWN_CODE", "PROXIMATE", "NEARBY", "DOMAIN_ONLY")


@lru_cache(maxsize=512)
def like_to_regex(pattern: str) -> re.Pattern[str]:
    """An SQL LIKE pattern (``%`` any run, ``_`` one character) as an anchored regex."""
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    return any(like_to_regex(p).match(path) for p in patterns)


def is_source_file(f: File, snap: Snapshot, options: Options) -> bool:
    """Counts for gaps: not a test, type stub or doc, and not under an exclude_paths pattern."""
    candidates = (f.path, "/" + f.path, f"{f.package}/{f.path}")
    if any(matches_any(c, options.source_excludes) for c in candidates):
        return False
    excludes = [e.pattern for e in snap.exclude_paths]
    return not any(matches_any(c, excludes) for c in candidates)


def is_unread(f: File) -> bool:
    return f.depth in ("NOT_TOUCHED", "MENTIONED")


def read_medium_plus(f: File) -> bool:
    return vocab.depth_rank(f.depth) >= vocab.depth_rank("MEDIUM")


@dataclass(frozen=True)
class Gap:
    file: File
    tier: str
    domains: tuple[str, ...]
    reason: str


def _dir2(path: str) -> str:
    parts = path.split("/")[:-1]
    return "/".join(parts[:2])


def priority_gaps(snap: Snapshot, options: Options, *, high_only: bool = True) -> list[Gap]:
    """NOT_TOUCHED source files in (HIGH) domains, ranked in the spec's tiers."""
    deep_ids = {f.id for f in snap.files if f.depth == "DEEP"}
    deep_dirs: Counter[tuple[int | None, str]] = Counter(
        (f.package_id, _dir2(f.path)) for f in snap.files if f.depth == "DEEP")
    connected: set[int] = set()
    for d in snap.dependencies:
        if d.target_file_id in deep_ids:
            connected.add(d.source_file_id)
        if d.source_file_id in deep_ids:
            connected.add(d.target_file_id)
    wanted = {d.name for d in snap.domains if not high_only or d.priority == "HIGH"}
    own = set(options.own_packages)
    gaps: list[Gap] = []
    for f in snap.files:
        if f.depth != "NOT_TOUCHED":
            continue
        domains = tuple(n for n in snap.domains_of_file.get(f.id, ()) if n in wanted)
        if not domains or not is_source_file(f, snap, options):
            continue
        neighbours = deep_dirs.get((f.package_id, _dir2(f.path)), 0)
        if f.id in connected:
            tier, reason = "CONNECTED", "dependency edge to a DEEP file"
        elif f.package in own:
            tier, reason = "OWN_CODE", "in the team's own package"
        elif neighbours >= 3:
            tier, reason = "PROXIMATE", f"{neighbours} DEEP files in {_dir2(f.path) or '(root)'}"
        elif neighbours >= 1:
            tier, reason = "NEARBY", f"{neighbours} DEEP file{'s' if neighbours > 1 else ''} nearby"
        else:
            tier, reason = "DOMAIN_ONLY", "tagged with the domain only"
        gaps.append(Gap(f, tier, domains, reason))
    gaps.sort(key=lambda g: (TIERS.index(g.tier), -(g.file.loc or 0), g.file.package, g.file.path, g.file.id))
    return gaps


def domain_coverage(snap: Snapshot, name: str) -> tuple[int, int, int, int]:
    """(files, files read MEDIUM+, LOC, LOC read MEDIUM+) of a domain."""
    files = snap.files_of_domain.get(name, ())
    return (len(files), sum(1 for f in files if read_medium_plus(f)),
            sum(f.loc or 0 for f in files), sum(f.loc or 0 for f in files if read_medium_plus(f)))


def hotspots(snap: Snapshot, min_domains: int = 3) -> list[tuple[File, tuple[str, ...]]]:
    """Files tagged with ``min_domains`` or more domains (integration hotspots)."""
    result = [(snap.file_by_id[fid], names) for fid, names in snap.domains_of_file.items()
              if len(names) >= min_domains and fid in snap.file_by_id]
    return sorted(result, key=lambda item: (-len(item[1]), item[0].package, item[0].path, item[0].id))


def sessions_touching_domain(snap: Snapshot, name: str) -> list[int]:
    """Session ids that read a file of the domain or recorded a finding on one."""
    file_ids = {f.id for f in snap.files_of_domain.get(name, ())}
    ids = {r.session_id for r in snap.reads if r.file_id in file_ids and r.session_id is not None}
    ids |= {f.session_id for f in snap.findings if f.file_id in file_ids and f.session_id is not None}
    return sorted(i for i in ids if i in snap.session_by_id)


def cross_domain(snap: Snapshot, name: str) -> dict[str, dict[str, int]]:
    """Other domain → {edges_out, edges_in, shared_files} for one domain."""
    mine = {f.id for f in snap.files_of_domain.get(name, ())}
    result: dict[str, dict[str, int]] = defaultdict(lambda: {"edges_out": 0, "edges_in": 0, "shared_files": 0})
    for d in snap.dependencies:
        if d.source_file_id in mine:
            for other in snap.domains_of_file.get(d.target_file_id, ()):
                if other != name:
                    result[other]["edges_out"] += 1
        if d.target_file_id in mine:
            for other in snap.domains_of_file.get(d.source_file_id, ()):
                if other != name:
                    result[other]["edges_in"] += 1
    for fid in mine:
        for other in snap.domains_of_file.get(fid, ()):
            if other != name:
                result[other]["shared_files"] += 1
    return dict(sorted(result.items()))
