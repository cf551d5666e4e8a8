"""Expected outcomes versus actual, and answers inferred from a question's cluster, on small snapshots.

Each snapshot here is built by hand so the expected figures can be counted on one's fingers:
three sessions reading files DEEP in turn, findings in each, one plan for the middle session.
"""

from __future__ import annotations

from typing import Any

import pytest

from kbgen.model import Answer, File, FileRead, Finding, PlanRecord, Question, Session, Snapshot
from kbgen.outcomes import MET, MISSED, NOT_RECORDED, compare, expected_vs_actual, session_actuals
from kbgen.plan.outcomes import expectations


def _file(fid: int, depth: str) -> File:
    return File(fid, 1, "pkg", f"src/f{fid}.rs", 100, depth, depth, None, None, None)


def _finding(fid: int, file_id: int, session: int) -> Finding:
    return Finding(fid, file_id, session, 1, 2, "HIGH", "HIGH", "bug", "bug", f"finding {fid}", False)


def _plan(session: int, outcomes: list[str], clusters: list[dict[str, Any]],
          questions: list[dict[str, Any]] | None = None) -> PlanRecord:
    data = {"outcomes": outcomes, "expectations": [e.to_json() for e in expectations(outcomes)],
            "clusters": clusters, "questions": questions or []}
    return PlanRecord(session, f"R{session}.md", "h", data)


def _snapshot(plans: tuple[PlanRecord, ...] = (), questions: tuple[Question, ...] = (),
              explicit: tuple[Answer, ...] = ()) -> Snapshot:
    # Files 1-2 went DEEP in R1, 3-5 in R2 (5 only MEDIUM there, DEEP in R3), 6 in R3; 7 is DEEP
    # with no recorded read (legacy data); 8 was read at SURFACE in R2 only.
    files = (*(_file(i, "DEEP") for i in range(1, 8)), _file(8, "SURFACE"))
    sessions = tuple(Session(i, f"R{i}", i, f"2026-01-0{i}", None, None, None) for i in (1, 2, 3))
    reads = tuple(FileRead(i, file_id, session, depth, depth, 100, None, None)
                  for i, (file_id, session, depth) in enumerate(
                      [(1, 1, "DEEP"), (2, 1, "DEEP"), (3, 2, "DEEP"), (4, 2, "DEEP"), (5, 2, "MEDIUM"),
                       (8, 2, "SURFACE"), (5, 3, "DEEP"), (6, 3, "DEEP"),
                       (1, 2, "DEEP")],  # a re-read: not a new DEEP file
                      start=1))
    findings = (_finding(10, 1, 1), _finding(20, 3, 2), _finding(21, 4, 2), _finding(22, 8, 2), _finding(30, 6, 3))
    return Snapshot((), files, (), (), sessions, reads, findings, (), (), (), plans=plans, questions=questions,
                    explicit_answers=explicit)


def test_actual_figures_are_as_of_the_session() -> None:
    snap = _snapshot()
    r1, r2, r3 = snap.sessions
    got = {s.number: session_actuals(snap, s) for s in (r1, r2, r3)}
    # DEEP today: 7 files. R3 made 5 and 6 DEEP, so after R2 there were 5, before R2 3 (1, 2 and legacy 7).
    assert (got[2].deep_before, got[2].deep_after) == (3, 5)
    assert (got[1].deep_before, got[1].deep_after) == (1, 3)
    assert (got[3].deep_before, got[3].deep_after) == (5, 7)
    assert (got[2].new_findings, got[2].files_read) == (3, 5)  # files 3, 4, 5, 8 and the re-read 1
    assert got[3].files_read == 2


