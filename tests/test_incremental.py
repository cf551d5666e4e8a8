"""Incremental builds are correct: a change rewrites exactly the pages that show it.

Change one finding's severity in the example database, sync, and check the
rewritten files against an independent list (the pages whose previous text
names the finding, the domain documents that list it by label, and the two
views that count findings per severity); then build incrementally and check
that every rewritten page's HTML shows the new severity.

Then add a whole session: its page, the latest-changes page and the feed are
rewritten, and besides them only pages that show its data; no older session
page changes unless it links a file or shows a finding the session changed.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kbgen.build import build_site
from kbgen.config import Options
from kbgen.db.engine import resolve_url, sqlite_path
from kbgen.sync import sync

pytestmark = pytest.mark.slow

FINDING = 3
NEW_SEVERITY = "LOW"
#: Views that count findings per severity, so any severity change legitimately alters them.
#: (The session figures of the example's sessions, all below R100, are on the page of their hundred.)
SEVERITY_AGGREGATES = {"charts/findings-by-severity.svg", "session-figures/group-0000.md", "findings-by-category.md"}


def _texts(options: Options) -> dict[str, str]:
    """Every file sync owns (generated pages, domain documents), by project-relative path."""
    roots = [options.generated_path, options.domains_path]
    out: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith((".", "_")):
                out[path.relative_to(options.project_dir).as_posix()] = path.read_text(encoding="utf-8")
    return out


def _labels(db: Path, finding: int) -> list[tuple[str, str]]:
    """(domain, short label such as ``H1``) for each domain label the finding holds."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT domain, letter, number FROM kbgen_finding_labels WHERE finding_id = ?",
                            (finding,)).fetchall()
    return [(str(d), f"{letter}{number}") for d, letter, number in rows]


def _built(options: Options) -> tuple[Path, dict[str, str], str]:
    """Build the site; its database file, the generated pages' texts and the generated folder's prefix."""
    build_site(options)
    db = sqlite_path(resolve_url(options.database, options.project_dir))
    assert db is not None
    return db, _texts(options), options.generated_path.relative_to(options.project_dir).as_posix() + "/"


def test_changed_severity_rewrites_exactly_its_pages(example_project: Options) -> None:
    options = example_project
    db, before, gen = _built(options)

    ident = re.compile(rf"(?<![\w-])F{FINDING}(?![\w-])")
    expected = {rel for rel, text in before.items() if ident.search(text)}
    domains_dir = options.domains_path.relative_to(options.project_dir).as_posix() + "/"
    for domain, short in _labels(db, FINDING):  # domain documents list findings by label, in a table row
        row = re.compile(rf"^\|\s*{short}\s*\|", re.MULTILINE)
        expected |= {rel for rel, text in before.items()
                     if rel.startswith(f"{domains_dir}{domain}/") and row.search(text)}
    expected |= {gen + rel for rel in SEVERITY_AGGREGATES if gen + rel in before}
    assert any(rel.startswith(gen + "sessions/") for rel in expected)
    assert any(rel.startswith(gen + "files/") for rel in expected)

    with sqlite3.connect(db) as conn:
        old = conn.execute("SELECT severity FROM findings WHERE id = ?", (FINDING,)).fetchone()[0]
        assert old.upper() != NEW_SEVERITY
        conn.execute("UPDATE findings SET severity = ? WHERE id = ?", (NEW_SEVERITY, FINDING))

    report = sync(options)
    written = set(report.written)
    assert written == expected, (f"rewritten but not showing F{FINDING}: {sorted(written - expected)}; "
                                 f"showing F{FINDING} but not rewritten: {sorted(expected - written)}")
    assert not report.removed
    after = _texts(options)
    assert {rel for rel in before if before[rel] != after.get(rel)} == written

    build_site(options)
    out = options.build_path
    # The latest-changes page links new CRITICAL and HIGH findings only: F3, now LOW, leaves it.
    changes = BeautifulSoup((out / "kb/changes.html").read_text(encoding="utf-8"), "html.parser")
    assert gen + "changes.md" in written and not changes.find_all("a", href=re.compile(rf"#F{FINDING}$"))
    for rel in sorted(written):
        aggregates = ("session-figures/group-0000.md", "findings-by-category.md", "changes.md")
        if not (rel.startswith(gen) and rel.endswith(".md")) or rel.endswith(aggregates):
            continue  # aggregates: counts per severity, no finding of their own
        html = out / (rel.removeprefix(options.docs_dir.as_posix() + "/").removesuffix(".md") + ".html")
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        blocks = []  # the finding's need, and table rows that link to it ("F<n> (<SEVERITY>)", or "F<n>"
        # in a row with a Severity column: a file page's findings)
        need = soup.find(id=f"F{FINDING}")
        if need is not None:
            blocks.append(need.find_parent("table") or need)
        for link in soup.find_all("a", href=re.compile(rf"#F{FINDING}$")):
            row = link.find_parent("tr")
            table = row.find_parent("table") if row is not None else None
            with_severity = table is not None and "Severity" in [th.get_text(strip=True) for th in table.find_all("th")]
            if row is not None and (link.get_text().startswith(f"F{FINDING} (")
                                    or (link.get_text() == f"F{FINDING}" and with_severity)):
                blocks.append(row)
        assert blocks, f"{html} shows no F{FINDING}"
        for block in blocks:
            text = block.get_text(" ", strip=True)
            assert NEW_SEVERITY in text.split(), f"{html}: F{FINDING} does not show {NEW_SEVERITY}: {text[:200]}"


