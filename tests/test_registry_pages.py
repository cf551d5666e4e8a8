"""A domain's long registries on their own site pages (kbgen.render.registry_pages).

A generated campaign with the thresholds lowered (so a small, fast site has long registries and
short ones side by side), synced and built with the real ``sphinx-build``; the HTML is inspected.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from bench.synthetic import generate
from kbgen.build import build_site
from kbgen.config import Options, load_options
from kbgen.domain.sections import GeneratedBlock, split
from kbgen.domain.update import GeneratedSections, skeleton
from kbgen.render import registry_pages
from kbgen.render.registries import DomainRegistries, FileRow
from kbgen.scaffold import init_project
from kbgen.sync import sync

HUMAN = {  # where a human wrote text in a domain document, outside the generated blocks
    "before-files": ("<!-- kbgen:begin files -->", "Registry note one: the vendored code is left out."),
    "after-files": ("<!-- kbgen:end files -->", "Registry note two: paths are relative to the repository."),
    "before-findings": ("<!-- kbgen:begin findings -->", "Findings note: labels never change."),
    "after-positives": ("<!-- kbgen:end positives -->", "Positives note: kept for the audit."),
}


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registries past 8 rows leave the domain page; 5 labels or positives a page; cuts about every 4 paths."""
    monkeypatch.setattr(registry_pages, "INLINE_MAX_ROWS", 8)
    monkeypatch.setattr(registry_pages, "LABELS_PER_PAGE", 5)
    monkeypatch.setattr(registry_pages, "POSITIVES_PER_PAGE", 5)
    monkeypatch.setattr(registry_pages, "FILE_CUT_EVERY", 4)
    monkeypatch.setattr(registry_pages, "FILE_PAGE_MAX", 6)


def _project(tmp_path: Path) -> Options:
    project = tmp_path / "kb"
    init_project(project, title="Registry pages")
    with (project / "conf" / "kbgen.yaml").open("a", encoding="utf-8") as fh:
        fh.write("verdict_max_chars: 40\n")  # long verdicts are cut: rows link to the file's page ([more])
    generate(f"sqlite:///{project / 'db/research.db'}", scale=0.01, seed=7, plans_dir=project / "plans")
    return load_options(project)


def _with_human_text(text: str) -> str:
    for anchor, note in HUMAN.values():
        if anchor.startswith("<!-- kbgen:begin"):
            text = text.replace(anchor, f"{note}\n\n{anchor}", 1)
        else:
            text = text.replace(anchor, f"{anchor}\n\n{note}", 1)
    return text


def _table_rows(markdown: str) -> list[str]:
    """The body rows of the pipe tables in ``markdown``: neither a separator line nor the header above one."""
    lines = markdown.splitlines()
    separator = re.compile(r"\|(---\|)+")
    return [line for i, line in enumerate(lines) if line.startswith("| ") and not separator.fullmatch(line)
            and not (i + 1 < len(lines) and separator.fullmatch(lines[i + 1]))]


def _block(document: str, key: str) -> str:
    return next(b.body for b in split(document) if isinstance(b, GeneratedBlock) and b.key == key)


def _html_rows(html: Path) -> list[str]:
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    article = soup.find("article") or soup
    return [tr.get_text(" ", strip=True) for table in article.find_all("table") for tr in table.find_all("tr")
            if tr.find("td")]


