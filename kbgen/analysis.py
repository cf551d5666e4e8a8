"""Portable figures computed from the snapshot (never from the database's views).

Coverage, integration hotspots, the priority-gap tiers (docs/reference/research-database.md),
open findings and the package map are computed here in Python so they agree
on SQLite and PostgreSQL and do not depend on views a database may or may
not carry (or carry broken). The dashboard, ``kbgen report`` and ``kbgen
stats`` all render the same :class:`Figures`, so the three never disagree.

Conventions (the same as the domain pages; ``docs/reference/figures.md``
defines every figure):

* files at depth ``EXCLUDED`` are out of scope and out of every figure, as
  in the views the research databases carry (their own reports only add up
  that way): :func:`in_scope` drops them, with their reads, findings, domain
  tags and dependency edges, before anything is counted, and
  :func:`excluded_summary` counts them once, apart. Their pages and findings
  stay on the site: this module decides what is *counted*, not what is shown;
* *coverage* is the share of LOC (and files) read MEDIUM or deeper, over the
  in-scope files of a domain or package (a NULL ``loc`` counts as 0); a
  group with no in-scope LOC has no coverage (:func:`coverage_text` says
  why), never a division by zero;
* the priority gaps leave out, besides, ``exclude_paths`` and the configured
  source-file filters;
* severities are the normalised ones (``High`` and ``high`` are ``HIGH``).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from kbgen import vocab
from kbgen.config import Options
from kbgen.wording import count

if TYPE_CHECKING:  # annotations only: kbgen report computes its figures without the snapshot's classes
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
#: The depth of files taken out of scope: outside every figure.
EXCLUDED = "EXCLUDED"


# -- scope ------------------------------------------------------------------------------

def is_excluded(f: File) -> bool:
    """Taken out of scope (depth ``EXCLUDED``, in any spelling the loader normalised)."""
    return f.depth == EXCLUDED


def excluded_ids(snap: Snapshot) -> frozenset[int]:
    """Ids of the EXCLUDED files (cached on the snapshot: pages ask once per session and per domain)."""
    cached: frozenset[int] | None = vars(snap).get("_kbgen_excluded_ids")
    if cached is None:
        cached = frozenset(f.id for f in snap.files if f.depth == EXCLUDED)
        vars(snap)["_kbgen_excluded_ids"] = cached
    return cached


def in_scope(snap: Snapshot) -> Snapshot:
    """The snapshot as every figure sees it: EXCLUDED files left out, with what hangs on them.

    Gone with an excluded file: its domain tags, its reads, the findings on
    it and every dependency edge with an excluded end (the campaigns' views
    leave those files out of coverage, hotspots, open findings, gaps and
    connectivity alike). Sessions, domains, packages, plans and kbgen's own
    rows stay. Computed once per snapshot; a snapshot without excluded files
    is its own scope, and the scope of a scope is itself.
    """
    cached: Snapshot | None = vars(snap).get("_kbgen_scope")
    if cached is not None:
        return cached
    out = excluded_ids(snap)
    if not out:
        scoped = snap
    else:
        scoped = dataclasses.replace(
            snap,
            files=tuple(f for f in snap.files if f.id not in out),
            file_domains=tuple(fd for fd in snap.file_domains if fd[0] not in out),
            reads=tuple(r for r in snap.reads if r.file_id not in out),
            findings=tuple(f for f in snap.findings if f.file_id not in out),
            dependencies=tuple(d for d in snap.dependencies
                               if d.source_file_id not in out and d.target_file_id not in out))
        vars(scoped)["_kbgen_scope"] = scoped
    vars(snap)["_kbgen_scope"] = scoped
    return scoped


@dataclass(frozen=True)
class Excluded:
    """What the figures leave out: EXCLUDED files and what hangs on them, counted once, apart."""

    files: int
    loc: int
    findings: int
    open_findings: int  # CRITICAL/HIGH, not followed up, not resolved or superseded
    reads: int
    dependencies: int  # edges with at least one excluded end

    def __bool__(self) -> bool:
        return self.files > 0


def excluded_summary(snap: Snapshot) -> Excluded:
    out = excluded_ids(snap)
    files = [f for f in snap.files if f.id in out]
    findings = [x for x in snap.findings if x.file_id in out]
    return Excluded(
        files=len(files), loc=sum(f.loc or 0 for f in files), findings=len(findings),
        open_findings=sum(1 for x in findings if is_open(snap, x)),
        reads=sum(1 for r in snap.reads if r.file_id in out),
        dependencies=sum(1 for d in snap.dependencies if d.source_file_id in out or d.target_file_id in out))


def short_count(n: int) -> str:
    """A count at a glance: ``3,920``, ``273k``, ``2.27M`` (exact figures go alongside)."""
    if n >= 999_500:  # rounds to 1,000k: say 1.00M
        return f"{n / 1_000_000:.2f}M"
    if n >= 10_000:
        return f"{n / 1_000:.0f}k"
    return f"{n:,}"


def excluded_headline(ex: Excluded) -> str:
    """``1,265 files / 2.27M LOC excluded``: the one place the figures mention excluded files."""
    return f"{count(ex.files, 'file')} / {short_count(ex.loc)} LOC excluded"


def excluded_note(ex: Excluded) -> str:
    """The parenthesis after the headline: the exact LOC when the headline rounds it, and what EXCLUDED means."""
    exact = f"{ex.loc:,} LOC; " if short_count(ex.loc) != f"{ex.loc:,}" else ""
    return f"{exact}depth EXCLUDED, taken out of scope"


def excluded_pronouns(ex: Excluded) -> tuple[str, str]:
    """("it", "its") for one excluded file, ("them", "their") for several."""
    return ("it", "its") if ex.files == 1 else ("them", "their")


def excluded_sentence(ex: Excluded, where: str) -> str:
    """``Every figure {where} leaves them out, with their 57 findings (…), …`` (plain text, no full stop)."""
    them, their = excluded_pronouns(ex)
    items = [count(ex.findings, "finding") + (f" ({ex.open_findings:,} open CRITICAL/HIGH)" if ex.open_findings
                                               else "") if ex.findings else "",
             count(ex.reads, "file read") if ex.reads else "",
             count(ex.dependencies, "dependency edge") if ex.dependencies else ""]
    items = [i for i in items if i]
    listed = "" if not items else f", with {their} " + (
        items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1])
    return f"Every figure {where} leaves {them} out{listed}"


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
    return _matcher(patterns if isinstance(patterns, tuple) else tuple(patterns))(path)


class _LikeMatcher:
    """A set of LIKE patterns, the common shapes tested with string methods.

    ``%x%``, ``%x``, ``x%`` and ``x`` are ``in``, ``endswith``, ``startswith`` and ``==`` on
    the lowercased path (a ``_`` in the first two: one unanchored regex search): the same
    answer as the anchored regex for ASCII text (where IGNORECASE is plain lowercasing),
    several times faster over a campaign's gap candidates. Patterns of other shapes go
    through the anchored regex; a non-ASCII path, or one ending in a newline (the regex's
    ``$`` also matches before it), through the regex of all of them.
    """

    def __init__(self, patterns: tuple[str, ...]) -> None:
        contains: list[str] = []
        suffixes: list[str] = []
        prefixes: list[str] = []
        equals: set[str] = set()
        floating: list[str] = []
        rest: list[str] = []
        for p in patterns:
            core = p.strip("%")
            lead, trail = p.startswith("%"), p.endswith("%") and len(p) > 1
            if not p.isascii() or "%" in core or p.count("%") > int(lead) + int(trail):
                rest.append(p)
            elif "_" in p and lead:  # %x_y% or %x_y: x, any one character, y
                floating.append("".join("." if ch == "_" else re.escape(ch) for ch in core) + ("" if trail else r"\Z"))
            elif "_" in p:
                rest.append(p)
            elif lead and trail:
                contains.append(core.lower())
            elif lead:
                suffixes.append(core.lower())
            elif trail:
                prefixes.append(core.lower())
            else:
                equals.add(p.lower())
        self.contains = tuple(contains)
        self.suffixes = tuple(suffixes)
        self.prefixes = tuple(prefixes)
        self.equals = frozenset(equals)
        self.floating = re.compile("|".join(floating), re.DOTALL | re.IGNORECASE) if floating else None
        self.rest = _any_regex(tuple(rest))
        self.everything = _any_regex(patterns)

    def __call__(self, path: str) -> bool:
        """Whether one of the patterns matches ``path``."""
        if not path.isascii() or path.endswith("\n"):
            return self.everything is not None and self.everything.match(path) is not None
        low = path.lower()
        return (self._floating(path, low) or low.startswith(self.prefixes) or low in self.equals
                or (self.rest is not None and self.rest.match(path) is not None))

    def any_candidate(self, path: str, package: str) -> bool:
        """Whether one of the patterns matches one of :func:`path_candidates`.

        ``/path`` and ``path`` are ends of ``package/path``: a pattern that may start
        anywhere (``%x%``, ``%x``) matching either of them matches it too, so those are
        tested once, on the longest.
        """
        full = f"{package}/{path}"
        if not full.isascii() or path.endswith("\n"):
            return self.everything is not None and any(
                self.everything.match(c) is not None for c in (path, "/" + path, full))
        low, low_full = path.lower(), full.lower()
        if self._floating(full, low_full):
            return True
        if self.prefixes and (low.startswith(self.prefixes) or low_full.startswith(self.prefixes)
                              or ("/" + low).startswith(self.prefixes)):
            return True
        if self.equals and (low in self.equals or "/" + low in self.equals or low_full in self.equals):
            return True
        return self.rest is not None and any(self.rest.match(c) is not None for c in (path, "/" + path, full))

    def _floating(self, text: str, low: str) -> bool:
        """The patterns that may start anywhere: ``%x%``, ``%x`` (``low`` is ``text`` lowercased)."""
        if low.endswith(self.suffixes):
            return True
        for c in self.contains:
            if c in low:
                return True
        return self.floating is not None and self.floating.search(text) is not None


@lru_cache(maxsize=64)
def _matcher(patterns: tuple[str, ...]) -> _LikeMatcher:
    return _LikeMatcher(patterns)


@lru_cache(maxsize=64)
def _any_regex(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for a set of LIKE patterns: a campaign's gaps test 13k paths against ~30 patterns."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{like_to_regex(p).pattern})" for p in patterns), re.DOTALL | re.IGNORECASE)


def path_candidates(f: File) -> tuple[str, str, str]:
    """The spellings a pattern may be written against: ``a/b.ts``, ``/a/b.ts``, ``pkg/a/b.ts``.

    The leading-slash form lets ``%/tests/%`` catch a top-level ``tests/``.
    """
    return (f.path, "/" + f.path, f"{f.package}/{f.path}")


def is_source_file(f: File, snap: Snapshot, options: Options) -> bool:
    """Counts for gaps: not a test, type stub or doc, and not under an exclude_paths pattern."""
    return is_source_path(f.path, f.package, options.source_excludes, tuple(e.pattern for e in snap.exclude_paths))


def is_source_path(path: str, package: str, source_excludes: tuple[str, ...], exclude_paths: tuple[str, ...]) -> bool:
    """:func:`is_source_file` from a file's path and package name (``kbgen report`` reads no snapshot)."""
    # One matcher: either set leaves the file out, whichever of path_candidates it matches.
    return not _matcher(source_excludes + exclude_paths).any_candidate(path, package)


