"""``kbgen changes`` at campaign scale: the whole command, as a user runs it, timed.

Run from the repository root (not part of the test suite)::

    python bench/bench_changes.py                    # x1, --since R90, 5 runs per output
    python bench/bench_changes.py --scale 0.1 --since R5 --runs 3

It generates the synthetic campaign (``bench/synthetic.py``, as ``bench/run.py``
does) into a scaffolded project (``--work``, default ``build/bench-changes``; reused when
it exists unless ``--fresh``), imports its plans, then runs ``kbgen changes
--since R<n>`` in a fresh process per run (interpreter start, imports,
loading the database, computing, printing) for the terminal, ``--json`` and
``--markdown`` outputs, and prints the best and median wall time and CPU time
of each (CPU time is what the wall time would be on an idle machine).
The target of issue 15 is under 2 s at x1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable from a checkout: bench/ and kbgen/ importable
    sys.path.insert(0, str(REPO))


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[str, float, float]:
    """Run ``cmd``; return its stdout, wall seconds and CPU seconds (user + system, from ``wait4``).

    CPU time stays close to the wall time of an idle machine when other work competes for the
    cores (this command is single-threaded), so both are reported.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed (exit {code}): {' '.join(cmd)}\n{stderr[-2000:]}")
    return stdout, wall, usage.ru_utime + usage.ru_stime


def prepare(work: Path, scale: float, seed: int, fresh: bool) -> Path:
    """The benchmark project: scaffolded, generated and its plans imported as ``bench/run.py`` does."""
    project = work / f"x{scale:g}"
    if project.exists() and not fresh and (project / "db" / "research.db").exists():
        return project
    from bench.run import make_project

    make_project(project, None, scale, seed)
    return project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bench_changes.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--since", default="R90", help="first session of the run (default R90)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-changes")
    parser.add_argument("--fresh", action="store_true", help="regenerate the campaign even if it exists")
    args = parser.parse_args(argv)
    project = prepare(args.work, args.scale, args.seed, args.fresh)
    print(f"campaign x{args.scale:g} in {project}; kbgen changes --since {args.since}, {args.runs} runs each")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'output':<12} {'wall best':>10} {'wall median':>12} {'CPU best':>9} {'CPU median':>11}  size")
    for name, extra in (("terminal", []), ("--json", ["--json"]), ("--markdown", ["--markdown"])):
        walls, cpus = [], []
        size = 0
        for _ in range(args.runs):
            out, wall, cpu = timed([sys.executable, "-m", "kbgen", "--project", str(project), "changes",
                                    "--since", args.since, *extra])
            walls.append(wall)
            cpus.append(cpu)
            size = len(out.encode("utf-8"))
        print(f"{name:<12} {min(walls):>10.2f} {statistics.median(walls):>12.2f} {min(cpus):>9.2f} "
              f"{statistics.median(cpus):>11.2f}  {size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
