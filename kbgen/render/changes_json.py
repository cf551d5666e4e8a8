"""``kbgen changes --json``: a :class:`~kbgen.changes.Changes` as plain, JSON-ready data.

Findings, files and sessions are spelled out (IDs, paths, labels, the
original severity and category beside the normalised ones), so a script
needs nothing else to act on the output.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kbgen.changes import Attribution, Changes, CoverageDelta
from kbgen.model import Finding, Session, Snapshot


def session_dict(s: Session) -> dict[str, Any]:
    return {"id": s.id, "name": s.label, "number": s.number, "date": s.date, "focus": s.focus}


def _file_dict(snap: Snapshot, file_id: int | None) -> dict[str, Any]:
    f = snap.file_by_id.get(file_id) if file_id is not None else None
    if f is None:
        return {"file_id": file_id, "package": None, "path": None}
    return {"file_id": f.id, "package": f.package, "path": f.path}


def _finding_dict(snap: Snapshot, f: Finding) -> dict[str, Any]:
    session = snap.session_by_id.get(f.session_id) if f.session_id is not None else None
    return {"id": f.id, "need": f.need_id, "severity": f.severity, "severity_raw": f.severity_raw,
            "category": f.category, "category_raw": f.category_raw, "lines": f.lines or None,
            "session": session.label if session else None, **_file_dict(snap, f.file_id),
            "description": f.description}


def _delta_dict(c: CoverageDelta) -> dict[str, Any]:
    return {"name": c.name, "files_before": c.files_before, "files_after": c.files_after,
            "loc_before": c.loc_before, "loc_after": c.loc_after, "loc_gained": c.loc_gained,
            "files_total": c.files_total, "loc_total": c.loc_total}


def to_dict(snap: Snapshot, changes: Changes, *, breakdown: Iterable[Changes] = (),
            attribution: Attribution | None = None) -> dict[str, Any]:
    """The changes as JSON-ready plain data (``kbgen changes --json``)."""
    data: dict[str, Any] = {
        "label": changes.label,
        "sessions": [session_dict(s) for s in changes.sessions],
        "summary": summary_dict(changes),
        "new_findings": [_finding_dict(snap, f) for f in changes.new_findings],
        "resolved": [{**_finding_dict(snap, r.finding), "resolved_in": r.session.label} for r in changes.resolved],
        "superseded": [{**_finding_dict(snap, s.finding), "superseded_by": s.by.id, "reason": s.reason}
                       for s in changes.superseded],
        "depth_rises": [{**_file_dict(snap, r.file_id), "loc": r.file.loc if r.file else None,
                         "before": r.before, "after": r.after} for r in changes.depth_rises],
        "coverage": {"domains": [_delta_dict(c) for c in changes.domains],
                     "packages": [_delta_dict(c) for c in changes.packages]},
        "questions_answered": [
            {"id": a.question.id, "text": a.question.text, "plan_session": f"R{a.question.session}",
             "findings": [f"F{i}" for i in a.finding_ids], "kind": a.kind, "partial": a.partial,
             "verdict": a.verdict,
             "answered_earlier_in": a.earlier.label if a.earlier else None} for a in changes.answered],
        "dependency_edges": [
            {"id": e.dependency.id, "source": _file_dict(snap, e.dependency.source_file_id),
             "target": _file_dict(snap, e.dependency.target_file_id),
             "relationship": e.dependency.relationship, "evidence": e.dependency.evidence,
             "verified": e.dependency.verified, "session": e.session.label} for e in changes.edges],
    }
    runs = list(breakdown)
    if runs:
        data["per_session"] = [{"session": c.label, **summary_dict(c)} for c in runs]
    if attribution is not None:
        data["not_attributable"] = {
            "reads_without_session": attribution.reads_without_session,
            "findings_without_session": attribution.findings_without_session,
            "statuses_without_session": attribution.statuses_without_session,
            "dependency_edges": attribution.edges_unattributed,
            "dependency_edges_total": attribution.edges_total,
        }
    return data


def summary_dict(changes: Changes) -> dict[str, Any]:
    return {"new_findings": len(changes.new_findings), "by_severity": changes.severity_counts,
            "resolved": len(changes.resolved), "superseded": len(changes.superseded),
            "files_read_deeper": len(changes.depth_rises),
            "depth_before_unknown": sum(1 for r in changes.depth_rises if r.before_unknown),
            "files_newly_medium_plus": changes.files_gained, "loc_newly_medium_plus": changes.loc_gained,
            "questions_answered": len(changes.answered), "dependency_edges": len(changes.edges)}
