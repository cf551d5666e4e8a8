"""``kbgen plan parse|import|show|list|draft``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kbgen.cli.common import STATE, console, err_console, say, stdout_write, warn
from kbgen.cli.tables import text_row
from kbgen.errors import EXIT_BAD_INPUT, PlanParseError, UsageError
from kbgen.wording import count

if TYPE_CHECKING:  # the command line imports what a command needs when it runs (kbgen.cli.common)
    from sqlalchemy import Engine

    from kbgen.model import Snapshot
    from kbgen.plan import Plan, PlanWarning

plan_app = typer.Typer(help="Parse, import and inspect execution plans.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")


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


_SESSION_HELP = ("Session number for a plan that states none (a dated plan); it must agree with a plan "
                 "that does. One plan file only.")


def _session_number(value: str | None) -> int | None:
    if value is None:
        return None
    digits = value[1:] if value[:1] in "Rr" else value
    if not digits.isdigit():
        raise UsageError(f"--session {value!r} is not a session number (expected R104 or 104)")
    return int(digits)


def _parse_all(paths: list[Path], keep_going: bool,
               session: str | None = None) -> tuple[list[tuple[Path, Plan]], int]:
    from kbgen.plan import parse_plan_file

    number = _session_number(session)
    files = plan_files(paths)
    if number is not None and len(files) != 1:
        raise UsageError(f"--session numbers one plan file, not {len(files)} (give the plan's path alone)")
    parsed, failures = [], 0
    for path in files:
        try:
            parsed.append((path, parse_plan_file(path, session=number)))
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
    session: Annotated[str | None, typer.Option("--session", help=_SESSION_HELP)] = None,
) -> None:
    """Parse plans without a database; exit 2 on a parse error.

    The plan format and the JSON shape are described in kbgen's reference docs,
    docs/reference/plans.md.
    """
    parsed, failures = _parse_all(paths, keep_going, session)
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
    without = f" ({len(plan.files_without_id)} without an ID)" if plan.files_without_id else ""
    results = ", a Results section" if plan.results is not None else ""
    todo = len(plan.placeholder_questions)  # template slots: noted, not counted as warnings
    slots = f" ({todo:,} still {'a placeholder' if todo == 1 else 'placeholders'})" if todo else ""
    say(f"{path}: R{plan.session} {plan.title!r}: {count(len(plan.clusters), 'cluster')}, "
        f"{count(len(plan.files), 'file')}{without}, {plan.loc_total:,} LOC, "
        f"{count(len(plan.questions), 'question')}{slots}{results}, {count(len(plan.problems), 'warning')}")


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
    session: Annotated[str | None, typer.Option("--session", help=_SESSION_HELP)] = None,
) -> None:
    """Parse plans and store them in kbgen's tables, bound to their sessions (one transaction each).

    A planned file without an ID (a dash in the File ID column) is looked up by package root and
    path; a plan is imported even when the database does not have such a file yet (a warning says so).
    """
    from kbgen.db.engine import open_engine, resolve_url
    from kbgen.db.migrate import check_research_schema, ensure_kb_tables
    from kbgen.db.plans import import_plan

    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    try:
        schema = check_research_schema(engine, url)
        ensure_kb_tables(engine)
        parsed, failures = _parse_all(paths, keep_going, session)
        for path, plan in parsed:
            result = import_plan(engine, plan, _display_path(path, options.project_dir), schema)
            bound = f"bound to session {result.bound_session}" if result.bound_session else "no such session yet"
            found = f", {result.resolved} found by path" if result.resolved else ""
            say(f"{path}: R{plan.session} {result.action} ({count(result.files, 'file')}{found}, "
                f"{count(result.questions, 'question')}; {bound})")
            for w in result.warnings:
                _report_warning(path, w)
            _warn_placeholders(path, plan)
    finally:
        engine.dispose()
    if failures:
        raise typer.Exit(EXIT_BAD_INPUT)



def _warn_placeholders(path: Path | str, plan: Plan) -> None:
    """One warning (not failing) when imported questions are still the draft's placeholders."""
    from kbgen.plan.questions import placeholder_summary

    if plan.placeholder_questions:
        warn(f"{path}: {placeholder_summary([q.line for q in plan.placeholder_questions])}")


