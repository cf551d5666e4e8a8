"""``kbgen plan parse|import|show|list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from kbgen.cli.common import STATE, console, err_console, say, stdout_write, warn
from kbgen.db.engine import open_engine, resolve_url
from kbgen.db.migrate import check_research_schema, ensure_kb_tables, kb_tables_present
from kbgen.db.plans import import_plan, stored_plan, stored_plans
from kbgen.errors import EXIT_BAD_INPUT, PlanParseError, UsageError
from kbgen.plan import Plan, PlanWarning, parse_plan_file
from kbgen.wording import count

plan_app = typer.Typer(help="Parse, import and inspect execution plans.", no_args_is_help=True)


def plan_files(paths: list[Path]) -> list[Path]:
    """Files as given; folders expand to their ``*.md`` files, sorted."""
    result: list[Path] = []
    for p in paths:
        if p.is_dir():
            result += sorted(x for x in p.rglob("*.md") if x.is_file() and x.name.lower() != "readme.md")
        elif p.exists():
            result.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return result


def _parse_all(paths: list[Path], keep_going: bool) -> tuple[list[tuple[Path, Plan]], int]:
    parsed, failures = [], 0
    for path in plan_files(paths):
        try:
            parsed.append((path, parse_plan_file(path)))
        except PlanParseError as exc:
            failures += 1
            err_console.print(f"{exc}", markup=False)
            if not keep_going:
                raise typer.Exit(EXIT_BAD_INPUT) from exc
    return parsed, failures


@plan_app.command("parse")
def plan_parse(
    paths: Annotated[list[Path], typer.Argument(help="Plan files or folders.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the parsed plans as one JSON document.")] = False,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Parse the others after a broken plan.")] = False,
) -> None:
    """Parse plans without a database; exit 2 on a parse error."""
    parsed, failures = _parse_all(paths, keep_going)
    if as_json:
        stdout_write(json.dumps([p.to_json() for _, p in parsed], indent=2, ensure_ascii=False) + "\n")
    else:
        for path, plan in parsed:
            _print_plan_line(path, plan)
            for w in plan.warnings:
                _report_warning(path, w)
    if failures:
        raise typer.Exit(EXIT_BAD_INPUT)


def _print_plan_line(path: Path, plan: Plan) -> None:
    say(f"{path}: R{plan.session} {plan.title!r}: {count(len(plan.clusters), 'cluster')}, "
        f"{count(len(plan.files), 'file')}, {plan.loc_total:,} LOC, {count(len(plan.questions), 'question')}, "
        f"{count(len(plan.problems), 'warning')}")


def _report_warning(path: Path, w: PlanWarning) -> None:
    """Problems go to stderr as warnings; informational remarks (a placeholder date) as notes."""
    where = f"{path}:{w.line}: " if w.line else f"{path}: "
    if w.informational:
        if not STATE.quiet:
            err_console.print(f"note: {where}{w.message} [{w.code}]", markup=False)
    else:
        warn(f"{where}{w.message} [{w.code}]")


@plan_app.command("import")
def plan_import(
    paths: Annotated[list[Path], typer.Argument(help="Plan files or folders.")],
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Import the others after a broken plan.")] = False,
) -> None:
    """Parse plans and store them in kbgen's tables, bound to their sessions (one transaction each)."""
    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    try:
        check_research_schema(engine, url)
        ensure_kb_tables(engine)
        parsed, failures = _parse_all(paths, keep_going)
        for path, plan in parsed:
            result = import_plan(engine, plan, _display_path(path, options.project_dir))
            bound = f"bound to session {result.bound_session}" if result.bound_session else "no such session yet"
            say(f"{path}: R{plan.session} {result.action} ({count(result.files, 'file')}, "
                f"{count(result.questions, 'question')}; "
                f"{bound})")
            for w in result.warnings:
                _report_warning(path, w)
    finally:
        engine.dispose()
    if failures:
        raise typer.Exit(EXIT_BAD_INPUT)


def _display_path(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _open_for_read() -> Engine:
    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    check_research_schema(engine, url)
    return engine


@plan_app.command("list")
def plan_list() -> None:
    """List the imported plans."""
    engine = _open_for_read()
    plans = stored_plans(engine) if kb_tables_present(engine) else []
    table = Table("Session", "Title", "Files", "Questions", "Source", "Imported")
    for p in plans:
        table.add_row(f"R{p.session}", str(p.data.get("title") or ""), str(len(p.data.get("files") or [])),
                      str(len(p.data.get("questions") or [])), p.source_path, p.imported_at)
    if not STATE.quiet:
        console.print(table) if plans else say("no plans imported yet (kbgen plan import PATH)")


@plan_app.command("show")
def plan_show(
    session: Annotated[str, typer.Argument(help="Session, e.g. R95 or 95.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored plan as JSON.")] = False,
) -> None:
    """Show one imported plan: clusters, planned files and questions."""
    number_text = session[1:] if session[:1] in "Rr" else session
    if not number_text.isdigit():
        raise UsageError(f"not a session: {session!r} (expected R95 or 95)")
    engine = _open_for_read()
    plan = stored_plan(engine, int(number_text)) if kb_tables_present(engine) else None
    if plan is None:
        raise UsageError(f"no plan imported for R{number_text} (kbgen plan import PATH)")
    if as_json:
        stdout_write(json.dumps(plan.data, indent=2, ensure_ascii=False) + "\n")
        return
    data = plan.data
    console.print(f"[bold]R{plan.session}[/bold] {data.get('title') or ''}", markup=True)
    for key in ("date", "focus", "strategic_value"):
        if data.get(key):
            console.print(f"{key.replace('_', ' ').capitalize()}: {data[key]}", markup=False)
    files = {int(f["file_id"]): f for f in data.get("files", [])}
    for cluster in data.get("clusters", []):
        table = Table("File ID", "Path", "LOC", "Package", "Tier", title=f"{cluster['name']}")
        for fid in cluster.get("files", []):
            f = files.get(int(fid), {})
            table.add_row(str(fid), str(f.get("path") or ""), str(f.get("loc") or ""), str(f.get("package") or ""),
                          str(f.get("tier") or ""))
        console.print(table)
    qtable = Table("Question", "Files", "Text", title="Key questions")
    for q in data.get("questions", []):
        qtable.add_row(q["id"], ", ".join(str(i) for i in q.get("file_ids", [])), q["text"])
    console.print(qtable)
