"""Check a domain document for the drift that hand maintenance causes.

The six checks of docs/reference/domain-documents.md, each a small function
over the document's outline, so a CI job can fail on a document that re-lists findings, grows
per-session sections, or collides labels — whether the document is still
hand-written (legacy) or already managed by kbgen. A seventh check reports
kbgen markers that kbgen could not safely rewrite.

Scopes follow the section headings, not the markers: a File Registry is the
level-2 section titled so (or an older synonym such as "Files", or numbered
2 under a title kbgen does not know), wherever its tables come from. Only
top-level headings and tables count, so examples inside code blocks or
quotes never trip a check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kbgen.domain.outline import Heading, Outline, Table, parse
from kbgen.domain.sections import split
from kbgen.domain.structure import (
    FILES,
    FINDINGS,
    SESSION_LOG,
    finding_label,
    is_cumulative,
    is_file_table,
    is_findings_table,
    section_number,
    section_of_heading,
    session_log_name,
    session_of,
)
from kbgen.errors import DomainDocError, UsageError
from kbgen.vocab import SessionKey, session_order_key

#: Problem codes, one per check, so a CI configuration can name what it ignores.
CUMULATIVE_LIST = "cumulative-list"
SESSION_HEADING = "session-heading"
SECTION_ORDER = "section-order"
FILE_ORDER = "file-order"
FINDING_LABEL = "finding-label"
SESSION_ORDER = "session-order"
MARKER = "marker"


@dataclass(frozen=True)
class LintProblem:
    """One fault, located; ``str()`` is the ``path:line: message`` form every kbgen check prints."""

    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class _Section:
    """A level-1/2 heading and the lines up to the next one."""

    heading: Heading
    end: int


def lint_text(text: str, path: str) -> list[LintProblem]:
    """All problems of one document, by line."""
    problems: list[LintProblem] = []
    try:
        split(text, path=path)
    except DomainDocError as err:
        problems.append(LintProblem(path, err.line or 1, MARKER, err.message))
    outline = parse(text)
    sections = _sections(outline)
    log_ranges = _session_log_ranges(sections)
    for line, code, message in (
        *_cumulative_lists(outline),
        *_session_headings(outline, log_ranges),
        *_section_order(sections),
        *_file_order(outline, sections),
        *_finding_labels(outline, sections),
        *_session_order(outline, log_ranges),
    ):
        problems.append(LintProblem(path, line, code, message))
    return sorted(problems, key=lambda p: (p.line, p.code))


def lint_paths(paths: Iterable[str | Path]) -> list[LintProblem]:
    """Lint files, and every ``**/analysis.md`` under folders, in path order."""
    problems: list[LintProblem] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(path.glob("**/analysis.md"))
        elif path.is_file():
            files = [path]
        else:
            raise UsageError("no such file or folder", path=path)
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise UsageError(f"cannot read domain document: {err}", path=file) from err
            problems.extend(lint_text(text, str(file)))
    return problems


_Found = Iterator[tuple[int, str, str]]


def _sections(outline: Outline) -> list[_Section]:
    tops = [h for h in outline.headings if h.level <= 2]
    ends = [h.start for h in tops[1:]] + [len(outline.lines)]
    return [_Section(h, end) for h, end in zip(tops, ends, strict=True)]


def _section_of(heading: Heading) -> int | None:
    return section_of_heading(heading.text)


def _session_log_ranges(sections: list[_Section]) -> list[tuple[int, int]]:
    """Lines of each Session Log; a ``## R<n>`` right after it still belongs to it."""
    ranges: list[tuple[int, int]] = []
    for i, section in enumerate(sections):
        if section.heading.level != 2 or _section_of(section.heading) != SESSION_LOG:
            continue
        end = section.end
        for later in sections[i + 1:]:
            if session_of(later.heading.text) is None:
                break
            end = later.end
        ranges.append((section.heading.start, end))
    return ranges


def _inside(line: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= line < end for start, end in ranges)


def _cumulative_lists(outline: Outline) -> _Found:
    """Check 1: a cumulative re-listing repeats the registry and drifts from it."""
    for h in outline.headings:
        if is_cumulative(h.text):
            yield (h.start + 1, CUMULATIVE_LIST,
                   f"cumulative list '{h.text}': list each finding once, in the Findings Registry")


