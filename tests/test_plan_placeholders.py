"""Key questions still carrying ``kbgen plan draft``'s ``TODO (researcher):`` mark.

They are template slots, not questions: the parser notes each at its line
(``plan.placeholder-question``, informational, so a fresh draft still reads back
with no warnings), and ``plan import`` / ``session start --plan`` warn once how
many are left (tests/test_plan_draft.py runs those commands on a real draft).
"""

from __future__ import annotations

import json

from kbgen.plan import INFO_CODES, PLACEHOLDER_MARK, QUESTION_PLACEHOLDER, Plan, parse_plan

PLAN = """\
# R63 Execution Plan: Sync Protocol

**Date**: 2026-04-20

## Target: 3 files, ~1,010 LOC

### Cluster A: Sync Protocol (3 files, ~1,010 LOC)

| # | File ID | File | LOC | Context |
|---|---------|------|-----|---------|
| 1 | 6301 | `src/sync/handshake.rs` | 410 | Version negotiation |
| 2 | 6302 | `src/sync/delta.rs` | 366 | Delta encoding |
| 3 | 6303 | `src/sync/retry.rs` | 234 | Retry policy |

**Key questions**:
- `handshake.rs` (410 LOC): **TODO (researcher):** is the team's own code here real and complete?
- `delta.rs` (366 LOC): todo ( Researcher ) what is this file for?
- `retry.rs` (234 LOC): Is the `// TODO` in the retry loop a stub, or is there backoff?
"""


def test_each_placeholder_question_is_a_note_at_its_line() -> None:
    plan = parse_plan(PLAN, "R63-plan.md")
    lines = PLAN.splitlines()
    notes = [w for w in plan.warnings if w.code == QUESTION_PLACEHOLDER]
    assert [w.line for w in notes] == [lines.index(q) + 1 for q in lines if q.startswith(("- `handshake", "- `delta"))]
    assert [w.message for w in notes] == [
        "question Q63-6301 is still the draft's placeholder 'TODO (researcher)': write the question the session "
        "should answer",
        "question Q63-6302 is still the draft's placeholder 'TODO (researcher)': write the question the session "
        "should answer"]
    assert [q.id for q in plan.placeholder_questions] == ["Q63-6301", "Q63-6302"], "a TODO in the code is no slot"
    assert QUESTION_PLACEHOLDER in INFO_CODES and all(w.informational for w in notes)
    assert plan.problems == (), "a drafted plan still parses with no warnings"
    assert {w["severity"] for w in plan.to_json()["warnings"]} == {"info"}
    # Stored and read back (kbgen_plans.data), the plan still knows its placeholders.
    stored = Plan.from_json(json.loads(json.dumps(plan.to_json())))
    assert [q.id for q in stored.placeholder_questions] == ["Q63-6301", "Q63-6302"]


def test_a_written_question_is_no_placeholder() -> None:
    written = PLAN.replace(f"**{PLACEHOLDER_MARK}** ", "").replace("todo ( Researcher ) ", "")
    plan = parse_plan(written, "R63-plan.md")
    assert plan.warnings == () and plan.placeholder_questions == ()
