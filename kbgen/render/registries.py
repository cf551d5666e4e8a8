"""The generated sections of a domain document, rendered from the snapshot.

Plain readable markdown (the document lives in git and is read raw), with all
database text escaped. Labels are plain (``C3``); on the site the
``kbgen.sphinxext.labels`` transform turns them into links to the findings.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from kbgen import analysis, vocab
from kbgen.config import Options
from kbgen.domain.structure import session_log_name
from kbgen.model import Domain, File, Finding, Label, Session, Snapshot
from kbgen.render import escape
from kbgen.render.myst import Md, fmt_int, pct, table
from kbgen.wording import count, listing

SECTION_KEYS: tuple[str, ...] = ("header", "files", "findings", "positives", "dependencies", "gaps", "session_log")
_SEVERITY_SUBSECTIONS = (("CRITICAL", "3a"), ("HIGH", "3b"), ("MEDIUM", "3c"))
GAP_LIMIT_PER_TIER = 15


def _session_label(snap: Snapshot, session_id: int | None) -> str:
    s = snap.session_by_id.get(session_id) if session_id is not None else None
    return s.label if s else "—"


def _file_name(snap: Snapshot, file_id: int | None) -> str:
    f = snap.file_by_id.get(file_id) if file_id is not None else None
    return f.path if f else "—"


#: The columns of the three registries (docs/reference/domain-documents.md).
FILE_HEADERS = ("File", "Package", "LOC", "Real%", "Depth", "Key Verdict", "Session")
FINDING_HEADERS = ("ID", "Description", "File(s)", "Session", "Status")
POSITIVE_HEADERS = ("Description", "File(s)", "Session")


@dataclass(frozen=True)
class FileRow:
    """A File Registry row. Its ``[more]`` link is relative to the page it lands on, so it is made there."""

    file: File
    verdict: str  # the key verdict as the cell shows it (escaped, shortened)
    more: Path | None  # the file's page, when the cell shortened the verdict
    session: str

    def cells(self, base: Path | None) -> list[object]:
        """The row's cells on a page in folder ``base`` (None: no link, the verdict alone)."""
        verdict = Md(f"{self.verdict} [more]({_href(self.more, base)})" if self.more and base else self.verdict)
        f = self.file
        return [Md(escape.code(f.path)), f.package, f.loc, "—", f.depth, verdict, self.session]


@dataclass(frozen=True)
class FindingRow:
    """A row of a severity's Findings Registry, with its label's number (the registry's order)."""

    number: int
    cells: list[object]


@dataclass(frozen=True)
class DomainRegistries:
    """The rows of a domain's three registries, built once for its document and its site pages."""

    files: list[FileRow]
    #: Severity → its rows, in label order (CRITICAL, HIGH, MEDIUM).
    findings: dict[str, list[FindingRow]]
    #: Severity → the note under its table naming the labels it skips (positives), or "".
    notes: dict[str, str]
    positives: list[list[object]]


def domain_registries(snap: Snapshot, domain: Domain, options: Options) -> DomainRegistries:
    """The rows of the File, Findings and Positives registries of ``domain``."""
    name = domain.name
    files = snap.files_of_domain.get(name, ())
    last_session = _last_sessions(snap)
    file_rows = []
    for fl in sorted(files, key=_registry_key):
        if not analysis.read_medium_plus(fl):
            continue
        text = key_verdict(snap, fl)
        short = escape.shorten(text, options.verdict_max_chars)
        # The whole verdict is on the file's page (its notes, or its finding's text).
        more = None if short == " ".join(escape.clean(text).split()) else (
            options.generated_path / "files" / f"{fl.need_id}.md")
        file_rows.append(FileRow(fl, escape.cell(short) or "—", more, _session_label(snap, last_session.get(fl.id))))

    labels = {lab.finding_id: lab for lab in snap.labels_of_domain.get(name, ())}
    findings: dict[str, list[FindingRow]] = {}
    notes: dict[str, str] = {}
    # The labelled findings by severity in one pass (each asked whether it is a positive once, not per severity).
    by_severity: dict[str, list[tuple[Label, Finding]]] = {severity: [] for severity, _ in _SEVERITY_SUBSECTIONS}
    for fid, lab in labels.items():
        f = snap.finding_by_id.get(fid)
        if f is not None and f.severity in by_severity and not snap.is_positive(f):
            by_severity[f.severity].append((lab, f))
    for severity, _ in _SEVERITY_SUBSECTIONS:
        items = by_severity[severity]
        findings[severity] = [
            FindingRow(lab.number, [lab.text, _describe(f), Md(escape.code(_file_name(snap, f.file_id))),
                                    _session_label(snap, f.session_id), snap.finding_status_text(f.id)])
            for lab, f in sorted(items, key=lambda item: item[0].number)]
        notes[severity] = _positive_labels_note(snap, labels, severity)
    positives = [f for fid in sorted({f.id for fl in files for f in snap.findings_of_file.get(fl.id, ())})
                 if snap.is_positive(f := snap.finding_by_id[fid])]
    # The columns stay Description, File(s), Session (docs/reference/domain-documents.md): a positive's
    # label, which the severity registries skip, leads its description, so every label shows somewhere.
    positive_rows: list[list[object]] = [
        [f"{labels[f.id].text}: {_describe(f)}" if f.id in labels else _describe(f),
         Md(escape.code(_file_name(snap, f.file_id))), _session_label(snap, f.session_id)]
        for f in positives]
    return DomainRegistries(file_rows, findings, notes, positive_rows)


