"""Writing a new worksheet, prefilled from the session's plan.

Every planned file becomes a read entry with its ID, package, path, LOC and
depth so far (depth and lines left empty for the researcher), every key
question an entry with an empty answer slot, the plan's domain tags a tag
entry. Without a plan the worksheet is empty but complete: every section is
there, with a comment saying what goes in it. The text is written by hand,
not dumped, so the comments guide whoever fills it in.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from kbgen import vocab


@dataclass(frozen=True)
class PlannedRead:
    file_id: int | None
    package: str | None
    path: str
    loc: int | None
    depth: str | None
    cluster: str | None


@dataclass(frozen=True)
class PlannedQuestion:
    id: str
    text: str
    file_ids: tuple[int, ...]


@dataclass(frozen=True)
class PlannedTag:
    domains: tuple[str, ...]
    file_ids: tuple[int, ...]
    unknown: tuple[str, ...] = ()  #: domains the plan names that the database does not have


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _wrap(first: str, text: str) -> list[str]:
    return textwrap.wrap(text, width=100, initial_indent=first, subsequent_indent="#   ", break_on_hyphens=False)


def scalar(value: object) -> str:
    """One YAML scalar on one line, quoted only when it must be."""
    if value is None:
        return ""
    dumped = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    return dumped.removesuffix("\n").removesuffix("\n...").strip()


def render_worksheet(*, session: int, date: str | None, focus: str | None, plan: str | None,
                     schema_ref: str, record_hint: str, categories: Sequence[str],
                     reads: Sequence[PlannedRead] = (), questions: Sequence[PlannedQuestion] = (),
                     tags: Sequence[PlannedTag] = ()) -> str:
    out: list[str] = [
        f"# yaml-language-server: $schema={schema_ref}",
        f"# Session worksheet for R{session}" + (f", started from {plan}." if plan else "."),
        "# Fill it in as you work, check it, then record it (again after any edit: the same rows are",
        "# updated, nothing is added twice):",
        f"#   {record_hint} --dry-run",
        f"#   {record_hint}",
        "worksheet: 1",
        f"session: R{session}",
        f"date: {date if date and _ISO.match(date) else scalar(date)}".rstrip(),
        f"focus: {scalar(focus)}".rstrip(),
        "agents:",
        "notes:",
        f"plan: {scalar(plan)}".rstrip(),
        "",
        "# Files read, one entry per file. depth: " + ", ".join(vocab.READ_DEPTHS)
        + " (empty: not read, nothing is",
        "# recorded); lines: the ranges read, e.g. 1-120,300-420, or `all`. loc and depth_so_far are for",
        "# reference. Add files read off-plan by ID (`file: 1234`) or by `package:` and `path:`.",
    ]
    if reads:
        out.append("reads:")
        cluster: str | None = None
        for r in reads:
            if r.cluster and r.cluster != cluster:
                cluster = r.cluster
                out.append(f"  # {cluster}")
            first = True
            if r.file_id is not None:
                out.append(f"  - file: {r.file_id}")
                first = False
            for key, value in (("package", r.package), ("path", r.path)):
                if value:
                    out.append(f"  {'- ' if first else '  '}{key}: {scalar(value)}")
                    first = False
            out.append(f"    loc: {scalar(r.loc)}".rstrip())
            out.append(f"    depth_so_far: {scalar(r.depth)}".rstrip())
            out += ["    depth:", "    lines:", "    notes:"]
    else:
        out.append("reads:")
    out += [
        "",
        "# Findings, one entry per discovery. severity: " + ", ".join(vocab.RECORD_SEVERITIES) + ";",
        *_wrap("# category (conf/kbgen.yaml): ", ", ".join(categories) + ";"),
        "# answers: the questions below that the finding answers. A short `key` keeps the finding's",
        "# row when you reorder or edit entries. Example:",
        "#  - key: export-no-metadata",
        "#    file: 4458",
        "#    severity: HIGH",
        "#    category: stub",
        "#    lines: 120-180",
        "#    description: What was found, in a sentence or two.",
        "#    answers: [Q95-4458]",
        "findings:",
        "",
        "# The plan's key questions. answer: full or partial (empty: still open); verdict: the answer",
        "# in a sentence or two (needed when no finding answers the question).",
    ]
    if questions:
        out.append("questions:")
        for q in questions:
            out.append(f"  - id: {q.id}")
            out.append(f"    text: {scalar(q.text)}")
            if q.file_ids:
                out.append(f"    files: [{', '.join(str(i) for i in q.file_ids)}]")
            out += ["    answer:", "    verdict:"]
    else:
        out.append("questions:")
    out += ["", "# Domain tags (file_domains): files → domains."]
    if tags:
        out.append("tags:")
        for t in tags:
            for name in t.unknown:
                out.append(f"  # the plan also tags these files {name}, which is not in the domains table")
            if t.domains:
                out.append(f"  - domains: [{', '.join(scalar(d) for d in t.domains)}]")
                out.append(f"    files: [{', '.join(str(i) for i in t.file_ids)}]")
    else:
        out.append("tags:")
    out += [
        "",
        "# Dependency edges found while reading. source/target: a file ID or {package: ..., path: ...};",
        "# relationship: " + ", ".join(vocab.RELATIONSHIPS) + ";",
        "# evidence: where it shows; verified: true when traced in the code (the default), false if inferred.",
        "dependencies:",
    ]
    return "\n".join(out) + "\n"
