"""``kbgen vocab list|suggest|apply``: the finding-category vocabulary."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kbgen.cli.common import STATE, console, err_console, say, stdout_write, warn
from kbgen.cli.tables import text_row
from kbgen.errors import EXIT_BAD_INPUT, UsageError

if TYPE_CHECKING:  # the commands import what they use when they run (kbgen --help loads none of it)
    from collections import Counter

    from rich.table import Table
    from sqlalchemy import Engine

    from kbgen.config import Options
    from kbgen.db.aliases import ApplyResult
    from kbgen.vocab_merge import CategoryUse, Merge, Suggestions

vocab_app = typer.Typer(help="The finding-category vocabulary: canonical list, aliases, proposed merges.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(vocab_app, name="vocab")


def _categories_in_use() -> tuple[Options, str, Counter[str | None], dict[str, str]]:
    """The project, its database URL, each recorded category spelling's findings and the stored aliases."""
    from kbgen.db.aliases import category_counts, read_aliases

    options, url, engine = _open(write=False)
    try:
        with engine.connect() as conn:
            return options, url, category_counts(conn), read_aliases(conn)
    finally:
        engine.dispose()


def _open(*, write: bool) -> tuple[Options, str, Engine]:
    from kbgen.db.engine import open_engine, resolve_url
    from kbgen.db.migrate import check_kb_schema, check_research_schema, ensure_kb_tables

    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url, readonly=not write)
    check_research_schema(engine, url)
    if write:
        ensure_kb_tables(engine)
    else:
        check_kb_schema(engine)
    return options, url, engine


def _spellings(use: CategoryUse, limit: int = 4) -> str:
    shown = [f"{s.shown} ({s.findings:,})" for s in use.spellings[:limit]]
    more = len(use.spellings) - limit
    return ", ".join(shown) + (f", … {more} more" if more > 0 else "")


def _n(n: int, noun: str, plural: str | None = None) -> str:
    from kbgen.wording import count

    return count(n, noun, plural or (noun + "es" if noun.endswith("s") else None))


def _summary(s: Suggestions) -> str:
    counted = (f"{_n(s.findings, 'finding')}, {_n(s.spellings, 'spelling')}, "
               f"{_n(len(s.uses), 'category', 'categories')} after case and separators")
    if not s.merges:
        return f"{counted}: no merge to propose."
    return (f"{counted}; {_n(len(s.merges), 'proposed merge')} {'regroups' if len(s.merges) == 1 else 'regroup'} "
            f"{_n(s.affected, 'finding')} into {_n(s.categories_after, 'category', 'categories')}.")


def _merge_table(merges: list[Merge], title: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("Fold (spellings, findings)")
    table.add_column("Into")
    table.add_column("Findings", justify="right")
    table.add_column("Why")
    for i, merge in enumerate(merges, 1):
        into = f"{merge.into.key}{' ✓' if merge.into.canonical else ''} ({merge.into.findings:,})"
        for j, m in enumerate(merge.members):
            text_row(table, str(i) if j == 0 else "", _spellings(m.use), into if j == 0 else "",
                          f"{m.use.findings:,}", m.reason, end_section=j == len(merge.members) - 1)
    return table


@vocab_app.command("suggest")
def vocab_suggest(
    as_json: Annotated[bool, typer.Option("--json", help="Print every proposal and category as JSON.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the proposals as an alias file "
                                                "(YAML) to review and pass to 'kbgen vocab apply'.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Show at most this many merges in the table (0: all).",
                                       min=0)] = 0,
) -> None:
    """Propose merges of near-duplicate finding categories (plurals, word forms, shared stems, typos)."""
    from kbgen.outputs import write_if_changed
    from kbgen.vocab import Vocabulary
    from kbgen.vocab_file import render_alias_file
    from kbgen.vocab_merge import suggest

    options, url, counts, stored = _categories_in_use()
    result = suggest(counts, Vocabulary.from_options(options, stored))
    if output is not None:
        write_if_changed(output, render_alias_file(result, _shown(url)).encode("utf-8"))
    if as_json:
        stdout_write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
        return
    merges = list(result.merges[:limit] if limit else result.merges)
    if merges and not STATE.quiet:
        console.print(_merge_table(merges, "Proposed category merges, most findings first (✓ canonical)"))
        if len(merges) < len(result.merges):
            say(f"{len(result.merges) - len(merges):,} more merges not shown (--limit 0 shows all, --json lists "
                "them).")
    say(_summary(result))
    if output is not None:
        say(f"wrote {output}: review it, then run 'kbgen vocab apply {output}'")


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True) if "://" in url else url


