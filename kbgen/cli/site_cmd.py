"""``kbgen build``, ``kbgen serve`` and ``kbgen publish``: the site."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kbgen.cli.common import STATE, err_console, say
from kbgen.wording import count

if TYPE_CHECKING:
    from kbgen.build import BuildResult, SearchMode

#: ``kbgen build``'s default -j (:data:`kbgen.build.DEFAULT_JOBS`; a test keeps the two equal): the
#: build module is imported when a command runs, not to print the help.
DEFAULT_JOBS = "1"


def register(app: typer.Typer) -> None:
    app.command("build")(build)
    app.command("serve")(serve)
    app.command("publish")(publish)


JobsOption = Annotated[str, typer.Option("--jobs", "-j", help="Parallel Sphinx processes: a number or 'auto'. "
                                        "Default 1: faster and far leaner than parallel at scale "
                                        "(bench/README.md).")]


def _build_with_progress(*, clean: bool, strict: bool, jobs: str, search: SearchMode | None) -> BuildResult:
    from kbgen.build import build_site

    options = STATE.options()
    if STATE.quiet:
        return build_site(options, clean=clean, strict=strict, jobs=jobs, search=search)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("sphinx {task.description:<8}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=err_console.real(), transient=True) as bar:
        task = bar.add_task("starting", total=100)

        def progress(phase: str, percent: int) -> None:
            bar.update(task, description=phase, completed=percent)

        return build_site(options, clean=clean, strict=strict, jobs=jobs, search=search, quiet=False,
                          progress=progress)


def build(
    clean: Annotated[bool, typer.Option("--clean", help="Discard the previous build and build from scratch.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Treat Sphinx warnings as errors (exit 1).")] = False,
    jobs: JobsOption = DEFAULT_JOBS,
    search: Annotated[str | None, typer.Option("--search", help="Search index, overriding the project's search "
                                               "setting: auto (Pagefind when its binary runs, with Sphinx's for "
                                               "pages opened from disk), pagefind (Pagefind only: faster builds, "
                                               "search over HTTP only) or sphinx.")] = None,
    no_sync: Annotated[bool, typer.Option("--no-sync", help="Build the pages as they are, without syncing "
                                          "them from the database first.")] = False,
) -> None:
    """Sync the pages from the database, then build the HTML site (incremental unless --clean)."""
    from kbgen.cli.kb_cmd import run_sync
    from kbgen.errors import UsageError

    if search is not None and search not in ("auto", "pagefind", "sphinx"):
        raise UsageError(f"--search must be auto, pagefind or sphinx, not {search!r}")
    if not no_sync:
        report = run_sync()
        say(f"sync: {report.summary()}")
    result = _build_with_progress(clean=clean, strict=strict, jobs=jobs, search=search)  # type: ignore[arg-type]
    for note in result.notes:
        say(note)
    say(result.summary())
    if STATE.quiet:
        print(result.index)


def serve(
    port: Annotated[int, typer.Option(help="Port on localhost (0: any free port).")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind; keep 127.0.0.1 unless you mean to share it.")]
    = "127.0.0.1",
    poll: Annotated[float, typer.Option(help="Seconds between database checks when the database is not a "
                                        "SQLite file (0: never).")] = 10.0,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the site in a browser.")] = False,
    jobs: JobsOption = DEFAULT_JOBS,
) -> None:
    """Live preview: build, serve on localhost, rebuild and reload on every change.

    Watches the hand-written pages, domain documents, plans, conf/kbgen.yaml
    and a SQLite database file; a changed plan is re-imported, then the pages
    are synced and the site rebuilt.
    """
    from kbgen.serve import serve_live

    serve_live(STATE.options(), host=host, port=port, poll=poll, jobs=jobs, open_browser=open_browser, log=say)


def publish(
    remote: Annotated[str, typer.Option("--remote", help="Git remote to push to.")] = "origin",
    branch: Annotated[str, typer.Option("--branch", help="Branch that holds the published site.")] = "gh-pages",
    message: Annotated[str | None, typer.Option("--message", "-m", help="Commit message on the branch.")] = None,
    no_db_check: Annotated[bool, typer.Option("--no-db-check", help="Do not compare the generated pages with "
                                              "the database (the build must still match its pages).")] = False,
) -> None:
    """Push the built site to a gh-pages branch (with .nojekyll); refuses a missing or stale build."""
    from kbgen.publish import publish_site

    options = STATE.options()
    result = publish_site(options, remote=remote, branch=branch, message=message, check_database=not no_db_check)
    say(f"published {count(result.files, 'file')} of {_shown(options.build_path, options.project_dir)} to "
        f"{result.remote}/{result.branch} ({result.commit[:10]}, {result.url})")


def _shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
