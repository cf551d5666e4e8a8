"""Portable figures computed from the snapshot (never from the database's views).

Coverage, integration hotspots, the priority-gap tiers (docs/reference/research-database.md),
open findings and the package map are computed here in Python so they agree
on SQLite and PostgreSQL and do not depend on views a database may or may
not carry (or carry broken). The dashboard, ``kbgen report`` and ``kbgen
stats`` all render the same :class:`Figures`, so the three never disagree.

Conventions (the same as the domain pages):

* *coverage* is the share of LOC (and files) read MEDIUM or deeper, over all
  files of a domain or package (a NULL ``loc`` counts as 0);
* every file counts, whatever its depth: EXCLUDED is a depth like the others
  (shown in the overall figures); only the priority gaps leave files out, by
  ``exclude_paths`` and the configured source-file filters;
* severities are the normalised ones (``High`` and ``high`` are ``HIGH``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from kbgen import vocab
from kbgen.config import Options
from kbgen.model import Dependency, File, Finding, Session, Snapshot

TIERS: tuple[str, ...] = ("CONNECTED", "OWN_CODE", "PROXIMATE", "NEARBY", "DOMAIN_ONLY")
#: What each tier means (docs/reference/research-database.md, Priority gaps).
TIER_MEANING: dict[str, str] = {
    "CONNECTED": "has a dependency edge to or from a DEEP file",
    "OWN_CODE": "in the team's own package (own_packages in conf/kbgen.yaml)",
    "PROXIMATE": "3 or more DEEP files in the same two-level directory",
    "NEARBY": "1 or 2 DEEP files in the same two-level directory",
    "DOMAIN_ONLY": "tagged with a HIGH-priority domain only",
}
#: Severities a finding must have to count as an open finding.
OPEN_SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH")
NO_PACKAGE = "(no package)"


# -- source-file filters ------------------------------------------------------------

@lru_cache(maxsize=512)
def like_to_regex(pattern: str) -> re.Pattern[str]:
    """An SQL LIKE pattern (``%`` any run, ``_`` one character) as an anchored regex.

    Case-insensitive, as LIKE is in SQLite, where research databases live and
    where the team's own ``priority_gaps`` view applies the same patterns.
    """
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.DOTALL | re.IGNORECASE)


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    return any(like_to_regex(p).match(path) for p in patterns)


def path_candidates(f: File) -> tuple[str, str, str]:
    """The spellings a pattern may be written against: ``a/b.ts``, ``/a/b.ts``, ``pkg/a/b.ts``.

    The leading-slash form lets ``%/tests/%`` catch a top-level ``tests/``.
    """
    return (f.path, "/" + f.path, f"{f.package}/{f.path}")


def is_source_file(f: File, snap: Snapshot, options: Options) -> bool:
    """Counts for gaps: not a test, type stub or doc, and not under an exclude_paths pattern."""
    candidates = path_candidates(f)
    if any(matches_any(c, options.source_excludes) for c in candidates):
        return False
    excludes = [e.pattern for e in snap.exclude_paths]
    return not any(matches_any(c, excludes) for c in candidates)


def is_unread(f: File) -> bool:
    return f.depth in ("NOT_TOUCHED", "MENTIONED")


def read_medium_plus(f: File) -> bool:
    return vocab.depth_rank(f.depth) >= vocab.depth_rank("MEDIUM")


# -- priority gaps --------------------------------------------------------------------

@dataclass(frozen=True)
class Gap:
    file: File
    tier: str
    domains: tuple[str, ...]
    reason: str


def dir2(path: str) -> str:
    """The two-level directory of a path (``a/b/c/d.ts`` → ``a/b``; ``a/d.ts`` → ``a``)."""
    parts = path.split("/")[:-1]
    return "/".join(parts[:2])


_dir2 = dir2  # the old private name


def priority_gaps(snap: Snapshot, options: Options, *, high_only: bool = True) -> list[Gap]:
    """NOT_TOUCHED source files in (HIGH) domains, ranked in tiers, one row per file.

    The tiers are described in docs/reference/research-database.md (Priority gaps).

    Ranked by tier, then LOC (largest first). Cached on the snapshot: domain
    documents ask once per domain, the dashboard and report once more.
    """
    cache: dict[tuple[object, ...], list[Gap]] = vars(snap).setdefault("_kbgen_gap_cache", {})
    key = (high_only, options.own_packages, options.source_excludes)
    if key not in cache:
        cache[key] = _priority_gaps(snap, options, high_only)
    return list(cache[key])


def _priority_gaps(snap: Snapshot, options: Options, high_only: bool) -> list[Gap]:
    deep_ids = {f.id for f in snap.files if f.depth == "DEEP"}
    deep_dirs: Counter[tuple[int | None, str]] = Counter(
        (f.package_id, dir2(f.path)) for f in snap.files if f.depth == "DEEP")
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
        neighbours = deep_dirs.get((f.package_id, dir2(f.path)), 0)
        if f.id in connected:
            tier, reason = "CONNECTED", "dependency edge to a DEEP file"
        elif f.package in own:
            tier, reason = "OWN_CODE", "in the team's own package"
        elif neighbours >= 3:
            tier, reason = "PROXIMATE", f"{neighbours} DEEP files in {dir2(f.path) or '(root)'}"
        elif neighbours >= 1:
            tier, reason = "NEARBY", f"{neighbours} DEEP file{'s' if neighbours > 1 else ''} nearby"
        else:
            tier, reason = "DOMAIN_ONLY", "tagged with the domain only"
        gaps.append(Gap(f, tier, domains, reason))
    gaps.sort(key=lambda g: (TIERS.index(g.tier), -(g.file.loc or 0), g.file.package, g.file.path, g.file.id))
    return gaps


def gap_tier_counts(gaps: Iterable[Gap]) -> dict[str, tuple[int, int]]:
    """Tier → (files, LOC), every tier present (zero when empty)."""
    files: Counter[str] = Counter()
    loc: Counter[str] = Counter()
    for g in gaps:
        files[g.tier] += 1
        loc[g.tier] += g.file.loc or 0
    return {t: (files[t], loc[t]) for t in TIERS}


# -- coverage -----------------------------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    """Files and LOC of one domain or package, by depth."""

    name: str
    files: int
    loc: int
    files_read: int  # MEDIUM or deeper
    loc_read: int
    by_depth: tuple[int, ...]  # file counts in vocab.DEPTHS order
    priority: str = ""

    @property
    def percent(self) -> float:
        """LOC read MEDIUM+ as a percentage (0 when the group has no LOC)."""
        return 100.0 * self.loc_read / self.loc if self.loc else 0.0

    def depth_count(self, depth: str) -> int:
        return self.by_depth[vocab.DEPTHS.index(depth)]


def _coverage(name: str, files: Sequence[File], priority: str = "") -> Coverage:
    depths = Counter(f.depth for f in files)
    return Coverage(name=name, files=len(files), loc=sum(f.loc or 0 for f in files),
                    files_read=sum(1 for f in files if read_medium_plus(f)),
                    loc_read=sum(f.loc or 0 for f in files if read_medium_plus(f)),
                    by_depth=tuple(depths.get(d, 0) for d in vocab.DEPTHS), priority=priority)


def domain_coverage(snap: Snapshot, name: str) -> tuple[int, int, int, int]:
    """(files, files read MEDIUM+, LOC, LOC read MEDIUM+) of a domain."""
    c = _coverage(name, snap.files_of_domain.get(name, ()))
    return (c.files, c.files_read, c.loc, c.loc_read)


def coverage_by_domain(snap: Snapshot) -> list[Coverage]:
    """One row per domain, by name (a domain without files shows zeros)."""
    return [_coverage(d.name, snap.files_of_domain.get(d.name, ()), d.priority)
            for d in sorted(snap.domains, key=lambda d: (d.name, d.id))]


def coverage_by_package(snap: Snapshot) -> list[Coverage]:
    """One row per package, by name, counted from the files table.

    ``packages.total_files`` / ``total_loc`` are not used: real databases
    carry stale totals (0 although files exist). Files whose package is
    missing are grouped under ``(no package)``, last.
    """
    groups: dict[int | None, list[File]] = defaultdict(list)
    for f in snap.files:
        groups[f.package_id if f.package_id in snap.package_by_id else None].append(f)
    rows = [_coverage(p.name, groups.get(p.id, ())) for p in sorted(snap.packages, key=lambda p: (p.name, p.id))]
    if groups.get(None):
        rows.append(_coverage(NO_PACKAGE, groups[None]))
    return rows


# -- overall ------------------------------------------------------------------------

@dataclass(frozen=True)
class Overall:
    packages: int
    files: int
    loc: int
    files_null_loc: int
    domains: int
    sessions: int
    reads: int
    findings: int
    dependencies: int
    package_dependencies: int
    by_depth: tuple[tuple[str, int, int], ...]  # (depth, files, LOC) in vocab.DEPTHS order


def overall(snap: Snapshot) -> Overall:
    files: Counter[str] = Counter()
    loc: Counter[str] = Counter()
    for f in snap.files:
        files[f.depth] += 1
        loc[f.depth] += f.loc or 0
    return Overall(
        packages=len(snap.packages), files=len(snap.files), loc=sum(loc.values()),
        files_null_loc=sum(1 for f in snap.files if f.loc is None), domains=len(snap.domains),
        sessions=len(snap.sessions), reads=len(snap.reads), findings=len(snap.findings),
        dependencies=len(snap.dependencies), package_dependencies=len(snap.package_dependencies),
        by_depth=tuple((d, files.get(d, 0), loc.get(d, 0)) for d in vocab.DEPTHS))


# -- sessions -----------------------------------------------------------------------

def ordered_sessions(snap: Snapshot) -> list[Session]:
    """Sessions in campaign order: by R-number, then id (``R22`` before ``R22b``)."""
    return sorted(snap.sessions, key=lambda s: (s.number, s.id))


@dataclass(frozen=True)
class GrowthPoint:
    """Coverage after a session, from ``file_reads`` (what sessions recorded reading)."""

    session: Session
    new_files: int  # files first read MEDIUM+ in this session
    new_loc: int
    files: int  # cumulative
    loc: int


def coverage_growth(snap: Snapshot) -> list[GrowthPoint]:
    """Cumulative files and LOC read MEDIUM or deeper, session by session.

    Counted from the reads, not from ``files.depth``: a depth set without a
    recorded read (or by a read without a session) does not appear here.
    """
    threshold = vocab.depth_rank("MEDIUM")
    seen: set[int] = set()
    points: list[GrowthPoint] = []
    files_total = loc_total = 0
    for s in ordered_sessions(snap):
        new = sorted({r.file_id for r in snap.reads_of_session.get(s.id, ())
                      if vocab.depth_rank(r.depth) >= threshold and r.file_id not in seen})
        seen.update(new)
        new_loc = sum((snap.file_by_id[i].loc or 0) for i in new if i in snap.file_by_id)
        files_total += len(new)
        loc_total += new_loc
        points.append(GrowthPoint(s, len(new), new_loc, files_total, loc_total))
    return points


@dataclass(frozen=True)
class SeverityRow:
    """Findings of one session by normalised severity; ``session`` None = no (known) session."""

    session: Session | None
    counts: tuple[int, ...]  # in vocab.SEVERITIES order

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def label(self) -> str:
        return self.session.label if self.session else "no session"


def findings_by_severity(snap: Snapshot) -> list[SeverityRow]:
    """Sessions in order, then one row for findings without a recorded session (if any)."""
    counts: dict[int | None, Counter[str]] = defaultdict(Counter)
    for f in snap.findings:
        sid = f.session_id if f.session_id in snap.session_by_id else None
        counts[sid][f.severity] += 1
    rows = [SeverityRow(s, tuple(counts[s.id].get(v, 0) for v in vocab.SEVERITIES)) for s in ordered_sessions(snap)]
    if None in counts:
        rows.append(SeverityRow(None, tuple(counts[None].get(v, 0) for v in vocab.SEVERITIES)))
    return rows


@dataclass(frozen=True)
class CategoryRow:
    """Findings grouped under one normalised category, with the spellings they were recorded as."""

    category: str
    counts: tuple[int, ...]  # in vocab.SEVERITIES order
    open: int  # open CRITICAL/HIGH (see :func:`is_open`)
    spellings: tuple[tuple[str, int], ...]  # recorded text → findings, most used first
    positive: bool

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def other_spellings(self) -> tuple[tuple[str, int], ...]:
        """The recorded spellings that differ from the category itself (what a reader would not guess)."""
        return tuple((text, n) for text, n in self.spellings if text != self.category)


def findings_by_category(snap: Snapshot) -> list[CategoryRow]:
    """Every category in use, most findings first (then by name), with its recorded spellings."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    opened: Counter[str] = Counter()
    for f in snap.findings:
        counts[f.category][f.severity] += 1
        spellings[f.category]["" if f.category_raw is None else f.category_raw] += 1
        if is_open(snap, f):
            opened[f.category] += 1
    rows = [CategoryRow(c, tuple(counts[c].get(v, 0) for v in vocab.SEVERITIES), opened[c],
                        tuple(sorted(spellings[c].items(), key=lambda kv: (-kv[1], kv[0]))),
                        c in snap.positive_categories)
            for c in counts]
    return sorted(rows, key=lambda r: (-r.total, r.category))