@pytest.mark.parametrize(("outcome", "expected", "actual", "verdict", "note"), [
    ("New findings: ~2-4 expected", "~2-4", "3", MET, ""),
    ("New findings: 3", "3", "3", MET, ""),
    ("New findings: ~1-2", "~1-2", "3", MET, "1 above the range"),
    ("New findings: 2", "2", "3", MET, "1 more"),
    ("New findings: ~5-9", "~5-9", "3", MISSED, "2 short"),
    ("DEEP count: 3 → ~5", "3 → ~5 (+2)", "3 → 5 (+2)", MET, ""),
    # A stale "before" in the plan does not decide: the gain does.
    ("DEEP count: ~10 → ~12", "~10 → ~12 (+2)", "3 → 5 (+2)", MET, ""),
    ("DEEP count: 3 → 9", "3 → 9 (+6)", "3 → 5 (+2)", MISSED, "4 short"),
    ("DEEP count: ~6", "~6", "5", MISSED, "1 short"),
    ("Files read: 5", "5", "5", MET, ""),
    ("All 6 files read", "6", "5", MISSED, "1 short"),
])
def test_expected_versus_actual_rows(outcome: str, expected: str, actual: str, verdict: str, note: str) -> None:
    snap = _snapshot(plans=(_plan(2, ["A prose outcome", outcome], []),))
    (row,) = expected_vs_actual(snap, 2)
    assert (row.expected, row.actual, row.verdict, row.note) == (expected, actual, verdict, note)
    assert row.outcome == outcome
    assert row.result == (f"{verdict} ({note})" if note else verdict)


def test_no_rows_without_figures_and_not_recorded_without_the_session() -> None:
    snap = _snapshot(plans=(_plan(2, ["Verdict on the cache"], []), _plan(9, ["New findings: 5"], [])))
    assert expected_vs_actual(snap, 2) == []
    assert expected_vs_actual(snap, 4) == []  # no plan at all
    (row,) = expected_vs_actual(snap, 9)  # planned, not recorded yet
    assert (row.verdict, row.actual, row.actual_value) == (NOT_RECORDED, "—", None)
    assert compare([{"kind": "unknown", "low": 1, "high": 1}], None) == []


def _question(qid: str, file_ids: tuple[int, ...], cluster: str, paths: tuple[str, ...] = ()) -> Question:
    return Question(qid, 2, file_ids[0] if file_ids else None, file_ids, cluster, "?", 1, 1, paths)


def test_cluster_questions_are_answered_from_their_cluster_and_explicit_answers_win() -> None:
    clusters = [{"letter": "A", "files": [3, 4]}, {"letter": "B", "files": [5, None]}]
    questions = (_question("Q2-3", (3,), "A", ("src/f3.rs",)), _question("Q2-N1", (), "A"),
                 _question("Q2-N2", (), "B"), _question("Q2-N3", (), "B", ("src/new.rs",)),
                 _question("Q2-N4", (), "A"))
    snap = _snapshot(plans=(_plan(2, [], clusters),), questions=questions,
                     explicit=(Answer("Q2-N4", 30, inferred=False),))
    assert [a.finding_id for a in snap.answers_of_question["Q2-3"]] == [20]
    assert snap.question_inference("Q2-3") == "file"
    assert [(a.finding_id, a.inferred_from) for a in snap.answers_of_question["Q2-N1"]] == [
        (20, "cluster"), (21, "cluster")]
    assert (snap.question_status("Q2-N1"), snap.question_label("Q2-N1")) == ("inferred", "inferred from the cluster")
    # Cluster B's files have no finding from R2 (file 5 has none; the new file is not in the database).
    assert snap.question_status("Q2-N2") == "open" and snap.question_inference("Q2-N2") is None
    # A question about a file the database does not know is not a cluster question: it stays open.
    assert snap.question_status("Q2-N3") == "open"
    # An explicit link takes precedence over the cluster.
    assert (snap.question_status("Q2-N4"), snap.question_label("Q2-N4")) == ("answered", "answered")
    assert snap.question_inference("Q2-N4") is None
    assert [a.question_id for a in snap.questions_of_finding[21]] == ["Q2-N1"]