@pytest.mark.slow
def test_long_registries_get_their_own_pages(tmp_path: Path, small_thresholds: None) -> None:
    options = _project(tmp_path)
    assert not sync(options).warnings
    doc_path = options.domains_path / "memory-and-learning" / "analysis.md"
    doc_path.write_text(_with_human_text(doc_path.read_text(encoding="utf-8")), encoding="utf-8")
    report = sync(options)
    assert not report.warnings
    document = doc_path.read_text(encoding="utf-8")
    assert all(note in document for _, note in HUMAN.values())  # the document is the author's, unchanged
    result = build_site(options, strict=True, search="sphinx")
    assert result.warnings == 0  # every label link, [more] link and toctree entry resolves
    site = options.build_path / "kb" / "domains"
    pages = sorted((site / "memory-and-learning").glob("*.html"))
    names = {p.stem for p in pages}
    assert {"files-agentmesh", "findings-medium-1-5", "findings-medium-16-20"} <= names, names
    assert not any(n.startswith("findings-critical") for n in names)  # 3 CRITICAL findings: inline

    # The domain page: every piece of human text, in order, and no moved-out table.
    domain_html = (site / "memory-and-learning.html").read_text(encoding="utf-8")
    text = BeautifulSoup(domain_html, "html.parser").get_text(" ", strip=True)
    order = ["Memory And Learning Domain Analysis", "2. File Registry", HUMAN["before-files"][1],
             "files read MEDIUM or deeper, listed per package", HUMAN["after-files"][1], "3. Findings Registry",
             HUMAN["before-findings"][1], "3a. CRITICAL Findings", "3c. MEDIUM Findings", "listed by label",
             "4. Positives Registry", HUMAN["after-positives"][1], "5. Subsystem Sections",
             "6. Cross-Domain Dependencies", "8. Session Log", "Domain record"]
    positions = [text.find(piece) for piece in order]
    assert -1 not in positions, [p for p, i in zip(order, positions, strict=True) if i < 0]
    assert positions == sorted(positions)
    soup = BeautifulSoup(domain_html, "html.parser")
    headers = {th.get_text(strip=True) for th in soup.find_all("th")}
    assert "Key Verdict" not in headers and "ID" in headers  # the File Registry moved out, CRITICAL stayed
    links = {a["href"] for a in soup.find_all("a", href=True)}
    assert "memory-and-learning/files-agentmesh.html" in links

    # Every row of a moved-out registry is on exactly one of its pages; a short one stays on the domain page.
    split_domains = [d for d in sorted(site.iterdir()) if d.is_dir()]
    assert len(split_domains) >= 2
    for folder in split_domains:
        doc = (options.domains_path / folder.name / "analysis.md").read_text(encoding="utf-8")
        findings = _block(doc, "findings")
        registries = {"files-": _table_rows(_block(doc, "files")),
                      "findings-critical-": _table_rows(findings.split("### 3a.")[1].split("### 3b.")[0]),
                      "findings-high-": _table_rows(findings.split("### 3b.")[1].split("### 3c.")[0]),
                      "findings-medium-": _table_rows(findings.split("### 3c.")[1]),
                      "positives-": _table_rows(_block(doc, "positives"))}
        page_text = BeautifulSoup((site / f"{folder.name}.html").read_text(encoding="utf-8"),
                                  "html.parser").get_text(" ", strip=True)
        for prefix, rows in registries.items():
            on_pages = [row for page in sorted(folder.glob(f"{prefix}*.html")) for row in _html_rows(page)]
            if len(rows) > registry_pages.INLINE_MAX_ROWS:
                assert len(on_pages) == len(rows) == len(set(on_pages)), (folder.name, prefix)
                firsts = [re.sub(r"[`\\]", "", row.split(" | ")[0].strip("| ")) for row in rows]
                assert sorted(r.split(" ")[0].rstrip(":") for r in on_pages) == sorted(
                    f.split(" ")[0].rstrip(":") for f in firsts), (folder.name, prefix)
            else:
                assert not on_pages and all(
                    re.sub(r"[`\\]", "", row.split(" | ")[0].strip("| ")).split(":")[0] in page_text
                    for row in rows), (folder.name, prefix)
    assert {p.stem.rsplit("-", 2)[0] for p in (site / "swarm-coordination").glob("*.html")} >= {
        "positives", "findings-high", "findings-medium"}

    # Registry pages: front matter for the label links, a way back, [more] links to file pages.
    first = site / "memory-and-learning" / "findings-medium-1-5.html"
    soup = BeautifulSoup(first.read_text(encoding="utf-8"), "html.parser")
    labels = [a for a in soup.find_all("a", class_="kbgen-label") if a.get_text().startswith("M")]
    assert labels and all((first.parent / a["href"].split("#")[0]).resolve().is_file() for a in labels)
    assert any(a["href"] == "../memory-and-learning.html" for a in soup.find_all("a", href=True))
    more = [a for p in pages if p.stem.startswith("files-")
            for a in BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser").find_all("a", href=True)
            if a.get_text() == "more"]
    assert more and all((site / "memory-and-learning" / a["href"]).resolve().is_file() for a in more)

    # Short registries stay inline: a domain below every threshold has no registry page (its knowledge
    # gaps may have one: the tables of the whole document are long).
    small = [d for d in options.domains_path.iterdir()
             if not any(p.stem != registry_pages.GAPS_PAGE for p in (site / d.name).glob("*.html"))]
    assert small, "the generated campaign has no domain with short registries"
    small_doc = (options.domains_path / small[0].name / "analysis.md").read_text(encoding="utf-8")
    small_rows = _table_rows(_block(small_doc, "files"))
    small_html = (site / f"{small[0].name}.html").read_text(encoding="utf-8")
    assert small_rows and all(row.split(" | ")[0].strip("| `") in small_html for row in small_rows)

    # Same database, nothing new: a second sync writes nothing.
    again = sync(options, force=True)
    assert again.written == [] and again.removed == []


