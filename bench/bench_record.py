"""``kbgen record`` at campaign scale: a 25-read, 60-finding worksheet into the x1 campaign.

Run on demand from the repository root (not part of the test suite)::

    python bench/bench_record.py                 # x1, SQLite, 5 runs
    python bench/bench_record.py --scale 0.1 --runs 3
    python bench/bench_record.py --db build/bench/research.db   # reuse a generated x1 database

It generates the synthetic campaign (``bench.synthetic``, as ``bench/generate.py`` does) unless ``--db`` names one,
writes a plan for a new session over 25 files nobody has read, starts the session from it (``kbgen
session start``: session row and prefilled worksheet), fills the worksheet as a researcher would
(25 reads with line ranges, 60 findings across those files, every question answered, domain tags,
dependency edges) and then times, each run on a fresh copy of the database:

* ``record``: the library call (:func:`kbgen.record.record`) that checks and writes everything;
* ``re-record``: the same worksheet again (nothing to change, nothing written);
* ``dry-run``: checking and listing the changes without writing;
* ``cli``: ``python -m kbgen record`` as a user runs it, interpreter start-up and imports included
  (wall clock, and ``cli cpu``: the CPU seconds that process used, which a busy machine does not
  inflate).

The target is under 1 s for ``record``; the median of the runs is reported.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # bench.synthetic is imported from the checkout, not installed
    sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
from sqlalchemy import text  # noqa: E402

from kbgen.config import Options  # noqa: E402
from kbgen.db.engine import open_engine  # noqa: E402
from kbgen.record import record  # noqa: E402
from kbgen.record.start import start_session  # noqa: E402
from kbgen.worksheet import parse_worksheet_file  # noqa: E402

READS = 25
FINDINGS = 60
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "MEDIUM", "LOW", "INFO")
CATEGORIES = ("stub", "bug", "security", "real-functionality", "architecture", "quality", "integration-point")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/bench_record.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="campaign scale when generating (1 = x1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", type=Path, default=None, help="an existing synthetic SQLite database to copy")
    parser.add_argument("--runs", type=int, default=5)
    return parser


def _campaign(work: Path, args: argparse.Namespace) -> Path:
    target = work / "campaign.db"
    if args.db is not None:
        shutil.copyfile(args.db, target)
        return target
    from bench.synthetic import generate

    started = time.perf_counter()
    generate(f"sqlite:///{target}", scale=args.scale, seed=args.seed)
    print(f"generated the x{args.scale:g} campaign in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return target


def _plan(work: Path, db: Path) -> tuple[int, Path, list[tuple[int, str, int]]]:
    """A plan for the next session over 25 unread files (with LOC) of one package."""
    engine = open_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            number = int(conn.execute(text("SELECT max(id) FROM sessions")).scalar_one()) + 1
            package = conn.execute(text(
                "SELECT p.id, p.name FROM packages p JOIN files f ON f.package_id = p.id "
                "WHERE f.depth = 'NOT_TOUCHED' AND f.loc > 200 GROUP BY p.id, p.name ORDER BY count(*) DESC")).first()
            files = [(int(r.id), str(r.relative_path), int(r.loc)) for r in conn.execute(text(
                "SELECT id, relative_path, loc FROM files WHERE package_id = :p AND depth = 'NOT_TOUCHED' "
                "AND loc > 200 ORDER BY id LIMIT :n"), {"p": package.id, "n": READS})]
    finally:
        engine.dispose()
    rows = "\n".join(f"| {i} | {fid} | `{path}` | {loc} | context {i} |" for i, (fid, path, loc) in
                     enumerate(files, start=1))
    questions = "\n".join(f"- `{path.rsplit('/', 1)[-1]}` ({loc} LOC): what does it really do?"
                          for fid, path, loc in files)
    plan = work / f"R{number}-plan.md"
    plan.write_text(
        f"# R{number} Execution Plan: benchmark session\n\n**Date**: 2026-01-05\n**Session ID**: {number}\n"
        f"**Focus**: Deep-read {READS} files of {package.name}.\n\n## Target: {READS} files\n\n"
        f"### Cluster A: Everything ({READS} files)\n\n| # | File ID | File | LOC | Context |\n"
        f"|---|---------|------|-----|---------|\n{rows}\n\n**Key questions**:\n{questions}\n",
        encoding="utf-8")
    return number, plan, files


def _fill(path: Path, files: list[tuple[int, str, int]], domain: str) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for i, read in enumerate(data["reads"]):
        loc = files[i][2]
        read["depth"] = ("DEEP", "MEDIUM", "SURFACE")[i % 3]
        read["lines"] = f"1-{loc // 2},{loc // 2 + 10}-{loc}"
    data["findings"] = [
        {"key": f"b{i}", "file": files[i % READS][0], "severity": SEVERITIES[i % len(SEVERITIES)],
         "category": CATEGORIES[i % len(CATEGORIES)], "lines": f"{10 + i}-{40 + i}",
         "description": f"Benchmark finding {i}: what the code at these lines really does, in a sentence.",
         "answers": [data["questions"][i % len(data["questions"])]["id"]] if i < 50 else []}
        for i in range(FINDINGS)]
    for q in data["questions"]:
        q["answer"], q["verdict"] = "full", "Answered by the session's reads."
    data["tags"] = [{"domains": [domain], "files": [f[0] for f in files]}]
    data["dependencies"] = [{"source": files[i][0], "target": files[i + 1][0], "relationship": "calls",
                             "evidence": f"call {i}"} for i in range(10)]
    path.write_text("# yaml-language-server: $schema=worksheet.schema.json\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kbgen-bench-record-") as tmp:
        work = Path(tmp)
        campaign = _campaign(work, args)
        number, plan, files = _plan(work, campaign)
        project = work / "project"
        (project / "conf").mkdir(parents=True)
        (project / "conf" / "kbgen.yaml").write_text("title: bench\n", encoding="utf-8")
        options = Options(project)
        base = work / "base.db"
        shutil.copyfile(campaign, base)
        engine = open_engine(f"sqlite:///{base}")
        try:
            worksheet = project / "worksheets" / f"R{number}.yaml"
            started = time.perf_counter()
            start_session(engine, options, number, output=worksheet, plan_path=plan)
            start_seconds = time.perf_counter() - started
            with engine.connect() as conn:
                domain = str(conn.execute(text("SELECT name FROM domains ORDER BY id LIMIT 1")).scalar_one())
                counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                          for t in ("files", "findings", "file_reads", "sessions")}
        finally:
            engine.dispose()
        _fill(worksheet, files, domain)
        ws = parse_worksheet_file(worksheet)
        timings: dict[str, list[float]] = {"record": [], "re-record": [], "dry-run": [], "cli": [], "cli cpu": []}
        written = 0
        for _ in range(args.runs):
            db = work / "run.db"
            shutil.copyfile(base, db)
            url = f"sqlite:///{db}"
            engine = open_engine(url)
            try:
                started = time.perf_counter()
                result = record(engine, ws, options, dry_run=True)
                timings["dry-run"].append(time.perf_counter() - started)
                started = time.perf_counter()
                result = record(engine, ws, options)
                timings["record"].append(time.perf_counter() - started)
                written = len(result.written)
                started = time.perf_counter()
                again = record(engine, ws, options)
                timings["re-record"].append(time.perf_counter() - started)
                assert not again.written, "re-recording wrote rows"
            finally:
                engine.dispose()
            shutil.copyfile(base, db)
            cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "kbgen", "--project", str(project), "--db", url, "-q", "record",
                            str(worksheet)], check=True, capture_output=True)
            timings["cli"].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            timings["cli cpu"].append(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime)
        print(f"campaign: {counts['files']:,} files, {counts['findings']:,} findings, {counts['file_reads']:,} reads, "
              f"{counts['sessions']:,} sessions; worksheet R{number}: {len(ws.reads)} reads, {len(ws.findings)} "
              f"findings, {len(ws.questions)} questions answered; {written} rows written")
        print(f"session start (plan import, session row, worksheet): {start_seconds:.3f} s")
        print(f"{'step':<10} {'median s':>9} {'min s':>7} {'max s':>7}  ({args.runs} runs)")
        for step, values in timings.items():
            print(f"{step:<10} {statistics.median(values):>9.3f} {min(values):>7.3f} {max(values):>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
