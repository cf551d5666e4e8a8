"""``kbgen session start|finish``, ``kbgen record`` and the one-off ``read``, ``finding add``, ``tag``.

Thin: parsing arguments into a :class:`~kbgen.worksheet.Worksheet` and printing
results. The checks and the writing are :func:`kbgen.record.record` for all of
them, so a one-off entry passes exactly the checks a worksheet entry does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kbgen.cli.common import STATE, console, err_console, say, stdout_write, warn
from kbgen.cli.tables import text_row
from kbgen.errors import UsageError

if TYPE_CHECKING:  # the command line imports what a command needs when it runs (kbgen.cli.common)
    from sqlalchemy import Engine

    from kbgen.config import Options
    from kbgen.record import RecordResult
    from kbgen.worksheet import FileRef, Worksheet, WorksheetInvalid

session_app = typer.Typer(help="Start a session (its row and a prefilled worksheet) and finish it (plan versus "
                               "actual).", no_args_is_help=True)


def register(app: typer.Typer, finding_app: typer.Typer | None = None) -> None:
    app.add_typer(session_app, name="session")
    app.command("record")(record_cmd)
    app.command("read")(read_cmd)
    app.command("tag")(tag_cmd)
    if finding_app is not None:
        finding_app.command("add")(finding_add)


def _engine(options: Options) -> Engine:
    from kbgen.db.engine import open_engine, resolve_url

    return open_engine(resolve_url(options.database, options.project_dir))


def _shown(path: Path) -> str:
    return path.as_posix()


# -- session start / finish ----------------------------------------------------------

@session_app.command("start")
def session_start(
    session: Annotated[str, typer.Argument(help="The session, e.g. R95.")],
    plan: Annotated[Path | None, typer.Option("--plan", help="Its execution plan: imported, and the worksheet "
                                              "prefilled from it. Default: the plan already imported for it.")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Session date (ISO); default: the plan's, else "
                                             "today.")] = None,
    focus: Annotated[str | None, typer.Option("--focus", help="Session focus; default: the plan's.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Worksheet to write; default: "
                                                "worksheets/R<n>.yaml (worksheets_dir).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing worksheet.")] = False,
) -> None:
    """Create the session row (or reuse it) and write its worksheet, prefilled from the plan."""
    from kbgen.record.start import default_worksheet, start_session
    from kbgen.wording import count
    from kbgen.worksheet import parse_session

    number = parse_session(session)
    options = STATE.options(required=STATE.db is None)
    target = output if output is not None else default_worksheet(options, number)
    engine = _engine(options)
    try:
        result = start_session(engine, options, number, output=target, plan_path=plan, date=date, focus=focus,
                               force=force)
    finally:
        engine.dispose()
    if result.plan is not None and result.plan.placeholder_questions:  # imported, but said: they are not questions
        from kbgen.plan.questions import placeholder_summary

        warn(f"{plan}: {placeholder_summary([q.line for q in result.plan.placeholder_questions])}")
    say(f"R{number}: session {result.session_action} (id {result.session_id})"
        + (f"; plan {result.plan_action}" if result.plan_action else "; no plan"))
    say(f"wrote {_shown(target)}: {count(result.reads, 'planned file')}, {count(result.questions, 'question')} "
        f"(record it with: kbgen record {_shown(target)})")


@session_app.command("finish")
def session_finish(
    session: Annotated[str, typer.Argument(help="The session, e.g. R95.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Plan versus actual: planned files read, findings by severity, questions answered and open."""
    from rich.table import Table
    from rich.text import Text

    from kbgen.db.load import load_project_snapshot
    from kbgen.outcomes import expected_vs_actual
    from kbgen.progress import session_progress
    from kbgen.worksheet import parse_session

    number = parse_session(session)
    options = STATE.options(required=STATE.db is None)
    snap = load_project_snapshot(options)
    found = snap.session_by_number.get(number)
    if found is None:
        raise UsageError(f"no session R{number} in the database", hint=f"start it with 'kbgen session start R{number}'")
    progress = session_progress(snap, found)
    outcomes = expected_vs_actual(snap, number) if progress.plan is not None else []
    if as_json:
        doc = progress.to_json()
        doc["expected_vs_actual"] = [row.to_json() for row in outcomes]
        stdout_write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    if STATE.quiet:
        return
    console.print(Text.assemble((found.label, "bold"), f" {found.date or ''} {found.focus or ''}".rstrip()))
    table = Table("", "Planned", "Actual", title="Plan versus actual")
    if progress.plan is not None:
        text_row(table, "Planned files read", str(len(progress.planned)),
             f"{len(progress.planned_read)}/{len(progress.planned)}")
    text_row(table, "Files read", "—", str(progress.files_read))
    if progress.questions:
        n = len(progress.questions)
        text_row(table, "Questions answered explicitly", str(n), progress.explicit_actual)
        text_row(table, "Questions answered by inference", "—", f"{len(progress.inferred)}/{n}")
        text_row(table, "Open questions", "—", str(len(progress.open)))
    for severity, count in sorted(progress.findings.items(), key=lambda kv: _severity_rank(kv[0])):
        text_row(table, f"{severity.title()} findings", "—", str(count))
    console.print(table)
    if outcomes:
        otable = Table("Outcome", "Expected", "Actual", "Result", title="Expected versus actual")
        for row in outcomes:
            text_row(otable, row.label, row.expected, row.actual, row.result)
        console.print(otable)
    if progress.planned_unread:
        say("planned but not read: " + ", ".join(f"{p.file_id or '?'} {p.path}" for p in progress.planned_unread))
    if progress.unplanned_read:
        say("read but not planned: " + ", ".join(str(i) for i in progress.unplanned_read))
    if progress.open:
        say("open questions: " + ", ".join(progress.open))
    if progress.inferred:
        say("answered by inference only (confirm with a worksheet answer): " + ", ".join(progress.inferred))



