"""Benchmark: parse 100 plans of the R95 seed's size (target: under 2 s in total).

A campaign has 60-100 plans and ``kbgen plan import``/``sync`` re-read all
of them, so parsing must stay well below a second or two. The plans are
generated in memory from the seed with different session numbers and file
IDs, so no two parse results are alike and nothing can be cached by
accident; each result is checked so a broken parser cannot look fast.

Run: ``python bench/bench_parse_plans.py [--plans N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing kbgen
    sys.path.insert(0, str(ROOT))

from kbgen.plan import parse_plan  # noqa: E402

SEED = ROOT / "tests" / "data" / "plans" / "R95-plan.md"
TARGET_SECONDS = 2.0


def variants(seed: str, count: int) -> list[tuple[int, str]]:
    """``count`` copies of the seed, each with its own session number and file IDs."""
    file_ids = sorted({int(m) for m in re.findall(r"^\| \d+ \| (\d+) \|", seed, re.MULTILINE)})
    plans: list[tuple[int, str]] = []
    for k in range(count):
        session = 1000 + k
        text = re.sub(r"\bR95\b", f"R{session}", seed)
        text = re.sub(r"(\*\*Session ID\*\*: )95\b", rf"\g<1>{session}", text)
        text = re.sub(r"\b(" + "|".join(map(str, file_ids)) + r")\b",
                      lambda m, k=k: str(int(m.group(1)) + 100_000 * (k + 1)), text)
        plans.append((session, text))
    return plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="repeat and report the best and worst round")
    args = parser.parse_args()

    seed = SEED.read_text(encoding="utf-8")
    plans = variants(seed, args.plans)
    timings: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        results = [parse_plan(text, f"R{session}-plan.md") for session, text in plans]
        timings.append(time.perf_counter() - start)
        for (session, _text), plan in zip(plans, results, strict=True):
            if plan.session != session or len(plan.files) != 9 or len(plan.questions) != 9 or plan.problems:
                print(f"R{session}: unexpected parse result", file=sys.stderr)
                return 1

    lines = seed.count("\n") + 1
    best, worst = min(timings), max(timings)
    print(f"parsed {args.plans} plans of {lines} lines each: "
          f"best {best:.3f} s, worst {worst:.3f} s ({best / args.plans * 1000:.2f} ms/plan; "
          f"first round includes building the markdown parser)")
    if worst > TARGET_SECONDS * args.plans / 100:
        print(f"SLOWER than the target of {TARGET_SECONDS:.1f} s per 100 plans", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
