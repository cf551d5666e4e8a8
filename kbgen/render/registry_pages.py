"""A domain's big registries on their own site pages, cut so that one session rewrites few of them.

The site page of a domain includes its document (``domains/<name>/analysis.md``). A large
domain's File, Findings and Positives registries run to a thousand table rows and more, and
Sphinx re-reads and re-writes the whole page whenever a session touches the domain, at a cost
that follows the row count. So on the site, a registry longer than :data:`INLINE_MAX_ROWS`
rows leaves the domain page: the page includes the document piece by piece around that
registry's generated block (MyST ``{include}`` with ``:start-after:``/``:end-before:`` on the
block's marker lines), keeping every line of human text in order, and shows in its place a
sentence linking to the registry's pages. The pages are rendered from the same rows as the
document (:func:`kbgen.render.registries.domain_registries`); the document itself is unchanged.

The pages are cut where a new session seldom moves the cut, so it rewrites only the pages
holding what it changed:

* findings of one severity, by fixed ranges of label numbers (C1–C100, C101–C200, ...): a
  new finding gets a new, higher label, so it lands on the last page of its severity;
* positives, a hundred a page in the order they were recorded: new ones go on the last page;
* files, a page per package; a package longer than :data:`INLINE_MAX_ROWS` rows is cut where a
  path's digest says so (content-defined chunking, :func:`_file_cut`): a newly read file lands
  on the page of its neighbours, and no other cut moves.

Small registries stay on the domain page, so a small knowledge base reads as one page.

The Knowledge Gaps block changes with other domains' sessions: a gap's reason counts the DEEP
files of its directory, and a file read in one domain is a neighbour of another domain's gaps.
When the document's tables hold more than :data:`INLINE_MAX_ROWS` rows, the block is shown on
a page of its own (``<domain>/gaps``), which includes just that block of the document, so such a
session re-reads that short page and not the domain page: Sphinx re-reads a page whenever a
file it includes changes, and :mod:`kbgen.sphinxext.pieces` narrows that to the pieces a page
includes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from kbgen import vocab
from kbgen.domain.sections import GeneratedBlock, begin_marker, end_marker, split
from kbgen.render import escape
from kbgen.render.myst import Md
from kbgen.render.registries import (
    DomainRegistries,
    FileRow,
    files_table,
    findings_table,
    positives_table,
    severity_heading,
)
from kbgen.wording import count

#: A registry table of at most this many rows stays on the domain page. A hundred rows is about
#: the length a reader still scrolls through, and a tenth of what made a domain page slow
#: (bench/README.md); the bundled example's registries all fit, so it reads as one page.
INLINE_MAX_ROWS = 100
#: Findings of one severity per page: the width of a label-number range.
LABELS_PER_PAGE = 100
#: Positives per page.
POSITIVES_PER_PAGE = 100
#: A big package's pages hold this many files on average (a path cuts when its digest is 0 modulo it)...
FILE_CUT_EVERY = 64
#: ... and never more than this many (then a cut is forced).
FILE_PAGE_MAX = 200

_BLOCK_KEYS = ("files", "findings", "positives")
#: The generated block shown on a page of its own on a big domain page, included from the document.
GAPS_KEY = "gaps"
#: The name of that page under the domain's folder.
GAPS_PAGE = "gaps"


@dataclass(frozen=True)
class RegistryPage:
    """One page of a registry: its name under the domain's folder, what it lists, its table."""

    name: str
    title: str  # "File Registry: package flowctl", "CRITICAL findings C101–C200"
    link: str  # its link text on the domain page (inline markdown)
    rows: int
    table: Md


@dataclass(frozen=True)
class SplitDomainPage:
    """What the site shows of one domain: the domain page's body and its registries' pages."""

    body: str  # the includes of the document and the sentences standing for the registries moved out
    pages: dict[str, str]  # docname → text


def _file_cut(path: str) -> bool:
    """True when a big package's page starts at ``path``: decided by the path alone, so a cut never moves."""
    return int.from_bytes(hashlib.sha256(path.encode("utf-8")).digest()[:8], "big") % FILE_CUT_EVERY == 0


