"""Merge what a plan says about each file in three places into one PlannedFile.

A planned file is described by its table row (ID, path, LOC, context, maybe
package/tier/repo), by its ``**Full paths**`` entry (the repository, from
``~/repos/{repo}/...``; older plans state one ``**Repo path:**`` per
cluster) and by the DB-update template's ``// id: name (LOC LOC) — package,
TIER`` comment, often the only place that states package and tier. The
table wins where both speak; a disagreement is reported, not resolved
silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kbgen.plan.model import (
    FACT_CONFLICT,
    FULL_PATH_UNMATCHED,
    PlannedFile,
    PlanWarning,
)
from kbgen.plan.tables import FileRow, parse_number

# ``(? LOC)`` says the LOC is not known (a NULL in the database), like a dash in the table's LOC column.
_TEMPLATE_LINE = re.compile(
    r"^\s*(?://|#|--)\s*([0-9]+)\s*:\s*(.*?)\s*\(\s*(~?[0-9][0-9,]*|\?)\s*LOC\s*\)\s*"
    r"(?:[—–-]+\s*(.*?))?\s*$")
_TIER = re.compile(r"^[A-Z][A-Z0-9_]*$")
_REPO = re.compile(r"(?:^|/)repos/([^/]+)/?(.*)$")


@dataclass(frozen=True)
class TemplateFact:
    """One ``// 4458: pretrain.rs (668 LOC) — ruvector-rust, PROXIMATE`` comment (``loc`` None for ``? LOC``)."""

    file_id: int
    name: str
    loc: int | None
    package: str | None
    tier: str | None
    line: int


def template_facts(code: str, first_line: int) -> list[TemplateFact]:
    """Template comments of a code block whose first content line is ``first_line``."""
    facts: list[TemplateFact] = []
    for offset, text in enumerate(code.split("\n")):
        match = _TEMPLATE_LINE.match(text)
        if match is None:
            continue
        tail = (match.group(4) or "").strip()
        package: str | None
        tier: str | None
        if "," in tail:
            package, _, tier = (part.strip() for part in tail.rpartition(","))
        elif _TIER.match(tail):
            package, tier = None, tail
        else:
            package, tier = tail, None
        facts.append(TemplateFact(int(match.group(1)), match.group(2).strip(),
                                  parse_number(match.group(3)), package or None, tier or None,
                                  first_line + offset))
    return facts


@dataclass(frozen=True)
class FullPath:
    """A ``**Full paths**`` entry (already joined with its ``all under`` base)."""

    text: str
    number: int | None
    line: int
    cluster: str | None


@dataclass(frozen=True)
class RepoPath:
    """An older plan's ``**Repo path:** `~/repos/x/src/dir/``` for one cluster."""

    text: str
    line: int
    cluster: str | None


def join_base(base: str | None, item: str) -> str:
    """An entry relative to the ``all under`` directory, made whole."""
    item = item.strip()
    if base is None or item.startswith(("~", "/")) or "repos/" in item:
        return item
    return base.rstrip("/") + "/" + _strip_dot_slash(item)


def split_repo(full: str) -> tuple[str | None, str]:
    """``~/repos/ruvector/crates/x.rs`` → (``ruvector``, ``crates/x.rs``)."""
    match = _REPO.search(full.strip())
    if match is None:
        return None, full.strip()
    return match.group(1), match.group(2)


def overlap_join(directory: str, path: str) -> str:
    """``src/scheduler/`` + ``scheduler/queue.js`` → ``src/scheduler/queue.js``.

    Older plans give a cluster's directory and rows relative to a parent of
    it, so the shared segments are counted once.
    """
    base = [s for s in directory.split("/") if s]
    rel = [s for s in path.split("/") if s]
    for k in range(min(len(base), len(rel) - 1), 0, -1):
        if base[-k:] == rel[:k]:
            return "/".join(base[:-k] + rel)
    return "/".join(base + rel)


def _strip_dot_slash(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def _suffix_match(full: str, path: str) -> bool:
    path = _strip_dot_slash(path.strip())
    return bool(path) and (full == path or full.endswith("/" + path))


def _match_full_path(entry: FullPath, rows: Sequence[tuple[FileRow, str]]) -> int | None:
    """The index of the row a full-path entry describes (None: no row)."""
    _, within = split_repo(entry.text)
    indexed = list(enumerate(rows))
    own = [(i, row) for i, (row, cluster) in indexed if cluster == entry.cluster]
    for pool in (own, [(i, row) for i, (row, _) in indexed]):
        hits = [(i, row) for i, row in pool if _suffix_match(within, row.path)]
        if hits:
            return max(hits, key=lambda hit: len(hit[1].path))[0]
    if entry.number is not None:
        numbered = [i for i, row in own if row.number == entry.number]
        if len(numbered) == 1:
            return numbered[0]
    return None


def merge_files(rows: Sequence[tuple[FileRow, str]], full_paths: Sequence[FullPath],
                repo_paths: Sequence[RepoPath], facts: Sequence[TemplateFact],
                ) -> tuple[list[PlannedFile], list[PlanWarning]]:
    """One PlannedFile per (deduplicated) row, with facts from the other places."""
    warnings: list[PlanWarning] = []
    located: dict[int, tuple[str | None, str | None]] = {}
    for entry in full_paths:
        index = _match_full_path(entry, rows)
        if index is None:
            warnings.append(PlanWarning(FULL_PATH_UNMATCHED, entry.line,
                                        f"full path {entry.text} matches no row of the file tables"))
        elif index not in located:
            located[index] = split_repo(entry.text)
    cluster_dirs = {p.cluster: split_repo(p.text) for p in repo_paths}
    template = {f.file_id: f for f in facts}

    files: list[PlannedFile] = []
    for index, (row, cluster) in enumerate(rows):
        repo, repo_path = located.get(index, (None, None))
        if repo_path is None and cluster in cluster_dirs:
            repo, directory = cluster_dirs[cluster]
            repo_path = overlap_join(directory, row.path)
        fact = template.get(row.file_id) if row.file_id is not None else None
        package, tier, loc = row.package, row.tier, row.loc
        if fact is not None:
            package = _pick(package, fact.package, "package", row, fact, warnings)
            tier = _pick(tier, fact.tier, "tier", row, fact, warnings)
            picked_loc = _pick(None if loc is None else str(loc),
                               None if fact.loc is None else str(fact.loc), "LOC", row, fact, warnings)
            loc = int(picked_loc) if picked_loc is not None else None
        files.append(PlannedFile(
            file_id=row.file_id, path=row.path, loc=loc, context=row.context,
            package=package, tier=tier, repo=row.repo or repo, domain=row.domain,
            cluster=cluster, line=row.line, repo_path=repo_path, extra=dict(row.extra)))
    return files, warnings


def _pick(table: str | None, comment: str | None, what: str, row: FileRow, fact: TemplateFact,
          warnings: list[PlanWarning]) -> str | None:
    if table is None:
        return comment
    if comment is not None and table.casefold() != comment.casefold():
        warnings.append(PlanWarning(
            FACT_CONFLICT, fact.line,
            f"file {row.file_id}: the template comment says {what} {comment}, "
            f"the table (line {row.line}) says {table}; keeping the table's"))
    return table
