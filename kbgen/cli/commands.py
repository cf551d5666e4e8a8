"""The command table: every command's name and help line, its module imported only when it runs.

Typer turns every registered command into a click command (its signature read, its type
hints evaluated, its parameters built) before it looks at the arguments, and the modules that
register them must be imported first. A short command such as ``kbgen report`` paid for the
forty others. :class:`CommandGroup`, the root group, knows each command's name and the first
paragraph of its help from :data:`COMMANDS`, so ``kbgen --help`` lists them without importing
anything; the command the user names is built from its module (:func:`load`) when the
arguments reach it, with the same settings as the root (:data:`SETTINGS`), so it is the same
command the eager registration built.

The table is written by hand; tests/test_cli_commands.py builds every command and checks the
table against them (names, order, help lines), so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter


class Entry(NamedTuple):
    """One command of the root: its name, the module that registers it, its help's first paragraph."""

    name: str
    module: str
    help: str


#: The settings of the root Typer app, and of the app each command module registers on.
SETTINGS: dict[str, Any] = {"no_args_is_help": True, "add_completion": False, "pretty_exceptions_enable": False,
                            "rich_markup_mode": None}

_KB = "kbgen.cli.kb_cmd"
_SITE = "kbgen.cli.site_cmd"
_REPORT = "kbgen.cli.report_cmd"
_DOMAIN = "kbgen.cli.domain_cmd"

#: The root's commands in the order ``kbgen --help`` lists them (commands, then groups, each in
#: the order their modules register them).
COMMANDS: tuple[Entry, ...] = (
    Entry("init", _KB, "Scaffold a knowledge-base project; never overwrites existing files."),
    Entry("demo", _KB, "Build the bundled example knowledge base end to end and print the path of its "
                     "index.html."),
    Entry("sync", _KB, "Database → generated pages and domain documents (only changed files are written)."),
    Entry("answer", _KB, "Link a finding to the plan question it answers, or answer it in words (explicit answers"
                         " override inferred ones)."),
    Entry("record", _KB, "Check a session worksheet, then write it in one transaction (nothing on any problem; "
                         "idempotent)."),
    Entry("read", _KB, "Record one read of a file in a session (the same row a worksheet's read of that file "
                       "writes)."),
    Entry("tag", _KB, "Tag files with a domain (file_domains), as a worksheet's tags do."),
    Entry("lint", _DOMAIN, "Check domain documents for drift; exit 1 on any problem."),
    Entry("build", _SITE, "Sync the pages from the database, then build the HTML site (incremental unless "
                          "--clean)."),
    Entry("serve", _SITE, "Live preview: build, serve on localhost, rebuild and reload on every change."),
    Entry("publish", _SITE, "Push the built site to a gh-pages branch (with .nojekyll); refuses a missing or "
                            "stale build."),
    Entry("report", _REPORT, "Master index as plain markdown: statistics, coverage, hotspots, gaps, open "
                             "findings, maps."),
    Entry("stats", _REPORT, "Headline figures in the terminal: inventory, depth, coverage, findings, gaps."),
    Entry("changes", "kbgen.cli.changes_cmd", "What changed: new findings, resolved or superseded ones, deeper "
                                              "reads, coverage, answers, edges."),
    Entry("db", "kbgen.cli.db_cmd", "Create research databases and upgrade kbgen's own tables."),
    Entry("plan", "kbgen.cli.plan_cmd", "Parse, import and inspect execution plans."),
    Entry("vocab", "kbgen.cli.vocab_cmd", "The finding-category vocabulary: canonical list, aliases, proposed "
                                          "merges."),
    Entry("finding", _KB, "Add a finding; set a finding's status: resolved or superseded."),
    Entry("session", _KB, "Start a session (its row and a prefilled worksheet) and finish it (plan versus "
                          "actual)."),
    Entry("domain", _DOMAIN, "Domain analysis documents."),
)


def load(module_name: str) -> dict[str, Command]:
    """The click commands a command module registers, built as the root would build them."""
    module = importlib.import_module(module_name)
    app = typer.Typer(**SETTINGS)
    module.register(app)
    return dict(typer.main.get_group(app).commands)


class LazyCommands(MutableMapping[str, "Command"]):
    """The root's commands: the names from :data:`COMMANDS`, each built on first access."""

    def __init__(self, commands: MutableMapping[str, Command], entries: tuple[Entry, ...] = COMMANDS) -> None:
        self._built: dict[str, Command] = dict(commands)
        self._entries = {e.name: e for e in entries if e.name not in self._built}
        self._order = [*self._built, *self._entries]

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            entry = self._entries.get(name)
            if entry is None:
                raise KeyError(name)
            for built_name, command in load(entry.module).items():
                if built_name in self._entries:  # a module's commands come together: keep them all
                    self._built.setdefault(built_name, command)
            if name not in self._built:
                raise RuntimeError(f"{entry.module} registers no command {name!r} (kbgen/cli/commands.py)")
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._built and name not in self._entries:
            self._order.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._built and name not in self._entries:
            raise KeyError(name)
        self._built.pop(name, None)
        self._entries.pop(name, None)
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._entries

    def built(self, name: str) -> Command | None:
        """The command if it was built already (``None`` otherwise: nothing is imported)."""
        return self._built.get(name)

    def entry(self, name: str) -> Entry | None:
        return self._entries.get(name)


class CommandGroup(TyperGroup):
    """The root group: commands from :class:`LazyCommands`, listed in the help from the table."""

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        super().__init__(commands=commands, **attrs)
        self.commands = LazyCommands(self.commands)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # the names alone: Typer's own asks for every command

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The help's command list, from the table for a command not built (the text a built one gives).

        Typer's own listing is run over stand-ins carrying the table's help paragraph, so the
        layout, the truncation to the terminal's width and the section title stay Typer's.
        """
        commands = self.commands
        assert isinstance(commands, LazyCommands)
        listed = dict.fromkeys(self.list_commands(ctx))
        shown: dict[str, Command] = {}
        for name in listed:
            command = commands.built(name)
            if command is None:
                entry = commands.entry(name)
                assert entry is not None
                command = TyperCommand(name, help=entry.help)
            shown[name] = command
        original = self.commands
        self.commands = shown
        try:
            super().format_commands(ctx, formatter)
        finally:
            self.commands = original