def _report_apply(result: ApplyResult, dry_run: bool) -> None:
    verb = "would " if dry_run else ""
    for alias, target in result.added.items():
        say(f"{verb}add     {alias} → {target}")
    for alias, (old, new) in result.changed.items():
        say(f"{verb}change  {alias} → {new} (was {old})")
    for alias, target in result.removed.items():
        say(f"{verb}remove  {alias} → {target}")
    if dry_run:
        say(f"dry run: {_n(result.changes, 'change')}, {_n(result.unchanged, 'alias')} unchanged; nothing written")
    elif result.changes:
        say(f"{_n(result.changes, 'change')} stored, {_n(result.unchanged, 'alias')} unchanged; run 'kbgen sync' "
            "to regroup the pages")
    else:
        say(f"nothing to change ({_n(result.unchanged, 'alias')} already stored)")


def _interactive(options: Options, url: str) -> dict[str, tuple[str, str]]:
    """Ask about each proposal on the terminal; the accepted aliases with their reasons."""
    from kbgen.db.aliases import category_counts, read_aliases
    from kbgen.db.engine import open_engine
    from kbgen.vocab import Vocabulary
    from kbgen.vocab_merge import suggest

    engine = open_engine(url, readonly=True)
    try:
        counts = category_counts(engine)
        stored = read_aliases(engine)
    finally:
        engine.dispose()
    result = suggest(counts, Vocabulary.from_options(options, stored))
    accepted: dict[str, tuple[str, str]] = {}
    for i, merge in enumerate(result.merges, 1):
        console.print(_merge_table([merge], f"Merge {i} of {len(result.merges)}"))
        answer = typer.prompt("Accept? [y]es / [n]o / [q]uit", default="n").strip().lower()
        if answer.startswith("q"):
            break
        if answer.startswith("y"):
            accepted.update({m.use.key: (merge.into.key, m.reason) for m in merge.members})
    return accepted


@vocab_app.command("apply")
def vocab_apply(
    file: Annotated[Path | None, typer.Argument(help="Alias file from 'kbgen vocab suggest -o FILE' (YAML) or "
                                                "its --json output; '-' reads standard input. Without it, "
                                                "each proposal is asked about on the terminal.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Make the stored aliases exactly the file's "
                                          "(remove the others).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show the changes; write nothing.")] = False,
) -> None:
    """Store accepted category aliases in kbgen's own table (the findings rows are never rewritten)."""
    from kbgen.db.aliases import read_aliases, store_aliases
    from kbgen.db.engine import open_engine, resolve_url
    from kbgen.db.migrate import check_kb_schema, check_research_schema, ensure_kb_tables
    from kbgen.vocab import Vocabulary
    from kbgen.vocab_file import AliasFile, read_alias_file

    options = STATE.options(required=STATE.db is None)
    url = resolve_url(options.database, options.project_dir)
    configured = Vocabulary.from_options(options)
    notes: dict[str, str] = {}
    if file is None:
        if not sys.stdin.isatty():
            raise UsageError("no alias file given (pass FILE, or '-' to read standard input)")
        accepted = _interactive(options, url)
        parsed = AliasFile(aliases={k: v for k, (v, _) in accepted.items()})
        notes = {k: why for k, (_, why) in accepted.items()}
        source = "kbgen vocab apply (interactive)"
    else:
        engine = open_engine(url, readonly=True)
        try:
            stored = {} if replace else read_aliases(engine)
        finally:
            engine.dispose()
        parsed = read_alias_file(file, configured, stored)
        source = f"kbgen vocab apply {file.name if str(file) != '-' else '-'}"
    for w in parsed.warnings:
        warn(str(w))
    if parsed.errors:
        for e in parsed.errors:
            err_console.print(f"error: {e}", markup=False)
        say("nothing written")
        raise typer.Exit(EXIT_BAD_INPUT)
    engine = open_engine(url, readonly=dry_run)
    try:
        check_research_schema(engine, url)
        if not dry_run:
            ensure_kb_tables(engine)
        else:
            check_kb_schema(engine)
        result = _dry(engine, parsed.aliases, replace) if dry_run else store_aliases(
            engine, parsed.aliases, notes={k: notes.get(k, source) for k in parsed.aliases}, replace=replace)
    finally:
        engine.dispose()
    _report_apply(result, dry_run)