def is_unread(f: File) -> bool:
    return f.depth in ("NOT_TOUCHED", "MENTIONED")


def read_medium_plus(f: File) -> bool:
    return vocab.depth_rank(f.depth) >= vocab.depth_rank("MEDIUM")


#: The depth from which a file counts as read in coverage figures.
COVERAGE_DEPTH = "MEDIUM"


def in_coverage(f: File) -> bool:
    """Whether a file counts in coverage figures, numerator and denominator alike.

    The one rule behind the coverage tables, the growth chart and the per-session coverage
    changes (:mod:`kbgen.changes`), so those figures always add up to each other: a file
    at depth EXCLUDED is out of scope and counts in none of them.
    """
    return f.depth != EXCLUDED


# -- priority gaps --------------------------------------------------------------------

@dataclass(frozen=True)
class Gap:
    """A priority gap and why it ranks where it does.

    ``deep_edges`` are the dependency edges between the file and DEEP files
    (either direction; they make it CONNECTED) and ``deep_nearby`` the DEEP
    files in its package's two-level directory (PROXIMATE, NEARBY): the
    evidence a plan cites for the pick, kept with the tier so the two cannot
    disagree.
    """

    file: File
    tier: str
    domains: tuple[str, ...]
    reason: str
    deep_edges: tuple[Dependency, ...] = ()
    deep_nearby: int = 0

    @property
    def deep_links(self) -> tuple[int, ...]:
        """The DEEP files the gap has a dependency edge with, each once, by id."""
        return tuple(sorted({d.target_file_id if d.source_file_id == self.file.id else d.source_file_id
                             for d in self.deep_edges}))