def _session_headings(outline: Outline, log_ranges: list[tuple[int, int]]) -> _Found:
    """Check 2: per-session sections make the document chronological instead of topical."""
    for h in outline.headings:
        if session_of(h.text) is not None and not _inside(h.start, log_ranges):
            yield (h.start + 1, SESSION_HEADING,
                   f"per-session heading '{h.text}' outside the Session Log")


def _section_order(sections: list[_Section]) -> _Found:
    """Check 3: each numbered top-level section once, in ascending order."""
    seen: dict[int, int] = {}
    highest: tuple[int, int] | None = None
    for section in sections:
        h = section.heading
        number = section_number(h.text) if h.level == 2 else None
        if number is None:
            continue
        if number in seen:
            yield (h.start + 1, SECTION_ORDER,
                   f"numbered section {number} appears a second time (first at line {seen[number]})")
            continue
        seen[number] = h.start + 1
        if highest is not None and number < highest[0]:
            yield (h.start + 1, SECTION_ORDER,
                   f"numbered section {number} out of order (after section {highest[0]} "
                   f"at line {highest[1]})")
        else:
            highest = (number, h.start + 1)


def _tables_in(outline: Outline, section: _Section) -> list[Table]:
    return [t for t in outline.tables if section.heading.start <= t.start < section.end]


def _file_order(outline: Outline, sections: list[_Section]) -> _Found:
    """Check 4: File Registry rows sorted by package, then path.

    Plain code-point order, the order of SQLite's ``ORDER BY package, path``;
    each row that sorts before the row above it is reported once.
    """
    for section in sections:
        if section.heading.level != 2 or _section_of(section.heading) != FILES:
            continue
        for table in _tables_in(outline, section):
            if not is_file_table(table):
                continue
            file_col, pkg_col = table.header.index("file"), table.header.index("package")
            previous: tuple[tuple[str, str], int] | None = None
            for row in table.rows:
                if max(file_col, pkg_col) >= len(row.cells):
                    continue
                key = (row.cells[pkg_col], row.cells[file_col])
                if previous is not None and key < previous[0]:
                    yield (row.line + 1, FILE_ORDER,
                           f"File Registry not sorted by package, then path: {key[1]} ({key[0]}) "
                           f"belongs before {previous[0][1]} ({previous[0][0]}) at line {previous[1]}")
                previous = (key, row.line + 1)


def _finding_labels(outline: Outline, sections: list[_Section]) -> _Found:
    """Check 5: labels unique in the document and increasing within each subsection (per letter)."""
    used: dict[tuple[str, int], int] = {}
    for section in sections:
        if section.heading.level != 2 or _section_of(section.heading) != FINDINGS:
            continue
        subsections = [h for h in outline.headings
                       if section.heading.start <= h.start < section.end]
        previous: dict[tuple[int, str], tuple[int, int]] = {}
        for table in _tables_in(outline, section):
            if not is_findings_table(table):
                continue
            owner = [h for h in subsections if h.start < table.start][-1]
            for row in table.rows:
                label = finding_label(row.cells[0]) if row.cells else None
                if label is None:
                    continue
                letter, number = label
                name = f"{letter}{number}"
                if label in used:
                    yield (row.line + 1, FINDING_LABEL,
                           f"finding label {name} repeated (already used at line {used[label]})")
                    continue
                used[label] = row.line + 1
                before = previous.get((owner.start, letter))
                if before is not None and number < before[0]:
                    yield (row.line + 1, FINDING_LABEL,
                           f"finding label {name} not increasing in '{owner.text}' "
                           f"(after {letter}{before[0]} at line {before[1]})")
                previous[(owner.start, letter)] = (number, row.line + 1)


def _session_order(outline: Outline, log_ranges: list[tuple[int, int]]) -> _Found:
    """Check 6: Session Log entries in ascending natural order of session names (R3 < R3-verify < R4)."""
    for start, end in log_ranges:
        before: tuple[str, SessionKey, int] | None = None
        for h in outline.headings:
            if not start <= h.start < end:
                continue
            name = session_log_name(h.text)
            if name is None:
                continue
            key = session_order_key(name)
            if before is not None and key <= before[1]:
                what = "logged twice" if key == before[1] else f"after {before[0]}"
                yield (h.start + 1, SESSION_ORDER,
                       f"Session Log not in ascending session order: {name} {what} (line {before[2]})")
            before = (name, key, h.start + 1)