def _last_sessions(snap: Snapshot) -> dict[int, int]:
    """File id → the last session (in the Session Log's order) that read it.

    Campaign-wide, so worked out once per snapshot (cached on it), not once per domain.
    """
    cached: dict[int, int] | None = vars(snap).get("_kbgen_last_sessions")
    if cached is not None:
        return cached
    rank = {sid: i for i, sid in enumerate(session_log_order(snap, snap.session_by_id))}
    last: dict[int, int] = {}
    for r in snap.reads:
        if r.session_id is not None and r.session_id in snap.session_by_id:
            last[r.file_id] = max(last.get(r.file_id, r.session_id), r.session_id, key=rank.__getitem__)
    vars(snap)["_kbgen_last_sessions"] = last
    return last


def files_table(rows: Sequence[FileRow], base: Path | None) -> Md:
    """File Registry rows as a table on a page in folder ``base`` ("" for no rows)."""
    return table(FILE_HEADERS, [r.cells(base) for r in rows])


def findings_table(rows: Sequence[FindingRow]) -> Md:
    return table(FINDING_HEADERS, [r.cells for r in rows])


def positives_table(rows: Sequence[Sequence[object]]) -> Md:
    return table(POSITIVE_HEADERS, rows)


def severity_heading(severity: str) -> str:
    """``### 3a. CRITICAL Findings``: a severity's subsection heading, in the findings block."""
    return f"### {dict(_SEVERITY_SUBSECTIONS)[severity]}. {severity} Findings"


