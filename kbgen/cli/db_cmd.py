"""``kbgen db init URL`` and ``kbgen db upgrade``."""

from __future__ import annotations

from typing import Annotated

import typer

from kbgen.cli.common import STATE, say
from kbgen.errors import UsageError

db_app = typer.Typer(help="Create research databases and upgrade kbgen's own tables.", no_args_is_help=True)


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