def _display_path(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _open_for_read() -> Engine:
    from kbgen.db.engine import open_engine, resolve_url
    from kbgen.db.migrate import check_research_schema

    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    check_research_schema(engine, url)
    return engine


@plan_app.command("list")
def plan_list() -> None:
    """List the imported plans."""
    from rich.table import Table

    from kbgen.db.migrate import kb_tables_present
    from kbgen.db.plans import stored_plans

    engine = _open_for_read()
    plans = stored_plans(engine) if kb_tables_present(engine) else []
    # Identifiers and figures keep their width at 80 columns (a pipe's); the title wraps, the path folds.
    table = Table()
    table.add_column("Session", no_wrap=True)
    table.add_column("Title")
    table.add_column("Files", justify="right", no_wrap=True)
    table.add_column("Questions", justify="right", no_wrap=True)
    table.add_column("Source", overflow="fold")
    table.add_column("Imported", no_wrap=True)
    for p in plans:
        text_row(table, f"R{p.session}", str(p.data.get("title") or ""), str(len(p.data.get("files") or [])),
                      str(len(p.data.get("questions") or [])), p.source_path, p.imported_at)
    if not STATE.quiet:
        console.print(table) if plans else say("no plans imported yet (kbgen plan import PATH)")


@plan_app.command("show")
def plan_show(
    session: Annotated[str, typer.Argument(help="Session, e.g. R95 or 95.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored plan as JSON.")] = False,
) -> None:
    """Show one imported plan: clusters, planned files, questions with their answers, expected versus actual."""
    from rich.table import Table
    from rich.text import Text

    from kbgen.db.engine import open_engine, resolve_url
    from kbgen.db.load import load_snapshot
    from kbgen.db.migrate import check_research_schema, kb_tables_present
    from kbgen.db.plans import stored_plan
    from kbgen.outcomes import expected_vs_actual

    number_text = session[1:] if session[:1] in "Rr" else session
    if not number_text.isdigit():
        raise UsageError(f"not a session: {session!r} (expected R95 or 95)")
    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    try:
        check_research_schema(engine, url)
        plan = stored_plan(engine, int(number_text)) if kb_tables_present(engine) else None
        if plan is None:
            raise UsageError(f"no plan imported for R{number_text} (kbgen plan import PATH)")
        snap = load_snapshot(engine, options, url)
    finally:
        engine.dispose()
    number = int(number_text)
    outcomes = expected_vs_actual(snap, number)
    data = dict(plan.data)
    questions = [_question_state(snap, q) for q in data.get("questions") or []]
    if as_json:
        data["questions"] = questions
        data["expected_vs_actual"] = [row.to_json() for row in outcomes]
        stdout_write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    console.print(Text.assemble((f"R{plan.session}", "bold"), f" {data.get('title') or ''}"))
    for key in ("date", "focus", "strategic_value"):
        if data.get(key):
            console.print(f"{key.replace('_', ' ').capitalize()}: {data[key]}", markup=False)
    if data.get("session_given"):
        console.print(f"Session: R{plan.session}, given with --session (the plan states none)", markup=False)
    files = data.get("files") or []
    for cluster in data.get("clusters", []):
        table = Table("File ID", "Path", "LOC", "Package", "Tier", title=Text(str(cluster.get("name") or "")))
        for f in (f for f in files if f.get("cluster") == cluster.get("letter")):
            fid = f.get("file_id")
            shown = "—" if fid is None else f"{fid} (by path)" if f.get("resolved_by") == "path" else str(fid)
            text_row(table, shown, str(f.get("path") or ""), str(f.get("loc") or ""), str(f.get("package") or ""),
                          str(f.get("tier") or ""))
        console.print(table)
    qtable = Table("Question", "Files", "Status", "Answered by", "Text", title="Key questions")
    qtable.columns[0].no_wrap = True  # an ID, never cut; the question's text wraps
    for q in questions:
        text_row(qtable, q["id"], ", ".join(str(i) for i in q.get("file_ids", [])) or ", ".join(q.get("paths") or []),
                       q["status_label"], ", ".join(f"F{a}" for a in q["answers"]) or "—", q["text"])
    console.print(qtable)
    for cq in data.get("cluster_questions") or []:
        console.print(f"Cluster {cq.get('cluster') or ''} question: {cq.get('text') or ''}", markup=False)
    if outcomes:
        otable = Table("Outcome", "Expected", "Actual", "Result", title="Expected versus actual")
        for row in outcomes:
            text_row(otable, row.label, row.expected, row.actual, row.result)
        console.print(otable)
    prose = [o for i, o in enumerate(data.get("outcomes") or [], start=1)
             if i not in {int(e.get("outcome") or 0) for e in data.get("expectations") or []}]
    if prose:
        console.print("Expected outcomes (prose):", markup=False)
        for text in prose:
            console.print(f"  - {text}", markup=False)
    results = data.get("results")
    if isinstance(results, dict) and results.get("text"):
        console.print(f"{results.get('title') or 'Results'}:", markup=False)
        console.print(str(results["text"]), markup=False)


def _question_state(snap: Snapshot, question: dict[str, Any]) -> dict[str, Any]:
    """A stored question with its status, the kind of inference and the answering findings."""
    qid = str(question.get("id"))
    answers = snap.answers_of_question.get(qid, ())
    return {**question, "status": snap.question_status(qid), "inferred_from": snap.question_inference(qid),
            "status_label": snap.question_label(qid), "partly": snap.question_partly(qid),
            "answers": [a.finding_id for a in answers]}


_TIER_HELP = "Only this priority-gap tier (CONNECTED, OWN_CODE, PROXIMATE, NEARBY, DOMAIN_ONLY); repeatable."


@plan_app.command("draft")
def plan_draft(
    session: Annotated[str | None, typer.Option("--session", help="Session number of the plan (R102 or 102); "
                                                "default: the one after the database's highest.")] = None,
    files: Annotated[int, typer.Option("--files", help="At most this many files.")] = 9,
    loc_budget: Annotated[int, typer.Option("--loc-budget", help="At most this many lines of code in all "
                                            "(the first file is taken even when larger).")] = 4000,
    domain: Annotated[list[str] | None, typer.Option("--domain", help="Only gaps tagged with this domain, of "
                                                     "any priority; repeatable.")] = None,
    package: Annotated[list[str] | None, typer.Option("--package", help="Only gaps in this package; "
                                                      "repeatable.")] = None,
    tier: Annotated[list[str] | None, typer.Option("--tier", help=_TIER_HELP)] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Plan file to write ('-' prints it); "
                                               "default: R<n>-plan.md in the plans folder.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the plan file if it exists.")] = False,
    date: Annotated[str | None, typer.Option("--date", help="The plan's date (YYYY-MM-DD); default: "
                                             "today.")] = None,
) -> None:
    """Draft the next session's execution plan from the priority gaps (never replaces a plan without --force).

    How files are chosen and grouped, and what each part of the draft says: kbgen's reference docs,
    docs/reference/plans.md ("Drafting a plan").
    """
    from kbgen.draft import DraftRequest, draft_plan, write_plan
    from kbgen.plan import parse_plan
    from kbgen.report import load

    options = STATE.options(required=STATE.db is None)
    request = DraftRequest(files=files, loc_budget=loc_budget, domains=tuple(domain or ()),
                           packages=tuple(package or ()), tiers=tuple(tier or ()))
    number = _session_number(session)
    target = None if output == "-" else Path(output) if output else None
    if target is not None and target.is_dir():
        raise UsageError(f"{target} is a folder; give the plan's file name with -o")
    if target is not None and target.exists() and not force:  # say so before reading a whole campaign
        raise UsageError(f"{target} already exists; it may hold edits", hint="choose another -o, or pass --force")
    snap = load(options)
    draft = draft_plan(snap, options, request, session=number, date=date)
    _warn_taken(snap, draft.session)
    parsed = parse_plan(draft.text, "draft")
    for w in parsed.problems:  # never expected: the draft is written to parse cleanly
        warn(f"the drafted plan reads back with a warning at line {w.line}: {w.message} [{w.code}] "
             "(a kbgen bug: please report it)")
    if output == "-":
        stdout_write(draft.text)
        return
    path = target if target is not None else options.plans_path / f"R{draft.session}-plan.md"
    write_plan(path, draft.text, force=force)
    sel = draft.selection
    tiers = ", ".join(f"{n} {t}" for t, n in Counter(g.tier for g in sel.picks).most_common())
    shown = _display_path(path, Path.cwd())
    say(f"wrote {shown}: R{draft.session}, {count(len(sel.picks), 'file')} (~{sel.loc:,} LOC) in "
        f"{count(len(draft.clusters), 'cluster')}; {tiers}")
    say(f"next: replace the 'TODO (researcher)' lines, then "
        f"'kbgen session start R{draft.session} --plan {shown}'")


def _warn_taken(snap: Snapshot, number: int) -> None:
    """A draft for a session the database already knows (given with --session) is allowed, but said."""
    session = snap.session_by_number.get(number)
    reads = len(snap.reads_of_session.get(session.id, ())) if session is not None else 0
    if reads:
        warn(f"R{number} already has {reads:,} recorded read{'s' if reads != 1 else ''}: this plan is for a "
             "session that has started")
    stored = snap.plan_by_session.get(number)
    if stored is not None:
        warn(f"R{number} already has an imported plan ({stored.source_path}); importing this one replaces it")
