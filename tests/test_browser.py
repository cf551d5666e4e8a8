"""The built example site in a real browser: Debian's Chromium, driven by Playwright.

A reader's path through the site, over HTTP from a local server: search a
phrase of a finding with the theme's search box — the first hit is the
finding itself (its head line as title, its text as excerpt, a link to its
anchor) — open the hit, open the planned session from the session index,
click a question's answer link and land on the finding; question IDs, file
paths and finding labels are found too. Pages read well: a domain page's
File Registry fits the article's width, a file page shows its findings'
text, backticked text in a finding is code, needs without text show no
empty body. Then the same search with the Pagefind bundle blocked, which
must fall back to Sphinx's own index. Screenshots of every step go to
``tests/artifacts/`` (kept by CI as artifacts).

No downloaded browsers: Playwright launches the Chromium found on ``PATH``
(Debian's ``chromium`` package). Without one the test is skipped, with a
line naming that package, unless ``KBGEN_REQUIRE_BROWSER=1`` (CI) makes that
a failure.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from kbgen.build import build_site
from kbgen.config import Options

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Names a Chromium goes by on PATH (Debian: chromium; Ubuntu's older packages: chromium-browser).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
#: F25 of the bundled example (session R3, answers question Q3-1012).
FINDING, QUESTION, PHRASE = "F25", "Q3-1012", "preopens the site root"
TIMEOUT_MS = 20_000
#: A file page with a dependency graph (src/plugin/host.rs).
FILE_PAGE = "kb/files/FILE1012.html"
#: query → a page among its first results: a question ID, a file path, a finding label, a finding ID.
FINDABLE = {QUESTION: "kb/sessions/S3.html", "src/plugin/host.rs": "kb/files/FILE1012.html",
            "C1": "kb/domains/plugin-sandbox.html", FINDING: "kb/sessions/S3.html"}
#: Part of a path or identifier, typed with its punctuation: the first hit is its file or finding.
FIRST_HIT = {"telemetry.ts": "kb/files/FILE2009.html", "memory_size": "kb/sessions/S3.html#F31"}


def find_chromium() -> str | None:
    """The first Chromium on PATH."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _require_browser() -> tuple[Any, str]:
    """(playwright's sync_playwright, the Chromium to launch), or a skip (a failure when required)."""
    required = os.environ.get("KBGEN_REQUIRE_BROWSER") == "1"
    reason = None
    chromium = find_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = f"playwright is not installed ({exc}): pip install -e '.[test]'"
    if reason is None and chromium is None:
        reason = "no Chromium on PATH: install Debian's chromium package (apt-get install chromium)"
    if reason:
        if required:
            pytest.fail(f"the browser test is required (KBGEN_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
    assert chromium is not None
    return sync_playwright, chromium


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def browser_kit() -> tuple[Any, str]:
    """Checked before the site is built: a missing browser skips at once."""
    return _require_browser()


@pytest.fixture
def site_url(browser_kit: tuple[Any, str], example_project: Options) -> Iterator[str]:
    """The example site, built strictly, served over HTTP on a free port."""
    build_site(example_project, strict=True)
    handler = functools.partial(_Quiet, directory=str(example_project.build_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"))


def _in_viewport(page: Any, selector: str) -> bool:
    return bool(page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.top >= 0 && r.top < window.innerHeight; }""", selector))


def test_reader_finds_a_finding_and_follows_a_question_to_it(browser_kit: tuple[Any, str], site_url: str,
                                                             example_project: Options) -> None:
    sync_playwright, chromium = browser_kit
    needs = json.loads((example_project.build_path / "needs.json").read_text(encoding="utf-8"))
    current = needs["versions"][needs["current_version"]]["needs"]
    assert PHRASE in current[FINDING]["title"], "the example data changed: pick another phrase"
    assert FINDING in current[QUESTION].get("answers_back", []) or QUESTION in current[FINDING]["answers"]

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # 1. the home page, then the theme's search box (the search button opens a dialog)
            page.goto(site_url + "index.html")
            _shot(page, "01-home")
            page.click("button.search-button-field")
            box = page.locator("#pst-search-dialog input[name='q']")
            box.fill(PHRASE)
            box.press("Enter")
            page.wait_for_url("**/search.html?q=*")
            page.wait_for_function("document.documentElement.dataset.kbgenSearch !== undefined")
            engine = page.evaluate("document.documentElement.dataset.kbgenSearch")
            hit_selector = (".pagefind-ui__result-link[href*='sessions/S3.html']" if engine == "pagefind"
                            else "#search-results a[href*='sessions/S3.html']")
            hit = page.locator(hit_selector).first
            hit.wait_for()
            _shot(page, "02-search-results")
            if engine == "pagefind":
                # the first result is the finding: its head line (no permalink sign), its text, its anchor
                first = page.locator(".pagefind-ui__result").first
                link = first.locator(".pagefind-ui__result-link").first
                assert (link.get_attribute("href") or "").endswith(f"#{FINDING}"), link.get_attribute("href")
                assert "#" not in link.inner_text() and FINDING in link.inner_text()
                excerpt = first.locator(".pagefind-ui__result-excerpt").first.inner_text()
                assert PHRASE in excerpt and "followed_up" not in excerpt and "severity_raw" not in excerpt
                hit = link

            # 2. open the hit: the session page that holds the finding, scrolled to it
            hit.click()
            page.wait_for_url("**/kb/sessions/S3.html*")
            finding = page.locator(f"table.need:has(#{FINDING})")
            assert PHRASE in finding.inner_text()
            if engine == "pagefind":
                page.wait_for_timeout(300)
                assert _in_viewport(page, f"#{FINDING}")
            # backticked text of the finding is code; the rest of its text is plain
            assert finding.locator("td.need.content code", has_text="PluginHost::load").count() == 1
            assert "`" not in finding.locator("td.need.content").inner_text()
            _shot(page, "03-search-hit")

            # 3. the planned session, reached from the session index
            page.goto(site_url + "kb/sessions/index.html")
            page.locator("article a", has_text="Sessions R1").first.click()
            page.locator("article a[href*='S3.html']").first.click()
            page.wait_for_url("**/kb/sessions/S3.html*")
            question = page.locator(f"table.need:has(#{QUESTION})")
            question.scroll_into_view_if_needed()
            _shot(page, "04-planned-session")

            # 3b. no need shows an empty body under its title, no label is printed twice
            assert page.evaluate("""() => [...document.querySelectorAll('table.need tr.need.content')]
                .filter(tr => !tr.querySelector('td > *') && tr.getBoundingClientRect().height > 0).length""") == 0
            assert not re.search(r"\(inferred[^)]*\)\s*\(inferred", page.locator("article").inner_text())
            # 3c. a question answered in part is badged as such, not as answered
            badges = page.evaluate("""() => Object.fromEntries(['Q3-2003', 'Q3-1012'].map(id =>
                [id, document.querySelector('table.need:has(#' + id + ') .kb-sev-badge').textContent]))""")
            assert badges == {"Q3-2003": "PARTLY ANSWERED", "Q3-1012": "ANSWERED"}, badges

            # 4. a question's answer link lands on the finding
            question.locator(f"a[href='#{FINDING}']:visible").first.click()
            page.wait_for_function(f"window.location.hash === '#{FINDING}'")
            page.wait_for_timeout(300)  # smooth scrolling
            assert _in_viewport(page, f"#{FINDING}")
            badge = finding.locator(".kb-sev-badge")
            assert badge.inner_text().strip() == "CRITICAL"
            _shot(page, "05-answer-finding")

            # 5. dark mode: severity badge still distinct from the page background
            dark = browser.new_page(viewport={"width": 1366, "height": 900}, color_scheme="dark")
            dark.goto(site_url + f"kb/sessions/S3.html#{FINDING}")
            colours = dark.evaluate(
                """(id) => { const b = document.querySelector('#' + id + ' .kb-sev-badge');
                             return [getComputedStyle(b).backgroundColor,
                                     getComputedStyle(document.body).backgroundColor,
                                     document.documentElement.dataset.theme]; }""", FINDING)
            assert colours[2] == "dark" and colours[0] != colours[1]
            _shot(dark, "06-dark-mode")

            # 5b. a domain page's File Registry fits the article: every column visible, no sideways scrolling
            page.goto(site_url + "kb/domains/incremental-build.html")
            registry = page.locator("article table:not(.need)").first
            assert [h.strip() for h in registry.locator("th").all_inner_texts()] == [
                "File", "Package", "LOC", "Real%", "Depth", "Key Verdict", "Session"]
            widths = page.evaluate("""() => [...document.querySelectorAll('article table:not(.need)')].map(t => {
                const box = t.closest('.pst-scrollable-table-container') || t.parentElement;
                return [t.scrollWidth, box.clientWidth, t.getBoundingClientRect().right,
                        document.querySelector('article').getBoundingClientRect().right]; })""")
            for table_width, box_width, right, article_right in widths:
                assert table_width <= box_width + 1 and right <= article_right + 1, widths
            registry.scroll_into_view_if_needed()
            _shot(page, "05b-file-registry")
            # a verdict cut short links to the file page, which has the whole text and each finding's text
            page.locator("article table:not(.need) a", has_text="more").first.click()
            page.wait_for_url("**/kb/files/FILE*.html")
            page.goto(site_url + "kb/files/FILE1012.html")
            findings = page.locator("article table:not(.need)", has=page.locator("th", has_text="Description"))
            assert PHRASE in findings.inner_text()
            assert findings.locator("code", has_text="PluginHost::load").count() >= 1
            _shot(page, "05c-file-page")

            # 6. IDs, paths and labels are findable too (Pagefind only: Sphinx's index drops digit tokens)
            if engine == "pagefind":
                for query, expected in FINDABLE.items():
                    page.goto(site_url + "search.html?q=" + quote(query))
                    page.locator(f".pagefind-ui__result-link[href*='{expected}']").first.wait_for()
                for query, expected in FIRST_HIT.items():
                    page.goto(site_url + "search.html?q=" + quote(query))
                    first_link = page.locator(".pagefind-ui__result .pagefind-ui__result-link").first
                    first_link.wait_for()
                    href = first_link.get_attribute("href") or ""
                    assert expected in href, (query, href)

            # 7. without the Pagefind bundle the search page falls back to Sphinx's index
            plain = browser.new_page(viewport={"width": 1366, "height": 900})
            plain.set_default_timeout(TIMEOUT_MS)
            plain.route("**/pagefind/**", lambda route: route.abort())
            plain.goto(site_url + "search.html?q=" + PHRASE.replace(" ", "+"))
            plain.wait_for_function("document.documentElement.dataset.kbgenSearch === 'sphinx'")
            plain.locator("#search-results a[href*='sessions/S3.html']").first.wait_for()
            _shot(plain, "07-sphinx-search-fallback")

            # 8. the file page's dependency graph is inline SVG whose nodes link to their files' pages
            page.goto(site_url + FILE_PAGE)
            graph = page.locator("div.kbgen-graph svg")
            graph.scroll_into_view_if_needed()
            box = graph.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 30  # drawn, not an empty box
            _shot(page, "08-dependency-graph")
            neighbour = page.locator(f"div.kbgen-graph svg a:not([href='{Path(FILE_PAGE).name}'])").first
            target = neighbour.get_attribute("href")
            assert target and target.startswith("FILE") and target.endswith(".html")
            neighbour.click()
            page.wait_for_url(f"**/kb/files/{target}")
            assert page.locator("div.kbgen-graph svg").count() == 1  # the neighbour's own graph

            # 9. on a phone the long site title gives way: no sideways scrolling, search on screen
            phone = browser.new_page(viewport={"width": 420, "height": 800})
            phone.set_default_timeout(TIMEOUT_MS)
            phone.goto(site_url + "index.html")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 420
            search = phone.locator(".navbar-persistent--mobile .search-button__button").bounding_box()
            assert search is not None and search["x"] >= 0 and search["x"] + search["width"] <= 420, search
            _shot(phone, "09-phone-header")

            # 10. a table box taller than the screen scrolls inside itself and says so until its end
            short = browser.new_page(viewport={"width": 1100, "height": 500})
            short.set_default_timeout(TIMEOUT_MS)
            short.goto(site_url + "kb/files/index.html")
            boxes = short.locator(".bd-article .pst-scrollable-table-container")
            tall = [i for i in range(boxes.count())
                    if boxes.nth(i).evaluate("e => e.scrollHeight > e.clientHeight + 1")]
            assert tall, "no table box on the files page scrolls at 500 px: pick a page with a longer table"
            box = boxes.nth(tall[0])
            assert "kb-more-below" in (box.get_attribute("class") or "")
            box.evaluate("e => e.scrollIntoView({block: 'end'})")
            _shot(short, "10-table-more-below")
            box.evaluate("e => { e.scrollTop = e.scrollHeight; e.dispatchEvent(new Event('scroll')); }")
            short.wait_for_function("e => !e.classList.contains('kb-more-below')", arg=box.element_handle())
        finally:
            browser.close()
    assert errors == [], errors
