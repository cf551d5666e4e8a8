"""What a page takes from a file it includes in pieces (kbgen/sphinxext/pieces.py).

The fingerprint must change whenever what myst-parser would include changes (the pieces' text or
the line a piece starts at), and only then; a directive the module does not model makes it say
nothing. The real builds are in tests/test_registry_pages.py.
"""

from __future__ import annotations

from pathlib import Path

from kbgen.render.registry_pages import _include
from kbgen.sphinxext import pieces

DOCUMENT = """# Demo

Narrative before.

<!-- kbgen:begin gaps -->
| File | Why |
|---|---|
| `a.ts` | 3 DEEP files in src/a |
<!-- kbgen:end gaps -->

## 8. Session Log

Narrative after.
"""
BEGIN, END = "<!-- kbgen:begin gaps -->", "<!-- kbgen:end gaps -->"


def _page(tmp_path: Path) -> tuple[str, Path, str]:
    """A domain page's source around the gaps block, its folder, and the included file's path."""
    srcdir = tmp_path / "docs"
    page_dir = srcdir / "kb" / "domains"
    page_dir.mkdir(parents=True)
    document = tmp_path / "domains" / "demo" / "analysis.md"
    document.parent.mkdir(parents=True)
    document.write_text(DOCUMENT, encoding="utf-8")
    source = ("# Demo\n\n" + _include("../../../domains/demo/analysis.md", None, BEGIN) + "\nGaps: elsewhere.\n\n"
              + _include("../../../domains/demo/analysis.md", END, None))
    return source, page_dir, pieces.normalised(document)


def test_the_pieces_of_kbgen_includes_are_read(tmp_path: Path) -> None:
    source, page_dir, path = _page(tmp_path)
    found = pieces.included_pieces(source, page_dir, tmp_path / "docs")
    assert found == {path: ((None, BEGIN), (END, None))}
    whole = pieces.included_pieces(_include("../../../domains/demo/analysis.md", None, None), page_dir,
                                   tmp_path / "docs")
    assert whole == {path: ((None, None),)}
    assert pieces.included_pieces("# No include\n", page_dir, tmp_path / "docs") == {}


def test_an_include_it_does_not_model_makes_it_say_nothing(tmp_path: Path) -> None:
    source, page_dir, _ = _page(tmp_path)
    srcdir = tmp_path / "docs"
    assert pieces.included_pieces(source.replace(":relative-images:\n", ":start-line: 3\n", 1), page_dir,
                                  srcdir) is None
    assert pieces.included_pieces(source + "\n:::{include} other.md\n:::\n", page_dir, srcdir) is None
    assert pieces.included_pieces(source + "\nSee the `{include}` directive.\n", page_dir, srcdir) is None


def test_the_fingerprint_follows_the_pieces_alone(tmp_path: Path) -> None:
    source, page_dir, path = _page(tmp_path)
    taken = pieces.included_pieces(source, page_dir, tmp_path / "docs")[path]  # type: ignore[index]
    document = Path(path)
    before = pieces.fingerprint(path, taken)
    assert before is not None

    def after(text: str) -> str | None:
        document.write_text(text, encoding="utf-8")
        return pieces.fingerprint(path, taken)

    # The block between the pieces changes, same number of lines: nothing the page shows changed.
    assert after(DOCUMENT.replace("3 DEEP files", "18 DEEP files")) == before
    assert after(DOCUMENT.replace("\n", "\r\n")) == before  # myst-parser joins the lines with \n
    # A piece changes, or a piece starts on another line (the doctree's line numbers follow it).
    assert after(DOCUMENT.replace("Narrative after.", "Narrative after, edited.")) != before
    assert after(DOCUMENT.replace("Narrative before.", "Narrative, edited.")) != before
    assert after(DOCUMENT.replace("| `a.ts` |", "| `b.ts` | 1 |\n| `a.ts` |")) != before
    # A marker gone (myst-parser fails on the page) or the file gone: no fingerprint.
    assert after(DOCUMENT.replace(END, "")) is None
    document.unlink()
    assert pieces.fingerprint(path, taken) is None
