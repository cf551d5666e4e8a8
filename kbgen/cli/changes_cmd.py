"""``kbgen changes``: what a session, or a run of sessions, changed."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from kbgen.cli.common import STATE, console, say, stdout_write
from kbgen.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("changes")(changes)


def changes(
    session: Annotated[str | None, typer.Argument(
        metavar="SESSION", help="The session (R95, 95 or its name, e.g. R2-verify); default: the latest.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="SESSION",
        help="First session of a run: the changes from it to SESSION (or the latest), both included.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print markdown to paste into a pull request "
                                           "or release note.")] = False,
) -> None:
    """What changed: new findings, resolved or superseded ones, deeper reads, coverage, answers, edges.

    How each change is derived from the database: docs/reference/changes.md.
    """
    from kbgen.changes import what_changed
    from kbgen.render.changes_json import to_dict
    from kbgen.report import load

    if as_json and markdown:
        raise UsageError("--json and --markdown exclude each other", hint="choose one output format")
    snap = load(STATE.options())
    report = what_changed(snap, session, since)
    if report is None:
        if as_json:
            stdout_write(json.dumps(None) + "\n")
        else:
            say("No sessions recorded yet.")
        return
    breakdown = report.breakdown if len(report.breakdown) > 1 else ()
    if as_json:
        data = to_dict(snap, report.changes, breakdown=breakdown, attribution=report.attribution)
        stdout_write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif markdown:
        from kbgen.render.changes_md import render

        stdout_write(render(snap, report.changes, breakdown=breakdown, attribution=report.attribution))
    else:
        from kbgen.render.changes_term import renderables

        for item in renderables(snap, report.changes, breakdown=breakdown, attribution=report.attribution):
            console.print(item)