def dir2(path: str) -> str:
    """The two-level directory of a path (``a/b/c/d.ts`` → ``a/b``; ``a/d.ts`` → ``a``)."""
    parts = path.split("/")[:-1]
    return "/".join(parts[:2])


_dir2 = dir2  # the old private name



def gap_tier(connected: bool, own_package: bool, deep_neighbours: int, directory: str) -> tuple[str, str]:
    """A priority gap's tier and the reason shown with it (docs/reference/figures.md): the one rule
    the site and plan drafts (through :func:`priority_gaps`) and the report's direct reader
    (:mod:`kbgen.report_sql`) share."""
    if connected:
        return "CONNECTED", "dependency edge to a DEEP file"
    if own_package:
        return "OWN_CODE", "in the team's own package"
    if deep_neighbours >= 3:
        return "PROXIMATE", f"{deep_neighbours} DEEP files in {directory or '(root)'}"
    if deep_neighbours >= 1:
        return "NEARBY", f"{deep_neighbours} DEEP file{'s' if deep_neighbours > 1 else ''} nearby"
    return "DOMAIN_ONLY", "tagged with the domain only"


def priority_gaps(snap: Snapshot, options: Options, *, high_only: bool = True) -> list[Gap]:
    """NOT_TOUCHED source files in (HIGH) domains, ranked in tiers, one row per file.

    The tiers are described in docs/reference/research-database.md (Priority gaps).

    Ranked by tier, then LOC (largest first). Computed over the in-scope
    snapshot, as the ``smart_priority_gaps`` view does: an EXCLUDED file is
    neither a gap nor DEEP, so an edge to a file read DEEP before it was
    excluded does not make a gap CONNECTED, nor does it count as a DEEP
    neighbour. Cached on the snapshot: domain documents ask once per domain,
    the dashboard and report once more.
    """
    snap = in_scope(snap)
    cache: dict[tuple[object, ...], list[Gap]] = vars(snap).setdefault("_kbgen_gap_cache", {})
    key = (high_only, options.own_packages, options.source_excludes)
    if key not in cache:
        cache[key] = _priority_gaps(snap, options, high_only)
    return list(cache[key])