# -- findings, dependencies, hotspots ----------------------------------------------------

def is_open(snap: Snapshot, f: Finding) -> bool:
    """CRITICAL/HIGH, not followed up, and not resolved or superseded through kbgen."""
    return f.severity in OPEN_SEVERITIES and not f.followed_up and f.id not in snap.status_of_finding


def open_findings(snap: Snapshot) -> list[Finding]:
    """Open CRITICAL/HIGH findings: CRITICAL first, then by id (the order of the ``open_findings`` view)."""
    return sorted((f for f in snap.findings if is_open(snap, f)),
                  key=lambda f: (vocab.severity_rank(f.severity), f.id))


def unverified_dependencies(snap: Snapshot) -> list[Dependency]:
    return [d for d in snap.dependencies if not d.verified]


def hotspots(snap: Snapshot, min_domains: int = 3) -> list[tuple[File, tuple[str, ...]]]:
    """Files tagged with ``min_domains`` or more domains (integration hotspots)."""
    result = [(snap.file_by_id[fid], names) for fid, names in snap.domains_of_file.items()
              if len(names) >= min_domains and fid in snap.file_by_id]
    return sorted(result, key=lambda item: (-len(item[1]), -(item[0].loc or 0), item[0].package, item[0].path,
                                            item[0].id))


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


