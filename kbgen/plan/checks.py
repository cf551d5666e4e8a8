"""Consistency checks: what a plan states against what its rows add up to.

A plan states counts twice (``## Target: 9 files, ~4,129 LOC`` and each
cluster heading) and its rows state them again. When they disagree one of
them is stale; the parser cannot know which, so it keeps the rows and
reports the stated figure with the heading's line. Numbers written with
``~`` are still compared exactly: plans copy the exact sum behind the tilde.

``check_against_inventory`` is the hook for the one check that needs the
research database (a planned file the database does not know).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from kbgen.plan.model import (
    CLUSTER_FILES_MISMATCH,
    CLUSTER_LOC_MISMATCH,
    FILE_NOT_IN_DATABASE,
    TARGET_CLUSTERS_MISMATCH,
    TARGET_FILES_MISMATCH,
    TARGET_LOC_MISMATCH,
    Plan,
    PlanWarning,
)


@dataclass(frozen=True)
class Stated:
    """A count as written (``~1,957``) and as a number, for messages that quote the plan."""

    value: int
    text: str


def _sum_text(values: Sequence[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


def check_counts(subject: str, line: int | None, files: Stated | None, loc: Stated | None,
                 row_locs: Sequence[int | None], *, files_code: str, loc_code: str) -> list[PlanWarning]:
    """Stated file count / LOC of a cluster or target against its rows.

    LOC is only compared when every row states a readable LOC: a missing
    figure already has its own warning and would make the sum meaningless.
    """
    warnings: list[PlanWarning] = []
    if files is not None and files.value != len(row_locs):
        unit = "file" if files.value == 1 else "files"
        warnings.append(PlanWarning(
            files_code, line, f"{subject} states {files.text} {unit}, rows count {len(row_locs):,}"))
    total = _sum_text(row_locs)
    if loc is not None and total is not None and loc.value != total:
        warnings.append(PlanWarning(
            loc_code, line, f"{subject} states {loc.text} LOC, rows sum to {total:,}"))
    return warnings


def check_cluster(letter: str, line: int | None, files: Stated | None, loc: Stated | None,
                  row_locs: Sequence[int | None]) -> list[PlanWarning]:
    return check_counts(f"Cluster {letter}", line, files, loc, row_locs,
                        files_code=CLUSTER_FILES_MISMATCH, loc_code=CLUSTER_LOC_MISMATCH)


def check_target(line: int | None, files: Stated | None, loc: Stated | None, clusters: Stated | None,
                 file_locs: Sequence[int | None], cluster_count: int) -> list[PlanWarning]:
    warnings = check_counts("Target", line, files, loc, file_locs,
                            files_code=TARGET_FILES_MISMATCH, loc_code=TARGET_LOC_MISMATCH)
    if clusters is not None and clusters.value != cluster_count:
        warnings.append(PlanWarning(
            TARGET_CLUSTERS_MISMATCH, line,
            f"Target states {clusters.text} clusters, the plan has {cluster_count}"))
    return warnings


def check_against_inventory(plan: Plan, known_file_ids: Collection[int]) -> list[PlanWarning]:
    """Warnings for planned files the research database does not know.

    Kept out of ``parse_plan`` so parsing needs no database; the importer
    calls it with the IDs of the ``files`` table. Files known by path only
    are the importer's to look up (``kbgen.db.plans.resolve_paths``).
    """
    return [PlanWarning(FILE_NOT_IN_DATABASE, f.line,
                        f"planned file {f.file_id} ({f.path}) is not in the research database")
            for f in plan.files if f.file_id is not None and f.file_id not in known_file_ids]
