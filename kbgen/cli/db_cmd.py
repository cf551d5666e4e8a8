"""``kbgen db init URL``, ``kbgen db upgrade``, ``kbgen db copy SRC DST`` and ``kbgen db checksum URL``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kbgen.cli.common import STATE, console, err_console, say, stdout_write
from kbgen.cli.tables import text_row
from kbgen.errors import UsageError

if TYPE_CHECKING:
    from rich.table import Table

    from kbgen.db.copy import CopyReport

db_app = typer.Typer(help="Create research databases and upgrade kbgen's own tables.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("init")
def db_init(url: Annotated[str, typer.Argument(help="Database URL, e.g. sqlite:///db/research.db")]) -> None:
    """Create an empty research database with the full schema (and kbgen's tables)."""
    from kbgen.db.engine import open_engine, sqlite_path
    from kbgen.db.migrate import init_research_db

    path = sqlite_path(url)
    if path is not None and path.exists() and path.stat().st_size > 0:
        engine = open_engine(url)
    else:
        engine = open_engine(url, must_exist=False)
    created = init_research_db(engine)
    engine.dispose()
    if not created:
        raise UsageError(f"{url} already has every research table; nothing created (kbgen tables are current)")
    say(f"created {len(created)} research tables in {url}: {', '.join(created)}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade kbgen's own tables (never touches the research tables)."""
    from kbgen.db.engine import open_engine, resolve_url
    from kbgen.db.migrate import upgrade

    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    before, after = upgrade(engine)
    engine.dispose()
    if before == after:
        say(f"kbgen tables are current (revision {after})")
    else:
        say(f"kbgen tables upgraded: {before or 'none'} → {after}")


def _copy_table(report: CopyReport) -> Table:
    from rich.table import Table

    table = Table(title=f"Verification: {report.source} → {report.target}", title_justify="left")
    table.add_column("Table")
    table.add_column("Rows (source)", justify="right")
    table.add_column("Rows (target)", justify="right")
    table.add_column("Checksum", no_wrap=True)
    table.add_column("Match")
    for t in report.tables:
        same = t.source_checksum == t.target_checksum
        checksum = t.source_checksum[:16] if same else f"{t.source_checksum[:16]} ≠ {t.target_checksum[:16]}"
        text_row(table, t.name, f"{t.source_rows:,}", f"{t.target_rows:,}", checksum, "yes" if t.matches else "NO")
    return table


def _report_json(report: CopyReport) -> dict[str, Any]:
    return {
        "source": report.source, "target": report.target, "committed": report.committed,
        "verified": report.verified, "rows": report.rows, "seconds": round(report.seconds, 3),
        "tables": [{"table": t.name, "source_rows": t.source_rows, "target_rows": t.target_rows,
                    "source_checksum": t.source_checksum, "target_checksum": t.target_checksum,
                    "matches": t.matches, "notes": t.notes} for t in report.tables],
        "views": [{"view": name, "status": status} for name, status in report.views],
        "sequences": [{"table": name, "next_id": nxt} for name, nxt in report.sequences],
        "skipped": report.skipped, "replaced": report.replaced, "kept": report.kept,
    }


def _print_copy(report: CopyReport) -> None:
    console.print(_copy_table(report))
    for t in report.tables:
        for note in t.notes:
            say(f"note: {t.name}: {note}")
    for name, status in report.views:
        say(f"view {name}: {status}")
    for item in report.skipped:
        say(item)
    if report.sequences:
        say("sequences continue after the copied ids: " + ", ".join(f"{n} → {v:,}" for n, v in report.sequences))
    if report.replaced:
        say(f"replaced in the target: {', '.join(report.replaced)}")
    if report.kept:
        say(f"left alone in the target (not in the source): {', '.join(report.kept)}")


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Argument(help="Database URL to copy from (read only), e.g. sqlite:///db/research.db")],
    target: Annotated[str, typer.Argument(help="Database URL to copy into, e.g. postgresql+psycopg://me@host/research "
                                          "(a SQLite file is created if missing)")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace the target's research and kbgen tables even "
                                          "when they hold rows.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verification as JSON.")] = False,
) -> None:
    """Copy a whole research database (tables with their ids, kbgen's tables, views) to another backend."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from kbgen.db.copy import CopyVerificationError, copy_database
    from kbgen.wording import count

    try:
        if STATE.quiet or as_json or not err_console.is_terminal:
            report = copy_database(source, target, replace=replace)
        else:
            with Progress(TextColumn("copy {task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=err_console.real(), transient=True) as bar:
                tasks: dict[str, Any] = {}

                def progress(name: str, done: int, total: int) -> None:
                    if name not in tasks:
                        tasks[name] = bar.add_task(name, total=total)
                    bar.update(tasks[name], completed=done)

                report = copy_database(source, target, replace=replace, progress=progress)
    except CopyVerificationError as exc:
        if as_json:
            stdout_write(json.dumps(_report_json(exc.report), indent=2) + "\n")
        else:
            console.print(_copy_table(exc.report))
        raise
    if as_json:
        stdout_write(json.dumps(_report_json(report), indent=2) + "\n")
        return
    if not STATE.quiet:
        _print_copy(report)
    say(f"copied {count(len(report.tables), 'table')}, {count(report.rows, 'row')} in {report.seconds:.1f} s; "
        "every table's rows and checksum match")


@db_app.command("checksum")
def db_checksum(
    url: Annotated[str, typer.Argument(help="Database URL; every table is read (views are not).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the checksums as JSON.")] = False,
) -> None:
    """Row count and checksum of every table, computed the same way on SQLite and PostgreSQL."""
    from rich.table import Table
    from sqlalchemy import inspect

    from kbgen.db.checksum import table_checksum
    from kbgen.db.engine import open_engine

    engine = open_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            names = sorted(n for n in inspect(conn).get_table_names() if not n.startswith("sqlite_"))
            sums = {}
            for name in names:
                cols = [c["name"] for c in inspect(conn).get_columns(name)]
                sums[name] = table_checksum(conn, name, cols)
    finally:
        engine.dispose()
    if as_json:
        stdout_write(json.dumps({n: {"rows": c.rows, "checksum": c.hexdigest} for n, c in sums.items()},
                                indent=2) + "\n")
        return
    table = Table(title=f"Checksums of {url}", title_justify="left")
    table.add_column("Table")
    table.add_column("Rows", justify="right")
    table.add_column("Checksum")
    for name, c in sums.items():
        text_row(table, name, f"{c.rows:,}", c.hexdigest)
    console.print(table)