# -- packages -----------------------------------------------------------------------

@dataclass(frozen=True)
class PackageLink:
    """A package-level edge: declared (``package_dependencies``) and/or seen in file edges."""

    source: str
    target: str
    relationships: tuple[str, ...]  # declared, sorted; empty when only file edges connect them
    file_edges: int  # file-level dependency edges from source to target package


def package_name(snap: Snapshot, package_id: int | None) -> str:
    p = snap.package_by_id.get(package_id) if package_id is not None else None
    return p.name if p else (f"package {package_id}" if package_id is not None else NO_PACKAGE)


def package_map(snap: Snapshot) -> list[PackageLink]:
    """Declared package edges merged with cross-package file edges, by (source, target) name."""
    declared: dict[tuple[str, str], set[str]] = defaultdict(set)
    for pd in snap.package_dependencies:
        declared[(package_name(snap, pd.source_package_id), package_name(snap, pd.target_package_id))].add(
            pd.relationship)
    file_edges: Counter[tuple[str, str]] = Counter()
    for d in snap.dependencies:
        src, dst = snap.file_by_id.get(d.source_file_id), snap.file_by_id.get(d.target_file_id)
        if src is None or dst is None or src.package_id == dst.package_id:
            continue
        file_edges[(package_name(snap, src.package_id), package_name(snap, dst.package_id))] += 1
    keys = sorted(set(declared) | set(file_edges))
    return [PackageLink(s, t, tuple(sorted(declared.get((s, t), ()))), file_edges.get((s, t), 0)) for s, t in keys]


# -- everything at once ---------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    """Every figure the dashboard, ``kbgen report`` and ``kbgen stats`` show."""

    overall: Overall
    domains: list[Coverage]
    packages: list[Coverage]
    growth: list[GrowthPoint]
    severity: list[SeverityRow]
    categories: list[CategoryRow]
    hotspots: list[tuple[File, tuple[str, ...]]]
    gaps: list[Gap]
    open_findings: list[Finding]
    unverified: list[Dependency]
    package_links: list[PackageLink]
    latest_session: Session | None


def figures(snap: Snapshot, options: Options) -> Figures:
    sessions = ordered_sessions(snap)
    return Figures(
        overall=overall(snap), domains=coverage_by_domain(snap), packages=coverage_by_package(snap),
        growth=coverage_growth(snap), severity=findings_by_severity(snap),
        categories=findings_by_category(snap),
        hotspots=hotspots(snap, options.hotspot_min_domains), gaps=priority_gaps(snap, options, high_only=True),
        open_findings=open_findings(snap), unverified=unverified_dependencies(snap),
        package_links=package_map(snap), latest_session=sessions[-1] if sessions else None)
