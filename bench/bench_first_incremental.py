"""The first ``kbgen build`` after a full one, against the next: two new sessions on copies of one built site.

Run from the repository root::

    python bench/bench_first_incremental.py --scale 0.4                  # builds the base once, one run
    python bench/bench_first_incremental.py --scale 0.4 --runs 2 \\
        --kbgen main=/tmp/kbgen-main --kbgen this=.                        # two checkouts, alternating

For each checkout given (``--kbgen LABEL=PATH``, default ``this=`` the checkout holding this script)
a base is made once and kept: a synthetic project (``bench.run.make_project``), a full sync, a full
``kbgen build --clean`` and a ``kbgen build`` with nothing changed, every step run with that
checkout first on ``PYTHONPATH``, as ``bench/run.py`` does. Each run copies the base back to the
one folder where it was built (Sphinx's environment records its source folder), adds a session
(9 DEEP reads, 60 findings; ``bench.run.add_session``), times ``kbgen build`` in a child process
(wall and CPU seconds, peak RSS), then a second session on the same copy. The first of the two is
the first build after the full one (S41 at x0.4). With ``--keep DIR`` the site and doctrees after
the second session are copied to ``DIR/LABEL`` for a byte comparison between checkouts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.run import LAST_CPU, add_session, make_project, run_child  # noqa: E402
from kbgen.config import load_options  # noqa: E402


def _with_code(path: Path) -> None:
    """Run the children of this process with the checkout ``path`` first on ``PYTHONPATH``."""
    os.environ["PYTHONPATH"] = str(path.resolve())


def _kbgen(project: Path, *args: str) -> tuple[float, float, float, str]:
    """``kbgen --project PROJECT ARGS`` in a child: wall s, CPU s, peak RSS MB, its output."""
    # In the project folder: ``python -m`` puts the working folder first on sys.path, and this
    # checkout's kbgen must not shadow the one on PYTHONPATH.
    seconds, rss, stdout, stderr = run_child([sys.executable, "-m", "kbgen", "--project", str(project), *args],
                                             cwd=project)
    return seconds, LAST_CPU[0], rss, stdout + stderr


def _base(work: Path, label: str, code: Path, scale: float, seed: int) -> Path:
    base = work / f"base-{label}-x{scale:g}-seed{seed}"
    if (base / ".ready").exists():
        return base
    site = work / "site"
    if site.exists():
        shutil.rmtree(site)
    make_project(site, None, scale, seed)
    _with_code(code)
    for step in (("sync",), ("build", "--clean"), ("build",)):
        seconds, cpu, rss, _ = _kbgen(site, *step)
        print(f"base {label}: kbgen {' '.join(step)}: {seconds:.1f} s wall, {cpu:.1f} s CPU, {rss:.0f} MB",
              flush=True)
    if base.exists():
        shutil.rmtree(base)
    shutil.copytree(site, base, symlinks=True)
    (base / ".ready").write_text("", encoding="utf-8")
    return base


def _summary(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()
             if line.strip().startswith(("sync:", "built", "search:", "kbgen: "))]
    return "; ".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bench_first_incremental.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-first")
    parser.add_argument("--kbgen", action="append", default=[], metavar="LABEL=PATH",
                        help="a checkout to measure (repeatable; default: this one)")
    parser.add_argument("--keep", type=Path, default=None, help="copy each checkout's last site here")
    parser.add_argument("--sessions", type=int, default=2, help="new sessions per run (default 2)")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    checkouts = [(item.split("=", 1)[0], Path(item.split("=", 1)[1])) for item in args.kbgen] or [("this", REPO)]
    bases = {label: _base(work, label, code, args.scale, args.seed) for label, code in checkouts}
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    site = work / "site"
    for run in range(args.runs):
        for label, code in checkouts:
            if site.exists():
                shutil.rmtree(site)
            shutil.copytree(bases[label], site, symlinks=True)
            _with_code(code)
            options = load_options(site)
            for _ in range(args.sessions):
                sid = add_session(options)
                seconds, cpu, rss, text = _kbgen(site, "build")
                load = os.getloadavg()[0]
                print(f"run {run + 1} {label}: S{sid}: {seconds:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB, "
                      f"load {load:.2f}; {_summary(text)}", flush=True)
            if args.keep is not None:
                kept = args.keep.resolve() / label
                if kept.exists():
                    shutil.rmtree(kept)
                shutil.copytree(site, kept, symlinks=True)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
