"""Plan versus actual for one session, computed once for the session page and ``kbgen session finish``.

Both must agree to the unit: what the terminal says when a session closes is
what its page says after the next sync.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from kbgen import vocab
from kbgen.model import PlanRecord, Session, Snapshot


@dataclass(frozen=True)
class PlannedFile:
    file_id: int | None
    path: str
    loc: int | None
    depth: str | None  #: strongest depth this session read it at; None: not read


@dataclass(frozen=True)
class SessionProgress:
    session: Session
    plan: PlanRecord | None
    planned: tuple[PlannedFile, ...]
    unplanned_read: tuple[int, ...]  #: files read but not planned, by id
    files_read: int
    findings: Counter[str]  #: normalised severity → count
    questions: tuple[str, ...]
    explicit: tuple[str, ...]  #: answered explicitly (finding links or a text answer)
    text_only: tuple[str, ...]  #: answered in words, without any finding
    partly: tuple[str, ...]  #: of the explicit answers, those that answer only in part
    inferred: tuple[str, ...]
    open: tuple[str, ...]

    @property
    def explicit_actual(self) -> str:
        """The "answered explicitly" figure as the page and ``session finish`` both show it:
        ``6/8 (1 in words only, 1 partly)``."""
        notes = [f"{len(self.text_only)} in words only"] if self.text_only else []
        notes += [f"{len(self.partly)} partly"] if self.partly else []
        return f"{len(self.explicit)}/{len(self.questions)}" + (f" ({', '.join(notes)})" if notes else "")

    @property
    def planned_read(self) -> tuple[PlannedFile, ...]:
        return tuple(p for p in self.planned if p.depth is not None)

    @property
    def planned_unread(self) -> tuple[PlannedFile, ...]:
        return tuple(p for p in self.planned if p.depth is None)

    def to_json(self) -> dict[str, Any]:
        s = self.session
        return {
            "session": s.label, "session_id": s.id, "date": s.date, "plan": self.plan is not None,
            "planned_files": len(self.planned), "planned_files_read": len(self.planned_read),
            "planned_files_unread": [{"file_id": p.file_id, "path": p.path} for p in self.planned_unread],
            "files_read": self.files_read, "unplanned_files_read": list(self.unplanned_read),
            "findings": {sev: self.findings.get(sev, 0) for sev in vocab.SEVERITIES if self.findings.get(sev)},
            "questions": len(self.questions), "answered_explicitly": list(self.explicit),
            "answered_in_words_only": list(self.text_only), "answered_partly": list(self.partly),
            "answered_by_inference": list(self.inferred),
            "open": list(self.open),
        }


def session_progress(snap: Snapshot, s: Session) -> SessionProgress:
    plan = snap.plan_by_session.get(s.number) if snap.session_by_number.get(s.number) == s else None
    data = plan.data if plan else {}
    depth_of: dict[int, list[str]] = {}
    for r in snap.reads_of_session.get(s.id, ()):
        depth_of.setdefault(r.file_id, []).append(r.depth)
    planned = []
    planned_ids: set[int] = set()
    for pf in data.get("files", []):
        fid = int(pf["file_id"]) if pf.get("file_id") is not None else None
        if fid is not None:
            planned_ids.add(fid)
        depths = depth_of.get(fid, []) if fid is not None else []
        planned.append(PlannedFile(fid, str(pf.get("path") or ""), pf.get("loc"),
                                   max(depths, key=vocab.depth_rank) if depths else None))
    questions = snap.questions_of_session.get(s.number, ()) if plan else ()
    explicit, text_only, partly, inferred, open_ = [], [], [], [], []
    for q in questions:
        status = snap.question_status(q.id)
        if status == "answered":
            explicit.append(q.id)
            if not snap.answers_of_question.get(q.id):
                text_only.append(q.id)
            if snap.question_partly(q.id):
                partly.append(q.id)
        elif status == "inferred":
            inferred.append(q.id)
        else:
            open_.append(q.id)
    return SessionProgress(
        s, plan, tuple(planned), tuple(sorted(set(depth_of) - planned_ids)), len(depth_of),
        Counter(f.severity for f in snap.findings_of_session.get(s.id, ())), tuple(q.id for q in questions),
        tuple(explicit), tuple(text_only), tuple(partly), tuple(inferred), tuple(open_))
