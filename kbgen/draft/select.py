"""Which files the next session reads: the priority gaps, best first, up to a count and a LOC budget.

The tiers, the source-file filters and the connectivity evidence are
:func:`kbgen.analysis.priority_gaps`' (the dashboard's gaps, to the file):
this module only narrows them to what the user asked for, ranks ties and
fills the session. A file is never drafted unless it is a gap there, so an
EXCLUDED file, a test, generated code or an ``exclude_paths`` match cannot
reach a plan.

Ranking: tier first (CONNECTED … DOMAIN_ONLY), then connectivity to DEEP
files (distinct DEEP files with a dependency edge to or from it, then DEEP
files in its two-level directory), then LOC (largest first: the seed
campaign read the big files of a subsystem first), then package and path
so that equal files always come in the same order.

Filling: files are taken in rank order while the session has fewer than
``files`` and the next file still fits the LOC budget; a file that does not
fit is passed over (it stays a gap for a later session) and the next one
is tried. The first file is always taken, even over budget: a plan of one
large file beats no plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kbgen import analysis
from kbgen.analysis import TIERS, Gap
from kbgen.config import Options
from kbgen.errors import UsageError
from kbgen.model import Snapshot
from kbgen.wording import count


@dataclass(frozen=True)
class DraftRequest:
    """What the user asked for (``kbgen plan draft`` options), validated by :func:`select`."""

    files: int = 9
    loc_budget: int = 4000
    domains: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Selection:
    """The picks in rank order, with what a plan's rationale says about the choice."""

    picks: tuple[Gap, ...]
    candidates: int
    """Gaps that matched the request (before the count and the budget)."""
    over_budget: tuple[Gap, ...]
    """Gaps ranked above the last pick that were passed over because they did not fit the budget."""
    remaining_by_tier: dict[str, int]
    """Candidate gaps not picked, per tier (every tier present)."""
    high_only: bool
    """True when the gaps are those of HIGH domains only (no ``--domain`` given)."""

    @property
    def loc(self) -> int:
        return sum(g.file.loc or 0 for g in self.picks)


def rank_key(gap: Gap) -> tuple[int, int, int, int, str, str, int]:
    """Tier, then connectivity to DEEP files, then LOC (largest first), then package, path, id."""
    f = gap.file
    return (TIERS.index(gap.tier), -len(gap.deep_links), -gap.deep_nearby, -(f.loc or 0), f.package, f.path, f.id)


def _names(values: Sequence[str], known: Sequence[str], what: str) -> tuple[str, ...]:
    """Requested names as the database spells them; an unknown one is a usage error listing the known ones."""
    result: list[str] = []
    for value in values:
        if value in known:
            result.append(value)
            continue
        folded = [k for k in known if k.casefold() == value.casefold()]
        if len(folded) == 1:
            result.append(folded[0])
            continue
        shown = ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12 else "")
        raise UsageError(f"unknown {what} {value!r}",
                         hint=f"known: {shown}" if known else f"the database has no {what}s")
    return tuple(dict.fromkeys(result))


def normalise(snap: Snapshot, request: DraftRequest) -> DraftRequest:
    """The request with names spelled as the database does; bad values are usage errors (exit 2)."""
    if request.files < 1:
        raise UsageError(f"--files {request.files}: a plan needs at least one file")
    if request.loc_budget < 1:
        raise UsageError(f"--loc-budget {request.loc_budget}: the budget must be a positive number of lines")
    tiers = _names(request.tiers, TIERS, "tier")
    return DraftRequest(files=request.files, loc_budget=request.loc_budget,
                        domains=_names(request.domains, [d.name for d in snap.domains], "domain"),
                        packages=_names(request.packages, [p.name for p in snap.packages], "package"),
                        tiers=tuple(t for t in TIERS if t in tiers))


