"""Where each domain's analysis document lives: one rule for sync, report, demo and plan drafts.

Kept apart from :mod:`kbgen.sync` so that a command which only needs to name a
document (``kbgen report``, ``kbgen plan draft``) does not import the page renderer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kbgen.config import Options
from kbgen.errors import KbgenError, KbWarning, UsageError
from kbgen.outputs import safe_join
from kbgen.render import escape

if TYPE_CHECKING:
    from kbgen.model import Snapshot

__all__ = ["domain_doc_paths", "domain_doc_paths_of", "portable_relpath"]

_PORTABLE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_RESERVED_NAMES = escape.RESERVED_FILE_NAMES


def portable_relpath(rel: str) -> bool:
    """A ``synthesis_path`` kbgen may write to: ``name/…/name.md`` of letters, digits, ``._-``.

    The path also becomes the argument of an ``{include}`` directive on the
    domain's page, so anything beyond these characters (spaces, newlines,
    backticks) or a part that is hidden (``.git``), a parent (``..``) or a
    name Windows reserves (``CON``, ``NUL.md``) is refused; the sync then uses
    ``<domain slug>/analysis.md`` and warns.
    """
    parts = rel.split("/")
    return rel.endswith(".md") and all(
        _PORTABLE_PART.fullmatch(part) and part.split(".", 1)[0].lower() not in _RESERVED_NAMES for part in parts)


class DomainLike(Protocol):
    """What a domain's document path depends on (a :class:`kbgen.model.Domain` or ``kbgen report``'s row)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def synthesis_path(self) -> str | None: ...


def domain_doc_paths(snap: Snapshot, options: Options, warnings: list[KbWarning]) -> dict[str, Path]:
    """Domain name → its analysis.md, always inside the domains root."""
    return domain_doc_paths_of(snap.domains, options, warnings)


def domain_doc_paths_of(domains: Sequence[DomainLike], options: Options, warnings: list[KbWarning]) -> dict[str, Path]:
    """:func:`domain_doc_paths` from the domains alone (``kbgen report`` reads no snapshot)."""
    root = options.domains_path
    result: dict[str, Path] = {}
    used: set[Path] = set()
    for d in domains:
        slug = escape.slug(d.name, f"domain-{d.id}")
        fallback = f"{slug if slug not in _RESERVED_NAMES else f'{slug}-{d.id}'}/analysis.md"
        rel = (d.synthesis_path or "").strip().replace("\\", "/")
        prefix = options.domains_root.as_posix().rstrip("/") + "/"
        rel = rel.removeprefix(prefix) if rel.startswith(prefix) else rel
        try:
            if rel.endswith(".md") and not portable_relpath(rel):
                raise UsageError(f"not a portable relative path: {rel!r}")
            path = safe_join(root, rel) if rel.endswith(".md") else safe_join(root, fallback)
        except KbgenError:
            warnings.append(KbWarning("sync.unsafe-synthesis-path",
                                      f"domain {d.name!r}: synthesis_path {d.synthesis_path!r} is not a safe "
                                      f".md path inside {options.domains_root}; using {fallback}"))
            path = safe_join(root, fallback)
        if path in used:
            path = safe_join(root, f"{escape.slug(d.name)}-{d.id}/analysis.md")
        used.add(path)
        result[d.name] = path
    return result
