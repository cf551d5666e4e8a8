"""Research-table values as kbgen reads them, whatever type a tool stored.

Shared by the snapshot loader (:mod:`kbgen.db.load`) and ``kbgen report``'s direct reader
(:mod:`kbgen.report_sql`), so both read a column the same way; no SQLAlchemy here.
"""

from __future__ import annotations

from typing import Any


def text_value(value: Any) -> str | None:
    """Database text as str (some tools store numbers or bytes in TEXT columns)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def int_value(value: Any) -> int | None:
    """An integer column's value; None for NULL, '' and what is not a number."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
