"""``kbgen init``, ``demo``, ``sync``, ``answer`` and ``finding``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kbgen.cli.common import STATE, err_console, say, warn
from kbgen.errors import EXIT_CHECK_FAILED

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from kbgen.sync import SyncReport


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("demo")(demo)
    app.command("sync")(sync_cmd)
    app.command("answer")(answer)
    finding_app = typer.Typer(help="Add a finding; set a finding's status: resolved or superseded.",
                              no_args_is_help=True)
    finding_app.command("resolve")(finding_resolve)
    finding_app.command("supersede")(finding_supersede)
    app.add_typer(finding_app, name="finding")
    from kbgen.cli.record_cmd import register as register_record

    register_record(app, finding_app)


def init(
    directory: Annotated[
        Path | None, typer.Argument(help="Project folder (default: --project or the current one).")] = None,
    title: Annotated[str, typer.Option(help="Site title.")] = "Research Knowledge Base",
) -> None:
    """Scaffold a knowledge-base project; never overwrites existing files."""
    from kbgen.scaffold import init_project

    target = (directory or STATE.project or Path.cwd()).resolve()
    result = init_project(target, title=title)
    for rel in result.created:
        say(f"created {rel}")
    for rel in result.kept:
        say(f"kept    {rel} (exists)")
    say(f"next: put your research database at {target / 'db/research.db'} (or set database: in conf/kbgen.yaml), "
        "then run 'kbgen build'")


def run_sync(*, check: bool = False, dry_run: bool = False, wait: float = 0.0, readonly: bool = False,
             force: bool = False) -> SyncReport:
    """A sync with a progress bar on long runs (on a terminal) and warnings printed.

    In a ``kbgen sync`` or ``kbgen build`` process, which ends after it, what the sync leaves is
    frozen, not collected (:func:`kbgen.gcpause.freezing_at_resume`).
    """
    from contextlib import nullcontext

    from kbgen.gcpause import freezing_at_resume

    with freezing_at_resume() if STATE.ends_with_command else nullcontext():
        return _run_sync(check=check, dry_run=dry_run, wait=wait, readonly=readonly, force=force)


def _run_sync(*, check: bool, dry_run: bool, wait: float, readonly: bool, force: bool) -> SyncReport:
    from kbgen.sync import sync

    options = STATE.options()
    if STATE.quiet or not err_console.is_terminal:
        report = sync(options, check=check, dry_run=dry_run, wait=wait, readonly=readonly, force=force)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        # No refresh thread: with other threads running, sync renders in one process (kbgen.forked).
        with Progress(TextColumn("sync {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console.real(), transient=True, auto_refresh=False) as bar:
            task = bar.add_task("pages", total=None)

            def progress(what: str, done: int, total: int) -> None:
                bar.update(task, description=what, completed=done, total=total, refresh=True)

            report = sync(options, check=check, dry_run=dry_run, wait=wait, readonly=readonly,
                          progress=progress, force=force)
    for w in report.warnings:
        warn(str(w))
    return report


def sync_cmd(
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 and list stale pages if any.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing; list what would change.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another sync's lock.")] = 0.0,
    read_only: Annotated[bool, typer.Option("--read-only", help="Open the database read-only (SQLite mode=ro); "
                                            "new finding labels are then provisional.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Render and compare everything even when no input "
                                        "changed since the last sync.")] = False,
) -> None:
    """Database → generated pages and domain documents (only changed files are written)."""
    report = run_sync(check=check, dry_run=dry_run, wait=wait, readonly=read_only, force=force)
    if check or dry_run:
        for path in report.written:
            say(f"stale: {path}" if check else f"would write: {path}")
        for path in report.removed:
            say(f"stale: {path} (would be removed)" if check else f"would remove: {path}")
    elif not STATE.quiet and len(report.written) <= 20:
        for path in report.written:
            say(f"wrote {path}")
    say(report.summary())
    if check and report.stale:
        err_console.print(f"{len(report.stale)} generated files are stale: run 'kbgen sync'", markup=False)
        raise typer.Exit(EXIT_CHECK_FAILED)


def _writable_engine() -> Engine:
    from kbgen.db.engine import open_engine, resolve_url
    from kbgen.db.migrate import check_research_schema, ensure_kb_tables

    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    check_research_schema(engine, url)
    ensure_kb_tables(engine)
    return engine


def answer(
    question: Annotated[str, typer.Argument(help="Question ID, e.g. Q95-4458.")],
    finding: Annotated[str | None, typer.Argument(help="Finding ID, e.g. F1234; leave it out to answer in "
                                                  "words (--verdict).")] = None,
    partial: Annotated[bool, typer.Option("--partial", help="It answers the question in part.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why the finding answers the question.")] = None,
    verdict: Annotated[str | None, typer.Option("--verdict", help="The answer in words (a sentence or two), "
                                                "with or without a finding.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the explicit link (or, without a finding, "
                                         "the answer in words).")] = False,
) -> None:
    """Link a finding to the plan question it answers, or answer it in words (explicit answers override
    inferred ones)."""
    from kbgen.cli.record_cmd import text_answer
    from kbgen.db.kbwrite import set_answer

    if finding is None:
        text_answer(question, verdict, partial=partial, remove=remove)
        return
    engine = _writable_engine()
    try:
        what = set_answer(engine, question, finding, partial=partial, note=note, remove=remove)
    finally:
        engine.dispose()
    say(f"{what}: {question} ← {finding.upper() if finding[:1] in 'fF' else 'F' + finding}")
    if verdict is not None and not remove:
        text_answer(question, verdict, partial=partial, remove=False)


def finding_resolve(
    finding: Annotated[str, typer.Argument(help="Finding ID, e.g. F12.")],
    session: Annotated[str, typer.Option("--session", help="Session that resolved it, e.g. R99.")],
) -> None:
    """Mark a finding resolved in a later session."""
    from kbgen.db.kbwrite import resolve_finding

    engine = _writable_engine()
    try:
        resolve_finding(engine, finding, session)
    finally:
        engine.dispose()
    say(f"{finding}: resolved in {session}")


def finding_supersede(
    finding: Annotated[str, typer.Argument(help="The earlier finding, e.g. F12.")],
    by: Annotated[str, typer.Option("--by", help="The later finding that corrects it, e.g. F40.")],
    reason: Annotated[str, typer.Option("--reason", help="What the later finding corrects.")],
) -> None:
    """Mark a finding superseded by a later one (shown on both, as a sphinx-needs link)."""
    from kbgen.db.kbwrite import supersede_finding

    engine = _writable_engine()
    try:
        supersede_finding(engine, finding, by, reason)
    finally:
        engine.dispose()
    say(f"{finding}: superseded by {by}")


def demo(
    serve: Annotated[bool, typer.Option("--serve", help="Serve the built site on localhost afterwards.")] = False,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the built site in a browser.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
) -> None:
    """Build the bundled example knowledge base end to end and print the path of its index.html."""
    from kbgen.demo import run_demo

    target = (STATE.project or Path.cwd()).resolve()
    result = run_demo(target, log=say)
    say(f"built {result.index}")
    print(result.index) if STATE.quiet else None
    from kbgen.browser import open_in_browser

    if open_browser and not open_in_browser(result.index.as_uri()):
        say(f"no display to show a browser on: open {result.index} in one")
    if serve:
        from kbgen.serve import serve_static

        serve_static(result.index.parent, port=port, log=say)
