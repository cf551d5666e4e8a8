"""``kbgen db copy`` at campaign scale: SQLite → PostgreSQL → SQLite, timed and verified.

Run on demand (not part of the test suite), from the repository root::

    python bench/bench_copy.py --scale 1          # one real campaign (~1 min on 2 cores)
    python bench/bench_copy.py --scale 0.1 --json out.json

It generates a synthetic campaign (``bench/synthetic.py``, same seed → same
database) into SQLite, starts a throwaway PostgreSQL server (``tests/pg.py``),
and runs each step as the ``kbgen`` command in a child process (``os.wait4``
gives its peak RSS): the copy to PostgreSQL, the copy back into a new SQLite
file, and ``kbgen db checksum`` on the original and on the returned file. It
fails unless every table's row count and checksum agree in all three places.
Results: one table on stdout, ``--json`` for machine use; figures go to
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # bench/ and tests/pg.py (the throwaway server) live in the checkout

from bench.synthetic import generate  # noqa: E402
from tests.pg import start_server, stop_server  # noqa: E402


def run(*args: str) -> tuple[float, float, str]:
    """``kbgen ARGS`` in a child; (seconds, peak RSS in MB, stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "kbgen", *args], stdout=out, stderr=err,
                                env={**os.environ, "COLUMNS": "200"})
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"kbgen {' '.join(args)} failed:\n{stderr[-3000:]}")
    return seconds, usage.ru_maxrss / 1024.0, stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=None, help="folder for the SQLite files (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kbgen-bench-copy-"))
    work.mkdir(parents=True, exist_ok=True)
    source, back = work / "research.db", work / "back.db"
    for path in (source, back):
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    summary = generate(f"sqlite:///{source}", scale=args.scale, seed=args.seed)
    generated = time.perf_counter() - started
    server, reason = start_server()
    if server is None:
        raise SystemExit(f"no PostgreSQL server: {reason}")
    steps: list[dict[str, Any]] = []
    try:
        pg_url = server.url(server.create_database("bench"))
        for name, cmd in (("copy SQLite → PostgreSQL", ("db", "copy", "--json", f"sqlite:///{source}", pg_url)),
                          ("copy PostgreSQL → SQLite", ("db", "copy", "--json", pg_url, f"sqlite:///{back}"))):
            seconds, rss, out = run(*cmd)
            report = json.loads(out)
            assert report["verified"] and report["committed"], report
            steps.append({"step": name, "seconds": round(seconds, 2), "rss_mb": round(rss),
                          "in_process_seconds": report["seconds"], "rows": report["rows"],
                          "tables": len(report["tables"])})
        sums = {}
        for name, url in (("original", f"sqlite:///{source}"), ("PostgreSQL copy", pg_url),
                          ("returned", f"sqlite:///{back}")):
            seconds, rss, out = run("db", "checksum", "--json", url)
            sums[name] = json.loads(out)
            steps.append({"step": f"checksum ({name})", "seconds": round(seconds, 2), "rss_mb": round(rss),
                          "rows": sum(t["rows"] for t in sums[name].values()), "tables": len(sums[name])})
        identical = sums["original"] == sums["PostgreSQL copy"] == sums["returned"]
    finally:
        stop_server(server)
    results = {"scale": args.scale, "seed": args.seed, "generate_seconds": round(generated, 2),
               "counts": summary.counts, "identical_checksums": identical, "steps": steps}
    print(f"x{args.scale:g}: {sum(summary.counts.values()):,} rows generated in {generated:.1f} s; "
          f"checksums identical in all three: {identical}")
    print(f"{'step':<28} {'seconds':>8} {'in-process':>10} {'peak RSS MB':>11} {'rows':>9}")
    for s in steps:
        print(f"{s['step']:<28} {s['seconds']:>8.2f} {s.get('in_process_seconds', ''):>10} {s['rss_mb']:>11} "
              f"{s['rows']:>9,}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if not identical:
        raise SystemExit("checksums differ")


if __name__ == "__main__":
    main()