def test_a_new_finding_rewrites_only_the_last_page_of_its_severity(tmp_path: Path, small_thresholds: None) -> None:
    from sqlalchemy import func, insert, select

    from kbgen.db import research
    from kbgen.db.engine import open_engine, resolve_url

    options = _project(tmp_path)
    sync(options)
    folder = options.generated_path / "domains" / "memory-and-learning"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    medium = sorted((n for n in before if n.startswith("findings-medium-")),
                    key=lambda n: int(n.split("-")[2]))
    document = (options.domains_path / "memory-and-learning" / "analysis.md").read_text(encoding="utf-8")
    paths = [row.split(" | ")[0].strip("| `") for row in _table_rows(_block(document, "files"))]
    engine = open_engine(resolve_url(options.database, options.project_dir))
    try:
        with engine.begin() as conn:
            # A file with notes: its Key Verdict stays its notes, so its registry row does not change.
            file_id = conn.execute(select(research.files.c.id).where(
                research.files.c.relative_path.in_(paths), research.files.c.notes != "").order_by(research.files.c.id)
            ).scalars().first()
            assert file_id is not None
            fid = int(conn.execute(select(func.max(research.findings.c.id))).scalar() or 0) + 1
            session = int(conn.execute(select(func.max(research.sessions.c.id))).scalar() or 0)
            conn.execute(insert(research.findings).values(
                id=fid, file_id=file_id, session_id=session, line_start=1, line_end=2, severity="MEDIUM",
                category="architecture", description="Retries without a bound", followed_up=0))
    finally:
        engine.dispose()
    report = sync(options)
    written = {Path(w).name for w in report.written if "/domains/memory-and-learning/" in w}
    # and the knowledge-gaps page, whose block of the document may name any label, as the domain page
    assert written == {medium[-1], f"{registry_pages.GAPS_PAGE}.md"} & ({medium[-1]} | set(before)), (written, medium)
    assert "Retries without a bound" in (folder / medium[-1]).read_text(encoding="utf-8")
    assert {p.name for p in folder.iterdir()} == set(before)


def _rows(*paths: str) -> list[FileRow]:
    from kbgen.model import File

    return [FileRow(File(i, 1, "pkg", p, 10, "DEEP", "DEEP", 10, None, None), "verdict", None, "R1")
            for i, p in enumerate(sorted(paths))]


