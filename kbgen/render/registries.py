"""The generated sections of a domain document, rendered from the snapshot.

Plain readable markdown (the document lives in git and is read raw), with all
database text escaped. Labels are plain (``C3``); on the site the
``kbgen.sphinxext.labels`` transform turns them into links to the findings.
"""

from __future__ import annotations

from collections import Counter

from kbgen import analysis, vocab
from kbgen.config import Options
from kbgen.model import Domain, Finding, Snapshot, file_sort_key
from kbgen.render import escape
from kbgen.render.myst import Md, fmt_int, pct, table

SECTION_KEYS: tuple[str, ...] = ("header", "files", "findings", "positives", "dependencies", "gaps", "session_log")
_SEVERITY_SUBSECTIONS = (("CRITICAL", "3a"), ("HIGH", "3b"), ("MEDIUM", "3c"))
GAP_LIMIT_PER_TIER = 15


def _session_label(snap: Snapshot, session_id: int | None) -> str:
    s = snap.session_by_id.get(session_id) if session_id is not None else None
    return s.label if s else "—"


def _file_name(snap: Snapshot, file_id: int | None) -> str:
    f = snap.file_by_id.get(file_id) if file_id is not None else None
    return f.path if f else "—"


def domain_sections(snap: Snapshot, domain: Domain, options: Options) -> dict[str, str]:
    """Section key → markdown body for one domain."""
    name = domain.name
    files = snap.files_of_domain.get(name, ())
    n_files, n_read, loc, loc_read = analysis.domain_coverage(snap, name)
    sessions = analysis.sessions_touching_domain(snap, name)
    last = snap.session_by_id[sessions[-1]] if sessions else None
    status = "Not started" if not n_read else ("Complete" if n_read == n_files else "In progress")
    header = (f"> **Priority**: {escape.inline(domain.priority)} | **Coverage**: {pct(loc_read, loc)} of LOC "
              f"({n_read:,}/{n_files:,} files MEDIUM or deeper) | **Status**: {status}\n"
              f"> **Last updated**: {escape.inline(last.date or '—') if last else '—'}"
              f"{f' (Session {escape.inline(last.label)})' if last else ''}\n")

    last_session: dict[int, int] = {}
    for r in snap.reads:
        if r.session_id is not None and r.session_id in snap.session_by_id:
            last_session[r.file_id] = max(last_session.get(r.file_id, 0), r.session_id)
    registry = [f for f in sorted(files, key=file_sort_key) if analysis.read_medium_plus(f)]

    def verdict(file_id: int) -> str:
        fs = sorted(snap.findings_of_file.get(file_id, ()), key=lambda x: (vocab.severity_rank(x.severity), x.id))
        f = snap.file_by_id[file_id]
        text = f.notes or (fs[0].description if fs else "")
        return escape.plain(text, 90) or "—"

    files_md = table(["File", "Package", "LOC", "Real%", "Depth", "Key Verdict", "Session"], [
        [Md(escape.code(f.path)), f.package, f.loc, "—", f.depth, verdict(f.id),
         _session_label(snap, last_session.get(f.id))] for f in registry]) or Md(
        "No file of this domain has been read MEDIUM or deeper yet.\n")

    labels = {lab.finding_id: lab for lab in snap.labels_of_domain.get(name, ())}
    findings_parts = []
    for severity, number in _SEVERITY_SUBSECTIONS:
        rows = []
        items = [(labels[fid], snap.finding_by_id[fid]) for fid in labels
                 if fid in snap.finding_by_id and snap.finding_by_id[fid].severity == severity
                 and not snap.is_positive(snap.finding_by_id[fid])]
        for lab, f in sorted(items, key=lambda item: item[0].number):
            rows.append([lab.text, _describe(f), Md(escape.code(_file_name(snap, f.file_id))),
                         _session_label(snap, f.session_id), snap.finding_status_text(f.id)])
        body = table(["ID", "Description", "File(s)", "Session", "Status"], rows) or Md(f"No {severity} findings.\n")
        findings_parts.append(f"### {number}. {severity} Findings\n\n{body}")
    positives = [f for fid in sorted({f.id for fl in files for f in snap.findings_of_file.get(fl.id, ())})
                 if snap.is_positive(f := snap.finding_by_id[fid])]
    positives_md = table(["Description", "File(s)", "Session"], [
        [_describe(f), Md(escape.code(_file_name(snap, f.file_id))), _session_label(snap, f.session_id)]
        for f in positives]) or Md("No positive findings recorded yet.\n")

    cross = analysis.cross_domain(snap, name)
    deps_md = table(["Domain", "Edges out", "Edges in", "Shared files"], [
        [other, c["edges_out"], c["edges_in"], c["shared_files"]] for other, c in cross.items()]) or Md(
        "No dependency edge or shared file reaches another domain.\n")

    gaps = [g for g in analysis.priority_gaps(snap, options, high_only=False) if name in g.domains]
    gap_parts = []
    by_tier = Counter(g.tier for g in gaps)
    for tier in analysis.TIERS:
        tier_gaps = [g for g in gaps if g.tier == tier]
        if not tier_gaps:
            continue
        shown = tier_gaps[:GAP_LIMIT_PER_TIER]
        more = f"\n{by_tier[tier] - len(shown):,} more {tier} files not listed.\n" if by_tier[tier] > len(shown) else ""
        gap_parts.append(f"**{tier}** ({by_tier[tier]:,} files)\n\n" + table(
            ["File", "Package", "LOC", "Why"],
            [[Md(escape.code(g.file.path)), g.file.package, g.file.loc, g.reason] for g in shown]) + more)
    domain_file_ids = {f.id for f in files}
    # A question answered only in part (a partial text answer) is still a gap: it is listed with its verdict.
    open_qs = [q for q in snap.questions if set(q.file_ids) & domain_file_ids and (
        snap.question_status(q.id) == "open"
        or (q.id in snap.text_answer_of and snap.text_answer_of[q.id].partial))]
    if open_qs:
        gap_parts.append("**Open plan questions**\n\n" + table(
            ["Question", "Session", "Text", "Status"],
            [[q.id, f"R{q.session}", escape.plain(q.text, 120),
              "open" if snap.question_status(q.id) == "open"
              else "partly answered: " + escape.plain(snap.text_answer_of[q.id].verdict or "", 120)]
             for q in open_qs]))
    gaps_md = "\n".join(gap_parts) or "No unread source files and no open plan questions.\n"

    log_parts = []
    for sid in sessions:
        s = snap.session_by_id[sid]
        reads = [r for r in snap.reads_of_session.get(sid, ()) if r.file_id in domain_file_ids]
        read_files = {r.file_id for r in reads}
        read_loc = sum(snap.file_by_id[i].loc or 0 for i in read_files if i in snap.file_by_id)
        found = [f for f in snap.findings_of_session.get(sid, ()) if f.file_id in domain_file_ids]
        sev = Counter(f.severity for f in found)
        counts = ", ".join(f"{sev[k]} {k}" for k in vocab.SEVERITIES if sev.get(k)) or "no findings"
        log_parts.append(
            f"### {escape.inline(s.label)} ({escape.inline(s.date or 'undated')}): "
            f"{escape.inline(s.focus or 'session')}\n\n"
            f"{len(read_files):,} files read ({fmt_int(read_loc)} LOC); {len(found):,} findings: {counts}.\n")
    log_md = "\n".join(log_parts) or "No session has touched this domain yet.\n"
    return {"header": header, "files": files_md, "findings": "\n".join(findings_parts), "positives": positives_md,
            "dependencies": deps_md, "gaps": gaps_md, "session_log": log_md}


def _describe(f: Finding) -> str:
    return escape.plain(f.description, 200) or f.need_id


def domain_title(domain: Domain) -> str:
    words = [w for w in domain.name.replace("_", "-").split("-") if w]
    return " ".join(w.capitalize() for w in words) or domain.name