def _file_pages(rows: Sequence[FileRow], folder: Path) -> list[tuple[str, list[RegistryPage]]]:
    """Package → its File Registry pages (``folder``: where the pages are written, for their links)."""
    out = []
    used: set[str] = set()
    for package, group in groupby(rows, key=lambda r: r.file.package):
        package_rows = list(group)
        parts: list[list[FileRow]] = []
        for row in package_rows:
            if not parts or (len(package_rows) > INLINE_MAX_ROWS
                             and (_file_cut(row.file.path) or len(parts[-1]) >= FILE_PAGE_MAX)):
                parts.append([])
            parts[-1].append(row)
        base = f"files-{escape.slug(package, 'package')}"
        pages = []
        for i, part in enumerate(parts):
            # The first page is named after the package, the next ones after the path they start at: a
            # cut does not move, so neither does a name (a file read before the first path joins page 1).
            name = base if i == 0 else f"{base}-{escape.slug(part[0].file.path, 'files')}"
            name = _unique(name, used)
            first = f" from {escape.code(part[0].file.path)}" if len(parts) > 1 else ""
            pages.append(RegistryPage(
                name, f"File Registry, package {escape.inline(package)}{first}",
                escape.link_text(package) if len(parts) == 1 else f"{i + 1}", len(part),
                files_table(part, folder)))
        out.append((package, pages))
    return out


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... when a page of the domain has it already (slugs can clash)."""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}-{n}"
    used.add(candidate)
    return candidate


def _finding_pages(regs: DomainRegistries, severity: str) -> list[RegistryPage]:
    letter = vocab.SEVERITY_LETTERS[severity]
    pages = []
    for k, group in groupby(regs.findings[severity], key=lambda r: (r.number - 1) // LABELS_PER_PAGE):
        rows = list(group)
        first, last = k * LABELS_PER_PAGE + 1, (k + 1) * LABELS_PER_PAGE
        span = f"{letter}{first}–{letter}{last}"
        pages.append(RegistryPage(f"findings-{severity.lower()}-{first}-{last}", f"{severity} findings {span}",
                                  span, len(rows), findings_table(rows)))
    return pages


def _positive_pages(regs: DomainRegistries) -> list[RegistryPage]:
    pages = []
    for start in range(0, len(regs.positives), POSITIVES_PER_PAGE):
        rows = regs.positives[start:start + POSITIVES_PER_PAGE]
        span = f"{start + 1}–{start + POSITIVES_PER_PAGE}"
        pages.append(RegistryPage(f"positives-{start + 1}-{start + POSITIVES_PER_PAGE}", f"Positive findings {span}",
                                  span, len(rows), positives_table(rows)))
    return pages


def _moved_out(regs: DomainRegistries, document: str) -> list[str]:
    """The generated blocks shown on their own pages, in document order.

    A block moves out when one of its tables is long, and only when each of its marker lines
    occurs once in the document: the include cuts at the first occurrence of the marker text,
    and a human may quote a marker in prose.
    """
    long = {"files": len(regs.files) > INLINE_MAX_ROWS,
            "findings": any(len(rows) > INLINE_MAX_ROWS for rows in regs.findings.values()),
            "positives": len(regs.positives) > INLINE_MAX_ROWS}
    blocks = [b for b in split(document) if isinstance(b, GeneratedBlock)]

    def once(key: str) -> bool:
        return document.count(begin_marker(key)) == 1 and document.count(end_marker(key)) == 1

    moved = [b.key for b in blocks if b.key in _BLOCK_KEYS and long[b.key] and once(b.key)]
    # The gaps block leaves the page of a domain whose tables are long (whatever already left): its
    # domain page, a few hundred table rows and a session log, is then worth not reading again.
    if (sum(_table_rows(b.body) for b in blocks) > INLINE_MAX_ROWS and any(b.key == GAPS_KEY for b in blocks)
            and once(GAPS_KEY)):
        moved.append(GAPS_KEY)
    order = [b.key for b in blocks]
    return sorted(moved, key=order.index)


def _table_rows(text: str) -> int:
    """The body rows of the pipe tables in ``text`` (a line opening with ``|`` that is no delimiter row,
    less one header row per table)."""
    rows = tables = 0
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if set(line) <= set("|-: ") and previous.startswith("|"):
                tables += 1
            else:
                rows += 1
        previous = line
    return rows - tables


def _include(path: str, start_after: str | None, end_before: str | None) -> str:
    options = "".join(f":{name}: {json.dumps(value)}\n" for name, value in
                      (("start-after", start_after), ("end-before", end_before)) if value is not None)
    return f"```{{include}} {path}\n:relative-docs: ../\n:relative-images:\n{options}```\n"


def _link(docname: str, text: str) -> str:
    return f"[{text}](project:/{docname}.md)"


def domain_page_body(*, domain: str, document: str | None, include_path: str, regs: DomainRegistries,
                     domain_docname: str, folder: Path) -> SplitDomainPage:
    """The domain page's body (the document, included whole or around its long registries) and their pages.

    ``folder`` is where the registry pages are written (their ``[more]`` links are relative to it);
    their docnames are ``<domain_docname>/<page name>``.
    """
    moved = _moved_out(regs, document) if document is not None else []
    if not moved:
        return SplitDomainPage(_include(include_path, None, None), {})
    front = f"---\nkbgen-domain: {json.dumps(domain)}\n---\n\n"
    back = _link(domain_docname, escape.link_text(domain))
    pages: dict[str, str] = {}

    def publish(registry: str, page: RegistryPage) -> str:
        """Writes ``page``; its link for the domain page."""
        docname = f"{domain_docname}/{page.name}"
        pages[docname] = (f"{front}# {escape.inline(domain)} — {page.title}\n\n"
                          f"{count(page.rows, 'row')} of the {registry} of the domain {back}.\n\n{page.table}")
        return _link(docname, page.link)

    standing: dict[str, str] = {}
    if GAPS_KEY in moved:
        docname = f"{domain_docname}/{GAPS_PAGE}"
        pages[docname] = (f"{front}# {escape.inline(domain)} — Knowledge gaps\n\n"
                          f"The knowledge gaps of the domain {back}: its unread files by priority tier, and the "
                          "plan questions on its files not answered yet.\n\n"
                          + _include(f"../{include_path}", begin_marker(GAPS_KEY), end_marker(GAPS_KEY)))
        standing[GAPS_KEY] = (f"Unread files by priority tier and open plan questions: "
                              f"{_link(docname, 'the knowledge gaps of the domain')}.\n")
    if "files" in moved:
        listed = []
        for package, package_pages in _file_pages(regs.files, folder):
            if len(package_pages) == 1:
                listed.append(f"{publish('File Registry', package_pages[0])} ({package_pages[0].rows:,})")
            else:
                links = ", ".join(f"{publish('File Registry', p)} ({p.rows:,})" for p in package_pages)
                listed.append(f"{escape.inline(package)} ({count(sum(p.rows for p in package_pages), 'file')} on "
                              f"{len(package_pages)} pages: {links})")
        standing["files"] = (f"{count(len(regs.files), 'file')} read MEDIUM or deeper, listed per package: "
                             f"{', '.join(listed)}.\n")
    if "findings" in moved:
        parts = []
        for severity, rows in regs.findings.items():
            if len(rows) > INLINE_MAX_ROWS:
                links = ", ".join(f"{publish('Findings Registry', p)} ({p.rows:,})"
                                  for p in _finding_pages(regs, severity))
                body = f"{count(len(rows), f'{severity} finding')}, listed by label: {links}.\n"
            else:
                body = findings_table(rows) or f"No {severity} findings.\n"
            parts.append(f"{severity_heading(severity)}\n\n{body}{regs.notes[severity]}")
        standing["findings"] = "\n".join(parts)
    if "positives" in moved:
        links = ", ".join(f"{publish('Positives Registry', p)} ({p.rows:,})" for p in _positive_pages(regs))
        standing["positives"] = (f"{count(len(regs.positives), 'positive finding')}, in the order they were "
                                 f"recorded: {links}.\n")
    pieces = []
    after: str | None = None
    for key in moved:
        pieces += [_include(include_path, after, begin_marker(key)), standing[key]]
        after = end_marker(key)
    pieces.append(_include(include_path, after, None))
    toc = "\n".join(f"/{docname}" for docname in pages)
    pieces.append(f"```{{toctree}}\n:hidden:\n\n{toc}\n```\n")
    return SplitDomainPage("\n".join(pieces), pages)
