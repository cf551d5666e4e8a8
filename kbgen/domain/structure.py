"""The canonical shape of a domain analysis document, and how to recognise its parts.

One place names the eight sections, which of them kbgen generates, and the
patterns that identify drift (per-session headings, cumulative lists,
registry tables). The updater, the linter and the migration read these
definitions, so what the migration removes is exactly what the linter would
flag, and what the updater re-inserts is exactly what the skeleton holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kbgen.domain.outline import Table


@dataclass(frozen=True)
class CanonicalSection:
    """A numbered top-level section; ``key`` names its generated block (None: human)."""

    number: int
    title: str
    key: str | None

    @property
    def heading(self) -> str:
        """The heading line kbgen writes (without line ending)."""
        return f"## {self.number}. {self.title}"


SECTIONS: tuple[CanonicalSection, ...] = (
    CanonicalSection(1, "Current State Summary", None),
    CanonicalSection(2, "File Registry", "files"),
    CanonicalSection(3, "Findings Registry", "findings"),
    CanonicalSection(4, "Positives Registry", "positives"),
    CanonicalSection(5, "Subsystem Sections", None),
    CanonicalSection(6, "Cross-Domain Dependencies", "dependencies"),
    CanonicalSection(7, "Knowledge Gaps", "gaps"),
    CanonicalSection(8, "Session Log", "session-log"),
)
SECTION_BY_NUMBER = {s.number: s for s in SECTIONS}
SECTION_BY_KEY = {s.key: s for s in SECTIONS if s.key is not None}

#: The generated block that sits under the title, outside any numbered section.
HEADER_KEY = "header"
SUMMARY, FILES, FINDINGS, POSITIVES, SUBSYSTEMS, DEPENDENCIES, GAPS, SESSION_LOG = range(1, 9)

#: What kbgen writes into the human sections of a new document, so the empty
#: section invites its author instead of looking forgotten (invisible when built).
PLACEHOLDERS: dict[int, str] = {
    SUMMARY: "<!-- Write the current state of this domain here, in the present tense, "
             "and rewrite it in place; kbgen never changes this section. -->",
    SUBSYSTEMS: "<!-- One subsection per topic (### 5a. <Topic>, ### 5b. ...); "
                "kbgen never changes this section. -->",
}

# Titles that older, hand-maintained documents use for the canonical sections.
_SYNONYMS: dict[str, int] = {
    "current state summary": SUMMARY, "current state": SUMMARY, "summary": SUMMARY,
    "overview": SUMMARY, "executive summary": SUMMARY, "introduction": SUMMARY,
    "file registry": FILES, "files": FILES, "files read": FILES, "file inventory": FILES,
    "file index": FILES,
    "findings registry": FINDINGS, "findings": FINDINGS, "key findings": FINDINGS,
    "findings summary": FINDINGS,
    "positives registry": POSITIVES, "positives": POSITIVES, "positive findings": POSITIVES,
    "strengths": POSITIVES, "what works well": POSITIVES,
    "subsystem sections": SUBSYSTEMS, "subsystems": SUBSYSTEMS, "architecture": SUBSYSTEMS,
    "components": SUBSYSTEMS, "design": SUBSYSTEMS, "subsystem analysis": SUBSYSTEMS,
    "cross domain dependencies": DEPENDENCIES, "dependencies": DEPENDENCIES,
    "related domains": DEPENDENCIES,
    "knowledge gaps": GAPS, "gaps": GAPS, "open questions": GAPS, "unknowns": GAPS,
    "session log": SESSION_LOG, "sessions": SESSION_LOG, "session history": SESSION_LOG,
}

_NUMBERED = re.compile(r"^(\d+)\.\s+(\S.*)$")
_SESSION = re.compile(r"^R(\d+)(?![\w])")
_LOG_ENTRY = re.compile(r"^(R[0-9]+.*?)(?: \(|:|$)")
_CUMULATIVE = re.compile(r"^Updated\s+(CRITICAL|HIGH|MEDIUM|LOW)\s+Findings\b", re.IGNORECASE)
_SEVERITY_SUBHEADING = re.compile(r"^(?:\d+[a-z]?\.\s*)?(CRITICAL|HIGH|MEDIUM|LOW)\s+Findings\s*$",
                                  re.IGNORECASE)
_HEADER_LINE = re.compile(r"^ {0,3}>\s*(?:\*\*|__)?\s*(priority|coverage|status|last updated)\b",
                          re.IGNORECASE)
_LABEL = re.compile(r"(?<![A-Za-z0-9])([CHM])(\d+)(?![A-Za-z0-9])")


def section_number(title: str) -> int | None:
    """The number of a numbered heading (``2. File Registry`` -> 2)."""
    match = _NUMBERED.match(title.strip())
    return int(match.group(1)) if match else None


def bare_title(title: str) -> str:
    """A heading's title without its number, lower-cased, hyphens and spacing normalised."""
    match = _NUMBERED.match(title.strip())
    text = match.group(2) if match else title
    text = text.replace("-", " ").replace("_", " ").strip().rstrip(":").casefold()
    return " ".join(text.split())