def _severity_rank(severity: str) -> int:
    from kbgen.vocab import severity_rank

    return severity_rank(severity)


# -- record ------------------------------------------------------------------------------

def _run_record(ws: Worksheet, *, dry_run: bool, as_json: bool, prune: bool = False) -> RecordResult:
    from kbgen.record import record
    from kbgen.worksheet import WorksheetInvalid

    options = STATE.options(required=STATE.db is None)
    engine = _engine(options)
    try:
        try:
            result = record(engine, ws, options, dry_run=dry_run, prune=prune)
        except WorksheetInvalid as exc:
            _report_invalid(exc, as_json)
            raise
    finally:
        engine.dispose()
    for w in result.warnings:
        warn(w.render(ws.source))
    if as_json:
        stdout_write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
        return result
    if not STATE.quiet and result.written:
        from rich.table import Table

        table = Table("", "Row", "Change", "Line", title="Would change" if dry_run else None, title_justify="left")
        for c in result.written:
            text_row(table, c.action, c.row, c.detail, str(c.line or ""))
        console.print(table)
    kept = [c for c in result.changes if c.action == "kept"]
    if kept and not STATE.quiet:
        say(f"kept {len(kept)} row{'s' if len(kept) != 1 else ''} recorded earlier that the worksheet no longer "
            f"lists (--prune removes them): " + ", ".join(c.row for c in kept))
    say(result.summary())
    return result


def _report_invalid(exc: WorksheetInvalid, as_json: bool) -> None:
    for line in exc.lines():
        err_console.print(line, markup=False, highlight=False)
    if as_json:
        stdout_write(json.dumps({"ok": False, "worksheet": exc.path, "problems": [
            p.to_json() for p in exc.problems]}, indent=2, ensure_ascii=False) + "\n")


def record_cmd(
    worksheet: Annotated[Path, typer.Argument(help="The session worksheet, e.g. worksheets/R95.yaml.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show what would change; write "
                                          "nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes (or the problems) as JSON.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete rows recorded earlier from this worksheet that "
                                        "it no longer lists.")] = False,
) -> None:
    """Check a session worksheet, then write it in one transaction (nothing on any problem; idempotent)."""
    from kbgen.worksheet import WorksheetInvalid, parse_worksheet_file

    try:
        ws = parse_worksheet_file(worksheet, _shown(worksheet))
    except WorksheetInvalid as exc:
        _report_invalid(exc, as_json)
        raise
    _run_record(ws, dry_run=dry_run, as_json=as_json, prune=prune)


# -- one-off entries ----------------------------------------------------------------------

def _file_ref(value: str) -> FileRef:
    """``4458``, ``FILE4458`` or ``package:path``."""
    from kbgen.worksheet import FileRef
    from kbgen.worksheet.model import parse_file_id

    text = value.strip()
    if ":" in text and not text.upper().startswith("FILE"):
        package, path = text.split(":", 1)
        if package and path:
            return FileRef(None, package, path, None)
    try:
        return FileRef(parse_file_id(text), None, None, None)
    except UsageError:
        raise UsageError(f"not a file: {value!r} (expected 4458, FILE4458 or package:path)") from None


