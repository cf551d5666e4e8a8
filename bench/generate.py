"""Generate a synthetic research database (and its plans) for benchmarks.

Example, from the repository root, without installing kbgen::

    python bench/generate.py --scale 1 --seed 42 \\
        --db sqlite:///build/bench/research.db --plans build/bench/plans

An existing SQLite file is refused unless ``--force`` (then it is replaced,
and stale ``R<n>-plan.md`` files in ``--plans`` are removed). On PostgreSQL
``--force`` drops what a previous run created (views, research and kbgen
tables); without it a database that already holds research rows is refused.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # bench.synthetic is imported from the checkout, not installed
    sys.path.insert(0, str(REPO))

from bench.synthetic import drop_generated, generate  # noqa: E402
from kbgen.db.engine import sqlite_path  # noqa: E402
from kbgen.errors import KbgenError, UsageError  # noqa: E402

_PLAN_FILE = re.compile(r"^(?:R[0-9]+-plan|plan-[0-9]{4}-[0-9]{2}-[0-9]{2}-.*)\.md$")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/generate.py",
        description="Write a deterministic synthetic research database at campaign scale.")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies every count; 1 = one real campaign (~13,400 files), 0.01 … 3")
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same database)")
    parser.add_argument("--db", default="sqlite:///build/bench/research.db",
                        help="database URL (sqlite:///path or postgresql+psycopg://...)")
    parser.add_argument("--plans", type=Path, default=None,
                        help="folder for the execution plans (R<n>-plan.md); none written without it")
    parser.add_argument("--no-hostile", dest="hostile", action="store_false",
                        help="leave out the hostile text corpus (markup, <script>, long tokens)")
    parser.add_argument("--force", action="store_true", help="replace an existing database and plans")
    return parser


def _prepare(url: str, plans: Path | None, force: bool) -> None:
    """Refuse or clear previous output, so a run never mixes two generations."""
    path = sqlite_path(url)
    if path is not None and path.exists():
        if not force:
            raise UsageError(f"{path} exists", hint="pass --force to replace it")
        for victim in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                       path.with_name(path.name + "-journal")):
            victim.unlink(missing_ok=True)
    elif path is None and force and not url.startswith("sqlite"):
        drop_generated(url)
    if plans is not None and plans.is_dir():
        stale = sorted(p for p in plans.iterdir() if _PLAN_FILE.match(p.name))
        if stale and not force:
            raise UsageError(f"{plans} already holds {len(stale)} plans", hint="pass --force to replace them")
        for p in stale:
            p.unlink()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _prepare(args.db, args.plans, args.force)
        summary = generate(args.db, scale=args.scale, seed=args.seed, plans_dir=args.plans,
                           hostile=args.hostile)
    except KbgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(summary.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
