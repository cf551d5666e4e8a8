"""Pagefind's index follows the change: each build indexes the pages whose content it changed into a
delta bundle of its own, the search page merges the stack with the main bundle and never shows a
replaced page's old text.

Real builds of the example knowledge base (real ``sphinx-build``, the real Pagefind binary), the
bundles read back from disk (no browser needed), then the search page driven in Chromium over HTTP:
findings added after a full build are found, a page changed by two builds is listed once with its
newest text, text a newer bundle replaced is no longer found, nor is a removed page.
(tests/test_pagefind_stack.py tests the stack's logic on small hand-written sites.)"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, insert, select, update

from kbgen import pagefind
from kbgen.build import build_site, doctrees_path
from kbgen.config import Options
from kbgen.db import research
from kbgen.db.engine import open_engine, resolve_url
from kbgen.sync import sync

pytestmark = pytest.mark.slow

NEW_PHRASE = "zanzibar quokka overflow"
#: A phrase of F25's title (session R3), replaced below.
OLD_PHRASE = "preopens the site root"
REPLACEMENT = "wombat capability leak"
#: The second build's: another new finding, and F25's title replaced again.
SECOND_PHRASE = "kestrel marmot underflow"
NEWEST = "platypus descriptor race"
ABOUT_PHRASE = "quetzal lantern archive"


def _require_pagefind() -> None:
    if not pagefind.pagefind_available():
        pytest.skip("the Pagefind binary does not run here")


def _add_finding(options: Options, description: str) -> int:
    engine = open_engine(resolve_url(options.database, options.project_dir))
    try:
        with engine.begin() as conn:
            fid = int(conn.execute(select(func.max(research.findings.c.id))).scalar() or 0) + 1
            file_id = conn.execute(select(research.findings.c.file_id)
                                   .where(research.findings.c.session_id == 3).limit(1)).scalar()
            conn.execute(insert(research.findings).values(
                id=fid, file_id=file_id, session_id=3, line_start=1, line_end=2, severity="HIGH",
                category="security", description=description, followed_up=0))
    finally:
        engine.dispose()
    return fid


def _rename_finding(options: Options, fid: int, old: str, new: str) -> None:
    engine = open_engine(resolve_url(options.database, options.project_dir))
    try:
        with engine.begin() as conn:
            text = conn.execute(select(research.findings.c.description)
                                .where(research.findings.c.id == fid)).scalar()
            assert old in text
            conn.execute(update(research.findings).where(research.findings.c.id == fid)
                         .values(description=text.replace(old, new)))
    finally:
        engine.dispose()


def _fragments(bundle: Path) -> dict[str, dict[str, object]]:
    """Every entry of a Pagefind bundle by its id: url and indexed text."""
    out: dict[str, dict[str, object]] = {}
    for path in (bundle / "fragment").glob("*.pf_fragment"):
        raw = gzip.decompress(path.read_bytes())
        out[path.name.removesuffix(".pf_fragment")] = json.loads(raw.removeprefix(b"pagefind_dcd"))
    return out


def _manifest(site: Path) -> dict[str, Any]:
    path = site / pagefind.DELTA_SUBDIR / pagefind.DELTA_MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"bundles": [], "superseded": []}


def _delta(site: Path) -> dict[str, dict[str, object]]:
    """Every entry of the delta stack's bundles by its id."""
    out: dict[str, dict[str, object]] = {}
    for bundle in _manifest(site)["bundles"]:
        out.update(_fragments(site / pagefind.DELTA_SUBDIR / bundle))
    return out


def _live(site: Path) -> dict[str, str]:
    """What a search over the merged bundles sees: url → indexed text, replaced entries dropped."""
    manifest = _manifest(site)
    replaced = set(manifest["superseded"])
    bundles = [site / pagefind.PAGEFIND_SUBDIR, *(site / pagefind.DELTA_SUBDIR / b for b in manifest["bundles"])]
    live: dict[str, str] = {}
    seen: set[str] = set()
    for bundle in bundles:
        for fid, entry in _fragments(bundle).items():
            if fid in replaced or fid in seen:  # an entry two bundles hold is listed once
                continue
            seen.add(fid)
            url = str(entry["url"])
            assert url not in live, f"{url} is indexed twice"
            live[url] = str(entry["content"]).lower()
    return live


