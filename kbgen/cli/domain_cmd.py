"""``kbgen lint [PATH...]`` and ``kbgen domain migrate PATH...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kbgen.cli.common import STATE, say, warn
from kbgen.errors import EXIT_CHECK_FAILED, KbgenError, UsageError

domain_app = typer.Typer(help="Domain analysis documents.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("lint")(lint)
    app.add_typer(domain_app, name="domain")


def _default_paths() -> list[Path]:
    try:
        return [STATE.options().domains_path]
    except KbgenError as exc:
        raise UsageError("no PATH given and no kbgen project here", hint="pass files or folders to lint") from exc


def lint(paths: Annotated[list[Path] | None, typer.Argument(help="Documents or folders (default: the "
                                                            "project's domains folder).")] = None) -> None:
    """Check domain documents for drift; exit 1 on any problem.

    The checks (cumulative lists, per-session headings, section order, File Registry order,
    finding labels, Session Log order, markers) are described in kbgen's reference docs,
    docs/reference/domain-documents.md.
    """
    from kbgen.domain.lint import lint_paths

    targets = paths or _default_paths()
    for p in targets:
        if not p.exists():
            raise UsageError(f"{p}: no such file or folder")
    problems = lint_paths(targets)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        say(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
        raise typer.Exit(EXIT_CHECK_FAILED)
    say("no problems")


@domain_app.command("migrate")
def migrate(
    paths: Annotated[list[Path], typer.Argument(help="Legacy analysis.md documents to convert in place.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the report; write nothing.")] = False,
) -> None:
    """Convert hand-maintained documents into the managed form, keeping every line of prose."""
    from kbgen.domain.migrate import migrate_text
    from kbgen.outputs import write_if_changed

    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        text = path.read_text(encoding="utf-8")
        result = migrate_text(text, str(path))
        say(result.format())
        if result.changed and not dry_run:
            write_if_changed(path, result.new_text.encode("utf-8"))
    if not dry_run:
        _fill_registries(paths)


def _fill_registries(paths: list[Path]) -> None:
    """When run inside a project with a database, fill the new generated blocks right away."""
    try:
        options = STATE.options()
    except KbgenError:
        warn("not inside a kbgen project: the registries stay empty until the next `kbgen sync`")
        return
    from kbgen.sync import sync

    inside = [p for p in paths if options.domains_path.resolve() in p.resolve().parents]
    if not inside:
        warn("the documents are outside the project's domains folder: run `kbgen sync` where they belong")
        return
    try:
        report = sync(options)
    except KbgenError as exc:
        warn(f"registries not filled ({exc}); run `kbgen sync` later")
        return
    say(f"sync: {report.summary()}")