def _priority_gaps(snap: Snapshot, options: Options, high_only: bool) -> list[Gap]:
    deep_ids = {f.id for f in snap.files if f.depth == "DEEP"}
    deep_dirs: Counter[tuple[int | None, str]] = Counter(
        (f.package_id, dir2(f.path)) for f in snap.files if f.depth == "DEEP")
    connected: dict[int, list[Dependency]] = defaultdict(list)
    for d in snap.dependencies:
        if d.target_file_id in deep_ids:
            connected[d.source_file_id].append(d)
        if d.source_file_id in deep_ids and d.target_file_id != d.source_file_id:
            connected[d.target_file_id].append(d)
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
        tier, reason = gap_tier(f.id in connected, f.package in own, neighbours, dir2(f.path))
        gaps.append(Gap(f, tier, domains, reason, tuple(connected.get(f.id, ())), neighbours))
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


#: The depths an in-scope file can have, strongest first (every depth but EXCLUDED): a coverage
#: row's per-depth file counts over these add up to its Files.
IN_SCOPE_DEPTHS: tuple[str, ...] = tuple(d for d in vocab.DEPTHS if d != EXCLUDED)


# -- coverage -----------------------------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    """Files and LOC of one domain or package, by depth: in-scope files only.

    ``excluded_files`` / ``excluded_loc`` are the group's EXCLUDED files, in
    neither the numerator nor the denominator; they are kept to say why a
    group has no coverage (all its files excluded), never added to a figure.
    """

    name: str
    files: int
    loc: int
    files_read: int  # MEDIUM or deeper
    loc_read: int
    by_depth: tuple[int, ...]  # file counts in vocab.DEPTHS order
    priority: str = ""
    excluded_files: int = 0
    excluded_loc: int = 0

    @property
    def percent(self) -> float:
        """LOC read MEDIUM+ as a percentage (0 when the group has no LOC: see :attr:`has_coverage`)."""
        return 100.0 * self.loc_read / self.loc if self.loc else 0.0

    @property
    def has_coverage(self) -> bool:
        """False when the denominator is empty (no in-scope LOC): the percentage means nothing."""
        return self.loc > 0

    def depth_count(self, depth: str) -> int:
        return self.by_depth[vocab.DEPTHS.index(depth)]


def coverage_text(c: Coverage) -> str:
    """The coverage of a group as a reader should see it, saying why when there is none.

    ``N%``; ``none in scope (all 3 files excluded)``; ``no LOC counted``
    (files whose ``loc`` is NULL or 0); ``no files``.
    """
    if c.loc:
        return f"{100.0 * c.loc_read / c.loc:.0f}%"
    if not c.files and c.excluded_files:
        return f"none in scope (all {count(c.excluded_files, 'file')} excluded)"
    if not c.files:
        return "no files"
    return "no LOC counted"


def _coverage(name: str, files: Sequence[File], priority: str = "") -> Coverage:
    """One group's row, in one pass: EXCLUDED members are counted apart, never in a figure."""
    return coverage_row(name, ((f.depth, f.loc) for f in files), priority)


