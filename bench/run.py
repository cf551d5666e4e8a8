"""kbgen at campaign scale: sync, build and a plain-MyST baseline, measured in one run.

Run on demand (not part of the test suite), from the repository root::

    python bench/run.py --scale 0.1            # quick shake-out (~1 min)
    python bench/run.py --scale 1              # one real campaign (several minutes)
    python bench/run.py --scale 1 --skip-build --skip-pg

It generates a synthetic research database (``bench.synthetic``), imports its
plans, then times each step in a child process (``os.wait4`` gives that
child's peak RSS and the CPU time of it and the processes it waited for):
full sync, no-op sync, full build, then the ``kbgen build`` command (sync,
Sphinx, search index) with nothing changed, after one new session (9 reads,
60 findings) and after a second one, after a blank line and after a paragraph appended to the
landing page (docs/index.md), and after a sentence added to a domain
document's narrative; ``kbgen --help`` and ``kbgen report``; and a clean
build of the same pages turned into plain MyST (no sphinx-needs) as the
baseline. With PostgreSQL binaries available it repeats the syncs on a
throwaway server. Results: one table on stdout (and ``--json`` for machine
use). CPU time next to wall time tells a busy machine from a slow step, and a
fixed loop timed at the start, around the full build and at the end tells a
slower machine from a slower step.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # bench.synthetic is imported from the checkout, not installed
    # After the entries of PYTHONPATH (sys.path[0] is this script's folder): a checkout named there
    # is the kbgen measured, here and in the ``--child-*`` processes (``bench_first_incremental.py``).
    _named = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path.insert(1 + len(_named) if _named else 0, str(REPO))

from kbgen.build import DEFAULT_JOBS, sphinx_command  # noqa: E402
from kbgen.config import Options, load_options  # noqa: E402

NEED_TYPES = ("finding", "question", "file", "session", "domain")
_OPEN = re.compile(r"^(:{3,})\{(" + "|".join(NEED_TYPES) + r")\}\s*(.*)$")
_OPTION = re.compile(r"^:([a-z_]+):\s*(.*)$")
_NEED_ROLE = re.compile(r"\{need\}`([^`]*)`")

BASELINE_CONF = '''"""Plain-MyST baseline: the same pages and theme, no sphinx-needs."""
project = {title!r}
extensions = ["myst_parser", "kbgen.sphinxext.graphs"]  # the same inline graphs, no sphinx-needs
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 0
smartquotes = False
suppress_warnings = ["myst.xref_missing", "ref.ref", "ref.doc", "toc.not_included", "myst.header"]
exclude_patterns = ["_build", "**/.kbgen-*"]
html_theme = "pydata_sphinx_theme"
html_theme_options = {{"collapse_navigation": True, "navigation_depth": 2, "show_nav_level": 1,
                      "navigation_with_keys": False, "secondary_sidebar_items": ["page-toc"]}}
'''


@dataclass
class Step:
    name: str
    seconds: float
    rss_mb: float
    detail: str = ""
    #: User + system CPU seconds of the step's process and the processes it waited for.
    cpu_s: float = 0.0


@dataclass
class Results:
    scale: float
    steps: list[Step] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- child processes

#: CPU seconds of the last :func:`run_child` (user + system, the child and what it waited for).
LAST_CPU = [0.0]


def run_child(cmd: list[str], *, cwd: Path | None = None) -> tuple[float, float, str, str]:
    """Run ``cmd``; return (seconds, peak RSS of the child tree's largest process in MB, stdout, stderr).

    Its CPU time goes to :data:`LAST_CPU`. Without ``cwd`` the child runs in the temporary folder,
    never in the folder this benchmark was started from: ``python -m kbgen`` puts its working
    folder first on ``sys.path``, so started from a checkout it would import that checkout's kbgen
    instead of the one ``PYTHONPATH`` names."""
    if cwd is None:
        cwd = Path(tempfile.gettempdir())
    env = child_environment()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        LAST_CPU[0] = usage.ru_utime + usage.ru_stime
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-25:])
        raise SystemExit(f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return seconds, usage.ru_maxrss / 1024.0, stdout, stderr


def child_environment() -> dict[str, str]:
    """The measured commands' environment: a fixed hash seed, and Python's bytecode cache on.

    A machine that sets ``PYTHONDONTWRITEBYTECODE`` (CI images often do) would have every measured
    command compile the kbgen modules it imports (an editable install brings no bytecode): a
    cost users of an installed kbgen never pay. :func:`compile_kbgen` fills the cache first.
    """
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_kbgen() -> None:
    """Byte-compile the kbgen measured (the one imported here), so no measured step compiles it."""
    import kbgen

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(kbgen.__file__).parent)],
                   env=child_environment(), check=True, stdout=subprocess.DEVNULL)


def child_sync(project: Path) -> None:
    """``--child-sync``: one sync, its report as JSON on stdout."""
    from kbgen.sync import sync

    report = sync(load_options(project))
    print(json.dumps({"written": len(report.written), "unchanged": report.unchanged,
                      "removed": len(report.removed), "seconds": report.seconds,
                      "written_paths": report.written[:50]}))


def timed_sync(project: Path, name: str) -> tuple[Step, dict[str, Any]]:
    seconds, rss, stdout, _ = run_child([sys.executable, __file__, "--child-sync", str(project)])
    data = json.loads(stdout.strip().splitlines()[-1])
    detail = f"{data['written']:,} written, {data['unchanged']:,} unchanged, {data['removed']:,} removed"
    return Step(name, seconds, rss, detail, LAST_CPU[0]), data


def child_build(project: Path, clean: bool, jobs: str) -> None:
    """``--child-build``: what ``kbgen build --no-sync`` does (Sphinx, then the Pagefind index); JSON out."""
    from kbgen.build import build_site

    result = build_site(load_options(project), clean=clean, jobs=jobs)
    print(json.dumps({"warnings": result.warnings, "mode": result.mode, "search": result.search,
                      "pages": result.pages}))


def timed_build(options: Options, name: str, *, clean: bool, jobs: str) -> Step:
    """A ``kbgen build`` (the sync before it is timed on its own), in a child process."""
    cmd = [sys.executable, __file__, "--child-build", str(options.project_dir), "--jobs", jobs]
    seconds, rss, stdout, _ = run_child(cmd + (["--clean"] if clean else []))
    data = json.loads(stdout.strip().splitlines()[-1])
    return Step(name, seconds, rss, f"{data['warnings']} warnings, {data['mode']}, search: {data['search']}",
                LAST_CPU[0])


def timed_sphinx(options: Options, name: str, *, jobs: str) -> Step:
    """A clean plain sphinx-build (the baseline has no kbgen extension and no Pagefind)."""
    cmd = [sys.executable, "-m", "sphinx", *sphinx_command(options, clean=True, jobs=jobs)[3:]]
    seconds, rss, _, stderr = run_child(cmd, cwd=options.project_dir)
    warnings = sum(1 for line in stderr.splitlines() if "WARNING" in line)
    return Step(name, seconds, rss, f"{warnings} warnings", LAST_CPU[0])


KBGEN = [sys.executable, "-m", "kbgen"]
_BUILT = re.compile(r"built [\d,]+ pages \(([^)]*)\) in ")


def timed_kbgen_build(options: Options, name: str) -> Step:
    """The ``kbgen build`` command as a user runs it: sync, Sphinx, search index."""
    seconds, rss, stdout, stderr = run_child([*KBGEN, "--project", str(options.project_dir), "build"])
    text = stdout + stderr
    sync = re.search(r"sync: ([\d,]+ written)", text)
    built = _BUILT.search(text)
    notes = [line.strip() for line in text.splitlines() if line.strip().startswith("kbgen: ")]
    detail = f"sync {sync.group(1) if sync else '?'}; {built.group(1) if built else '?'}"
    search = re.search(r"search: (.*?) → ", text)  # the delta index or the whole site
    detail += f"; search: {search.group(1)}" if search else ""
    detail += "".join(f"; {note}" for note in notes)
    return Step(name, seconds, rss, detail, LAST_CPU[0])


def timed_command(name: str, args: list[str], *, repeat: int = 1) -> Step:
    """A kbgen command, the fastest of ``repeat`` runs (start-up time is what is measured)."""
    runs = []
    for _ in range(repeat):
        seconds, rss, _, _ = run_child([*KBGEN, *args])
        runs.append((seconds, rss, LAST_CPU[0]))
    seconds, rss, cpu = min(runs)
    return Step(name, seconds, rss, f"fastest of {repeat}" if repeat > 1 else "", cpu)


def edit_narrative(options: Options) -> Path:
    """Add a sentence to the human summary (section 1) of the first domain document."""
    document = sorted(options.domains_path.rglob("analysis.md"))[0]
    lines = document.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("## 1"))
    lines.insert(at + 1, "\nA sentence added by hand to the narrative.\n")
    document.write_text("".join(lines), encoding="utf-8")
    return document


# --------------------------------------------------------------------------- setup

def make_project(root: Path, url: str | None, scale: float, seed: int) -> Options:
    """Scaffold a project, generate its database (SQLite by default) and import its plans."""
    from bench.synthetic import generate
    from kbgen.db.engine import resolve_url
    from kbgen.db.plans import import_plan_folder
    from kbgen.scaffold import init_project

    if root.exists():
        shutil.rmtree(root)
    init_project(root, title=f"Benchmark x{scale:g}")
    if url is not None:
        conf = root / "conf" / "kbgen.yaml"
        conf.write_text(conf.read_text(encoding="utf-8").replace("sqlite:///db/research.db", url),
                        encoding="utf-8")
    options = load_options(root)
    db_url = resolve_url(options.database, options.project_dir)
    summary = generate(db_url, scale=scale, seed=seed, plans_dir=root / "plans")
    import_plan_folder(db_url, root / "plans", source_prefix="plans/", sessions=summary.dated_plans)
    return options


def add_session(options: Options, *, reads: int = 9, findings: int = 60) -> int:
    """Insert one new session with ``reads`` DEEP reads and ``findings`` findings; return its id."""
    from sqlalchemy import func, insert, select, update

    from kbgen.db import research
    from kbgen.db.engine import open_engine, resolve_url

    engine = open_engine(resolve_url(options.database, options.project_dir))
    try:
        with engine.begin() as conn:
            sid = int(conn.execute(select(func.max(research.sessions.c.id))).scalar() or 0) + 1
            rid = int(conn.execute(select(func.max(research.file_reads.c.id))).scalar() or 0) + 1
            fid = int(conn.execute(select(func.max(research.findings.c.id))).scalar() or 0) + 1
            # the first files of the inventory nobody has read yet: a plausible next session
            touched = select(research.file_reads.c.file_id)
            files = [row[0] for row in conn.execute(
                select(research.files.c.id, research.files.c.loc)
                .where(research.files.c.id.not_in(touched)).order_by(research.files.c.id).limit(reads))]
            conn.execute(insert(research.sessions).values(
                id=sid, name=f"Benchmark session {sid}", date="2026-01-15",
                focus="benchmark: one more session", agent_count=3, notes="added by bench/run.py"))
            conn.execute(insert(research.file_reads), [
                {"id": rid + i, "file_id": f, "session_id": sid, "depth": "DEEP", "lines_read": 120,
                 "line_ranges": "1-120", "notes": "bench read"} for i, f in enumerate(files)])
            conn.execute(update(research.files).where(research.files.c.id.in_(files))
                         .values(depth="DEEP", last_read_date="2026-01-15"))
            severities = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
            conn.execute(insert(research.findings), [
                {"id": fid + i, "file_id": files[i % len(files)], "session_id": sid, "line_start": 10 + i,
                 "line_end": 12 + i, "severity": severities[i % len(severities)], "category": "architecture",
                 "description": f"Benchmark finding {i}: coupling between modules", "followed_up": 0}
                for i in range(findings)])
    finally:
        engine.dispose()
    return sid


# --------------------------------------------------------------------------- plain-MyST baseline

def plain_myst(text: str) -> str:
    """Turn kbgen's need blocks and ``{need}`` roles into plain MyST with the same text."""
    out: list[str] = []
    lines = text.splitlines()
    closers: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _OPEN.match(line)
        if m:
            fence, kind, title = m.groups()
            i += 1
            options: list[tuple[str, str]] = []
            while i < len(lines) and (om := _OPTION.match(lines[i])):
                options.append((om.group(1), om.group(2).strip().strip('"')))
                i += 1
            ident = next((v for k, v in options if k == "id"), "")
            out.append(f"**{kind} {ident}**: {title}".rstrip())
            out.append("")
            rest = "; ".join(f"{k}: {v}" for k, v in options if k != "id")
            if rest:
                out.append(rest.replace("*", r"\*"))
                out.append("")
            closers.append(fence)
            continue
        if closers and line.strip() == closers[-1]:
            closers.pop()
            i += 1
            continue
        out.append(_NEED_ROLE.sub(r"\1", line))
        i += 1
    return "\n".join(out) + "\n"


def make_baseline(options: Options, root: Path) -> Options:
    """A copy of the docs and domain documents as plain MyST, with a myst-only conf.py."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(options.project_dir / "conf", root / "conf")
    for sub in (options.docs_dir, options.domains_root):
        src = options.project_dir / sub
        if src.exists():
            shutil.copytree(src, root / sub, ignore=shutil.ignore_patterns("_build", ".kbgen-*"))
    for path in [*(root / options.docs_dir).rglob("*.md"), *(root / options.domains_root).rglob("*.md"),
                 *(root / options.docs_dir).rglob("*.inc")]:
        path.write_text(plain_myst(path.read_text(encoding="utf-8")), encoding="utf-8")
    (root / options.docs_dir / "conf.py").write_text(BASELINE_CONF.format(title=options.title), encoding="utf-8")
    return load_options(root)


# --------------------------------------------------------------------------- figures

def site_figures(out: Path) -> dict[str, Any]:
    pages = list(out.rglob("*.html"))
    needs = out / "needs.json"
    return {"pages": len(pages), "html_mb": sum(p.stat().st_size for p in pages) / 1e6,
            "needs_json_mb": needs.stat().st_size / 1e6 if needs.exists() else 0.0}


def speed_check() -> float:
    """CPU seconds of a fixed pure-Python loop: how fast the machine runs right now.

    A virtual machine's speed drifts (by a fifth within an idle hour on the 2-core machine of
    bench/README.md), and a ratio between two steps moves with it. The loop is timed at the start,
    around the full build and at the end, so a reader can tell a slower step from a slower machine.
    """
    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return round(time.process_time() - started, 3)


def print_table(res: Results) -> None:
    print(f"\nkbgen benchmark, scale x{res.scale:g}")
    width = max(len(s.name) for s in res.steps)
    print(f"{'step':<{width}}  {'seconds':>8}  {'CPU s':>8}  {'peak RSS MB':>11}  detail")
    for s in res.steps:
        print(f"{s.name:<{width}}  {s.seconds:>8.2f}  {s.cpu_s:>8.2f}  {s.rss_mb:>11.0f}  {s.detail}")
    for k, v in res.figures.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-run",
                        help="scratch folder (replaced)")
    parser.add_argument("--jobs", default=DEFAULT_JOBS, help=f"sphinx-build -j (kbgen build's default: {DEFAULT_JOBS})")
    parser.add_argument("--skip-build", action="store_true", help="syncs only")
    parser.add_argument("--skip-pg", action="store_true", help="no PostgreSQL run")
    parser.add_argument("--skip-baseline", action="store_true", help="no plain-MyST baseline build")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child-sync", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-build", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--clean", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_sync is not None:
        child_sync(args.child_sync)
        return 0
    if args.child_build is not None:
        child_build(args.child_build, args.clean, args.jobs)
        return 0

    compile_kbgen()
    res = Results(scale=args.scale)
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    res.figures["load average at the start (1, 5, 15 min)"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    speed = res.figures["speed check: CPU s of a fixed loop (start, before and after the full build, end)"] = [
        speed_check()]
    options = make_project(work / "sqlite", None, args.scale, args.seed)
    res.figures["generate_s"] = time.perf_counter() - started
    print(f"generated in {res.figures['generate_s']:.1f} s", file=sys.stderr)

    def record(step: Step) -> Step:
        res.steps.append(step)
        print(f"  {step.name}: {step.seconds:.2f} s (CPU {step.cpu_s:.2f} s), {step.rss_mb:.0f} MB  {step.detail}",
              file=sys.stderr, flush=True)
        return step

    full_sync, data = timed_sync(options.project_dir, "full sync (SQLite)")
    record(full_sync)
    noop, data = timed_sync(options.project_dir, "no-op sync (SQLite)")
    noop.detail += f"; in-process {data['seconds']:.2f} s"
    record(noop)
    res.figures["generated_md_files"] = sum(1 for _ in options.generated_path.rglob("*.md"))
    if not args.skip_build:
        speed.append(speed_check())
        full_build = record(timed_build(options, "full build (clean)", clean=True, jobs=args.jobs))
        speed.append(speed_check())
        res.figures.update(site_figures(options.build_path))
        full = full_build.seconds
        nothing = record(timed_kbgen_build(options, "kbgen build, nothing changed"))
        res.figures["kbgen build, nothing changed (s)"] = nothing.seconds
    sid = add_session(options)
    if args.skip_build:
        record(timed_sync(options.project_dir, f"sync after new session S{sid}")[0])
    else:
        session = record(timed_kbgen_build(options, f"kbgen build after new session S{sid}"))
        res.figures["new session: kbgen build / full build"] = session.seconds / full
        res.figures["new session: CPU / full build CPU"] = session.cpu_s / full_build.cpu_s
        # The first session of a new hundred adds a group to the navigation every session page
        # shows; the next one changes the navigation of its neighbour only. Both are measured.
        sid = add_session(options)
        again = record(timed_kbgen_build(options, f"kbgen build after another new session S{sid}"))
        res.figures["another new session: kbgen build / full build"] = again.seconds / full
        res.figures["another new session: CPU / full build CPU"] = again.cpu_s / full_build.cpu_s
        index = options.docs_path / "index.md"
        index.write_text(index.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        blank = record(timed_kbgen_build(options, "kbgen build after a blank line in docs/index.md"))
        res.figures["blank line in index.md: kbgen build / full build"] = blank.seconds / full
        index.write_text(index.read_text(encoding="utf-8") + "\nA paragraph added by hand.\n", encoding="utf-8")
        para = record(timed_kbgen_build(options, "kbgen build after a paragraph in docs/index.md"))
        res.figures["paragraph in index.md: kbgen build / full build"] = para.seconds / full
        edited = edit_narrative(options)
        narrative = record(timed_kbgen_build(options, f"kbgen build after a narrative edit ({edited.parent.name})"))
        res.figures["narrative edit: kbgen build / full build"] = narrative.seconds / full
    record(timed_command("kbgen --help", ["--help"], repeat=5))
    with tempfile.TemporaryDirectory() as tmp:
        record(timed_command("kbgen report", ["--project", str(options.project_dir), "report", "-o",
                                              str(Path(tmp) / "MASTER-INDEX.md")], repeat=3))
    if not args.skip_build and not args.skip_baseline:
        base = make_baseline(options, work / "baseline")
        plain = record(timed_sphinx(base, "plain-MyST baseline (clean sphinx-build)", jobs=args.jobs))
        res.figures["baseline_pages"] = site_figures(base.build_path)["pages"]
        res.figures["full build / baseline"] = full_build.seconds / plain.seconds
        res.figures["full build CPU / baseline CPU"] = full_build.cpu_s / plain.cpu_s
    res.figures["load average at the end (1, 5, 15 min)"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    speed.append(speed_check())

    if not args.skip_pg:
        sys.path.insert(0, str(REPO))
        from tests.pg import start_server, stop_server

        server, reason = start_server()
        if server is None:
            print(f"PostgreSQL skipped: {reason}", file=sys.stderr)
        else:
            try:
                pg = make_project(work / "pg", server.url(server.create_database()), args.scale, args.seed)
                pg_full, _ = timed_sync(pg.project_dir, "full sync (PostgreSQL)")
                record(pg_full)
                record(timed_sync(pg.project_dir, "no-op sync (PostgreSQL)")[0])
                res.figures["PG full sync / SQLite full sync"] = pg_full.seconds / full_sync.seconds
            finally:
                stop_server(server)

    print_table(res)
    if args.json:
        args.json.write_text(json.dumps({"scale": res.scale, "steps": [asdict(s) for s in res.steps],
                                         "figures": res.figures}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
