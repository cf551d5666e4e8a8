"""What a Pagefind delta bundle costs as it grows: the build's side and the search page's.

kbgen keeps the search index as a main bundle plus a delta of the pages changed since
(``kbgen/pagefind.py``) and folds the delta into the main bundle once its pages pass
``FOLD_SHARE`` of the site's HTML. Each build re-indexes the whole delta; a fold indexes the
whole site. The search page fetches, for every query, the delta's metadata and one index chunk
per search word on top of the main bundle's. This script measures both on a built site:

* the whole-site index (a fold), CPU and wall time;
* delta bundles of pages making up growing shares of the site's HTML (pages taken in a seeded
  random order): pages, MB of HTML, CPU and wall time of the Pagefind run, and what the search
  page fetches from the bundle before any result — its ``pf_meta`` file and the mean and largest
  index chunk — next to the same figures of the main bundle.

    python bench/bench_pagefind_delta.py --site build/bench-run/sqlite/build/site

The site is not changed (bundles are written to a temporary folder). Figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kbgen import pagefind  # noqa: E402


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bundle_figures(bundle: Path) -> tuple[float, int, float, int]:
    """Bundle MB, pf_meta bytes, mean and largest index chunk bytes (what a query fetches first)."""
    total = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    meta = sum(p.stat().st_size for p in bundle.glob("*.pf_meta"))
    chunks = [p.stat().st_size for p in (bundle / "index").glob("*.pf_index")]
    return total / 1e6, meta, (sum(chunks) / len(chunks) if chunks else 0.0), max(chunks, default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, required=True, help="a site built by kbgen build (with pagefind/)")
    parser.add_argument("--shares", default="0.025,0.05,0.1,0.2,0.25,0.3",
                        help="delta sizes as shares of the site's HTML (comma-separated)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-full", action="store_true", help="do not time the whole-site index")
    args = parser.parse_args(argv)
    site: Path = args.site.resolve()
    root = pagefind._has_content_root(site / "index.html")
    pages = {rel: st for rel, st in pagefind.site_pages(site).items()
             if not root or pagefind._has_content_root(site / rel)}
    total = sum(st.st_size for st in pagefind.site_pages(site).values())
    print(f"site: {len(pages):,} indexable pages, {total / 1e6:.1f} MB of HTML; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    mb, meta, chunk, largest = bundle_figures(site / pagefind.PAGEFIND_SUBDIR)
    print(f"main bundle: {mb:.1f} MB, pf_meta {meta / 1e3:.1f} kB, index chunk mean {chunk / 1e3:.1f} kB, "
          f"largest {largest / 1e3:.1f} kB")
    order = sorted(pages)
    random.Random(args.seed).shuffle(order)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_full:
            wall, cpu = timed(pagefind.pagefind_command(site, output=Path(tmp) / "full", content_root=root))
            print(f"whole-site index (a fold): {wall:.2f} s wall, {cpu:.2f} s CPU")
            shutil.rmtree(Path(tmp) / "full")
        print("| share | pages | HTML MB | CPU s | wall s | bundle MB | pf_meta kB | chunk mean kB | largest kB |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for share in (float(s) for s in args.shares.split(",")):
            chosen, size = [], 0
            for rel in order:
                if size >= share * total:
                    break
                chosen.append(rel)
                size += pages[rel].st_size
            staging, bundle = Path(tmp) / "pages", Path(tmp) / "delta"
            for rel in chosen:
                pagefind._link(site / rel, staging / rel)
            wall, cpu = timed(pagefind.pagefind_command(staging, output=bundle, content_root=root))
            mb, meta, chunk, largest = bundle_figures(bundle)
            print(f"| {share:.1%} | {len(chosen):,} | {size / 1e6:.1f} | {cpu:.2f} | {wall:.2f} | {mb:.1f} | "
                  f"{meta / 1e3:.1f} | {chunk / 1e3:.1f} | {largest / 1e3:.1f} |", flush=True)
            shutil.rmtree(staging)
            shutil.rmtree(bundle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
