"""The Atom feed: valid (a real feed parser and RFC 4287's required elements), stable, escaped, published.

Stability is what makes a feed reader show each item once: entry IDs and
dates must not change when the site is synced again, when a session is
added, or when the site moves (``site_url``).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
import yaml
from bs4 import BeautifulSoup

from kbgen.build import build_site
from kbgen.config import CONFIG_RELPATH, Options, load_options
from kbgen.db.engine import resolve_url, sqlite_path
from kbgen.render.feed import atom_date, session_dates
from kbgen.sync import sync

A = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SITE = "https://quill.example.org/research/"
#: CRITICAL/HIGH findings per session of the example (R1 … R4).
ALERTS = {1: 3, 2: 3, 3: 10, 4: 5}

NEW_SESSION = """
INSERT INTO sessions (id, name, date, focus, agent_count, notes) VALUES
  (5, 'R5', '2025-09-29', 'Plugin ABI: <host> & "guest" pointers', 1, NULL);
INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) VALUES
  (37, 1015, 5, 'DEEP', 226, '1-226', NULL);
UPDATE files SET depth = 'DEEP', lines_read = 226, last_read_date = '2025-09-29' WHERE id = 1015;
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up)
VALUES (61, 1015, 5, 10, 40, 'CRITICAL', 'security',
        'Host functions trust guest pointers: <script>alert(1)</script> & ]]> no bounds check' || char(1), 0);