@pytest.fixture
def delta_project(example_project: Options, monkeypatch: pytest.MonkeyPatch) -> Options:
    """The example built once with Pagefind; the delta is never folded (the example is small: a
    session's pages are more than the fold threshold of its few dozen)."""
    _require_pagefind()
    monkeypatch.setattr(pagefind, "FOLD_SHARE", 1.0)
    first = build_site(example_project)
    assert first.search_update is not None and first.search_update.mode == "full"
    return example_project


def test_a_new_finding_is_indexed_in_the_delta_and_replaces_the_old_page(delta_project: Options) -> None:
    options, site = delta_project, delta_project.build_path
    main_before = _fragments(site / pagefind.PAGEFIND_SUBDIR)
    _add_finding(options, f"The {NEW_PHRASE} in the plugin host")
    sync(options)
    result = build_site(options)
    update = result.search_update
    assert update is not None and update.mode == "delta" and 0 < update.indexed < result.pages / 2

    # the main bundle is untouched; the delta holds the changed pages, the session page among them
    assert _fragments(site / pagefind.PAGEFIND_SUBDIR) == main_before
    delta = _delta(site)
    assert "/kb/sessions/S3.html" in {str(e["url"]) for e in delta.values()}
    live = _live(site)
    assert NEW_PHRASE in live["/kb/sessions/S3.html"]
    assert not any(NEW_PHRASE in str(e["content"]).lower() for e in main_before.values())
    # every page of the site is still found exactly once (_live asserts no duplicates)
    assert len(live) == len(main_before)

    # a second build with nothing changed leaves the bundles alone
    again = build_site(options)
    assert again.mode == "up to date"

    # text the delta replaces is gone from the search: F25 renamed, its old words no longer found
    _rename_finding(options, 25, OLD_PHRASE, REPLACEMENT)
    sync(options)
    third = build_site(options)
    assert third.search_update is not None and third.search_update.mode == "delta"
    live = _live(site)
    assert not any(OLD_PHRASE in text for text in live.values())
    assert any(REPLACEMENT in text for text in live.values())
    assert NEW_PHRASE in live["/kb/sessions/S3.html"]  # the first change is still in the delta


def test_delta_folds_past_the_threshold_and_on_clean(delta_project: Options, monkeypatch: pytest.MonkeyPatch) -> None:
    options, site = delta_project, delta_project.build_path
    _add_finding(options, f"The {NEW_PHRASE} in the plugin host")
    sync(options)
    monkeypatch.setattr(pagefind, "FOLD_SHARE", 0.0)
    result = build_site(options)
    assert result.search_update is not None and result.search_update.mode == "full"
    assert "exceed" in result.search_update.reason
    assert not (site / pagefind.DELTA_SUBDIR).exists()
    assert NEW_PHRASE in _live(site)["/kb/sessions/S3.html"]

    monkeypatch.setattr(pagefind, "FOLD_SHARE", 1.0)
    _rename_finding(options, 25, OLD_PHRASE, REPLACEMENT)
    sync(options)
    assert build_site(options).search_update.mode == "delta"  # type: ignore[union-attr]
    clean = build_site(options, clean=True)
    assert clean.search_update is not None and clean.search_update.mode == "full"
    assert not (site / pagefind.DELTA_SUBDIR).exists()
    assert any(REPLACEMENT in text for text in _live(site).values())


def test_fold_rebuilds_the_main_bundle_without_the_delta(delta_project: Options) -> None:
    options, site = delta_project, delta_project.build_path
    _add_finding(options, f"The {NEW_PHRASE} in the plugin host")
    sync(options)
    build_site(options)
    assert pagefind.has_delta(site)
    folded = pagefind.update_index(site, doctrees_path(options), fold=True)
    assert folded.mode == "full" and not pagefind.has_delta(site)
    assert NEW_PHRASE in _live(site)["/kb/sessions/S3.html"]
    assert build_site(options).mode == "up to date"


def _insert_in_article(page: Path, html: str) -> None:
    text = page.read_text(encoding="utf-8")
    at = text.index(">", text.index('<article class="bd-article')) + 1
    page.write_text(text[:at] + html + text[at:], encoding="utf-8")


