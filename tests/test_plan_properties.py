"""Property tests: no input makes the plan parser fail with anything but PlanParseError.

A plan importer runs over dozens of hand-edited files; a crash (IndexError,
ValueError...) on one odd line would abort the whole import with a
traceback instead of ``path:line: what is wrong``. Hypothesis throws
arbitrary text and damaged copies of the seed plan at the parser and checks
that every failure is a located PlanParseError.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbgen.errors import PlanParseError
from kbgen.plan import parse_plan
from kbgen.plan.blocks import line_count

SEED = (Path(__file__).resolve().parent / "data" / "plans" / "R95-plan.md").read_text(encoding="utf-8")
SEED_LINES = SEED.split("\n")

# Characters that mean something to markdown or to the plan format.
_MARKUP_TOKEN = st.sampled_from([*"|`*#-~:\\()[]→—0123456789 \nR.,_{}<>", "\r\n", "**", "| ", "\\|"])


def _markup(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    return st.lists(_MARKUP_TOKEN, min_size=min_size, max_size=max_size).map("".join)


def _parse_or_located_error(text: str) -> None:
    try:
        plan = parse_plan(text, "prop.md")
    except PlanParseError as error:
        assert error.line is not None, f"error without a line: {error}"
        assert 1 <= error.line <= line_count(text), f"line {error.line} outside the file: {error}"
        assert error.path == "prop.md"
        return
    assert plan.session >= 0
    for warning in plan.warnings:
        assert warning.line is None or 1 <= warning.line <= line_count(text)
    for question in plan.questions:
        assert 1 <= question.line <= line_count(text)


_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    _parse_or_located_error(text)


@_FAST
@given(st.lists(st.one_of(st.text(max_size=30), _markup())).map("\n".join))
def test_arbitrary_markupish_lines(text: str) -> None:
    _parse_or_located_error("# R1 Execution Plan: x\n" + text)


@st.composite
def mutated_seed(draw: st.DrawFn) -> str:
    """The seed with a few lines deleted, duplicated or swapped and characters inserted."""
    lines = list(SEED_LINES)
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            chunk = draw(_markup(1, 4) | st.text(min_size=1, max_size=3))
            end = at + (len(chunk) if op == "replace" else 0)
            lines[i] = line[:at] + chunk + line[end:]
    return "\n".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_seed())
def test_mutated_seed(text: str) -> None:
    _parse_or_located_error(text)


@_FAST
@given(st.integers(0, len(SEED_LINES) - 1))
def test_seed_without_one_line_keeps_the_rest(index: int) -> None:
    """Losing one line costs at most one table's files (a header row), never the whole plan."""
    lines = list(SEED_LINES)
    del lines[index]
    try:
        plan = parse_plan("\n".join(lines), "cut.md")
    except PlanParseError as error:
        assert error.line is not None and 1 <= error.line <= len(lines)
        return
    largest_table = 4
    assert len(plan.files) >= 9 - largest_table
