"""Counted nouns for generated text and messages: "1 file read", "2 files read", "1 finding is".

Pages, reports and terminal messages are read by people; "1 files" reads like a
bug. One small helper so every count in kbgen's output agrees in number.
"""

from __future__ import annotations


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number, with thousands separators: ``count(1, "file")`` → ``1 file``.

    The plural defaults to the singular plus "s"; words after the noun stay
    outside: ``count(2, "file") + " read"`` → ``2 files read``.
    """
    if n == 1:
        return f"1 {singular}"
    return f"{n:,} {plural or singular + 's'}"


def verb(n: int, one: str = "is", many: str = "are") -> str:
    """The verb agreeing with a count: ``verb(1)`` → ``is``, ``verb(3)`` → ``are``."""
    return one if n == 1 else many


def listing(items: list[str]) -> str:
    """Items as a sentence lists them: ``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}" if items else ""
