"""The example knowledge base's landing page links kbgen where a scaffolded project's index does."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_KBGEN_LINK = re.compile(r"\[kbgen\]\(([^)]*)\)")


def _kbgen_links(path: Path) -> list[str]:
    return _KBGEN_LINK.findall(path.read_text(encoding="utf-8"))


def test_example_index_links_kbgen_like_the_scaffold() -> None:
    scaffold = _kbgen_links(ROOT / "kbgen" / "scaffold" / "files" / "index.md")
    example = _kbgen_links(ROOT / "docs" / "index.md")
    assert scaffold and example
    assert set(example) == set(scaffold), "a bare https://github.com/ tells a reader nothing"