def coverage_row(name: str, files: Iterable[tuple[str, int | None]], priority: str = "") -> Coverage:
    """:func:`_coverage` from each member's (normalised depth, LOC): ``kbgen report`` reads no snapshot."""
    threshold = vocab.depth_rank(COVERAGE_DEPTH)
    depths: Counter[str] = Counter()
    n = loc = n_read = loc_read = n_out = loc_out = 0
    for depth, size_or_none in files:
        size = size_or_none or 0
        if depth == EXCLUDED:  # not in_coverage
            n_out += 1
            loc_out += size
            continue
        n += 1
        loc += size
        depths[depth] += 1
        if vocab.depth_rank(depth) >= threshold:
            n_read += 1
            loc_read += size
    return Coverage(name=name, files=n, loc=loc, files_read=n_read, loc_read=loc_read,
                    by_depth=tuple(depths.get(d, 0) for d in vocab.DEPTHS), priority=priority,
                    excluded_files=n_out, excluded_loc=loc_out)


def domain_coverage_row(snap: Snapshot, name: str) -> Coverage:
    """The coverage row of one domain (in-scope files; its excluded ones counted apart).

    Cached on the snapshot: the dashboard, the domains index, each domain
    page and each domain document ask for the same rows.
    """
    cache: dict[str, Coverage] = vars(snap).setdefault("_kbgen_domain_rows", {})
    row = cache.get(name)
    if row is None:
        d = snap.domain_by_name.get(name)
        row = cache[name] = _coverage(name, snap.files_of_domain.get(name, ()), d.priority if d else "")
    return row


def domain_coverage(snap: Snapshot, name: str) -> tuple[int, int, int, int]:
    """(files, files read MEDIUM+, LOC, LOC read MEDIUM+) of a domain, in-scope files only."""
    c = domain_coverage_row(snap, name)
    return (c.files, c.files_read, c.loc, c.loc_read)


def coverage_by_domain(snap: Snapshot) -> list[Coverage]:
    """One row per domain, by name (a domain without in-scope files shows zeros)."""
    return [domain_coverage_row(snap, d.name) for d in sorted(snap.domains, key=lambda d: (d.name, d.id))]