# -- a new session ----------------------------------------------------------------------------

NEW_SESSION = """
INSERT INTO sessions (id, name, date, focus, agent_count, notes) VALUES
  (5, 'R5', '2025-09-29', 'Plugin ABI and HTML rendering; the CLI again', 1, NULL);
INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) VALUES
  (37, 1015, 5, 'DEEP', 226, '1-226', NULL),
  (38, 1011, 5, 'MEDIUM', 300, '1-300', NULL),
  (39, 1002, 5, 'DEEP', 240, '1-240', NULL);
UPDATE files SET depth = 'DEEP', lines_read = 226, last_read_date = '2025-09-29' WHERE id = 1015;
UPDATE files SET depth = 'MEDIUM', lines_read = 300, last_read_date = '2025-09-29' WHERE id = 1011;
UPDATE files SET depth = 'DEEP', lines_read = 240, last_read_date = '2025-09-29' WHERE id = 1002;
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up)
VALUES (61, 1015, 5, 10, 40, 'CRITICAL', 'security', 'Host functions trust guest pointers without bounds checks.', 0),
       (62, 1011, 5, 1, 50, 'MEDIUM', 'quality', 'Attributes are escaped twice.', 0);
INSERT INTO kbgen_finding_status (finding_id, status, session_id, superseded_by, reason, updated_at)
VALUES (28, 'resolved', 5, NULL, NULL, '2025-09-29T12:00:00Z');
"""
#: What R5 touches: files it read or found on, the files that get a page of their own with it
#: (read below SURFACE before), and the finding whose status it changes.
TOUCHED_FILES = {1002, 1011, 1015}
NEWLY_PAGED = {1011, 1015}
STATUS_CHANGED = {28}
_SESSION_PAGE = re.compile(r"sessions/S\d+\.md$")
_FILE_PAGE = re.compile(r"files/FILE\d+\.md$")


def _changes_section(text: str) -> str:
    start = text.index("## Changes in this session")
    end = min(i for i in (text.find("\n## ", start + 1), len(text)) if i > 0)
    return text[start:end]


def test_a_new_session_rewrites_its_page_the_changes_the_feed_and_what_shows_its_data(
        example_project: Options) -> None:
    options = example_project
    db, before, gen = _built(options)
    with sqlite3.connect(db) as conn:
        conn.executescript(NEW_SESSION)
    report = sync(options)
    written = set(report.written)
    # Dependency graphs are files named by their drawing's digest: a graph around a file R5 read
    # changes its name, so the old drawing goes.
    assert all(rel.startswith(gen + "graphs/") for rel in report.removed)
    after = _texts(options)
    assert {rel for rel in after if before.get(rel) != after[rel]} == {
        rel for rel in written if not Path(rel).name.startswith(("_", "."))}

    new_page, changes, feed = gen + "sessions/S5.md", gen + "changes.md", gen + "feed.xml"
    assert {new_page, changes, feed} <= written

    def names_touched(text: str) -> bool:
        return any(re.search(rf"#need-FILE{i}\)", text) for i in TOUCHED_FILES)

    def shows_status(text: str) -> bool:  # the finding itself, or a table row with its status
        return any(re.search(rf"^:id: F{i}$|^\| \[F{i} \(", text, re.MULTILINE) for i in STATUS_CHANGED)

    # Old session pages: only those that link a file whose need moves to a page of its own, or show
    # a finding whose status changed. Every other one (R1, R2-verify and R4 all link cli.rs, which R5
    # read deeper) stays byte for byte: a session's changes do not depend on later sessions.
    old_sessions = {rel for rel in written if _SESSION_PAGE.search(rel)} - {new_page}
    expected_sessions = {rel for rel, text in before.items() if _SESSION_PAGE.search(rel) and (
        any(f"#need-FILE{i})" in text for i in NEWLY_PAGED) or shows_status(text))}
    assert old_sessions == expected_sessions == {gen + "sessions/S3.md"}
    assert _changes_section(before[gen + "sessions/S3.md"]) == _changes_section(after[gen + "sessions/S3.md"])
    # File pages: the files R5 read, and pages that link them or show the resolved finding.
    files = {rel for rel in written if _FILE_PAGE.search(rel)}
    assert {gen + f"files/FILE{i}.md" for i in TOUCHED_FILES} <= files
    assert files <= {gen + f"files/FILE{i}.md" for i in TOUCHED_FILES} | {
        rel for rel, text in before.items() if _FILE_PAGE.search(rel) and (names_touched(text) or shows_status(text))}
    # Everything else that changed is a listing or a figure over all sessions or files, or a domain
    # document of a domain R5 read in; never another entity page.
    domains_dir = options.domains_path.relative_to(options.project_dir).as_posix() + "/"
    others = written - old_sessions - files - {new_page}
    assert all(not _SESSION_PAGE.search(rel) and not _FILE_PAGE.search(rel) for rel in others)
    assert {rel for rel in others if rel.startswith(domains_dir)} == {
        domains_dir + "incremental-build/analysis.md", domains_dir + "plugin-sandbox/analysis.md"}

    build_site(options)
    out = options.build_path
    page = BeautifulSoup((out / "kb/sessions/S5.html").read_text(encoding="utf-8"), "html.parser")
    section = page.find(id="changes-s5")
    assert section is not None and "F61 (CRITICAL)" in section.get_text() and "1 finding resolved: F28 (MEDIUM)" in (
        " ".join(section.get_text().split()))
    assert "R5: Plugin ABI and HTML rendering" in (out / "feed.xml").read_text(encoding="utf-8")
