"""Grouping the picks into clusters, one per two-level directory, small remainders merged.

A cluster is what one researcher reads in one sitting: files that share a
directory share context. Picks are grouped by package and two-level
directory (:func:`kbgen.analysis.dir2`, the directory the PROXIMATE and
NEARBY tiers count in). A directory with a single pick is a remainder.
Remainders are merged within their package (titled from the directory
they share, e.g. ``src``); a package's lone remainder joins the other
packages' lone remainders in one cluster, which lists their directories.

Clusters come in the order of their best pick, merged remainders after
the two-level clusters. Within a cluster, files keep their rank order.

One constraint comes from the plan format itself: a key question names
its file by path, and the plan parser binds a name to every planned file
whose path ends with it (``src/mod.rs`` names ``a/src/mod.rs`` too), using
the bullet's own cluster to settle a tie. Two such files are therefore
never put in the same cluster; the second goes to a cluster of its own
(rare: copies of a file in two packages).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from kbgen.analysis import Gap, dir2

#: Groups smaller than this are remainders, merged into one cluster.
MIN_CLUSTER_FILES = 2


@dataclass(frozen=True)
class DraftCluster:
    letter: str
    package: str | None
    """The package of every file of the cluster, None when they come from several."""
    directories: tuple[str, ...]
    """What the cluster is titled from: the directory its files share ('' for a package's root), or the
    two-level directory of each when they come from several packages."""
    picks: tuple[Gap, ...]

    @property
    def loc(self) -> int:
        return sum(g.file.loc or 0 for g in self.picks)


def _letters() -> list[str]:
    single = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    return single + [a + b for a in single for b in single]


def paths_collide(a: str, b: str) -> bool:
    """Whether the plan parser could bind a question naming one of these paths to the other."""
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _common_dir(paths: Sequence[str]) -> str:
    split = [p.split("/")[:-1] for p in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common)


def _separate(picks: list[Gap]) -> list[list[Gap]]:
    """Split a group so that no two of its paths collide (first fit, rank order kept)."""
    bins: list[list[Gap]] = []
    for gap in picks:
        for b in bins:
            if not any(paths_collide(gap.file.path, other.file.path) for other in b):
                b.append(gap)
                break
        else:
            bins.append([gap])
    return bins


def cluster_picks(picks: Sequence[Gap]) -> list[DraftCluster]:
    """The picks (in rank order) as lettered clusters."""
    rank = {g.file.id: i for i, g in enumerate(picks)}
    groups: dict[tuple[str, str], list[Gap]] = defaultdict(list)
    for gap in picks:
        groups[(gap.file.package, dir2(gap.file.path))].append(gap)
    full: list[list[Gap]] = []
    rest: dict[str, list[Gap]] = defaultdict(list)
    for (package, _), members in groups.items():
        if len(members) >= MIN_CLUSTER_FILES:
            full.append(members)
        else:
            rest[package].extend(members)
    merged = [members for members in rest.values() if len(members) >= MIN_CLUSTER_FILES]
    lone = [g for members in rest.values() if len(members) < MIN_CLUSTER_FILES for g in members]

    def best(members: list[Gap]) -> int:
        return min(rank[g.file.id] for g in members)

    ordered = sorted(full, key=best) + sorted(merged, key=best) + ([lone] if lone else [])
    letters = iter(_letters())
    clusters: list[DraftCluster] = []
    for members in ordered:
        members = sorted(members, key=lambda g: rank[g.file.id])
        for part in _separate(members):
            packages = sorted({g.file.package for g in part})
            if len(packages) == 1:
                clusters.append(DraftCluster(next(letters), packages[0], (_common_dir([g.file.path for g in part]),),
                                             tuple(part)))
            else:
                directories = tuple(dict.fromkeys(dir2(g.file.path) for g in part))
                clusters.append(DraftCluster(next(letters), None, directories, tuple(part)))
    return clusters
