"""A plan's Results section as plain-text blocks.

Plans written after their session (retroactive plans) end with the
session's own report: verdict tables (``File | LOC | Realness | Key
Finding``), per-cluster verdict headings and prose. It is the team's text,
shown on the session page as written; nothing in it is a planned file or a
question. Keeping it as structure (heading, paragraph, table, list, code)
rather than as raw markdown lets the page show a table as a table while
every cell still goes through the escaping of ordinary data.
"""

from __future__ import annotations

from collections.abc import Sequence

from kbgen.plan.blocks import Block, collapse_space, inline_children, list_items, plain_text
from kbgen.plan.model import ResultsBlock
from kbgen.plan.tables import read_table


def _inline_text(block: Block) -> str:
    """The text of every inline token in a block (a paragraph, or a quote's paragraphs)."""
    parts = [collapse_space(plain_text(inline_children(t))) for t in block.tokens if t.type == "inline"]
    return "\n\n".join(p for p in parts if p)


def results_blocks(blocks: Sequence[Block]) -> list[ResultsBlock]:
    """The blocks of a Results section, in order; rules and HTML comments are dropped."""
    out: list[ResultsBlock] = []
    for block in blocks:
        if block.kind == "heading":
            level = int(block.tag[1:]) if block.tag[1:].isdigit() else 6
            out.append(ResultsBlock("heading", text=_inline_text(block), level=level))
        elif block.kind in ("paragraph", "blockquote"):
            text = _inline_text(block)
            if text:
                out.append(ResultsBlock("paragraph", text=text))
        elif block.kind == "table":
            table = read_table(block)
            out.append(ResultsBlock("table", rows=(table.header, *(r.cells for r in table.rows))))
        elif block.kind in ("bullet_list", "ordered_list"):
            out.append(ResultsBlock("list", items=tuple(i.text for i in list_items(block)),
                                    ordered=block.kind == "ordered_list"))
        elif block.kind in ("fence", "code_block", "html_block"):
            if block.kind == "html_block" and block.content.lstrip().startswith("<!--"):
                continue  # an author's comment, not part of the report
            out.append(ResultsBlock("code", text=block.content.rstrip("\n")))
    return out
