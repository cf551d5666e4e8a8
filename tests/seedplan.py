"""A small research database holding the seed plan's files (``tests/data/plans/R95-plan.md``,
the repository's copy of ``shared/seed/R95-plan.md``).

The seed plan (R95, SONA crate deep dive) names nine files of ``ruvector-rust``
by ID; tests that start and record R95 need them in the inventory, with a few
neighbours, two domains and earlier sessions around them.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from kbgen.db import research as rt
from kbgen.db.engine import open_engine
from kbgen.db.migrate import init_research_db

#: (file id, path inside the repository, LOC) of the nine planned files.
SEED_FILES: tuple[tuple[int, str, int], ...] = (
    (4458, "crates/sona/src/export/pretrain.rs", 668),
    (4456, "crates/sona/src/export/huggingface_hub.rs", 486),
    (4455, "crates/sona/src/export/dataset.rs", 408),
    (4457, "crates/sona/src/export/mod.rs", 395),
    (4476, "crates/sona/src/training/templates.rs", 662),
    (4471, "crates/sona/src/training/factory.rs", 508),
    (4473, "crates/sona/src/training/metrics.rs", 467),
    (4468, "crates/sona/src/napi_simple.rs", 287),
    (4463, "crates/sona/src/loops/instant.rs", 248),
)
#: Files around them (not planned): one read earlier, two never.
OTHER_FILES: tuple[tuple[int, str, int, str], ...] = (
    (4460, "crates/sona/src/training/pipeline.rs", 912, "DEEP"),
    (4461, "crates/sona/src/lib.rs", 140, "SURFACE"),
    (4462, "crates/sona/src/loops/mod.rs", 96, "NOT_TOUCHED"),
)


SEED_PLAN = Path(__file__).resolve().parent / "data" / "plans" / "R95-plan.md"


def make_seed_db(url: str) -> None:
    """Create a research database with the seed plan's files, two domains and sessions R93 and R94."""
    engine = open_engine(url, must_exist=False)
    try:
        init_research_db(engine)
        with engine.begin() as conn:
            conn.execute(insert(rt.packages), [
                {"id": 1, "name": "ruvector-rust", "base_path": "~/repos/ruvector", "total_files": 12,
                 "total_loc": 5277},
                {"id": 2, "name": "agentdb", "base_path": "~/repos/agentdb", "total_files": 1, "total_loc": 300}])
            conn.execute(insert(rt.files), [
                {"id": fid, "package_id": 1, "relative_path": path, "loc": loc, "depth": "NOT_TOUCHED"}
                for fid, path, loc in SEED_FILES] + [
                {"id": fid, "package_id": 1, "relative_path": path, "loc": loc, "depth": depth,
                 "lines_read": loc if depth == "DEEP" else (40 if depth == "SURFACE" else None),
                 "last_read_date": "2025-09-30" if depth != "NOT_TOUCHED" else None}
                for fid, path, loc, depth in OTHER_FILES] + [
                {"id": 9001, "package_id": 2, "relative_path": "src/index.ts", "loc": 300, "depth": "NOT_TOUCHED"}])
            conn.execute(insert(rt.domains), [
                {"id": 1, "name": "memory-and-learning", "priority": "HIGH",
                 "synthesis_path": "domains/memory-and-learning/analysis.md"},
                {"id": 2, "name": "v4-priority", "priority": "MEDIUM",
                 "synthesis_path": "domains/v4-priority/analysis.md"}])
            conn.execute(insert(rt.sessions), [
                {"id": 93, "name": "R93", "date": "2025-09-29", "focus": "SONA pipeline"},
                {"id": 94, "name": "R94", "date": "2025-09-30", "focus": "SONA training"}])
            conn.execute(insert(rt.file_reads), [
                {"id": 1, "file_id": 4460, "session_id": 93, "depth": "DEEP", "lines_read": 912,
                 "line_ranges": "1-912"},
                {"id": 2, "file_id": 4461, "session_id": 94, "depth": "SURFACE", "lines_read": 40,
                 "line_ranges": "1-40"}])
            conn.execute(insert(rt.findings), [
                {"id": 1, "file_id": 4460, "session_id": 93, "line_start": 10, "line_end": 80, "severity": "HIGH",
                 "category": "stub", "description": "Validation echoes the test labels.", "followed_up": 0}])
            conn.execute(insert(rt.file_domains), [{"file_id": 4460, "domain_id": 1}])
    finally:
        engine.dispose()
