"""An edit rewrites the pages that show what it changed, and no others (kbgen/sphinxext/deps.py).

Real incremental builds of the example knowledge base. Which HTML pages a build wrote is read
from their modification times; the expected sets are derived from what each edit touches:

* a paragraph of a hand-written page, or of a domain document's narrative: that page alone (not
  the pages listing it in a hidden toctree, whose navigation did not change);
* a label a hand-written page defines: also the pages linking to it;
* a hand-written need: also the pages showing the needs it links to (their back links);
* a page title in the navigation: every page (and the build says so);
* any need changed: also the pages with a sphinx-needs table.

The same happens with a plain ``sphinx-build`` after ``kbgen build`` (the dependency tracking
lives in the Sphinx extension), shown in tests/test_one_environment.py.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from kbgen.build import build_site
from kbgen.config import Options
from kbgen.sync import sync

pytestmark = pytest.mark.slow

#: Pages Sphinx writes on every build whatever changed: the index, the search page and
#: sphinx-needs' permalink page have no source document; the root document is always written.
ALWAYS = {"genindex.html", "search.html", "permalink.html", "index.html"}


def _pages(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*.html")
            if not p.relative_to(site).parts[0].startswith(("_", "pagefind"))}


def _rewritten(site: Path, before: dict[str, int]) -> set[str]:
    after = _pages(site)
    return {rel for rel, mtime in after.items() if before.get(rel) != mtime} - ALWAYS


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.fixture
def built(example_project: Options) -> Options:
    result = build_site(example_project, search="sphinx")
    assert result.mode == "fresh" and result.warnings == 0
    time.sleep(0.01)  # distinct modification times for the pages the next build writes
    return example_project


def _build(options: Options, notes: list[str] | None = None) -> set[str]:
    site = options.build_path
    before = _pages(site)
    result = build_site(options, search="sphinx", quiet=True)
    assert result.mode == "incremental", result.mode
    rewritten = _rewritten(site, before)
    # the build counts what Sphinx wrote: every page above, plus those written on every build
    assert result.written is not None and result.written >= len(rewritten)
    if notes is not None:
        notes += result.notes
    return rewritten


def test_a_paragraph_of_a_hand_written_page_rewrites_that_page_alone(built: Options) -> None:
    needs_json = built.build_path / "needs.json"
    written = needs_json.stat().st_mtime_ns
    _append(built.docs_path / "about.md", "\nA paragraph about narwhals, added by hand.\n")
    notes: list[str] = []
    assert _build(built, notes) == {"about.html"}
    assert "narwhals" in (built.build_path / "about.html").read_text(encoding="utf-8")
    # no need changed: needs.json is not written again (kbgen/sphinxext/needsjson.py)
    assert needs_json.stat().st_mtime_ns == written
    assert any("needs.json kept" in note for note in notes), notes


def test_a_blank_line_in_the_landing_page_rewrites_the_landing_page_alone(built: Options) -> None:
    _append(built.docs_path / "index.md", "\n")
    assert _build(built) == set()  # index.html, written on every build (ALWAYS)


def test_a_domain_narrative_edit_rewrites_its_domain_page_alone(built: Options) -> None:
    document = built.domains_path / "plugin-sandbox" / "analysis.md"
    _edit(document, "The registry does not verify", "The registry (as of this week) does not verify")
    report = sync(built)
    assert report.written == []  # the narrative is the team's: sync keeps it and writes nothing
    # alone: the domains index lists it in a hidden toctree, and its title (the navigation) did not
    # change (kbgen/sphinxext/parents.py; Sphinx would write every page whose toctree lists it)
    assert _build(built) == {"kb/domains/plugin-sandbox.html"}
    assert "as of this week" in (built.build_path / "kb/domains/plugin-sandbox.html").read_text(encoding="utf-8")


def _edit_keeping_time(path: Path, old: str, new: str) -> None:
    """An edit that leaves the file's old modification time, as ``cp -p``, ``rsync -t`` or a
    machine whose file times lag its clock do: Sphinx's time check alone would miss it."""
    st = path.stat()
    _edit(path, old, new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_an_edit_with_an_old_modification_time_is_read_again(built: Options) -> None:
    notes: list[str] = []
    _edit_keeping_time(built.docs_path / "about.md", "This page is hand-written", "This page (narwhal) is hand-written")
    assert _build(built, notes) == {"about.html"}
    assert "(narwhal)" in (built.build_path / "about.html").read_text(encoding="utf-8")
    assert any("1 source changed with an older or equal modification time" in n for n in notes), notes
    # an included file (a domain document's narrative, shown by its domain page) too
    document = built.domains_path / "plugin-sandbox" / "analysis.md"
    _edit_keeping_time(document, "The registry does not verify", "The registry (as of today) does not verify")
    assert _build(built) == {"kb/domains/plugin-sandbox.html"}
    assert "as of today" in (built.build_path / "kb/domains/plugin-sandbox.html").read_text(encoding="utf-8")


def test_a_new_label_rewrites_the_pages_linking_to_it(built: Options) -> None:
    # recording.md links to a label nobody defines yet (one warning: the link stays plain text)
    _append(built.docs_path / "recording.md", "\nSee [the narwhal notes](#narwhal-notes).\n")
    assert _build(built) == {"recording.html"}
    assert 'href="about.html#narwhal-notes"' not in (built.build_path / "recording.html").read_text(encoding="utf-8")
    time.sleep(0.01)
    # about.md defines it: recording.html is written again although its source did not change
    _append(built.docs_path / "about.md", "\n(narwhal-notes)=\n## Narwhal notes\n\nThey live in the Arctic.\n")
    assert _build(built) == {"about.html", "recording.html"}
    assert 'href="about.html#narwhal-notes"' in (built.build_path / "recording.html").read_text(encoding="utf-8")


def test_a_hand_written_need_rewrites_the_pages_of_the_needs_it_links(built: Options) -> None:
    _append(built.docs_path / "about.md", """

:::{finding} A hand-written note on the plugin host
:id: F990002
:severity: "LOW"
:status: "open"
:on_file: FILE1012
:in_session: S3
:answers: Q3-1012

Written by hand.
:::
""")
    rewritten = _build(built)
    # FILE1012, S3 (session and question Q3-1012) show the new back links; S3's group page lists it in
    # a hidden toctree only, and its navigation did not change: not written again
    assert rewritten == {"about.html", "kb/files/FILE1012.html", "kb/sessions/S3.html"}
    assert "F990002" in (built.build_path / "kb/files/FILE1012.html").read_text(encoding="utf-8")
    # a need was added: needs.json is written again and holds it
    needs = json.loads((built.build_path / "needs.json").read_text(encoding="utf-8"))
    version = needs["versions"][needs["current_version"]]
    assert version["needs"]["F990002"]["on_file"] == ["FILE1012"]
    time.sleep(0.01)
    # its text edited (a field no page links show): needs.json follows
    _edit(built.docs_path / "about.md", "Written by hand.", "Written by hand, then edited.")
    _build(built)
    needs = json.loads((built.build_path / "needs.json").read_text(encoding="utf-8"))
    assert "then edited" in needs["versions"][needs["current_version"]]["needs"]["F990002"]["content"]


def test_a_need_field_its_back_links_do_not_show_rewrites_its_page_alone(built: Options) -> None:
    """A back link names its need (and points to its page): a status or text edit leaves the pages
    of the needs it links to as they are; a link moved rewrites the old target's page and the new one's."""
    _append(built.docs_path / "about.md", """

:::{finding} A hand-written note on the plugin host
:id: F990003
:severity: "LOW"
:status: "open"
:on_file: FILE1012
:in_session: S3

Written by hand.
:::
""")
    assert _build(built) == {"about.html", "kb/files/FILE1012.html", "kb/sessions/S3.html"}
    time.sleep(0.01)
    _edit(built.docs_path / "about.md", ':status: "open"\n:on_file: FILE1012', ':status: "closed"\n:on_file: FILE1012')
    assert _build(built) == {"about.html"}
    assert "closed" in (built.build_path / "about.html").read_text(encoding="utf-8")
    time.sleep(0.01)
    _edit(built.docs_path / "about.md", ":on_file: FILE1012", ":on_file: FILE1009")
    assert _build(built) == {"about.html", "kb/files/FILE1012.html", "kb/files/FILE1009.html"}
    assert "F990003" not in (built.build_path / "kb/files/FILE1012.html").read_text(encoding="utf-8")
    assert "F990003" in (built.build_path / "kb/files/FILE1009.html").read_text(encoding="utf-8")
    time.sleep(0.01)
    # a new title: back links show the ID only by default, but a page may show titles
    # (needs_show_link_title), so every page holding a target, or listing its back links, is written again
    _edit(built.docs_path / "about.md", "A hand-written note on the plugin host", "A note on the plugin host")
    assert _build(built) == {"about.html", "kb/files/FILE1009.html", "kb/sessions/S3.html"}


def test_a_title_in_the_header_rewrites_every_page_and_says_so(built: Options) -> None:
    _edit(built.docs_path / "about.md", "# About this site", "# About this knowledge base")
    notes: list[str] = []
    rewritten = _build(built, notes)
    assert rewritten == set(_pages(built.build_path)) - ALWAYS
    page = (built.build_path / "kb/sessions/S3.html").read_text(encoding="utf-8")
    assert "About this knowledge base" in page  # the header of an unrelated page
    # the pages written because of it: all but about.md (re-read), the landing page included
    shown = len(rewritten - {"about.html"} | {"index.html"})
    assert any("navigation changed" in note and f"{shown} more pages" in note for note in notes), notes


def test_a_new_page_in_a_section_rewrites_that_section_alone(built: Options) -> None:
    """The sidebar of pydata-sphinx-theme shows a section's own entries: a new entry in the
    reference section's table of contents changes the pages of that section, not the others."""
    reference = built.docs_path / "reference"
    section = {f"reference/{p.stem}.html" for p in reference.glob("*.md")}
    (reference / "faq.md").write_text("# Questions asked often\n\nAnswers.\n", encoding="utf-8")
    _edit(reference / "index.md", "\n```\n", "\nfaq\n```\n")
    notes: list[str] = []
    rewritten = _build(built, notes)
    assert rewritten == section | {"reference/faq.html"}
    assert "Questions asked often" in (built.build_path / "reference/plans.html").read_text(encoding="utf-8")
    assert any("navigation changed" in note for note in notes), notes


def test_a_needtable_page_is_rewritten_when_any_need_changes(built: Options) -> None:
    table = built.docs_path / "open-questions.md"
    table.write_text("---\norphan: true\n---\n# Open questions\n\n```{needtable}\n:types: question\n"
                     ":columns: id, title, status\n```\n", encoding="utf-8")
    assert "open-questions.html" in _build(built)
    time.sleep(0.01)
    _append(built.docs_path / "about.md", """

:::{question} Does the plugin ABI detect a version mismatch?
:id: Q990-1
:status: "open"

Asked by hand.
:::
""")
    rewritten = _build(built)
    assert {"about.html", "open-questions.html"} <= rewritten
    assert "Q990-1" in (built.build_path / "open-questions.html").read_text(encoding="utf-8")


def test_a_title_change_of_an_unlisted_page_rewrites_the_pages_linking_to_it(built: Options) -> None:
    # an orphan page (in no toctree: no navigation change) linked from about.md by document link
    orphan = built.docs_path / "glossary.md"
    orphan.write_text("---\norphan: true\n---\n# Glossary\n\nWords.\n", encoding="utf-8")
    _append(built.docs_path / "about.md", "\nSee the [](glossary.md).\n")
    assert _build(built) == {"about.html", "glossary.html"}
    time.sleep(0.01)
    _edit(orphan, "# Glossary", "# Glossary of terms")
    assert _build(built) == {"glossary.html", "about.html"}
    assert "Glossary of terms" in (built.build_path / "about.html").read_text(encoding="utf-8")


def test_unchanged_mtimes_restored_for_unchanged_content(built: Options) -> None:
    """A fresh checkout gives every file a new time: the build restores the recorded time of files
    whose content did not change, so Sphinx reads none of them again (CI with a cached build)."""
    now = time.time() + 5
    for folder, _, files in os.walk(built.docs_path):
        for name in files:
            os.utime(Path(folder) / name, (now, now))
    result = build_site(built, search="sphinx")
    assert result.mode == "up to date"
    before = _pages(built.build_path)
    _append(built.docs_path / "about.md", "\nOne more line.\n")
    assert _build(built) == {"about.html"}
    assert len(before) > 40


def test_a_new_session_rewrites_its_neighbours_not_every_session_page(built: Options) -> None:
    """Session groups are titled by their hundred (R1–R99), so a new session changes the navigation
    of no other session page; only the one before it gets a new "next" link."""
    from sqlalchemy import insert

    from kbgen.db import research
    from kbgen.db.engine import open_engine, resolve_url

    engine = open_engine(resolve_url(built.database, built.project_dir))
    try:
        with engine.begin() as conn:
            conn.execute(insert(research.sessions).values(id=5, name="R5", date="2025-10-01",
                                                          focus="A fifth look at the plugin host"))
    finally:
        engine.dispose()
    report = sync(built)
    assert any(str(path).endswith("sessions/S5.md") for path in report.written)
    notes: list[str] = []
    rewritten = _build(built, notes)
    sessions = {rel for rel in rewritten if rel.startswith("kb/sessions/")}
    assert sessions == {"kb/sessions/S5.html", "kb/sessions/S4.html", "kb/sessions/group-0000.html",
                        "kb/sessions/index.html"}, sessions
    assert 'href="S5.html"' in (built.build_path / "kb/sessions/S4.html").read_text(encoding="utf-8")


def test_a_file_read_for_the_first_time_moves_its_need_to_its_own_page_cleanly(built: Options) -> None:
    """A file nobody had read has its need on the shared listing page (kb/files/other); read DEEP, it
    gets a page of its own, which Sphinx reads before the listing (``FILE1015`` sorts before
    ``other``). The need must move without a duplicate-ID warning and be on the new page only."""
    from sqlalchemy import insert, update

    from kbgen.db import research
    from kbgen.db.engine import open_engine, resolve_url

    engine = open_engine(resolve_url(built.database, built.project_dir))
    try:
        with engine.begin() as conn:
            conn.execute(insert(research.sessions).values(id=5, name="R5", date="2025-10-01",
                                                          focus="The plugin ABI, at last"))
            conn.execute(insert(research.file_reads).values(id=900, file_id=1015, session_id=5, depth="DEEP",
                                                            lines_read=120, line_ranges="1-120"))
            conn.execute(update(research.files).where(research.files.c.id == 1015)
                         .values(depth="DEEP", lines_read=120, last_read_date="2025-10-01"))
    finally:
        engine.dispose()
    report = sync(built)
    assert any(str(path).endswith("files/FILE1015.md") for path in report.written)
    result = build_site(built, search="sphinx", quiet=True)
    assert result.mode == "incremental"
    assert result.warnings == 0, result.warning_lines
    needs = json.loads((built.build_path / "needs.json").read_text(encoding="utf-8"))
    need = needs["versions"][needs["current_version"]]["needs"]["FILE1015"]
    assert need["docname"] == "kb/files/FILE1015"
    assert 'id="FILE1015"' not in (built.build_path / "kb/files/other.html").read_text(encoding="utf-8")
