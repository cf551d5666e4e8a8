"""``kbgen report`` and ``kbgen stats`` at campaign scale, and what the report's time is made of.

Run on demand (not part of the test suite), from the repository root::

    python bench/bench_report.py --scale 0.4 --runs 5        # about the size of a real 101-session campaign
    python bench/bench_report.py                              # generates x1 into a temp folder
    python bench/bench_report.py --db sqlite:///build/bench/research.db   # an existing database

Each command run is the real command line in a fresh process (``python -m kbgen report -o
MASTER-INDEX.md``), so the time includes interpreter start-up, imports and reading the
database: what a user waits for. Wall and CPU (user + system of the child) are reported,
fastest of ``--runs`` and median, with the load average, since the machine may be shared.

The commands are timed with their bytecode written: the benchmark compiles the kbgen it
measures first (``compileall``), as ``pip install`` does for an installed wheel. Without it, in
an environment with ``PYTHONDONTWRITEBYTECODE=1`` (this machine's), every run compiles kbgen's
modules from source again, about 40 ms of each command. ``--as-is`` leaves the bytecode as it
is: that cost is measured only where no ``__pycache__`` was written before.
To time another checkout (``git archive main | tar -x -C /tmp/kbgen-main``), run this script
with ``PYTHONPATH=/tmp/kbgen-main``: the commands and the in-process figures use that kbgen.

The floor under the command is measured the same way: the interpreter alone (``python -c
pass``), ``kbgen --help``, and the command line parsing ``-q report -o FILE`` up to the
command's body (``kbgen.report`` replaced by a stub that exits), which is what typer costs
before any report code runs. In process, the direct reader (:mod:`kbgen.report_sql`, what the
command runs) is timed against the snapshot path it replaced (``make_report(snapshot=True)``),
and the two texts are compared.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # bench.synthetic from the checkout; kbgen from PYTHONPATH first, if given
    sys.path.append(str(REPO))

import kbgen  # noqa: E402
from bench.campaign import campaign_project  # noqa: E402
from kbgen.config import Options, load_options  # noqa: E402
from kbgen.report import ReportResult, make_report  # noqa: E402

LIMIT_S = 5.0
#: The issue-21 target: the campaign's own node report script on the same database.
TARGET_S = 0.17

#: The command line up to the report command's body: ``kbgen.report`` is a stub that exits there.
_FLOOR = """
import os, sys, types
def stop(*args, **kwargs):
    os._exit(0)
stub = types.ModuleType("kbgen.report")
stub.make_report = stop
sys.modules["kbgen.report"] = stub
from kbgen.cli import main
sys.argv = ["kbgen", *sys.argv[1:]]
main()
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _times(cmd: list[str], cwd: Path, runs: int, env: dict[str, str] | None = None) -> list[tuple[float, float]]:
    _run(cmd, cwd, env)  # warm the file cache and the bytecode
    return [_run(cmd, cwd, env) for _ in range(runs)]


def _line(name: str, times: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in times]
    cpus = [c for _, c in times]
    return (f"{name:<44} wall fastest {min(walls):.3f} s (median {statistics.median(walls):.3f}); "
            f"CPU fastest {min(cpus):.3f} s (median {statistics.median(cpus):.3f})")


def _in_process(options: Options, runs: int, *, snapshot: bool) -> ReportResult:
    """The fastest of ``runs`` in-process reports (imports done): its total and reading times."""
    return min((make_report(options, snapshot=snapshot) for _ in range(runs)), key=lambda r: r.seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bench_report.py", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="scale of the generated database (default 1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", help="an existing research database URL instead of generating one")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument("--no-stats", action="store_true", help="time kbgen report only")
    parser.add_argument("--as-is", action="store_true",
                        help="do not compile kbgen's bytecode first (measure what the environment gives)")
    args = parser.parse_args(argv)
    code = Path(kbgen.__file__).parent
    if not args.as_is:
        compileall.compile_dir(code, quiet=1)
    bytecode = "as is" if args.as_is else "compiled"

    with tempfile.TemporaryDirectory(prefix="kbgen-bench-report-") as tmp:
        project = Path(tmp)
        campaign_project(project, args.db, scale=args.scale, seed=args.seed)
        out = project / "MASTER-INDEX.md"
        base = [sys.executable, "-m", "kbgen", "--project", str(project), "-q"]
        load_before = os.getloadavg()
        interpreter = _times([sys.executable, "-c", "pass"], project, args.runs)
        helped = _times([sys.executable, "-m", "kbgen", "--help"], project, args.runs)
        floor = _times([sys.executable, "-c", _FLOOR, "--project", str(project), "-q", "report", "-o", str(out)],
                       project, args.runs)
        report = _times([*base, "report", "-o", str(out)], project, args.runs)
        # As a user types it in the project folder: no option given, so no value checker is built
        # (kbgen/cli/lazy_options.py), and without that replacement.
        plain = _times([sys.executable, "-m", "kbgen", "report"], project, args.runs)
        eager = _times([sys.executable, "-m", "kbgen", "report"], project, args.runs,
                       env=dict(os.environ, KBGEN_LAZY_OPTIONS="0"))
        stats = [] if args.no_stats else _times([*base, "stats"], project, args.runs)
        load_after = os.getloadavg()

        options = load_options(project)
        direct = make_report(options, out)
        reference = make_report(options, snapshot=True)
        fast = _in_process(options, args.runs, snapshot=False)
        slow = _in_process(options, max(1, args.runs // 2), snapshot=True)
        size = out.stat().st_size

    print(f"kbgen from {code} (bytecode {bytecode}; PYTHONDONTWRITEBYTECODE="
          f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})")
    print(f"x{args.scale:g}; load average {' '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' '.join(f'{x:.2f}' for x in load_after)} after; fastest of {args.runs}")
    print(_line("python -c pass (interpreter start-up)", interpreter))
    print(_line("kbgen --help", helped))
    print(_line("command line up to the report's body", floor))
    print(_line("kbgen report -o MASTER-INDEX.md", report))
    print(_line("kbgen report (in the project, to stdout)", plain))
    print(_line("  the same, KBGEN_LAZY_OPTIONS=0", eager))
    if stats:
        print(_line("kbgen stats", stats))
    print(f"in process (imports done), fastest: direct {fast.seconds:.3f} s (reading and figures "
          f"{fast.load_seconds:.3f} s), snapshot path {slow.seconds:.3f} s (loading and figures "
          f"{slow.load_seconds:.3f} s); texts "
          f"{'identical' if direct.text == reference.text else 'DIFFERENT'}; MASTER-INDEX.md {size / 1024:.0f} kB")
    best = min(w for w, _ in plain)  # the node script prints the report, as this command does
    best_cpu = min(c for _, c in plain)
    print(f"target {TARGET_S:g} s (the campaign's node script, printing the report): CPU "
          f"{'met' if best_cpu <= TARGET_S else 'not met'} (fastest {best_cpu:.3f} s), wall "
          f"{'met' if best <= TARGET_S else 'not met'} (fastest {best:.3f} s; the machine's load counts there)")
    return 0 if best < LIMIT_S and direct.text == reference.text else 1


if __name__ == "__main__":
    sys.exit(main())