def test_a_page_changed_outside_what_pagefind_indexes_keeps_its_main_entry(
        delta_project: Options, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page rewritten with a change Pagefind does not index (a need's metadata row, a link's target)
    gets the very entry the main bundle has: that entry is not superseded, the page counts as
    unchanged for the search (listed once: the search page drops the delta's copy), and Pagefind runs
    once, neither a second time without the page nor over the whole site (the entries' ids used to
    collide)."""
    options, site = delta_project, delta_project.build_path
    runs: list[list[str]] = []
    run = pagefind._run
    monkeypatch.setattr(pagefind, "_run", lambda cmd: (runs.append(cmd), run(cmd))[1])
    main_before = _fragments(site / pagefind.PAGEFIND_SUBDIR)
    s3_entry = next(fid for fid, e in main_before.items() if e["url"] == "/kb/sessions/S3.html")
    _insert_in_article(site / "kb/sessions/S3.html", '<div class="no-search">metadata nobody searches</div>')
    _insert_in_article(site / "about.html", f"<p>The {NEW_PHRASE} of the about page.</p>")
    update = pagefind.update_index(site, doctrees_path(options))
    assert update.mode == "delta" and update.delta_pages == 1 and len(runs) == 1
    assert _fragments(site / pagefind.PAGEFIND_SUBDIR) == main_before
    delta = _delta(site)
    assert {str(e["url"]) for e in delta.values()} == {"/about.html", "/kb/sessions/S3.html"}
    assert s3_entry in delta  # the main bundle's very entry, not superseded
    manifest = _manifest(site)
    assert s3_entry not in manifest["superseded"] and manifest["bundles"] == ["1/"]
    live = _live(site)
    assert NEW_PHRASE in live["/about.html"] and "/kb/sessions/S3.html" in live
    assert len(live) == len(main_before)
    # the page whose entry stayed is recorded as indexed: the next update has nothing new to do
    assert pagefind.update_index(site, doctrees_path(options)).mode == "unchanged"
    # alone, such a change needs no delta at all
    _insert_in_article(site / "kb/sessions/S3.html", '<div class="no-search">more of it</div>')
    assert pagefind.update_index(site, doctrees_path(options)).delta_pages == 1
    delta = _delta(site)
    assert {str(e["url"]) for e in delta.values()} == {"/about.html", "/kb/sessions/S3.html"}


def test_a_change_to_pages_pagefind_does_not_index_needs_no_delta(delta_project: Options) -> None:
    """The search page has no content element: a change to it alone (a new kbgen.js digest in its
    script tag) must not hand Pagefind an empty delta, which it refuses ("not able to build an index")."""
    options, site = delta_project, delta_project.build_path
    search_page = site / "search.html"
    search_page.write_text(search_page.read_text(encoding="utf-8") + "<!-- changed -->\n", encoding="utf-8")
    update = pagefind.update_index(site, doctrees_path(options))
    assert update.mode in ("unchanged", "delta") and update.indexed == 0
    assert not pagefind.has_delta(site)
    assert pagefind.update_index(site, doctrees_path(options)).mode == "unchanged"


# -- in the browser --------------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(delta_project: Options) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(delta_project.build_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _hits(page: Any, served: str, query: str) -> list[str]:
    """The result links the site's search page lists for ``query``."""
    page.goto(served + "search.html?q=" + quote(query))
    page.wait_for_function("document.documentElement.dataset.kbgenSearch === 'pagefind'")
    # "3 results for …" or "No results for …", once the search has run
    page.wait_for_function("/results? for/i.test(document.querySelector('.pagefind-ui__message')"
                           "?.textContent || '')")
    # each result is shown once its fragment is fetched (from whichever bundle holds it): until then a
    # placeholder stands in its place
    page.wait_for_function("document.querySelector('#kbgen-pagefind .pagefind-ui__loading') === null")
    return [str(a.get_attribute("href")) for a in page.locator(".pagefind-ui__result-link").all()]


@contextlib.contextmanager
def _browser_page() -> Iterator[Any]:
    """A page of headless Chromium; no script error may occur on it."""
    from tests.test_browser import CHROMIUM_ARGS, TIMEOUT_MS, _require_browser

    sync_playwright, chromium = _require_browser()
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
        finally:
            browser.close()
    assert errors == [], errors


@pytest.mark.browser
def test_search_page_finds_the_new_finding_once_and_not_the_replaced_text(delta_project: Options,
                                                                         served: str) -> None:
    options = delta_project
    _add_finding(options, f"The {NEW_PHRASE} in the plugin host")
    _rename_finding(options, 25, OLD_PHRASE, REPLACEMENT)
    sync(options)
    result = build_site(options)
    assert result.search_update is not None and result.search_update.mode == "delta"

    with _browser_page() as page:
        found = _hits(page, served, NEW_PHRASE)
        assert any("kb/sessions/S3.html" in href for href in found), found
        # S3 is in both bundles (the delta replaced it): listed once
        assert sum("kb/sessions/S3.html" in href for href in found) == 1, found
        replaced = _hits(page, served, REPLACEMENT)
        assert any("kb/sessions/S3.html" in href for href in replaced), replaced
        # an exact-phrase search: the words of the old title occur on S3 in other places
        assert not any("kb/sessions/S3.html" in href for href in _hits(page, served, f'"{OLD_PHRASE}"'))
        assert any("kb/sessions/S3.html" in href for href in _hits(page, served, f'"{REPLACEMENT}"'))


@pytest.mark.browser
def test_search_page_lists_an_entry_both_bundles_hold_once(delta_project: Options, served: str) -> None:
    """S3 rewritten with a change Pagefind does not index: the delta holds the main bundle's very entry
    for it, not superseded; the search page lists S3 once."""
    options, site = delta_project, delta_project.build_path
    _insert_in_article(site / "kb/sessions/S3.html", '<div class="no-search">metadata nobody searches</div>')
    _insert_in_article(site / "about.html", f"<p>The {NEW_PHRASE} of the about page.</p>")
    pagefind.update_index(site, doctrees_path(options))
    assert "/kb/sessions/S3.html" in {str(e["url"]) for e in _delta(site).values()}

    with _browser_page() as page:
        found = _hits(page, served, f'"{OLD_PHRASE}"')
        assert sum("kb/sessions/S3.html" in href for href in found) == 1, found
        assert any("about.html" in href for href in _hits(page, served, NEW_PHRASE))


@pytest.mark.browser
def test_search_page_after_two_incremental_builds_shows_each_page_once_newest(delta_project: Options,
                                                                             served: str) -> None:
    """A full build, then two builds with a new finding each that both change S3 (F25 renamed twice),
    each indexing its own pages into a bundle of the stack (the first also changes the about page);
    then the about page removed (by hand: the build notices it) is no longer found."""
    options, site = delta_project, delta_project.build_path
    _add_finding(options, f"The {NEW_PHRASE} in the plugin host")
    _rename_finding(options, 25, OLD_PHRASE, REPLACEMENT)
    about = options.docs_path / "about.md"  # a page only the first build changes: its bundle stays
    about.write_text(about.read_text(encoding="utf-8") + f"\nThe {ABOUT_PHRASE} of the about page.\n",
                     encoding="utf-8")
    sync(options)
    first = build_site(options).search_update
    assert first is not None and first.mode == "delta" and first.bundles == 1
    _add_finding(options, f"The {SECOND_PHRASE} in the loader")
    _rename_finding(options, 25, REPLACEMENT, NEWEST)
    sync(options)
    second = build_site(options).search_update
    assert second is not None and second.mode == "delta" and second.bundles == 2
    bundles = _manifest(site)["bundles"]
    for bundle in bundles:  # S3 is in both bundles: the second supersedes the first's entry
        urls = {str(e["url"]) for e in _fragments(site / pagefind.DELTA_SUBDIR / bundle).values()}
        assert "/kb/sessions/S3.html" in urls, bundle
    about_phrase = f'"{ABOUT_PHRASE}"'
    live = _live(site)
    assert NEWEST in live["/kb/sessions/S3.html"] and REPLACEMENT not in live["/kb/sessions/S3.html"]
    assert SECOND_PHRASE in live["/kb/sessions/S3.html"] and ABOUT_PHRASE in live["/about.html"]

    with _browser_page() as page:
        for phrase in (NEW_PHRASE, SECOND_PHRASE, f'"{NEWEST}"'):
            found = _hits(page, served, phrase)
            assert sum("kb/sessions/S3.html" in href for href in found) == 1, (phrase, found)
        # S3's text of the first build (and of the full build) is no longer found
        for phrase in (f'"{REPLACEMENT}"', f'"{OLD_PHRASE}"'):
            assert not any("kb/sessions/S3.html" in href for href in _hits(page, served, phrase)), phrase
        assert any("about.html" in href for href in _hits(page, served, about_phrase)), about_phrase

    (site / "about.html").unlink()
    third = build_site(options).search_update
    assert third is not None and third.mode == "delta" and third.indexed == 0
    with _browser_page() as page:
        assert not any("about.html" in href for href in _hits(page, served, about_phrase))
        assert sum("kb/sessions/S3.html" in href for href in _hits(page, served, SECOND_PHRASE)) == 1
