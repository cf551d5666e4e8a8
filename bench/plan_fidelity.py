"""How much of a campaign's plans kbgen understands: questions bound to a file, questions answered.

Real campaigns' plans drift (files new since the inventory with a dash for an ID, Results
sections written after the session, questions naming a file by a shortened path or no file
at all, a dated plan without a session number); the synthetic campaign's plans do the same
(``bench/synthetic.py``, ``_Drift``). This script generates one campaign, then imports its
plans with one or more kbgen checkouts and measures, against every question the plans ask:

* plans stored (a plan kbgen refuses loses all its questions);
* questions bound to a database file (a question with a file ID can be answered from the data);
* questions answered: explicitly, inferred from their file, inferred from their cluster.

Each checkout runs in a child process with ``PYTHONPATH`` set to it, so an older kbgen (say
``main`` before a change, unpacked with ``git archive``) is measured on the very same plans::

    python bench/plan_fidelity.py --scale 1 --kbgen before=/tmp/kbgen-main --kbgen after=.

Only what both old and new kbgen offer is used in the child (``python -m kbgen plan import``,
``kbgen.db.load.load_snapshot``); ``--session`` for the dated plan is tried and counted as
refused when that kbgen does not know it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    # ``bench.synthetic`` lives in this checkout; kbgen comes first from PYTHONPATH or the install,
    # so a child measuring another checkout imports that checkout's kbgen.
    sys.path.append(str(REPO))


def _generate(out: Path, scale: float, seed: int) -> dict[str, Any]:
    """The campaign (database + plans) and the number of questions its plans ask, by this checkout's parser."""
    from bench.synthetic import generate
    from kbgen.plan import parse_plan_file

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    url = f"sqlite:///{out / 'pristine.db'}"
    summary = generate(url, scale=scale, seed=seed, plans_dir=out / "plans")
    questions = file_questions = 0
    for path in sorted((out / "plans").glob("*.md")):
        plan = parse_plan_file(path, session=summary.dated_plans.get(path.name))
        questions += len(plan.questions)
        file_questions += sum(1 for q in plan.questions if q.bound)
    return {"plans": summary.plans, "questions": questions, "file_questions": file_questions,
            "dated_plans": summary.dated_plans, "digest": research_digest(out / "pristine.db")}


def research_digest(path: Path) -> str:
    """SHA-256 of the research tables and kbgen's answer and status rows (not its schema version)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    digest = hashlib.sha256()
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            if name.startswith("kbgen_") and name not in ("kbgen_answers", "kbgen_finding_status"):
                continue
            for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY 1, 2'):
                digest.update(repr((name, row)).encode("utf-8", "surrogatepass"))
    finally:
        conn.close()
    return digest.hexdigest()


def _run(src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src), "KBGEN_NO_FORK": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=src)


def _import_and_measure(label: str, src: Path, out: Path, campaign: dict[str, Any], scale: float,
                        seed: int) -> dict[str, Any]:
    # The checkout writes its own copy of the database (same rows: the drift only changes plan text),
    # so its kbgen tables are at the revision it understands.
    db = out / f"{label.replace(' ', '-')}.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    made = _run(src, "-c", "import sys; from bench.synthetic import generate; "
                f"generate(sys.argv[1], scale={scale!r}, seed={seed!r})", url)
    if made.returncode != 0:
        raise SystemExit(f"{label}: generating the database failed:\n{made.stderr}")
    if research_digest(db) != campaign["digest"]:
        raise SystemExit(f"{label}: its generator writes other rows than this checkout's; not comparable")
    plans = out / "plans"
    numbered = sorted(str(p) for p in plans.glob("*.md") if p.name not in campaign["dated_plans"])
    _run(src, "-m", "kbgen", "--db", url, "plan", "import", "--keep-going", *numbered)
    for name, session in campaign["dated_plans"].items():
        _run(src, "-m", "kbgen", "--db", url, "plan", "import", str(plans / name), "--session", str(session))
    measured = _run(src, str(Path(__file__).resolve()), "--measure", url)
    if measured.returncode != 0:
        raise SystemExit(f"{label}: measuring failed:\n{measured.stderr}")
    figures: dict[str, Any] = json.loads(measured.stdout)
    return figures


def measure(url: str) -> dict[str, Any]:
    """Figures from the database as the running kbgen sees it (runs in the child process)."""
    import kbgen
    from kbgen.config import load_options
    from kbgen.db.engine import open_engine
    from kbgen.db.load import load_snapshot

    engine = open_engine(url)
    try:
        snap = load_snapshot(engine, load_options(None, required=False), url)
    finally:
        engine.dispose()
    kinds = {"answered": 0, "file": 0, "cluster": 0, "open": 0}
    inference = getattr(snap, "question_inference", None)  # absent before cluster inference existed
    for q in snap.questions:
        status = snap.question_status(q.id)
        if status == "inferred":
            kinds[(inference(q.id) if inference else None) or "file"] += 1
        else:
            kinds[status] += 1
    return {"kbgen": str(Path(kbgen.__file__).resolve().parent), "plans_stored": len(snap.plans),
            "questions_stored": len(snap.questions), "bound": sum(1 for q in snap.questions if q.file_ids),
            **kinds}


def _share(part: int, whole: int) -> str:
    return f"{part:,} ({100.0 * part / whole:.1f}%)" if whole else "—"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/plan_fidelity.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench" / "fidelity")
    parser.add_argument("--kbgen", action="append", default=[], metavar="LABEL=PATH",
                        help="a kbgen checkout to measure (repeatable); default: this one")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    checkouts = [(item.split("=", 1)[0], Path(item.split("=", 1)[1]).resolve()) for item in args.kbgen] \
        or [("this checkout", REPO)]
    campaign = _generate(args.out, args.scale, args.seed)
    total = campaign["questions"]
    rows = {label: _import_and_measure(label, src, args.out, campaign, args.scale, args.seed)
            for label, src in checkouts}
    print(f"synthetic campaign x{args.scale:g} (seed {args.seed}): {campaign['plans']} plans, {total:,} questions, "
          f"{campaign['file_questions']:,} of them naming a planned file")
    for label, figures in rows.items():
        print(f"  {label}: kbgen from {figures['kbgen']}")
    header = ["", *rows]
    lines = [
        ["plans stored", *(f"{r['plans_stored']} of {campaign['plans']}" for r in rows.values())],
        ["questions stored", *(_share(r["questions_stored"], total) for r in rows.values())],
        ["bound to a database file", *(_share(r["bound"], total) for r in rows.values())],
        ["answered (any)", *(_share(r["answered"] + r["file"] + r["cluster"], total) for r in rows.values())],
        ["  explicit", *(_share(r["answered"], total) for r in rows.values())],
        ["  inferred from the file", *(_share(r["file"], total) for r in rows.values())],
        ["  inferred from the cluster", *(_share(r["cluster"], total) for r in rows.values())],
        ["open", *(_share(r["open"], total) for r in rows.values())],
    ]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    for row in [header, *lines]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    if args.json:
        args.json.write_text(json.dumps({"campaign": campaign, "checkouts": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