def test_a_newly_read_file_changes_only_the_page_it_lands_on(small_thresholds: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # The cuts a path's digest makes do not move; only a forced one (a page at its maximum) would.
    monkeypatch.setattr(registry_pages, "FILE_PAGE_MAX", 100)
    paths = [f"src/mod{i:03}/file.ts" for i in range(60)]
    before = registry_pages._file_pages(_rows(*paths), Path("/x"))
    after = registry_pages._file_pages(_rows(*paths, "src/mod030/new.ts"), Path("/x"))
    (_, pages_before), = before
    (_, pages_after), = after
    assert len(pages_before) > 3  # a big package is cut
    assert [p.name for p in pages_before] == [p.name for p in pages_after]
    changed = [a.name for a, b in zip(pages_after, pages_before, strict=True) if a.table != b.table]
    assert len(changed) == 1 and "src/mod030/new.ts" in next(p.table for p in pages_after if p.name == changed[0])
    assert all(p.rows <= registry_pages.FILE_PAGE_MAX for p in pages_after)


def test_a_page_of_a_big_package_never_exceeds_the_maximum(small_thresholds: None) -> None:
    (_, pages), = registry_pages._file_pages(_rows(*(f"a/{i:04}.ts" for i in range(300))), Path("/x"))
    assert sum(p.rows for p in pages) == 300
    assert max(p.rows for p in pages) == registry_pages.FILE_PAGE_MAX
    assert len({p.name for p in pages}) == len(pages)


SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM")


def _registries(files: int) -> DomainRegistries:
    return DomainRegistries(_rows(*(f"src/{i:03}.ts" for i in range(files))),
                            {s: [] for s in SEVERITIES}, dict.fromkeys(SEVERITIES, ""), [])


def _document(extra: str = "") -> str:
    return skeleton(GeneratedSections.empty(), title="Demo") + extra


def test_a_quoted_marker_keeps_the_registry_on_the_domain_page(small_thresholds: None) -> None:
    def page(document: str, files: int) -> registry_pages.SplitDomainPage:
        return registry_pages.domain_page_body(domain="demo", document=document, regs=_registries(files),
                                               include_path="../../../domains/demo/analysis.md",
                                               domain_docname="kb/domains/demo", folder=Path("/x"))

    split_page = page(_document(), 20)
    assert ":end-before:" in split_page.body and split_page.pages
    # The include cuts at the first occurrence of the marker's text: quoted in prose, it would cut there.
    whole = page(_document("\nOur registry starts at `<!-- kbgen:begin files -->`.\n"), 20)
    assert ":end-before:" not in whole.body and not whole.pages
    short = page(_document(), 8)
    assert ":end-before:" not in short.body and not short.pages


def _gap_rows(rows: int) -> str:
    return "\n".join(["| File | Package | LOC | Why |", "|---|---|---|---|",
                      *(f"| `src/{i}.ts` | pkg | 10 | 3 DEEP files in src |" for i in range(rows))])


def test_the_gaps_of_a_long_document_get_a_page_that_includes_them(small_thresholds: None) -> None:
    def page(document: str, files: int) -> registry_pages.SplitDomainPage:
        return registry_pages.domain_page_body(domain="demo", document=document, regs=_registries(files),
                                               include_path="../../../domains/demo/analysis.md",
                                               domain_docname="kb/domains/demo", folder=Path("/x"))

    def with_gaps(document: str, rows: int) -> str:
        return document.replace("<!-- kbgen:begin gaps -->\n", f"<!-- kbgen:begin gaps -->\n{_gap_rows(rows)}\n", 1)

    # 9 gaps: 9 rows in the document's tables, over the threshold of 8.
    split_page = page(with_gaps(_document(), 9), 6)
    assert set(split_page.pages) == {"kb/domains/demo/gaps"}  # the files stay: 6 rows
    gaps_page = split_page.pages["kb/domains/demo/gaps"]
    assert ('```{include} ../../../../domains/demo/analysis.md\n:relative-docs: ../\n:relative-images:\n'
            ':start-after: "<!-- kbgen:begin gaps -->"\n:end-before: "<!-- kbgen:end gaps -->"\n```') in gaps_page
    assert "[demo](project:/kb/domains/demo.md)" in gaps_page  # the way back
    body = split_page.body
    assert body.index(':end-before: "<!-- kbgen:begin gaps -->"') < body.index("(project:/kb/domains/demo/gaps.md)")
    assert body.index("(project:/kb/domains/demo/gaps.md)") < body.index(':start-after: "<!-- kbgen:end gaps -->"')
    assert "/kb/domains/demo/gaps\n" in body  # in the domain page's (hidden) toctree
    # With the File Registry moved out too, the blocks leave in document order.
    both = page(with_gaps(_document(), 9), 20)
    assert set(both.pages) > {"kb/domains/demo/gaps", "kb/domains/demo/files-pkg"}
    assert both.body.index("begin files") < both.body.index("begin gaps")
    # Short tables keep the gaps on the domain page; so does a quoted gaps marker.
    assert not page(with_gaps(_document(), 8), 6).pages
    quoted = with_gaps(_document("\nThe gaps start at `<!-- kbgen:begin gaps -->`.\n"), 9)
    assert not page(quoted, 6).pages


def _html_mtimes(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*.html")
            if not p.relative_to(site).parts[0].startswith(("_", "pagefind"))}


@pytest.mark.slow
def test_a_change_to_the_gaps_alone_reads_the_gaps_page_not_the_domain_page(
        tmp_path: Path, small_thresholds: None) -> None:
    import time

    options = _project(tmp_path)
    assert not sync(options).warnings
    site = options.build_path / "kb" / "domains"
    assert build_site(options, strict=True, search="sphinx").warnings == 0
    with_page = sorted(p.parent.name for p in site.glob(f"*/{registry_pages.GAPS_PAGE}.html"))
    domain = next(name for name in with_page
                  if _table_rows(_block((options.domains_path / name / "analysis.md").read_text(encoding="utf-8"),
                                        "gaps")))
    document = options.domains_path / domain / "analysis.md"
    domain_html, gaps_html = site / f"{domain}.html", site / domain / f"{registry_pages.GAPS_PAGE}.html"
    page_before = domain_html.read_bytes()

    # What another domain's session does to this one: a gap's reason changes, nothing else.
    text = document.read_text(encoding="utf-8")
    row = _table_rows(_block(text, "gaps"))[0]
    document.write_text(text.replace(row, row[:-2] + ", narwhal |", 1), encoding="utf-8")
    time.sleep(0.01)
    before = _html_mtimes(options.build_path)
    result = build_site(options, search="sphinx", quiet=True)
    assert result.mode == "incremental" and result.warnings == 0
    assert result.read == 1, result.read  # the gaps page alone
    assert any("1 page not read again" in note for note in result.notes), result.notes
    after = _html_mtimes(options.build_path)
    rewritten = {rel for rel, mtime in after.items() if before.get(rel) != mtime}
    assert f"kb/domains/{domain}/{registry_pages.GAPS_PAGE}.html" in rewritten
    assert f"kb/domains/{domain}.html" not in rewritten, result.notes
    assert "narwhal" in gaps_html.read_text(encoding="utf-8")
    assert domain_html.read_bytes() == page_before

    # The domain page's own text changes (a narrative line): it is read again; the gaps page is not.
    text = document.read_text(encoding="utf-8")
    document.write_text(text.replace("## 8. Session Log", "A line about walruses.\n\n## 8. Session Log", 1),
                        encoding="utf-8")
    time.sleep(0.01)
    before = _html_mtimes(options.build_path)
    result = build_site(options, search="sphinx", quiet=True)
    assert result.mode == "incremental" and result.warnings == 0
    rewritten = {rel for rel, mtime in _html_mtimes(options.build_path).items() if before.get(rel) != mtime}
    assert f"kb/domains/{domain}.html" in rewritten
    assert "walruses" in domain_html.read_text(encoding="utf-8")
    assert f"kb/domains/{domain}/{registry_pages.GAPS_PAGE}.html" not in rewritten

    # The pages these incremental builds left are the ones Sphinx writes from scratch, speedups off.
    def html(site: Path) -> dict[str, bytes]:
        return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*.html")
                if not p.relative_to(site).parts[0].startswith(("_", "pagefind"))}

    incremental = html(options.build_path)
    conf = options.docs_path / "conf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nkbgen_speedups = False\n", encoding="utf-8")
    assert build_site(options, search="sphinx", quiet=True).warnings == 0  # conf.py changed: every page read
    scratch = html(options.build_path)
    assert scratch.keys() == incremental.keys()
    assert [rel for rel in scratch if scratch[rel] != incremental[rel]] == []
