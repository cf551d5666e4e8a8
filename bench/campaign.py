"""A throwaway knowledge-base project over a generated (or given) research database, for benchmarks."""

from __future__ import annotations

import time
from pathlib import Path

from bench.synthetic import generate


def campaign_project(project: Path, url: str | None, *, scale: float, seed: int) -> str:
    """Generate the x``scale`` campaign into ``project`` unless ``url`` names a database; write its conf.

    Returns the database URL the project's ``conf/kbgen.yaml`` points at.
    """
    if url is None:
        url = f"sqlite:///{project / 'research.db'}"
        started = time.perf_counter()
        summary = generate(url, scale=scale, seed=seed)
        print(f"generated x{scale:g}: {summary.counts['files']:,} files, "
              f"{summary.counts['findings']:,} findings in {time.perf_counter() - started:.1f} s")
    (project / "conf").mkdir(exist_ok=True)
    (project / "conf" / "kbgen.yaml").write_text(f"database: {url}\n", encoding="utf-8")
    return url
