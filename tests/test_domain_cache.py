"""Domain documents kept by the sync when their domain's data did not change (:mod:`kbgen.render.domain_cache`).

A kept document, page body or registry page must be what the sync would have rendered: after each
change (one domain's data only, a finding moved to another domain, a session renamed, the narrative
or a generated block edited by hand, a new session) the project is synced incrementally with
``KBGEN_PAGE_CACHE_VERIFY`` (kept documents rendered again to compare) and compared byte for byte
with a copy synced from scratch. The registry thresholds are lowered so the example's domains put
their registries on pages of their own, which are kept too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import kbgen.domain.update
import kbgen.render.domain_cache
import kbgen.render.registry_pages
from kbgen.config import Options
from kbgen.render.domain_cache import CACHE_NAME
from kbgen.render.page_cache import VERIFY_ENV, StaleCacheEntry
from kbgen.sync import sync
from tests.test_sync_equivalence import _add_session, _db, _from_scratch, _tree

DOCUMENT = "domains/incremental-build/analysis.md"


@pytest.fixture
def short_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registries long enough to leave the domain page for pages of their own, on the small example."""
    for name in ("INLINE_MAX_ROWS", "LABELS_PER_PAGE", "POSITIVES_PER_PAGE"):
        monkeypatch.setattr(kbgen.render.registry_pages, name, 2)


def _execute(db: Path, *statements: str) -> None:
    with sqlite3.connect(db) as conn:
        for statement in statements:
            assert conn.execute(statement).rowcount > 0, statement


