"""The sync of one new session at campaign scale, alone (no Sphinx), measured on copies of one project.

Run from the repository root::

    python bench/bench_sync_session.py --scale 0.4              # generates build/bench-sync/x0.4 once
    python bench/bench_sync_session.py --scale 0.4 --runs 3     # three fresh copies, one session each

The project (a synthetic database with its plans imported, ``bench.run.make_project``) is generated
once per scale and seed and fully synced, then kept: later runs reuse it. Each run copies it, adds
one session (9 DEEP reads, 60 findings; ``bench.run.add_session``) and times ``kbgen sync`` in a
child process (wall and CPU seconds, peak RSS), then a second session on the same copy. With
``--check-full`` it also syncs the copy from scratch into another folder and compares the two trees
byte for byte (what an incremental sync must give).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.run import add_session, make_project, run_child, timed_sync  # noqa: E402
from kbgen.config import load_options  # noqa: E402


def _base(work: Path, scale: float, seed: int) -> Path:
    base = work / f"x{scale:g}-seed{seed}"
    if not (base / ".ready").exists():
        make_project(base, None, scale, seed)
        run_child([sys.executable, str(REPO / "bench" / "run.py"), "--child-sync", str(base)])
        (base / ".ready").write_text("", encoding="utf-8")
    return base


def _same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (present in one only, or different bytes)."""
    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                and not p.name.startswith(".kbgen-")}
    fa, fb = files(a), files(b)
    diff = sorted(fa ^ fb)
    diff += [rel for rel in sorted(fa & fb) if not filecmp.cmp(a / rel, b / rel, shallow=False)]
    return diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bench_sync_session.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-sync")
    parser.add_argument("--check-full", action="store_true", help="compare with a sync from scratch")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    base = _base(work, args.scale, args.seed)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for run in range(args.runs):
        copy = work / "copy"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(base, copy, symlinks=True)
        options = load_options(copy)
        # The copy's files are newer than the stored fingerprint: a first sync brings the state in line.
        timed_sync(copy, "settle")
        for label in ("new session", "another new session"):
            sid = add_session(options)
            step, data = timed_sync(copy, label)
            print(f"run {run + 1}: {label} S{sid}: {step.seconds:.2f} s wall, {step.cpu_s:.2f} s CPU, "
                  f"{step.rss_mb:.0f} MB; {step.detail}; in-process {data['seconds']:.2f} s")
        if args.check_full:
            fresh = work / "fresh"
            if fresh.exists():
                shutil.rmtree(fresh)
            shutil.copytree(copy, fresh, symlinks=True)
            fresh_options = load_options(fresh)
            shutil.rmtree(fresh_options.generated_path)
            timed_sync(fresh, "from scratch")
            diff = _same_tree(options.generated_path, fresh_options.generated_path)
            diff += _same_tree(options.domains_path, fresh_options.domains_path)
            verdict = "identical" if not diff else f"{len(diff)} differ: {diff[:10]}"
            print(f"incremental against from scratch: {verdict}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
