"""Accepted category aliases in ``kbgen_category_aliases``, and the category counts they come from.

The research ``findings`` rows keep the category exactly as it was recorded;
an alias only changes how kbgen groups it. ``kbgen vocab apply`` writes here,
every reader (sync, report, a recorder's validation) folds categories through
:class:`kbgen.vocab.Vocabulary` built with :func:`read_aliases`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, func, insert, inspect, select, text, update

from kbgen.db import kbtables as kb
from kbgen.db import research as rt


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_aliases(conn: Connection | Engine) -> dict[str, str]:
    """Stored alias → canonical key; empty when the table does not exist yet (an older kbgen schema)."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return read_aliases(c)
    if not inspect(conn).has_table(kb.category_aliases.name):
        return {}
    t = kb.category_aliases
    return {r.alias: r.canonical for r in conn.execute(select(t.c.alias, t.c.canonical).order_by(t.c.alias))}


def category_counts(conn: Connection | Engine) -> Counter[str | None]:
    """How many findings carry each category spelling, exactly as recorded (None: no category)."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return category_counts(c)
    col = rt.findings.c.category
    rows = conn.execute(select(col, func.count()).group_by(col))
    counts: Counter[str | None] = Counter()
    for value, n in rows:
        # Some tools store numbers or bytes in TEXT columns; the spelling is their text.
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        counts[None if text is None else str(text)] += int(n)
    return counts


@dataclass
class ApplyResult:
    """What ``kbgen vocab apply`` changed (or would change, with ``dry_run``)."""

    added: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # alias → (old, new)
    removed: dict[str, str] = field(default_factory=dict)
    unchanged: int = 0

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def store_aliases(engine: Engine, aliases: Mapping[str, str], *, notes: Mapping[str, str] | None = None,
                  replace: bool = False, dry_run: bool = False) -> ApplyResult:
    """Insert or update aliases in one transaction; ``replace`` also deletes the ones not given.

    Keys and targets must already be category keys (the caller validated them).
    Re-applying the same map changes nothing.
    """
    t = kb.category_aliases
    notes = notes or {}
    result = ApplyResult()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two appliers at once: the second sees the first's rows
            conn.execute(text("SELECT pg_advisory_xact_lock(4242200)"))
        existing = {r.alias: r.canonical for r in conn.execute(select(t.c.alias, t.c.canonical))}
        for alias in sorted(aliases):
            target = aliases[alias]
            if alias not in existing:
                result.added[alias] = target
                if not dry_run:
                    conn.execute(insert(t).values(alias=alias, canonical=target, note=notes.get(alias),
                                                  created_at=_now()))
            elif existing[alias] != target:
                result.changed[alias] = (existing[alias], target)
                if not dry_run:
                    conn.execute(update(t).where(t.c.alias == alias).values(
                        canonical=target, note=notes.get(alias), created_at=_now()))
            else:
                result.unchanged += 1
        if replace:
            gone = sorted(set(existing) - set(aliases))
            result.removed = {a: existing[a] for a in gone}
            if gone and not dry_run:
                conn.execute(delete(t).where(t.c.alias.in_(gone)))
    return result