"""


def _db(options: Options) -> Path:
    db = sqlite_path(resolve_url(options.database, options.project_dir))
    assert db is not None
    return db


def _feed(options: Options) -> str:
    return (options.generated_path / "feed.xml").read_text(encoding="utf-8")


def _set(options: Options, **settings: object) -> Options:
    path = options.project_dir / CONFIG_RELPATH
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(settings)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_options(options.project_dir)


def check_rfc4287(text: str) -> ET.Element:
    """The elements RFC 4287 requires (section 4.1), checked on the raw XML."""
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{A}{name}")) == 1, f"atom:feed has exactly one atom:{name}"
    entries = root.findall(f"{A}entry")
    feed_author = root.findall(f"{A}author")
    assert all((a.find(f"{A}name") is not None and (a.find(f"{A}name").text or "").strip()) for a in feed_author)
    ids = []
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, f"atom:entry has exactly one atom:{name}"
        assert feed_author or entry.findall(f"{A}author"), "an author on the feed or on every entry"
        links = entry.findall(f"{A}link")
        assert entry.find(f"{A}content") is not None or any(
            link.get("rel", "alternate") == "alternate" for link in links), "no content: an alternate link"
        assert len([link for link in links if link.get("rel", "alternate") == "alternate"
                    and link.get("type") == "text/html"]) <= 1
        assert entry.find(f"{A}summary") is not None
        ids.append(entry.find(f"{A}id").text)  # type: ignore[union-attr]
    for stamp in root.iter(f"{A}updated"):
        assert RFC3339.match(stamp.text or ""), stamp.text
    for identifier in [root.find(f"{A}id").text, *ids]:  # type: ignore[union-attr]
        assert identifier and identifier.startswith("urn:uuid:")
        uuid.UUID(identifier.removeprefix("urn:uuid:"))
    assert len(set(ids)) == len(ids), "entry IDs are unique"
    return root


def _entries(text: str) -> dict[str, tuple[str, str, str]]:
    parsed = feedparser.parse(text)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return {e.id: (e.updated, e.title, e.link) for e in parsed.entries}


def test_feed_is_valid_atom_with_one_entry_per_session_and_alert(example_project: Options) -> None:
    text = _feed(example_project)
    check_rfc4287(text)
    parsed = feedparser.parse(text)
    assert not parsed.bozo and parsed.version == "atom10"
    assert parsed.feed.title == "quillc research — example knowledge base: latest changes"
    assert parsed.feed.updated == "2025-09-22T00:00:00Z"
    sessions = [e for e in parsed.entries if e.tags[0].term == "session"]
    assert [e.title.split(":")[0] for e in sessions] == ["R4", "R3", "R2-verify", "R1"]
    assert len(parsed.entries) == len(sessions) + sum(ALERTS.values())
    f53 = next(e for e in parsed.entries if e.title.startswith("CRITICAL F53 in R4: "))
    assert f53.link == "kb/sessions/S4.html#F53" and f53.updated == "2025-09-22T00:00:00Z"
    assert "File: quill-editor-bridge/src/telemetry.ts, lines 30-70." in f53.summary
    # Without site_url links are relative to the feed's address and there is no self link.
    assert all(not link.get("href", "").startswith("http") for link in parsed.feed.links)


def test_entry_ids_and_dates_stay_across_syncs_new_sessions_and_a_new_address(example_project: Options) -> None:
    options = example_project
    first = _entries(_feed(options))
    report = sync(options, force=True)
    assert "docs/kb/feed.xml" not in report.written, "a sync of the same database leaves the feed alone"

    with sqlite3.connect(_db(options)) as conn:
        conn.executescript(NEW_SESSION)
    sync(options)
    text = _feed(options)
    check_rfc4287(text)
    second = _entries(text)
    assert {k: v[0] for k, v in first.items()} == {k: second[k][0] for k in first}, "same IDs, same dates"
    added = {k: v for k, v in second.items() if k not in first}
    assert sorted(v[1].split(":")[0] for v in added.values()) == ["CRITICAL F61 in R5", "R5"]
    alert = next(v for v in added.values() if v[1].startswith("CRITICAL"))
    assert "<script>alert(1)</script> & ]]> no bounds check" in alert[1]
    assert "&lt;script&gt;" in text and "\x01" not in text
    session = next(v for v in added.values() if v[1].startswith("R5"))
    assert session[1] == 'R5: Plugin ABI: <host> & "guest" pointers' and session[0] == "2025-09-29T00:00:00Z"

    moved = _set(options, site_url=SITE)
    sync(moved)
    third = feedparser.parse(_feed(moved))
    assert {e.id for e in third.entries} == set(second), "moving the site keeps every ID"
    assert all(e.link.startswith(SITE) for e in third.entries)
    assert any(link.rel == "self" and link.href == SITE + "feed.xml" for link in third.feed.links)


def test_the_feed_follows_changes_sessions(example_project: Options) -> None:
    options = _set(example_project, changes_sessions=2)
    sync(options)
    parsed = feedparser.parse(_feed(options))
    assert len(parsed.entries) == 2 + ALERTS[3] + ALERTS[4]
    page = (options.generated_path / "changes.md").read_text(encoding="utf-8")
    assert "The last 2 of 4 sessions" in page and "## R4" in page and "## R3" in page and "## R1" not in page


def test_session_dates_fall_back_to_the_previous_dated_session() -> None:
    from kbgen.model import Session

    def s(i: int, date: str | None) -> Session:
        return Session(i, f"R{i}", i, date, None, None, None)

    dates = session_dates([s(1, None), s(2, "2025-01-02"), s(3, "soon"), s(4, "2025-01-05 14:30:00+02:00"), s(5, "")])
    assert dates == {1: "1970-01-01T00:00:00Z", 2: "2025-01-02T00:00:00Z", 3: "2025-01-02T00:00:00Z",
                     4: "2025-01-05T12:30:00Z", 5: "2025-01-05T12:30:00Z"}
    assert atom_date("2025-01-05T10:00:00Z") == "2025-01-05T10:00:00Z" and atom_date(None) is None


def test_bad_site_url_is_a_clear_config_error(example_project: Options) -> None:
    from kbgen.errors import ConfigError

    with pytest.raises(ConfigError, match="site_url must be the site's address"):
        _set(example_project, site_url="quill.example.org")
    with pytest.raises(ConfigError, match="changes_sessions must be 1 or more"):
        _set(example_project, site_url=SITE, changes_sessions=0)
    assert _set(example_project, site_url="https://x.example/kb", changes_sessions=3).site_url == "https://x.example/kb/"


# -- on the built site -----------------------------------------------------------------------

@pytest.mark.slow
def test_built_site_publishes_the_feed_and_links_it_from_every_page(built_example: Options) -> None:
    out = built_example.build_path
    feed = out / "feed.xml"
    assert feed.read_bytes() == (built_example.generated_path / "feed.xml").read_bytes()
    # permalink.html is sphinx-needs' own redirect helper, not a page of the site.
    pages = sorted(p for p in out.rglob("*.html") if "_static" not in p.parts and p.name != "permalink.html")
    assert len(pages) > 40
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        links = soup.find_all("link", rel="alternate", type="application/atom+xml")
        assert len(links) == 1, page
        assert (page.parent / links[0]["href"]).resolve() == feed.resolve(), page
    # Every entry lands on a page, and a finding's entry on the finding itself.
    for entry in feedparser.parse(feed.read_text(encoding="utf-8")).entries:
        target, _, anchor = entry.link.partition("#")
        html = out / target
        assert html.is_file(), entry.link
        if anchor:
            assert BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").find(id=anchor) is not None
    changes = BeautifulSoup((out / "kb/changes.html").read_text(encoding="utf-8"), "html.parser")
    assert changes.find("h1").get_text().startswith("Latest changes")
    feed_link = changes.find("a", string="Atom feed")
    assert feed_link is not None and (out / "kb" / feed_link["href"]).resolve() == feed.resolve()
    details = changes.find("a", href=re.compile(r"sessions/S3\.html#changes-s3$"))
    assert details is not None
    session = BeautifulSoup((out / "kb/sessions/S3.html").read_text(encoding="utf-8"), "html.parser")
    section = session.find(id="changes-s3")
    assert section is not None and "Changes in this session" in section.get_text()
    text = " ".join(section.get_text().split())
    assert "\\" not in text, "escaped once: no backslash shows"
    assert "New dependency edges" in text and "Q3-2003" in text, "R3's worksheet: edges and answers in words"
    first = BeautifulSoup((out / "kb/sessions/S1.html").read_text(encoding="utf-8"), "html.parser")
    note = " ".join(first.find(id="changes-s1").get_text().split())
    assert "the database does not record when an edge was added" in note and "\\" not in note


@pytest.mark.slow
def test_site_url_gives_absolute_feed_links_and_canonical_pages(example_project: Options) -> None:
    options = _set(example_project, site_url=SITE)
    sync(options)
    build_site(options, strict=True)
    page = BeautifulSoup((options.build_path / "kb/sessions/S1.html").read_text(encoding="utf-8"), "html.parser")
    canonical = page.find("link", rel="canonical")
    assert canonical is not None and canonical["href"] == SITE + "kb/sessions/S1.html"
    parsed = feedparser.parse((options.build_path / "feed.xml").read_text(encoding="utf-8"))
    assert parsed.entries and all(e.link.startswith(SITE) for e in parsed.entries)


def test_the_extension_finds_its_project_only_for_its_own_docs_folder(tmp_path: Path) -> None:
    from kbgen.scaffold import init_project
    from kbgen.sphinxext.feed import project_options

    init_project(tmp_path / "kb")
    docs = tmp_path / "kb" / "docs"
    found = project_options(docs, docs)
    assert found is not None and found.project_dir == (tmp_path / "kb").resolve()
    other = tmp_path / "kb" / "handbook"
    other.mkdir()
    assert project_options(other, other) is None, "another Sphinx project inside the folder gets no feed"
    plain = tmp_path / "plain" / "docs"
    plain.mkdir(parents=True)
    assert project_options(plain, plain) is None