def read_cmd(
    session: Annotated[str, typer.Argument(help="The session, e.g. R95.")],
    file: Annotated[str, typer.Argument(help="The file: 4458, FILE4458 or package:path.")],
    depth: Annotated[str, typer.Option("--depth", help="DEEP, MEDIUM, SURFACE or MENTIONED.")],
    lines: Annotated[str | None, typer.Option("--lines", help="Ranges read, e.g. 1-120,300-420, or all.")] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="A note on the read.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> None:
    """Record one read of a file in a session (the same row a worksheet's read of that file writes)."""
    from kbgen.worksheet import ReadEntry, Worksheet, parse_session

    entry = ReadEntry(_file_ref(file), depth, lines, notes, None)
    _run_record(Worksheet(None, parse_session(session), reads=(entry,), complete=False), dry_run=dry_run,
                as_json=as_json)


def finding_add(
    session: Annotated[str, typer.Argument(help="The session, e.g. R95.")],
    file: Annotated[str, typer.Argument(help="The file: 4458, FILE4458 or package:path.")],
    severity: Annotated[str, typer.Option("--severity", help="CRITICAL, HIGH, MEDIUM, LOW or INFO.")],
    category: Annotated[str, typer.Option("--category", help="A category of the vocabulary (conf/kbgen.yaml).")],
    description: Annotated[str, typer.Option("--description", "-m", help="What was found.")],
    lines: Annotated[str | None, typer.Option("--lines", help="Line range, e.g. 120-180.")] = None,
    answers: Annotated[list[str] | None, typer.Option("--answers", help="A question of the session's plan it "
                                                      "answers (repeatable).")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Stable key: adding again with the same key updates "
                                            "the finding instead of adding another.")] = None,
    followed_up: Annotated[bool, typer.Option("--followed-up", help="Mark it followed up.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> None:
    """Add one finding to a session (checked like a worksheet finding); prints its F-number."""
    from kbgen.worksheet import AnswerLink, FindingEntry, Worksheet, parse_session

    links = tuple(AnswerLink(q.strip(), False, None, None) for a in answers or [] for q in a.split(",") if q.strip())
    entry = FindingEntry(key, _file_ref(file), severity.strip(), category, lines, description.strip(), links,
                         True if followed_up else None, None)
    _run_record(Worksheet(None, parse_session(session), findings=(entry,), complete=False), dry_run=dry_run,
                as_json=as_json)


def tag_cmd(
    session: Annotated[str, typer.Argument(help="The session that tags them, e.g. R95.")],
    domain: Annotated[str, typer.Argument(help="The domain, e.g. memory-and-learning.")],
    files: Annotated[list[str], typer.Argument(help="Files: 4458, FILE4458 or package:path.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> None:
    """Tag files with a domain (file_domains), as a worksheet's tags do."""
    from kbgen.worksheet import TagEntry, Worksheet, parse_session

    entry = TagEntry(((domain.strip(), None),), tuple(_file_ref(f) for f in files), None)
    _run_record(Worksheet(None, parse_session(session), tags=(entry,), complete=False), dry_run=dry_run,
                as_json=as_json)


def text_answer(question: str, verdict: str | None, *, partial: bool, remove: bool) -> None:
    """``kbgen answer QID --verdict TEXT``: a question answered in words (the row a worksheet's answer writes)."""
    from kbgen.db.kbwrite import remove_text_answer
    from kbgen.worksheet import QuestionEntry, Worksheet

    qid = question.strip()
    match = re.match(r"^Q(\d+)-", qid)
    if match is None:
        raise UsageError(f"not a question ID: {question!r} (expected Q95-4458)")
    options = STATE.options(required=STATE.db is None)
    if remove:
        engine = _engine(options)
        try:
            remove_text_answer(engine, qid)
        finally:
            engine.dispose()
        say(f"removed: the answer in words to {qid}")
        return
    if not verdict or not verdict.strip():
        raise UsageError(f"answer {qid} with a finding (kbgen answer {qid} F1234) or in words (--verdict TEXT)")
    entry = QuestionEntry(qid, "partial" if partial else "full", verdict.strip(), None)
    _run_record(Worksheet(None, int(match.group(1)), questions=(entry,), complete=False), dry_run=False,
                as_json=False)
