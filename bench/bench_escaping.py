"""How much of kbgen's generated markdown carries a backslash: the example and a synthetic campaign.

Run on demand (not part of the test suite), from the repository root::

    python bench/bench_escaping.py                    # the bundled example and the x1 campaign
    python bench/bench_escaping.py --scale 0.1        # a smaller campaign
    python bench/bench_escaping.py --no-campaign      # the example only

Each target is built in a temporary project: the example (``kbgen demo``'s database and
narratives) or a campaign from ``bench/generate.py``'s generator, then synced, and the
master index rendered (``kbgen report``). Three kinds of generated markdown are counted:

* the generated blocks of the domain documents (``domains/*/analysis.md``, between the
  ``kbgen:begin``/``kbgen:end`` markers; the human text around them is not kbgen's);
* the report (``kbgen report``'s master index);
* the site pages under ``docs/kb/`` (``.md`` and ``.inc``; the bodies of backtick fences —
  Graphviz sources, toctrees — are not markdown and are left out).

For each: non-blank lines, lines holding at least one backslash and their share, lines with a
backslash outside code spans (code spans show database text verbatim: a regex or a Windows path
there keeps its own backslashes), and the backslashes outside code spans written before a letter,
a digit, a hyphen or a space (escapes a reader of the raw file should never have to see).

To measure another checkout (the "before" of a change), put it first on the path::

    PYTHONPATH=/path/to/other/checkout python bench/bench_escaping.py
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # bench.synthetic is imported from the checkout, not installed
    sys.path.insert(0, str(REPO))

from kbgen.config import Options, load_options  # noqa: E402
from kbgen.domain.sections import GeneratedBlock, split  # noqa: E402
from kbgen.render.escape import clean  # noqa: E402
from kbgen.report import make_report  # noqa: E402
from kbgen.scaffold import init_project  # noqa: E402
from kbgen.sync import sync  # noqa: E402

NOISY = re.compile(r"\\[A-Za-z0-9 \-]")
CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)(.*?)(?<!`)\1(?!`)")


def outside_code(line: str) -> str:
    """The line without its code spans (an approximation of CommonMark's pairing, for counting)."""
    return CODE_SPAN.sub("", clean(line))


@dataclass
class Count:
    """Backslash figures of one kind of generated markdown."""

    lines: int = 0
    with_backslash: int = 0
    escaped_lines: int = 0
    noisy_escapes: int = 0

    def add(self, text: str) -> None:
        fence = ""
        for line in text.splitlines():
            # Directive bodies in backtick fences (Graphviz DOT, toctrees) are not markdown.
            marker = re.match(r"^(`{3,})", line)
            if fence and line.strip() == fence:
                fence = ""
                continue
            if not fence and marker:
                fence = marker.group(1)
            if fence or not line.strip():
                continue
            self.lines += 1
            self.with_backslash += "\\" in line
            text = outside_code(line)
            self.escaped_lines += "\\" in text
            self.noisy_escapes += len(NOISY.findall(text))

    @property
    def share(self) -> float:
        return self.with_backslash / self.lines if self.lines else 0.0

    @property
    def escaped_share(self) -> float:
        return self.escaped_lines / self.lines if self.lines else 0.0


def measure(options: Options) -> dict[str, Count]:
    """Sync the project, render its report, and count."""
    sync(options)
    counts = {"domain sections": Count(), "report": Count(), "site pages": Count()}
    for path in sorted(options.domains_path.glob("**/analysis.md")):
        for block in split(path.read_text(encoding="utf-8"), path=str(path)):
            if isinstance(block, GeneratedBlock):
                counts["domain sections"].add(block.text)
    counts["report"].add(make_report(options).text)
    for path in sorted(options.generated_path.rglob("*")):
        if path.suffix in (".md", ".inc"):
            counts["site pages"].add(path.read_text(encoding="utf-8"))
    return counts


def example(root: Path) -> Options:
    from kbgen.demo import load_demo_database, seed_narratives

    init_project(root, title="example")
    options = load_options(root)
    load_demo_database(options)
    seed_narratives(options)
    return options


def campaign(root: Path, scale: float, seed: int) -> Options:
    from bench.synthetic import generate
    from kbgen.db.engine import resolve_url
    from kbgen.db.plans import import_plan_folder

    init_project(root, title=f"campaign x{scale:g}")
    options = load_options(root)
    url = resolve_url(options.database, options.project_dir)
    generate(url, scale=scale, seed=seed, plans_dir=root / "plans")
    import_plan_folder(url, root / "plans", source_prefix="plans/")
    return options


def print_counts(name: str, counts: dict[str, Count], seconds: float) -> None:
    print(f"{name} ({seconds:.0f} s)")
    header = ("", "lines", "with \\", "share", "outside code", "share", "\\ before [A-Za-z0-9 -]")
    print(f"  {header[0]:<16} {header[1]:>9} {header[2]:>9} {header[3]:>7} {header[4]:>13} {header[5]:>7} "
          f"{header[6]:>24}")
    total = Count()
    for kind, c in [*counts.items(), ("all", total)]:
        if c is not total:
            for name in ("lines", "with_backslash", "escaped_lines", "noisy_escapes"):
                setattr(total, name, getattr(total, name) + getattr(c, name))
        print(f"  {kind:<16} {c.lines:>9,} {c.with_backslash:>9,} {100 * c.share:>6.1f}% {c.escaped_lines:>13,} "
              f"{100 * c.escaped_share:>6.1f}% {c.noisy_escapes:>24,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bench_escaping.py", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="scale of the synthetic campaign (default 1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-campaign", dest="campaign", action="store_false", help="measure the example only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="kbgen-bench-escaping-") as tmp:
        targets = [("example", lambda root: example(root))]
        if args.campaign:
            targets.append((f"campaign x{args.scale:g}", lambda root: campaign(root, args.scale, args.seed)))
        for i, (name, make) in enumerate(targets):
            started = time.perf_counter()
            counts = measure(make(Path(tmp) / str(i)))
            print_counts(name, counts, time.perf_counter() - started)
            results[name] = {kind: {**asdict(c), "share": c.share, "escaped_share": c.escaped_share}
                             for kind, c in counts.items()}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