def _dry(engine: Engine, aliases: dict[str, str], replace: bool) -> ApplyResult:
    """What :func:`store_aliases` would do, computed on a read-only connection."""
    from kbgen.db.aliases import ApplyResult, read_aliases

    stored = read_aliases(engine)
    result = ApplyResult()
    for alias in sorted(aliases):
        if alias not in stored:
            result.added[alias] = aliases[alias]
        elif stored[alias] != aliases[alias]:
            result.changed[alias] = (stored[alias], aliases[alias])
        else:
            result.unchanged += 1
    if replace:
        result.removed = {a: stored[a] for a in sorted(set(stored) - set(aliases))}
    return result


@vocab_app.command("list")
def vocab_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the vocabulary as JSON.")] = False,
) -> None:
    """The canonical categories, the aliases onto them and how many findings each category has."""
    from rich.table import Table

    from kbgen.vocab import Vocabulary
    from kbgen.vocab_merge import category_uses

    options, _url, counts, stored = _categories_in_use()
    configured = Vocabulary.from_options(options)
    vocabulary = Vocabulary.from_options(options, stored)
    uses = {u.key: u for u in category_uses(counts, vocabulary)}
    unlisted = [u for key, u in uses.items() if key not in vocabulary.categories]
    if as_json:
        stdout_write(json.dumps({
            "closed": vocabulary.closed,
            "categories": [{"category": c, "findings": uses[c].findings if c in uses else 0,
                            "aliases": vocabulary.spellings_of(c)} for c in vocabulary.allowed()],
            "aliases": [{"alias": a, "category": t, "source": "config" if a in configured.aliases else "database"}
                        for a, t in sorted(vocabulary.aliases.items())],
            "unlisted_in_use": [{"category": u.key, "findings": u.findings} for u in unlisted],
        }, indent=2, ensure_ascii=False) + "\n")
        return
    if vocabulary.closed:
        table = Table(title="Canonical categories (categories in conf/kbgen.yaml)", title_justify="left")
        table.add_column("Category")
        table.add_column("Findings", justify="right")
        table.add_column("Aliases (config, database*)")
        for c in vocabulary.allowed():
            names = [a if a in configured.aliases else f"{a}*" for a in vocabulary.spellings_of(c)]
            text_row(table, c, f"{uses[c].findings:,}" if c in uses else "0", ", ".join(names) or "—")
        console.print(table)
    else:
        say("open vocabulary (categories: [] in conf/kbgen.yaml): every category is accepted")
    if unlisted:
        shown = ", ".join(f"{u.key} ({u.findings:,})" for u in unlisted[:15])
        more = f", … {len(unlisted) - 15:,} more" if len(unlisted) > 15 else ""
        say(f"{_n(len(unlisted), 'category', 'categories')} in use outside the list, most used first: {shown}{more}")
