"""The definition of every figure: one text for the generated site and for the reference docs.

The definitions live in ``templates/figures.md`` and nowhere else. ``kbgen sync``
writes them as ``kb/figures.md`` with the project's own settings (own packages,
hotspot threshold, source filters, ``exclude_paths``) appended, and the
dashboard links there, so a reader of any site is one click from what a
figure counts. The repository's reference page ``docs/reference/figures.md``
is the same text with the settings described instead of listed; a test keeps
it equal to :func:`reference_page` (regenerate it with
``python -m kbgen.render.figures_doc docs/reference/figures.md``).
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from kbgen.config import Options
from kbgen.model import Snapshot
from kbgen.render import escape
from kbgen.render.myst import Md, bullet_list, heading, table

_MARKER = "<!-- settings -->"


def definitions() -> str:
    """The shared text, up to (without) the settings marker."""
    text = resources.files("kbgen.render").joinpath("templates/figures.md").read_text(encoding="utf-8")
    head, marker, _ = text.partition(_MARKER)
    assert marker, "templates/figures.md lost its settings marker"
    return head.rstrip("\n") + "\n"


def _patterns(patterns: tuple[str, ...] | list[str]) -> str:
    return ", ".join(escape.code(p) for p in patterns) or "none"


def site_page(snap: Snapshot, options: Options) -> str:
    """``kb/figures.md``: the definitions, then the settings this project's figures use."""
    excludes = [e.pattern for e in snap.exclude_paths]
    settings = table(["Setting", "Value"], [
        [Md("Own packages (`own_packages`, tier OWN_CODE)"), Md(_patterns(list(options.own_packages)))],
        [Md("Hotspot threshold (`hotspot_min_domains`)"), f"{options.hotspot_min_domains} domains"],
        [Md("Source-file filters (`source_excludes`)"), Md(_patterns(options.source_excludes))],
        [Md("Gaps in the report (`report_gap_limit`)"), f"the first {options.report_gap_limit}"],
    ])
    parts = [definitions(), heading(2, "This project's settings"),
             "Set in `conf/kbgen.yaml`; the `exclude_paths` patterns come from the research database.\n",
             settings]
    if excludes:
        parts += [f"`exclude_paths` ({len(excludes):,} patterns):\n", bullet_list(Md(escape.code(p)) for p in excludes)]
    else:
        parts.append("The research database has no `exclude_paths` patterns.\n")
    return "\n".join(parts)


def reference_page() -> str:
    """``docs/reference/figures.md``: the definitions, then where their settings come from."""
    title, _, body = definitions().partition("\n")
    assert title == "# How the figures are counted"
    return "\n".join([
        "# Figures: what each one counts" + "\n" + body, heading(2, "Settings"),
        "The settings named above are keys of `conf/kbgen.yaml` (see the README's Configuration table): "
        "`own_packages`, `hotspot_min_domains` and `source_excludes`; the `exclude_paths` patterns are rows of "
        "the research database. Every generated site carries this page as `kb/figures` with its own values "
        "listed, and its dashboard links to it.\n"])


def main(argv: list[str]) -> int:
    """Write the reference page to the path given (the repository keeps it in ``docs/reference/``)."""
    if len(argv) != 1:
        print("usage: python -m kbgen.render.figures_doc docs/reference/figures.md", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(reference_page(), encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