def coverage_by_package(snap: Snapshot) -> list[Coverage]:
    """One row per package, by name, counted from the files table (in-scope files).

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
    """Totals of the in-scope snapshot (``by_depth`` has no EXCLUDED files: its row is zero)."""
    snap = in_scope(snap)
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
    Reads of files EXCLUDED since are left out, so the last point is the
    in-scope coverage the dashboard shows.
    """
    snap = in_scope(snap)
    threshold = vocab.depth_rank(COVERAGE_DEPTH)
    seen: set[int] = set()
    points: list[GrowthPoint] = []
    files_total = loc_total = 0
    for s in ordered_sessions(snap):
        new = sorted({r.file_id for r in snap.reads_of_session.get(s.id, ())
                      if vocab.depth_rank(r.depth) >= threshold and r.file_id not in seen
                      and (r.file_id not in snap.file_by_id or in_coverage(snap.file_by_id[r.file_id]))})
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
    """Sessions in order, then one row for findings without a recorded session (if any).

    Findings on EXCLUDED files are left out.
    """
    snap = in_scope(snap)
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
    """Open CRITICAL/HIGH findings on in-scope files: CRITICAL first, then by id (the ``open_findings`` view)."""
    snap = in_scope(snap)
    return sorted((f for f in snap.findings if is_open(snap, f)),
                  key=lambda f: (vocab.severity_rank(f.severity), f.id))


def unverified_dependencies(snap: Snapshot) -> list[Dependency]:
    """Unverified edges between in-scope files (or files missing from the files table)."""
    snap = in_scope(snap)
    return [d for d in snap.dependencies if not d.verified]


def hotspots(snap: Snapshot, min_domains: int = 3) -> list[tuple[File, tuple[str, ...]]]:
    """In-scope files tagged with ``min_domains`` or more domains (integration hotspots)."""
    snap = in_scope(snap)
    result = [(snap.file_by_id[fid], names) for fid, names in snap.domains_of_file.items()
              if len(names) >= min_domains and fid in snap.file_by_id]
    return sorted(result, key=lambda item: (-len(item[1]), -(item[0].loc or 0), item[0].package, item[0].path,
                                            item[0].id))


def sessions_touching_domain(snap: Snapshot, name: str) -> list[int]:
    """Session ids that read a file of the domain or recorded a finding on one."""
    file_ids = {f.id for f in snap.files_of_domain.get(name, ())}
    # Through the per-file indexes: a sync asks this for every domain, and a domain holds few of the files.
    ids = {r.session_id for i in file_ids for r in snap.reads_of_file.get(i, ()) if r.session_id is not None}
    ids |= {f.session_id for i in file_ids for f in snap.findings_of_file.get(i, ()) if f.session_id is not None}
    return sorted(i for i in ids if i in snap.session_by_id)


def cross_domain(snap: Snapshot, name: str) -> dict[str, dict[str, int]]:
    """Other domain → {edges_out, edges_in, shared_files} for one domain, between in-scope files."""
    snap = in_scope(snap)
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
    """Declared package edges merged with cross-package file edges (in-scope files), by (source, target) name."""
    snap = in_scope(snap)
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
    excluded: Excluded


def figures(snap: Snapshot, options: Options) -> Figures:
    """Every figure, over the in-scope snapshot; ``excluded`` counts what they leave out."""
    scoped = in_scope(snap)
    sessions = ordered_sessions(scoped)
    return Figures(
        overall=overall(scoped), domains=coverage_by_domain(snap), packages=coverage_by_package(snap),
        growth=coverage_growth(scoped), severity=findings_by_severity(scoped),
        categories=findings_by_category(scoped),
        hotspots=hotspots(scoped, options.hotspot_min_domains), gaps=priority_gaps(scoped, options, high_only=True),
        open_findings=open_findings(scoped), unverified=unverified_dependencies(scoped),
        package_links=package_map(scoped), latest_session=sessions[-1] if sessions else None,
        excluded=excluded_summary(snap))
