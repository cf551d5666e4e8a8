"""Measure site themes and search indexes on generated knowledge bases (results: bench/README-theme.md).

Two measurements, each with real ``sphinx-build`` runs (fresh environment,
``-j auto``) for every theme that is installed:

1. **Navigation scaling** — plain pages grouped like kbgen's session pages
   (groups of 100 under one index), at two sizes. Themes differ mostly in
   how much of the site tree they render into *every* page: if that grows
   with the site, total output and write time grow with pages². Measured:
   the writing phase, the average page size and how many sidebar links one
   page carries.
2. **A kbgen site** — a synthetic research database (``bench.synthetic``),
   its plans imported, synced, then built: total build time, output size,
   Sphinx's ``searchindex.js`` and the Pagefind bundle (indexing time, size,
   bytes a browser downloads for one query are not measured here; the
   index is chunked so a query fetches a few fragments).

Run from the repository root (furo is optional: ``pip install furo``)::

    python bench/bench_theme.py                      # ~3-4 minutes on 2 cores
    python bench/bench_theme.py --nav-pages 300 1200 --scale 0.1 --themes pydata furo
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing kbgen
    sys.path.insert(0, str(ROOT))

THEMES = {"pydata": "pydata_sphinx_theme", "furo": "furo"}


@dataclass
class Run:
    theme: str
    pages: int
    seconds: float
    cpu_s: float
    read_s: float
    write_s: float
    html_mb: float
    avg_page_kb: float
    nav_links: int


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sphinx_build(src: Path, out: Path, conf_dir: Path | None = None) -> tuple[float, float, float, float]:
    """Fresh build: (wall, CPU, reading wall, writing wall) seconds.

    CPU seconds (of sphinx-build and its parallel workers) are the figure to compare on a
    busy machine; the phases come from the arrival times of Sphinx's progress lines.
    """
    doctrees = out.parent / (out.name + ".doctrees")
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(doctrees, ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-j", "auto", "-E", "--no-color", "-d", str(doctrees)]
    if conf_dir is not None:
        cmd += ["-c", str(conf_dir)]
    cmd += [str(src), str(out)]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    read_end = write_start = write_end = 0.0
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter() - started
            if line.startswith("reading sources") or line.startswith("updating environment"):
                read_end = now
            elif line.startswith("writing output...") and "[" in line:
                write_start = write_start or read_end
                write_end = now
        if proc.wait() != 0:
            raise SystemExit(f"sphinx-build failed: {' '.join(cmd)}")
    total = time.perf_counter() - started
    return total, _children_cpu() - cpu_before, read_end, max(write_end - write_start, 0.0)


def measure_output(out: Path, sample: Path) -> tuple[int, float, float, int]:
    pages = [p for p in out.rglob("*.html") if not p.relative_to(out).parts[0].startswith("_")]
    sizes = [p.stat().st_size for p in pages]
    text = sample.read_text(encoding="utf-8")
    nav = re.search(r'<nav class="bd-docs-nav.*?</nav>|<div class="sidebar-tree">.*?</div>\s*</div>', text, re.S)
    links = len(re.findall(r"<a ", nav.group(0))) if nav else 0
    return len(pages), sum(sizes) / 1e6, statistics.mean(sizes) / 1e3, links


# -- 1. navigation scaling -----------------------------------------------------------------

def nav_site(root: Path, pages: int) -> Path:
    """``pages`` small pages in groups of 100, each group under an index (like kbgen's sessions)."""
    src = root / f"nav-{pages}"
    shutil.rmtree(src, ignore_errors=True)
    (src / "sessions").mkdir(parents=True)
    groups = []
    for g in range(0, pages, 100):
        name = f"group-{g:04d}"
        members = [f"S{i}" for i in range(g + 1, min(g + 100, pages) + 1)]
        groups.append(name)
        toc = "\n".join(members)
        (src / "sessions" / f"{name}.md").write_text(
            f"# Sessions {members[0]}–{members[-1]}\n\n```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n", encoding="utf-8")
        for m in members:
            body = " ".join(f"Finding text {m} number {k} about src/module_{k}.rs." for k in range(20))
            (src / "sessions" / f"{m}.md").write_text(f"# Session {m}\n\n## Findings\n\n{body}\n", encoding="utf-8")
    toc = "\n".join(f"sessions/{g}" for g in groups)
    (src / "index.md").write_text(f"# Navigation benchmark\n\n```{{toctree}}\n:maxdepth: 2\n\n{toc}\n```\n",
                                  encoding="utf-8")
    return src


def nav_conf(root: Path, theme: str) -> Path:
    """conf.py for ``theme``; pydata gets kbgen's settings (kbgen.sphinxext's defaults)."""
    conf = root / f"conf-{theme}"
    conf.mkdir(parents=True, exist_ok=True)
    lines = ['project = "bench"', 'extensions = ["myst_parser"]', f'html_theme = "{THEMES[theme]}"']
    if theme == "pydata":
        from kbgen.sphinxext.extension import THEME_OPTIONS

        lines.append(f"html_theme_options = {THEME_OPTIONS!r}")
    (conf / "conf.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return conf


def bench_navigation(root: Path, sizes: list[int], themes: list[str]) -> list[Run]:
    runs = []
    for pages in sizes:
        src = nav_site(root, pages)
        for theme in themes:
            out = root / f"out-nav-{pages}-{theme}"
            total, cpu, read_s, write_s = sphinx_build(src, out, nav_conf(root, theme))
            count, mb, avg_kb, links = measure_output(out, out / "sessions" / "S1.html")
            runs.append(Run(theme, count, total, cpu, read_s, write_s, mb, avg_kb, links))
            print(f"  nav {count:>5} pages  {theme:<7} wall {total:6.1f} s  CPU {cpu:6.1f} s  "
                  f"(write phase {write_s:5.1f} s)  {mb:6.1f} MB  {avg_kb:6.1f} kB/page  "
                  f"{links:>5} sidebar links/page", flush=True)
    return runs


# -- 2. a kbgen site -----------------------------------------------------------------------

def kbgen_site(root: Path, scale: float) -> Path:
    from bench.synthetic import generate
    from kbgen.config import load_options
    from kbgen.db.plans import import_plan_folder
    from kbgen.scaffold import init_project
    from kbgen.sync import sync

    project = root / f"kb-{scale:g}"
    shutil.rmtree(project, ignore_errors=True)
    init_project(project, title="Theme benchmark")
    url = f"sqlite:///{project / 'db' / 'research.db'}"
    summary = generate(url, scale=scale, plans_dir=project / "plans")
    import_plan_folder(url, project / "plans", source_prefix="plans/", sessions=summary.dated_plans)
    report = sync(load_options(project))
    print(f"  kbgen site at scale {scale:g}: {report.summary()}", flush=True)
    return project


def bench_kbgen(root: Path, scale: float, themes: list[str]) -> None:
    from kbgen.build import index_with_pagefind, pagefind_available

    project = kbgen_site(root, scale)
    sample = next(iter(sorted((project / "docs" / "kb" / "sessions").glob("S*.md"))))
    for theme in themes:
        conf = None
        if theme != "pydata":  # the project's own conf.py gets kbgen's defaults (pydata)
            conf = root / f"kbconf-{theme}"
            conf.mkdir(parents=True, exist_ok=True)
            (conf / "conf.py").write_text(f'project = "bench"\nextensions = ["kbgen.sphinxext"]\n'
                                          f'html_theme = "{THEMES[theme]}"\n', encoding="utf-8")
        out = project / "build" / f"site-{theme}"
        total, cpu, read_s, write_s = sphinx_build(project / "docs", out, conf)
        count, mb, avg_kb, links = measure_output(out, out / "kb" / "sessions" / f"{sample.stem}.html")
        print(f"  kbgen {count:>5} pages  {theme:<7} wall {total:6.1f} s  CPU {cpu:6.1f} s  "
              f"(read {read_s:5.1f} s, write {write_s:5.1f} s)  {mb:6.1f} MB  {avg_kb:6.1f} kB/page  "
              f"{links:>5} sidebar links/page", flush=True)
        if theme == "pydata":
            index_kb = (out / "searchindex.js").stat().st_size / 1e3
            print(f"  sphinx searchindex.js: {index_kb:,.0f} kB (downloaded whole by every search)", flush=True)
            if pagefind_available():
                started = time.perf_counter()
                index_with_pagefind(out)
                seconds = time.perf_counter() - started
                bundle = out / "pagefind"
                files = [p for p in bundle.rglob("*") if p.is_file()]
                chunks = [p for p in files if p.parent.name in {"index", "fragment"}]
                largest = max((p.stat().st_size for p in chunks if p.parent.name == "index"), default=0)
                print(f"  pagefind: {seconds:.1f} s, {sum(p.stat().st_size for p in files) / 1e3:,.0f} kB in "
                      f"{len(files)} files; largest index chunk {largest / 1e3:.0f} kB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nav-pages", type=int, nargs="*", default=[100, 400])
    parser.add_argument("--scale", type=float, default=0.05, help="synthetic database scale (0 skips it)")
    parser.add_argument("--themes", nargs="*", default=list(THEMES))
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench-theme")
    args = parser.parse_args()
    themes = [t for t in args.themes if importlib.util.find_spec(THEMES[t]) is not None]
    missing = sorted(set(args.themes) - set(themes))
    if missing:
        print(f"not installed, skipped: {', '.join(missing)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"Sphinx builds with -j auto on {os.cpu_count()} CPUs")
    if args.nav_pages:
        print("1. navigation scaling (plain pages, groups of 100)")
        bench_navigation(args.workdir, args.nav_pages, themes)
    if args.scale > 0:
        print(f"2. kbgen site (synthetic database, scale {args.scale:g})")
        bench_kbgen(args.workdir, args.scale, themes)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