def domain_sections(snap: Snapshot, domain: Domain, options: Options, doc_path: Path | None = None,
                    regs: DomainRegistries | None = None) -> dict[str, str]:
    """Section key → markdown body for one domain (written to ``doc_path``: links are relative to it).

    ``regs``: the domain's registry rows when the caller built them already (:func:`domain_registries`).
    """
    name = domain.name
    files = snap.files_of_domain.get(name, ())
    sessions = session_log_order(snap, analysis.sessions_touching_domain(snap, name))
    last = snap.session_by_id[sessions[-1]] if sessions else None
    # Two quoted lines, as the documented header has them, a paragraph each: with no empty quote line
    # between them markdown joins them into one ("Status: In progress Last updated: ...").
    header = (f"> **Priority**: {escape.inline(domain.priority)} | **Coverage**: "
              f"{coverage_line(analysis.domain_coverage_row(snap, name))}\n>\n"
              f"> **Last updated**: {escape.inline(last.date or '—') if last else '—'}"
              f"{f' (Session {escape.inline(last.label)})' if last else ''}\n")
    regs = regs or domain_registries(snap, domain, options)
    files_md = files_table(regs.files, doc_path.parent if doc_path else None) or Md(
        "No file of this domain has been read MEDIUM or deeper yet.\n")
    findings_parts = []
    for severity, _ in _SEVERITY_SUBSECTIONS:
        body = findings_table(regs.findings[severity]) or Md(f"No {severity} findings.\n")
        findings_parts.append(f"{severity_heading(severity)}\n\n{body}{regs.notes[severity]}")
    positives_md = positives_table(regs.positives) or Md("No positive findings recorded yet.\n")

    cross = analysis.cross_domain(snap, name)
    deps_md = table(["Domain", "Edges out", "Edges in", "Shared files"], [
        [other, c["edges_out"], c["edges_in"], c["shared_files"]] for other, c in cross.items()]) or Md(
        "No dependency edge or shared file reaches another domain.\n")

    gap_parts = []
    for tier, total, shown in shown_gaps(snap, options, name):
        left = total - len(shown)
        more = f"\n{count(left, f'more {tier} file')} not listed.\n" if left > 0 else ""
        gap_parts.append(f"**{tier}** ({count(total, 'file')})\n\n" + table(
            ["File", "Package", "LOC", "Why"],
            [[Md(escape.code(g.file.path)), g.file.package, g.file.loc, g.reason] for g in shown]) + more)
    domain_file_ids = {f.id for f in files}
    in_scope_ids = domain_file_ids - analysis.excluded_ids(snap)  # a question on an excluded file is no gap
    # A question answered only in part (a partial text answer) is still a gap: it is listed with its verdict.
    open_qs = [q for q in snap.questions if not in_scope_ids.isdisjoint(q.file_ids) and (
        snap.question_status(q.id) == "open"
        or (q.id in snap.text_answer_of and snap.text_answer_of[q.id].partial))]
    if open_qs:
        gap_parts.append("**Open plan questions**\n\n" + table(
            ["Question", "Session", "Text", "Status"],
            [[q.id, f"R{q.session}", escape.shorten(q.text, 120),
              "open" if snap.question_status(q.id) == "open"
              else "partly answered: " + escape.shorten(snap.text_answer_of[q.id].verdict or "", 120)]
             for q in open_qs]))
    gaps_md = "\n".join(gap_parts) or "No unread source files and no open plan questions.\n"

    log_parts = []
    excluded = analysis.excluded_ids(snap)
    for sid in sessions:
        s = snap.session_by_id[sid]
        reads = [r for r in snap.reads_of_session.get(sid, ()) if r.file_id in domain_file_ids]
        read_files = {r.file_id for r in reads if r.file_id not in excluded}
        read_excluded = {r.file_id for r in reads if r.file_id in excluded}
        read_loc = sum(snap.file_by_id[i].loc or 0 for i in read_files if i in snap.file_by_id)
        found = [f for f in snap.findings_of_session.get(sid, ()) if f.file_id in domain_file_ids]
        found_excluded = sum(1 for f in found if f.file_id in excluded)
        sev = Counter(f.severity for f in found if f.file_id not in excluded)
        total = sum(sev.values())
        counts = ", ".join(f"{sev[k]} {k}" for k in vocab.SEVERITIES if sev.get(k))
        apart = ""
        if read_excluded or found_excluded:
            what = [count(len(read_excluded), "file") + " read"] if read_excluded else []
            what += [count(found_excluded, "finding")] if found_excluded else []
            apart = f" Not counted, on files excluded since: {' and '.join(what)}."
        log_parts.append(
            f"### {escape.inline(s.label)} ({escape.inline(s.date or 'undated')}): "
            f"{escape.inline(s.focus or 'session')}\n\n"  # each field escaped apart: no code span across them
            f"{count(len(read_files), 'file')} read ({fmt_int(read_loc)} LOC); {count(total, 'finding')}"
            f"{': ' + counts if total else ''}.{apart}\n")
    log_md = "\n".join(log_parts) or "No session has touched this domain yet.\n"
    return {"header": header, "files": files_md, "findings": "\n".join(findings_parts), "positives": positives_md,
            "dependencies": deps_md, "gaps": gaps_md, "session_log": log_md}


def shown_gaps(snap: Snapshot, options: Options, name: str) -> list[tuple[str, int, list[analysis.Gap]]]:
    """The priority gaps a domain document lists: for each tier that has some, its count and the first
    :data:`GAP_LIMIT_PER_TIER` (what :mod:`kbgen.render.domain_cache` digests of them, too)."""
    gaps = [g for g in analysis.priority_gaps(snap, options, high_only=False) if name in g.domains]
    by_tier = Counter(g.tier for g in gaps)
    return [(tier, by_tier[tier], [g for g in gaps if g.tier == tier][:GAP_LIMIT_PER_TIER])
            for tier in analysis.TIERS if by_tier[tier]]


