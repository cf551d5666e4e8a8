"""``kbgen report`` and ``kbgen stats`` at campaign scale: the acceptance figure is report < 5 s.

Run on demand (not part of the test suite), from the repository root::

    python bench/bench_report.py                       # generates x1 into a temp folder
    python bench/bench_report.py --scale 3 --runs 5
    python bench/bench_report.py --db sqlite:///build/bench/research.db   # an existing database

Each run is the real command line in a fresh process (``python -m kbgen
report -o MASTER-INDEX.md``), so the time includes interpreter start-up,
imports and loading the snapshot: what a user waits for. The first run
writes the file, later ones find it unchanged. Prints the wall times, the
median and the in-process split (load vs compute + render) of the last run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # bench.synthetic is imported from the checkout, not installed
    sys.path.insert(0, str(REPO))

from bench.campaign import campaign_project  # noqa: E402
from kbgen.config import Options  # noqa: E402
from kbgen.report import make_report  # noqa: E402

LIMIT_S = 5.0


def _time(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bench_report.py", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="scale of the generated database (default 1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", help="an existing research database URL instead of generating one")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command (default 3)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kbgen-bench-report-") as tmp:
        project = Path(tmp)
        url = campaign_project(project, args.db, scale=args.scale, seed=args.seed)
        base = [sys.executable, "-m", "kbgen", "--project", str(project), "-q"]
        report = [_time([*base, "report", "-o", str(project / "MASTER-INDEX.md")], project)
                  for _ in range(args.runs)]
        stats = [_time([*base, "stats"], project) for _ in range(args.runs)]
        result = make_report(Options(project_dir=project, database=url), project / "MASTER-INDEX.md")
        size = (project / "MASTER-INDEX.md").stat().st_size

    median = statistics.median(report)
    print(f"kbgen report: {', '.join(f'{t:.2f}' for t in report)} s (median {median:.2f} s, limit {LIMIT_S:g} s)"
          f"; MASTER-INDEX.md {size / 1024:.0f} kB")
    print(f"  in process: load {result.load_seconds:.2f} s + compute and render "
          f"{result.seconds - result.load_seconds:.2f} s")
    print(f"kbgen stats:  {', '.join(f'{t:.2f}' for t in stats)} s (median {statistics.median(stats):.2f} s)")
    return 0 if median < LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main())
