"""What the delta stack saves a build: Pagefind over the build's own pages against over the whole stack.

kbgen indexes each incremental build's changed pages into a bundle of its own on a stack
(``kbgen/pagefind.py``); before, one delta bundle held every page changed since the main bundle was
written and each build indexed all of it again. On a site built by ``kbgen build`` this script reads
kbgen's record of the index (``kbgen-pagefind.json``) and times, alternating, ``--runs`` Pagefind
runs over

* the newest bundle's pages (what the build indexed), and
* every page of the stack (what the single delta indexed at the same build),

CPU (user + system of the child) and wall seconds, and prints for each bundle of the stack what the
search page fetches from it before any result (entry file, pf_meta, index chunks).

    python bench/bench_pagefind_stack.py --site X1/build/site --state X1/build/.doctrees

The site is not changed (bundles are written to a temporary folder). Figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_pagefind_delta import bundle_figures, timed  # noqa: E402
from kbgen import pagefind  # noqa: E402


def _index(site: Path, pages: list[str], tmp: Path, root: bool) -> tuple[float, float]:
    staging, bundle = tmp / "pages", tmp / "bundle"
    for rel in pages:
        pagefind._link(site / rel, staging / rel)
    try:
        return timed(pagefind.pagefind_command(staging, output=bundle, content_root=root))
    finally:
        for folder in (staging, bundle):
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, required=True, help="a site built by kbgen build")
    parser.add_argument("--state", type=Path, required=True, help="the folder holding kbgen-pagefind.json")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    site: Path = args.site.resolve()
    record = json.loads((args.state / pagefind.STATE_NAME).read_text(encoding="utf-8"))
    stack: list[str] = record["deltas"]
    if not stack:
        print("no delta stack")
        return 1
    held = {name: sorted(rel for rel, page in record["pages"].items() if page[4] == name) for name in stack}
    newest, every = held[stack[-1]], sorted(rel for rel, page in record["pages"].items() if page[4])
    size = {rel: (site / rel).stat().st_size for rel in every}
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| bundle | pages | HTML MB | entry kB | pf_meta kB | chunk mean kB | largest kB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in stack:
        bundle = site / pagefind.DELTA_SUBDIR / name
        _, meta, chunk, largest = bundle_figures(bundle)
        entry = (bundle / "pagefind-entry.json").stat().st_size
        print(f"| {name} | {len(held[name])} | {sum(size[r] for r in held[name]) / 1e6:.1f} | {entry / 1e3:.1f} | "
              f"{meta / 1e3:.1f} | {chunk / 1e3:.1f} | {largest / 1e3:.1f} |")
    root = bool(record["root"])
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for label, pages in ((f"newest bundle ({len(newest)} pages)", newest),
                                 (f"whole stack ({len(every)} pages)", every)):
                wall, cpu = _index(site, pages, Path(tmp), root)
                print(f"run {run + 1}: {label}: {cpu:.2f} s CPU, {wall:.2f} s wall", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