def coverage_line(c: analysis.Coverage) -> str:
    """The header's coverage and status: in-scope files only; excluded ones named, never counted.

    ``N% of LOC (12/40 files MEDIUM or deeper; 3 excluded files not counted) | **Status**: In progress``.
    """
    apart = f"; {count(c.excluded_files, 'excluded file')} not counted" if c.excluded_files else ""
    if not c.files:
        return f"{analysis.coverage_text(c)} | **Status**: {'Out of scope' if c.excluded_files else 'Not started'}"
    status = "Not started" if not c.files_read else ("Complete" if c.files_read == c.files else "In progress")
    share = f"{pct(c.loc_read, c.loc)} of LOC" if c.has_coverage else analysis.coverage_text(c)
    return f"{share} ({c.files_read:,}/{c.files:,} files MEDIUM or deeper{apart}) | **Status**: {status}"


def key_verdict(snap: Snapshot, f: File) -> str:
    """What the File Registry says of a file: its notes, else its most severe finding's text."""
    if f.notes and f.notes.strip():
        return f.notes
    fs = sorted(snap.findings_of_file.get(f.id, ()), key=lambda x: (vocab.severity_rank(x.severity), x.id))
    return fs[0].description if fs else ""


def _href(target: Path, base: Path) -> str:
    """A relative link from a file in ``base`` to ``target``, in angle brackets only when it needs them."""
    rel = Path(os.path.relpath(target, base)).as_posix()
    return rel if re.fullmatch(r"[\w./-]+", rel, re.ASCII) else f"<{quote(rel, safe='/._-~')}>"


def _shown(text: str) -> str:
    """Database text as a reader (and the linter) sees it in a table cell: cleaned, spacing collapsed."""
    return " ".join(escape.clean(text).split())


def _registry_key(f: File) -> tuple[str, str, int]:
    """The File Registry's order, by package then path as the cells show them (what the linter compares)."""
    return _shown(f.package), _shown(f.path), f.id


def _log_heading(s: Session) -> str:
    """A Session Log entry's heading as text: ``R3-verify (2025-09-08): focus``."""
    return f"{s.label} ({s.date or 'undated'}): {s.focus or 'session'}"


def session_log_order(snap: Snapshot, session_ids: Iterable[int]) -> list[int]:
    """Session ids in the order the linter checks: the natural order of the names the log shows.

    The name is read back from the entry's heading text exactly as the linter
    reads it (:func:`kbgen.domain.structure.session_log_name`), so a name with
    a colon or a parenthesis in it sorts where the linter expects it; the full
    label, the date and the id only break ties, for deterministic output.
    """
    def key(sid: int) -> tuple[vocab.SessionKey, vocab.SessionKey, str, int]:
        s = snap.session_by_id[sid]
        shown = escape.clean(_log_heading(s))
        name = session_log_name(shown) or " ".join(shown.split())
        return vocab.session_order_key(name), vocab.session_order_key(escape.clean(s.label)), s.date or "", sid
    return sorted(session_ids, key=key)


def _positive_labels_note(snap: Snapshot, labels: Mapping[int, Label], severity: str) -> str:
    """Under a severity table, the labels it skips because their findings are positives ('' if none)."""
    skipped = sorted((lab for fid, lab in labels.items() if fid in snap.finding_by_id
                      and snap.finding_by_id[fid].severity == severity and snap.is_positive(snap.finding_by_id[fid])),
                     key=lambda lab: lab.number)
    if not skipped:
        return ""
    what = "is a positive finding" if len(skipped) == 1 else "are positive findings"
    return f"\n{listing([lab.text for lab in skipped])} {what}, listed in the Positives Registry (section 4).\n"


def _describe(f: Finding) -> str:
    return escape.shorten(f.description, 200) or f.need_id


def domain_title(domain: Domain) -> str:
    words = [w for w in domain.name.replace("_", "-").split("-") if w]
    return " ".join(w.capitalize() for w in words) or domain.name