def canonical_number(title: str) -> int | None:
    """Which canonical section a top-level heading stands for, judged by its title."""
    return _SYNONYMS.get(bare_title(title))


def section_of_heading(title: str) -> int | None:
    """Which canonical section a top-level heading *is*: by title, else by its number.

    The title wins because old documents number differently (``## 3.
    Architecture``); the number covers an author who renamed a section
    (``## 8. Log`` is still the Session Log). The migration uses the title
    only: it moves text, and an unknown title is safer in the appendix.
    """
    by_title = canonical_number(title)
    if by_title is not None:
        return by_title
    number = section_number(title)
    return number if number in SECTION_BY_NUMBER else None


def is_canonical_heading(title: str, section: CanonicalSection) -> bool:
    """True if the heading *is* the section (same number or same title), not a related one."""
    return section_number(title) == section.number or bare_title(title) == bare_title(section.title)


def session_of(title: str) -> int | None:
    """The session number of a per-session heading (``R44: ...`` -> 44)."""
    match = _SESSION.match(title.strip())
    return int(match.group(1)) if match else None


def session_log_name(title: str) -> str | None:
    """The session a Session Log entry heading is about (``R3-verify (2025-09-08): focus`` -> ``R3-verify``).

    The name runs up to the `` (date)`` or the colon that kbgen and most teams
    write after it; only names that start with ``R<n>`` count, so other
    sub-headings of the log (``### Notes``) are not entries. The generator
    orders entries by :func:`kbgen.vocab.session_order_key` of exactly this name
    and the linter checks that order, so a generated log always lints clean.
    """
    match = _LOG_ENTRY.match(" ".join(title.split()))
    return match.group(1).strip() if match else None


def is_cumulative(title: str) -> bool:
    """A cumulative re-listing such as ``Updated CRITICAL Findings (+1 = 3 total)``."""
    return _CUMULATIVE.match(title.strip()) is not None


def is_severity_subheading(title: str) -> bool:
    """A registry sub-heading such as ``3a. CRITICAL Findings``."""
    return _SEVERITY_SUBHEADING.match(title.strip()) is not None


def is_header_line(line: str) -> bool:
    """A ``>`` line of the generated header (priority, coverage, status, last update)."""
    return _HEADER_LINE.match(line) is not None


def finding_label(cell: str) -> tuple[str, int] | None:
    """The severity letter and number of a finding label cell (``C2`` -> ("C", 2))."""
    match = _LABEL.search(cell)
    return (match.group(1), int(match.group(2))) if match else None


def is_file_table(table: Table) -> bool:
    """A File Registry table: it has File and Package columns."""
    return "file" in table.header and "package" in table.header


def is_findings_table(table: Table) -> bool:
    """A findings table: its first column is the finding ID."""
    return bool(table.header) and table.header[0] == "id"


def is_positives_table(table: Table) -> bool:
    """A positives table: Description, File(s) and Session, without an ID."""
    cols = set(table.header)
    return "description" in cols and "session" in cols and bool(cols & {"file(s)", "files", "file"})


def is_registry_table(table: Table) -> bool:
    """A hand-written copy of something kbgen now generates from the database."""
    return is_file_table(table) or is_findings_table(table) or is_positives_table(table)
