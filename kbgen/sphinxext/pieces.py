"""What a page takes from a file it includes in pieces, so that only a change to those pieces re-reads it.

Sphinx re-reads a page whenever a file it includes is newer than the page's last reading. A
domain page of a knowledge base includes its domain document piece by piece, around the
blocks shown on pages of their own (:mod:`kbgen.render.registry_pages`): a session that changes
only such a block (the Knowledge Gaps of a domain it did not touch, whose reasons count DEEP
files that session read) made Sphinx re-read the whole domain page, to the same doctree.

This module reads a page's ``{include}`` directives (``start-after``/``end-before`` on marker
text, as kbgen writes them) and fingerprints what each takes from the file: the text of every
piece and the line it starts at (the doctree's line numbers follow it), sliced as myst-parser
slices it. :mod:`kbgen.sphinxext.sources` records that fingerprint in place of the file's size and
time, and a page whose sources all still match is taken out of the pages Sphinx would re-read
for a newer include. Anything this module does not model (another option, a directive written
another way, an ``include-read`` handler that may rewrite the text) leaves the page to Sphinx's
own rule.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

#: One include directive as kbgen writes it: backtick fence, the argument, option lines, fence.
_INCLUDE = re.compile(r"^```\{include\}[ \t]+(?P<arg>[^\n]+)\n(?P<options>(?::[A-Za-z-]+:[^\n]*\n)*)```[ \t]*$",
                      re.MULTILINE)
#: The options whose effect :func:`fingerprint` reproduces (the two ``relative-`` ones rewrite links
#: and image paths from the including page, which is unchanged when this module is asked).
_MODELLED = frozenset({"relative-docs", "relative-images", "start-after", "end-before"})

#: (start-after, end-before) of one piece; None where the directive does not say.
Piece = tuple[str | None, str | None]


def included_pieces(source: str, page_dir: Path, srcdir: Path) -> dict[str, tuple[Piece, ...]] | None:
    """File (normalised absolute path) → the pieces ``source`` includes of it, in page order.

    None when the page has an include this module cannot vouch for: then it says nothing about
    the page's includes, and Sphinx's rule holds.
    """
    if "{include}" not in source:
        return {}
    found = list(_INCLUDE.finditer(source))
    if len(found) != source.count("{include}"):
        return None
    pieces: dict[str, list[Piece]] = {}
    for match in found:
        options: dict[str, str | None] = {}
        for line in match["options"].splitlines():
            name, _, value = line[1:].partition(":")
            if name not in _MODELLED:
                return None
            options[name] = _option_value(value.strip())
        arg = match["arg"].strip()
        base = srcdir if arg.startswith("/") else page_dir
        path = normalised(base / arg.lstrip("/"))
        pieces.setdefault(path, []).append((options.get("start-after"), options.get("end-before")))
    return {path: tuple(items) for path, items in pieces.items()}


def _option_value(value: str) -> str | None:
    """A marker option's value as myst-parser reads it (YAML: kbgen writes JSON-quoted strings)."""
    if value.startswith('"'):
        try:
            decoded = json.loads(value)
        except ValueError:
            return None
        return decoded if isinstance(decoded, str) else None
    return value or None


def normalised(path: Path | str) -> str:
    return os.path.normpath(os.path.abspath(path))


def fingerprint(path: str, pieces: tuple[Piece, ...]) -> str | None:
    """A digest of what ``pieces`` take from the file: each piece's text and first line, as myst-parser
    cuts them (lines joined with ``\\n``, then ``start-after``, then ``end-before``). None when the file
    cannot be read or a marker is missing (myst-parser fails on the page: it must be read again)."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    whole = "\n".join(raw.splitlines())
    digest = hashlib.sha256()
    for after, before in pieces:
        text, first = whole, 0
        if after:
            at = text.find(after)
            if at < 0:
                return None
            first += text.count("\n", 0, at + len(after))
            text = text[at + len(after):]
        if before:
            at = text.find(before)
            if at < 0:
                return None
            text = text[:at]
        digest.update(json.dumps([after, before, first, text]).encode("utf-8"))
    return digest.hexdigest()