def candidates(snap: Snapshot, options: Options, request: DraftRequest) -> list[Gap]:
    """The gaps the request allows, in rank order.

    Without ``--domain`` these are the dashboard's priority gaps (HIGH
    domains). Naming domains asks for their gaps whatever their priority:
    the same tiers, computed over those domains.
    """
    gaps = analysis.priority_gaps(snap, options, high_only=not request.domains)
    wanted_domains = set(request.domains)
    wanted_packages = set(request.packages)
    wanted_tiers = set(request.tiers)
    chosen = [g for g in gaps
              if (not wanted_domains or wanted_domains.intersection(g.domains))
              and (not wanted_packages or g.file.package in wanted_packages)
              and (not wanted_tiers or g.tier in wanted_tiers)]
    return sorted(chosen, key=rank_key)


def _limits(request: DraftRequest) -> str:
    parts = []
    if request.domains:
        parts.append(("domain " if len(request.domains) == 1 else "domains ") + ", ".join(request.domains))
    if request.packages:
        parts.append(("package " if len(request.packages) == 1 else "packages ") + ", ".join(request.packages))
    if request.tiers:
        parts.append(("tier " if len(request.tiers) == 1 else "tiers ") + ", ".join(request.tiers))
    return "; ".join(parts)


_INVENTORY_DOC = "as kbgen's reference docs describe them in docs/reference/research-database.md"


def nothing_to_draft(snap: Snapshot) -> UsageError:
    """Why the HIGH domains have no gap, in the words that say what to do next.

    "Every file is read" would be false on a database that has no inventory yet
    (``kbgen init`` + ``kbgen db init``): the draft needs files, domains, HIGH
    priorities and domain tags, and the message names the first one missing.
    """
    high = {d.name for d in snap.domains if d.priority == "HIGH"}
    if not snap.files and not snap.domains:
        return UsageError("nothing to draft from: the database has no files and no domains yet",
                          hint="load the inventory of the code under study first: packages, files, domains and "
                               f"file_domains, {_INVENTORY_DOC}")
    if not snap.files:
        return UsageError("nothing to draft from: the database has no files yet",
                          hint="load the inventory of the code under study first: packages and files, "
                               + _INVENTORY_DOC)
    if not snap.domains:
        return UsageError("nothing to draft from: the database has no domains yet (a draft plans the unread files "
                          "of HIGH-priority domains)",
                          hint=f"add domains and tag files with them (file_domains, or kbgen tag), {_INVENTORY_DOC}")
    if not high:
        return UsageError("no priority gaps: no domain has HIGH priority",
                          hint="name a domain with --domain to draft from it, or give a domain HIGH priority")
    if not any(high.intersection(snap.domains_of_file.get(f.id, ())) for f in snap.files):
        return UsageError(f"no priority gaps: no file is tagged with a HIGH domain ({', '.join(sorted(high))})",
                          hint="tag the files of those domains (kbgen tag R<n> DOMAIN FILE...), or name a domain "
                               "with --domain")
    return UsageError("no priority gaps left: every source file of the HIGH domains is read or excluded",
                      hint="name a domain with --domain to draft from a MEDIUM or LOW domain")


def select(snap: Snapshot, options: Options, request: DraftRequest) -> Selection:
    """Pick the session's files. Raises :class:`UsageError` (exit 2) when nothing is left to pick."""
    request = normalise(snap, request)
    ranked = candidates(snap, options, request)
    if not ranked:
        limits = _limits(request)
        if limits:
            total = len(analysis.priority_gaps(snap, options, high_only=True))
            raise UsageError(f"no priority gaps left for {limits}", hint=f"the database has "
                             f"{count(total, 'priority gap')} in HIGH domains without these limits")
        raise nothing_to_draft(snap)
    picks: list[Gap] = []
    passed: list[Gap] = []
    loc = 0
    for gap in ranked:
        if len(picks) >= request.files or loc >= request.loc_budget:
            break
        size = gap.file.loc or 0
        if picks and loc + size > request.loc_budget:
            passed.append(gap)
            continue
        picks.append(gap)
        loc += size
    chosen = {g.file.id for g in picks}
    last = rank_key(picks[-1])
    remaining = {t: 0 for t in TIERS}
    for g in ranked:
        if g.file.id not in chosen:
            remaining[g.tier] += 1
    return Selection(picks=tuple(picks), candidates=len(ranked),
                     over_budget=tuple(g for g in passed if rank_key(g) < last),
                     remaining_by_tier=remaining, high_only=not request.domains)
