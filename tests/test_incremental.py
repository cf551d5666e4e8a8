"""Incremental builds are correct: a changed finding rewrites exactly the pages that show it.

Change one finding's severity in the example database, sync, and check the
rewritten files against an independent list (the pages whose previous text
names the finding, the domain documents that list it by label, and the two
views that count findings per severity); then build incrementally and check
that every rewritten page's HTML shows the new severity.
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
SEVERITY_AGGREGATES = {"charts/findings-by-severity.svg", "session-figures.md", "findings-by-category.md"}


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


def test_changed_severity_rewrites_exactly_its_pages(example_project: Options) -> None:
    options = example_project
    build_site(options)
    db = sqlite_path(resolve_url(options.database, options.project_dir))
    assert db is not None
    before = _texts(options)
    gen = options.generated_path.relative_to(options.project_dir).as_posix() + "/"

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
    for rel in sorted(written):
        if not (rel.startswith(gen) and rel.endswith(".md")) or rel.endswith(("session-figures.md",
                                                                                "findings-by-category.md")):
            continue  # aggregates: counts per severity, no finding of their own
        html = out / (rel.removeprefix(options.docs_dir.as_posix() + "/").removesuffix(".md") + ".html")
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        blocks = []  # the finding's need, and table rows that link to it as "F<n> (<SEVERITY>)"
        need = soup.find(id=f"F{FINDING}")
        if need is not None:
            blocks.append(need.find_parent("table") or need)
        for link in soup.find_all("a", href=re.compile(rf"#F{FINDING}$")):
            row = link.find_parent("tr")
            if row is not None and link.get_text().startswith(f"F{FINDING} ("):
                blocks.append(row)
        assert blocks, f"{html} shows no F{FINDING}"
        for block in blocks:
            text = block.get_text(" ", strip=True)
            assert NEW_SEVERITY in text.split(), f"{html}: F{FINDING} does not show {NEW_SEVERITY}: {text[:200]}"
