"""``PageCache.on_disk``: a kept page's file holds the page as the sync writes it exactly when the
dependency line (or the trailing newlines) the sync appends is the one the file has."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbgen.render.deps import DIGEST_PREFIX
from kbgen.render.page_cache import VERIFY_ENV, PageCache


@pytest.fixture(autouse=True)
def _no_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages here render differently on purpose the second time: with ``KBGEN_PAGE_CACHE_VERIFY``
    set by the caller the cache would (rightly) raise instead of keeping them."""
    monkeypatch.delenv(VERIFY_ENV, raising=False)


def _kept(tmp_path: Path, written: str) -> tuple[PageCache, str]:
    """A cache that kept ``page.md`` (written as ``written``), and the page text it gave."""
    (tmp_path / "page.md").write_text(written, encoding="utf-8")
    first = PageCache(tmp_path, "salt")
    rendered = written.split(f"\n\n{DIGEST_PREFIX}")[0] + "\n" if DIGEST_PREFIX in written else written
    first.page("page.md", "inputs", lambda: (rendered, {}))
    first.save()
    cache = PageCache.load(tmp_path, "salt")
    kept, _ = cache.page("page.md", "inputs", lambda: ("rendered again\n", {}))
    assert cache.kept == 1
    return cache, kept


def test_the_same_dependency_line_is_on_disk(tmp_path: Path) -> None:
    cache, kept = _kept(tmp_path, f"# Page\n\nbody\n\n{DIGEST_PREFIX}abc\n")
    assert cache.on_disk("page.md", kept.rstrip("\n") + f"\n\n{DIGEST_PREFIX}abc\n")
    assert not cache.on_disk("page.md", kept.rstrip("\n") + f"\n\n{DIGEST_PREFIX}abd\n")
    assert not cache.on_disk("page.md", kept)  # the line gone
    assert not cache.on_disk("other.md", kept.rstrip("\n") + f"\n\n{DIGEST_PREFIX}abc\n")


def test_a_page_without_dependency_line(tmp_path: Path) -> None:
    cache, kept = _kept(tmp_path, "# Page\n\nbody\n")
    assert cache.on_disk("page.md", kept)
    assert not cache.on_disk("page.md", kept.rstrip("\n") + f"\n\n{DIGEST_PREFIX}abc\n")


def test_a_rendered_page_is_never_on_disk(tmp_path: Path) -> None:
    cache = PageCache(tmp_path, "salt")
    text, _ = cache.page("page.md", "inputs", lambda: ("# Page\n", {}))
    assert not cache.on_disk("page.md", text)
