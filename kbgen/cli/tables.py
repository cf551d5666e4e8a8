"""Rich tables whose cells are data.

Rich reads ``[bold]`` or ``[link=...]`` in a plain string cell as markup: a
domain, path or category named with square brackets would be restyled, or
vanish from the terminal. Every table row that shows text from the database
or a plan goes through :func:`text_row`, which hands Rich literal text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Rich is imported when a table is drawn (kbgen --help loads none of it)
    from rich.table import Table


def text_row(table: Table, *cells: str, end_section: bool = False) -> None:
    """Add a row of literal text (no markup, no emoji codes)."""
    from rich.text import Text

    table.add_row(*(Text(cell) for cell in cells), end_section=end_section)