def _edit(options: Options, old: str, new: str) -> None:
    path = options.project_dir / DOCUMENT
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _rendered_documents(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The titles of the domain documents the sync renders from here on."""
    titles: list[str] = []
    real = kbgen.domain.update.render_document

    def counting(existing: str | None, generated: object, *, title: str, path: str = "<document>") -> str:
        titles.append(title)
        return real(existing, generated, title=title, path=path)  # type: ignore[arg-type]
    monkeypatch.setattr(kbgen.domain.update, "render_document", counting)
    return titles


def _same_as_from_scratch(options: Options, tmp: Path, what: str) -> None:
    fresh = _from_scratch(options, tmp / "fresh")
    ours, theirs = _tree(options), _tree(fresh)
    differ = sorted(rel for rel in ours.keys() | theirs.keys() if ours.get(rel) != theirs.get(rel))
    assert not differ, f"after {what}: the incremental sync differs from a sync from scratch: {differ[:10]}"


@pytest.mark.slow
@pytest.mark.usefixtures("short_registries")
def test_incremental_domains_equal_sync_from_scratch(example_project: Options, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VERIFY_ENV, "1")
    options = example_project
    db = _db(options)
    sync(options, force=True)  # the registry pages of the lowered thresholds, and the cache's entries
    assert list((options.generated_path / "domains" / "incremental-build").glob("*.md")), "no registry page"
    steps: list[tuple[str, Callable[[], None]]] = [
        ("one domain's file notes edited", lambda: _execute(
            db, "UPDATE files SET notes = 'Notes edited by the test.' WHERE id = 3002")),
        ("a finding moved to a file of another domain", lambda: _execute(
            db, "UPDATE findings SET file_id = 2001 WHERE id = 3")),
        ("a session renamed", lambda: _execute(db, "UPDATE sessions SET name = 'R1-renamed' WHERE id = 1")),
        ("a finding's text edited", lambda: _execute(
            db, "UPDATE findings SET description = 'Edited by the test.' WHERE id = 4")),
        ("the narrative edited by hand", lambda: _edit(
            options, "## 5. Subsystem Sections\n", "## 5. Subsystem Sections\n\nA paragraph added by hand.\n")),
        ("a generated block edited by hand", lambda: _edit(
            options, "<!-- kbgen:begin dependencies -->\n", "<!-- kbgen:begin dependencies -->\n\nStale text.\n")),
        ("a new session with reads and findings", lambda: _add_session(db)),
    ]
    for name, change in steps:
        change()
        sync(options)
        assert (options.generated_path / CACHE_NAME).is_file()
        _same_as_from_scratch(options, tmp_path, name)


@pytest.mark.usefixtures("short_registries")
def test_only_the_changed_domain_is_rendered(example_project: Options, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A change to one domain's data renders that domain's document, and keeps the others and their pages."""
    monkeypatch.delenv(VERIFY_ENV, raising=False)  # the guard renders kept documents too: not here
    options = example_project
    sync(options, force=True)
    rendered = _rendered_documents(monkeypatch)
    _execute(_db(options), "UPDATE files SET notes = 'Notes edited by the test.' WHERE id = 3002")
    report = sync(options)
    assert rendered == ["Python Bindings"]
    assert any(w.endswith("python-bindings/analysis.md") for w in report.written)
    assert report.kept > 0  # among them the registry pages of the domains kept
    monkeypatch.undo()  # the real renderer for the sync from scratch, the lowered thresholds again
    for name in ("INLINE_MAX_ROWS", "LABELS_PER_PAGE", "POSITIVES_PER_PAGE"):
        monkeypatch.setattr(kbgen.render.registry_pages, name, 2)
    _same_as_from_scratch(options, tmp_path, "one domain's file notes edited")


def test_a_document_edited_by_hand_is_rendered_again(example_project: Options, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A document on disk other than the one written is never kept: a generated block edited by hand is
    put right, though no data changed."""
    monkeypatch.delenv(VERIFY_ENV, raising=False)
    options = example_project
    sync(options, force=True)
    _edit(options, "<!-- kbgen:begin dependencies -->\n", "<!-- kbgen:begin dependencies -->\n\nStale text.\n")
    rendered = _rendered_documents(monkeypatch)
    sync(options)
    assert rendered == ["Incremental Build"]
    assert "Stale text." not in (options.project_dir / DOCUMENT).read_text(encoding="utf-8")
    monkeypatch.undo()
    _same_as_from_scratch(options, tmp_path, "a generated block edited by hand")


def test_a_digest_missing_an_input_is_caught(example_project: Options, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``KBGEN_PAGE_CACHE_VERIFY``, a domain kept although what it shows changed raises."""
    monkeypatch.setattr(kbgen.render.domain_cache, "domain_inputs", lambda snap, domain, options, path: "same")
    options = example_project
    sync(options, force=True)
    _execute(_db(options), "UPDATE findings SET description = 'Edited by the test.' WHERE id = 4")
    monkeypatch.setenv(VERIFY_ENV, "1")
    with pytest.raises(StaleCacheEntry, match="domain document kept"):
        sync(options)


def test_a_cache_of_another_kbgen_is_not_used(example_project: Options, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another salt (code, options, libraries): every document is rendered."""
    monkeypatch.delenv(VERIFY_ENV, raising=False)
    options = example_project
    sync(options, force=True)
    cache_file = options.generated_path / CACHE_NAME
    cache_file.write_text(cache_file.read_text(encoding="utf-8").replace('"salt": "', '"salt": "x'), encoding="utf-8")
    rendered = _rendered_documents(monkeypatch)
    _execute(_db(options), "UPDATE files SET notes = 'Notes edited by the test.' WHERE id = 3002")
    sync(options)
    assert len(rendered) == 4


@pytest.mark.usefixtures("short_registries")
def test_a_tampered_cache_is_not_trusted(example_project: Options, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry of the cache's file edited by hand (its page body, its registry pages) renders its domain again."""
    import json

    monkeypatch.delenv(VERIFY_ENV, raising=False)
    options = example_project
    sync(options, force=True)
    cache_file = options.generated_path / CACHE_NAME
    data = json.loads(cache_file.read_text(encoding="utf-8"))
    entry = data["domains"]["live-preview"]
    assert entry[3], "the domain has registry pages"
    entry[2] = "A body edited by hand.\n"
    entry[3] = [*entry[3][:1], "kb/domains/live-preview/no-such-page"]
    cache_file.write_text(json.dumps(data), encoding="utf-8")
    rendered = _rendered_documents(monkeypatch)
    _execute(_db(options), "UPDATE files SET notes = 'Notes edited by the test.' WHERE id = 3002")
    sync(options)
    assert sorted(rendered) == ["Live Preview", "Python Bindings"]
    assert "edited by hand" not in (options.generated_path / "domains" / "live-preview.md").read_text(encoding="utf-8")
    monkeypatch.undo()
    for name in ("INLINE_MAX_ROWS", "LABELS_PER_PAGE", "POSITIVES_PER_PAGE"):
        monkeypatch.setattr(kbgen.render.registry_pages, name, 2)
    _same_as_from_scratch(options, tmp_path, "the cache's file edited by hand")
