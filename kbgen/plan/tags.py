"""``## Domain Tags`` bullets: which planned files belong to which domains.

Plans write ``- Files 501-503 → `parsing` (already tagged)``, ``- Files 610,
611 → `build-cache` `` or ``- All files → `a`, `b` ``. A range stands for
the plan's own files within it (a plan tags what it plans; 4455-4476 does
not mean twenty-two files), an explicit ID is kept as written.
"""

from __future__ import annotations

import re

from markdown_it.token import Token

from kbgen.plan.blocks import ListItem, code_spans, plain_text
from kbgen.plan.model import DomainTag

_ARROW = re.compile(r"→|->|=>")
_ID_RANGE = re.compile(r"([0-9]+)\s*(?:-|–|—|\.\.)\s*([0-9]+)|([0-9]+)")


def _split_at_arrow(children: tuple[Token, ...]) -> tuple[list[Token], list[Token]] | None:
    """The tokens before and after the ``→`` of a domain-tag bullet (None: no arrow)."""
    for index, tok in enumerate(children):
        if tok.type == "text" and _ARROW.search(tok.content):
            before, after = _ARROW.split(tok.content, maxsplit=1)
            return ([*children[:index], Token("text", "", 0, content=before)],
                    [Token("text", "", 0, content=after), *children[index + 1:]])
    return None


def domain_tags(items: list[ListItem], file_ids: tuple[int, ...]) -> list[DomainTag]:
    """``Files 501-503 → `parsing` `` bullets; a range means the plan's files within it."""
    tags: list[DomainTag] = []
    for item in items:
        sides = _split_at_arrow(item.children)
        if sides is None:
            continue
        left, right = sides
        domains = code_spans(right) or [
            d.strip() for d in re.sub(r"\([^)]*\)", "", plain_text(right)).split(",") if d.strip()]
        scope = plain_text(left)
        everything = "all" in scope.lower().split()
        ids: list[int] = list(file_ids) if everything else []
        for match in _ID_RANGE.finditer("" if everything else scope):
            if match.group(3):
                ids.append(int(match.group(3)))
            else:
                low, high = sorted((int(match.group(1)), int(match.group(2))))
                ids.extend(i for i in file_ids if low <= i <= high)
        tags.append(DomainTag(tuple(dict.fromkeys(ids)), tuple(domains), item.line, everything))
    return tags
