"""The traceability model (docs/reference/traceability.md) as data.

Need types, fields and link types are declared here once; the Sphinx
extension turns them into sphinx-needs configuration and the tests check
needs.json against the same tables. These names are a public interface:
extend, never rename.
"""

from __future__ import annotations

from typing import Final

NEED_TYPES: Final[tuple[dict[str, str], ...]] = (
    {"directive": "session", "title": "Session", "prefix": "S", "color": "#D9E8F5", "style": "node"},
    {"directive": "question", "title": "Question", "prefix": "Q", "color": "#F5E6C8", "style": "node"},
    {"directive": "finding", "title": "Finding", "prefix": "F", "color": "#F3D1D1", "style": "node"},
    {"directive": "file", "title": "File", "prefix": "FILE", "color": "#DDEBD7", "style": "node"},
    {"directive": "domain", "title": "Domain", "prefix": "D-", "color": "#E4DDF0", "style": "node"},
)

#: Field name → description. All are plain strings; dynamic functions and
#: variants are never parsed in them (database text is data).
FIELDS: Final[dict[str, str]] = {
    "date": "session date (ISO) as recorded",
    "focus": "session focus",
    "plan": "yes when an execution plan was imported for the session",
    "session_name": "the session's name in the research database (R95, R3-verify, ...)",
    "severity": "normalised severity: CRITICAL, HIGH, MEDIUM, LOW, INFO, UNKNOWN",
    "severity_raw": "severity exactly as the database holds it",
    "category": "normalised category (lowercase kebab-case)",
    "category_raw": "category exactly as the database holds it",
    "lines": "line range of a finding (start-end)",
    "label": "per-domain finding labels, e.g. 'build-cache:C3'",
    "status_detail": "Open / Resolved in R<n> / Superseded by R<n>: reason",
    "followed_up": "yes when the finding was followed up",
    "inferred": "yes when a question's answers are inferred (same file and session), not explicit",
    "answer": "full or partial when a question is answered in words (kbgen record), else empty",
    "verdict": "the answer in words, a sentence or two",
    "inferred_from": "how an inferred question was answered: 'file' (findings on its file from its session) "
                     "or 'cluster' (a question naming no file: findings from its session on its cluster's files)",
    "package": "package of a file",
    "path": "relative path of a file inside its package",
    "loc": "lines of code of a file",
    "depth": "depth of a file: DEEP, MEDIUM, SURFACE, MENTIONED, NOT_TOUCHED, or EXCLUDED (taken out of scope)",
    "priority": "domain priority: HIGH, MEDIUM, LOW",
    "coverage": "share of a domain's in-scope LOC read MEDIUM or deeper (EXCLUDED files left out), or why it has none",
}

#: Link name → (outgoing label, incoming label).
LINKS: Final[dict[str, tuple[str, str]]] = {
    "answers": ("answers", "answered by"),
    "on_file": ("on file", "findings and questions"),
    "in_session": ("in session", "session items"),
    "supersedes": ("supersedes", "superseded by"),
    "depends_on": ("depends on", "depended on by"),
    "in_domain": ("in domain", "domain members"),
}

#: Incoming links a need's details on the site do not list (needs.json has them all). A domain's
#: members are every file and finding tagged with it, thousands at campaign scale: its domain page
#: and registry pages list them, by package and severity, where one line of links would not.
UNLISTED_INCOMING: Final[tuple[str, ...]] = ("in_domain",)

STATUSES: Final[tuple[tuple[str, str], ...]] = (
    ("open", "question without an answer, or finding still open"),
    ("answered", "question with an explicit answer: finding links or a verdict in words"),
    ("inferred", "question answered by findings from its session on its file, or on its cluster's files "
                 "for a question that names no file (inferred; see option inferred_from)"),
    ("resolved", "finding resolved in a later session"),
    ("superseded", "finding corrected by a later finding"),
)

#: Admits S95, Q95-4458, Q95-4458-2, Q95-N1, F1234, FILE4458, D-BUILD-CACHE.
ID_REGEX: Final[str] = r"^(S\d+|Q\d+-(\d+(-\d+)?|N\d+)|F\d+|FILE\d+|D-[A-Z0-9][A-Z0-9-]*)$"


def domain_need_id(name: str) -> str:
    """``build-cache`` → ``D-BUILD-CACHE`` (anything else folded to ``-``)."""
    import re

    folded = re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")
    return f"D-{folded or 'X'}"
