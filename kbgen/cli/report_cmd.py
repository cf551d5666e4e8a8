"""``kbgen report`` (the master index as markdown) and ``kbgen stats`` (headline figures)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kbgen.cli.common import STATE, console, err_console, say, stdout_write
from kbgen.cli.tables import text_row
from kbgen.errors import EXIT_CHECK_FAILED

if TYPE_CHECKING:
    from kbgen.report import ReportFigures


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("stats")(stats)


def report(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the master index to this file "
                                                "(only if it changed); default: print it.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if the file given with -o is "
                                        "stale.")] = False,
) -> None:
    """Master index as plain markdown: statistics, coverage, hotspots, gaps, open findings, maps."""
    from kbgen.report import make_report

    options = STATE.options()
    if check and output is None:
        err_console.print("error: --check needs --output FILE", markup=False)
        raise typer.Exit(2)
    result = make_report(options, output, check=check)
    if output is None:
        stdout_write(result.text)
        return
    if check:
        if result.written:
            err_console.print(f"{output} is stale: run 'kbgen report -o {output}'", markup=False)
            raise typer.Exit(EXIT_CHECK_FAILED)
        say(f"{output} is up to date")
        return
    say(f"{'wrote' if result.written else 'unchanged'} {output} in {result.seconds:.1f} s")


def stats() -> None:
    """Headline figures in the terminal: inventory, depth, coverage, findings, gaps."""
    from kbgen.report import read_figures

    print_stats(read_figures(STATE.options())[0])


def print_stats(figs: ReportFigures) -> None:
    """The tables of ``kbgen stats`` (the same figures as ``kbgen report``, read the same way)."""
    from rich.table import Table

    from kbgen import analysis, vocab
    from kbgen.render.myst import pct

    o = figs.overall
    overall = Table(title="Overall", title_justify="left")
    overall.add_column("Figure")
    overall.add_column("Count", justify="right")
    overall.add_column("LOC", justify="right")
    for name, count, loc in (
            ("Packages", o.packages, None), ("Domains", o.domains, None), ("Files", o.files, o.loc),
            ("Sessions", o.sessions, None), ("Findings", o.findings, None),
            ("Open CRITICAL/HIGH findings", figs.open_count, None),
            ("Dependency edges", o.dependencies, None), ("Unverified edges", figs.unverified, None),
            ("Integration hotspots", figs.hotspot_count, None)):
        text_row(overall, name, f"{count:,}", "" if loc is None else f"{loc:,}")

    depth = Table(title="Files by depth", title_justify="left")
    for col in ("Depth", "Files", "%", "LOC", "% LOC"):
        depth.add_column(col, justify="left" if col == "Depth" else "right")
    for d, n, loc in o.by_depth:
        if d != analysis.EXCLUDED:  # counted apart, below the overall table
            text_row(depth, d, f"{n:,}", pct(n, o.files), f"{loc:,}", pct(loc, o.loc))

    domains = Table(title="Coverage by domain (LOC read MEDIUM or deeper)", title_justify="left")
    for col in ("Domain", "Priority", "Files", "Read", "LOC", "Coverage"):
        domains.add_column(col, justify="left" if col in ("Domain", "Priority") else "right")
    for c in figs.domains:
        text_row(domains, c.name, c.priority, f"{c.files:,}", f"{c.files_read:,}", f"{c.loc:,}",
                        analysis.coverage_text(c))

    findings = Table(title="Findings by severity", title_justify="left")
    for col in ("Severity", "All", "Open"):
        findings.add_column(col, justify="left" if col == "Severity" else "right")
    # Every in-scope finding is in one category row: their counts add up to the findings by severity.
    totals = [sum(r.counts[i] for r in figs.categories) for i in range(len(vocab.SEVERITIES))]
    for i, sev in enumerate(vocab.SEVERITIES):
        if totals[i] or sev in analysis.OPEN_SEVERITIES:
            text_row(findings, sev, f"{totals[i]:,}",
                     f"{figs.open_severities.get(sev, 0):,}" if sev in analysis.OPEN_SEVERITIES else "—")

    gaps = Table(title="Priority gaps (HIGH domains)", title_justify="left")
    for col in ("Tier", "Files", "LOC"):
        gaps.add_column(col, justify="left" if col == "Tier" else "right")
    for tier, (n, loc) in figs.gap_tiers.items():
        text_row(gaps, tier, f"{n:,}", f"{loc:,}")

    console.print(overall)
    ex = figs.excluded
    if ex:  # once, apart: no figure of the command counts them, the Overall table's included
        console.print(f"{analysis.excluded_headline(ex)} ({analysis.excluded_note(ex)}). "
                      f"{analysis.excluded_sentence(ex, 'here')}.\n", markup=False, highlight=False)
    for t in (depth, domains, findings, gaps):
        console.print(t)
