"""lint_text / lint_paths: each check on its own, on legacy and managed documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbgen.domain import lint
from kbgen.domain.lint import LintProblem, lint_paths, lint_text
from kbgen.domain.update import GeneratedSections, render_document
from kbgen.errors import UsageError


def faults(text: str) -> list[tuple[int, str]]:
    return [(p.line, p.code) for p in lint_text(text, "a.md")]


def test_problem_prints_as_path_line_message() -> None:
    problem = LintProblem("domains/x/analysis.md", 12, lint.SESSION_ORDER, "R3 after R4")
    assert str(problem) == "domains/x/analysis.md:12: R3 after R4"


def test_cumulative_list_headings_at_any_level() -> None:
    text = ("## 3. Findings Registry\n\n### Updated HIGH Findings\n\n1. a\n\n"
            "#### updated medium findings (+2)\n")
    assert faults(text) == [(3, lint.CUMULATIVE_LIST), (7, lint.CUMULATIVE_LIST)]
    assert faults("## 3. Findings Registry\n\nUpdated HIGH Findings are listed above.\n") == []


def test_session_heading_outside_the_log() -> None:
    text = ("## R4: early\n\n## 5. Subsystem Sections\n\n### R5 notes\n\n### R2D2 is not a session\n\n"
            "## 8. Session Log\n\n### R4 (d): x\n\n## R5: y\n\n## Appendix\n\n## R6\n")
    assert faults(text) == [(1, lint.SESSION_HEADING), (5, lint.SESSION_HEADING), (17, lint.SESSION_HEADING)]


def test_numbered_sections_once_and_in_order() -> None:
    text = "## 1. A\n\n## 3. C\n\n## 2. B\n\n## 3. C again\n\n## 4. D\n\n# 2. Title-level is not a section\n"
    problems = lint_text(text, "a.md")
    assert [(p.line, p.code) for p in problems] == [(5, lint.SECTION_ORDER), (7, lint.SECTION_ORDER)]
    assert "out of order" in problems[0].message and "second time (first at line 3)" in problems[1].message


def test_headings_in_code_and_quotes_do_not_count() -> None:
    text = "## 1. A\n\n```\n## 1. A\n## R3: x\n```\n\n> ## 1. A\n\n    ## 1. A\n\n## 2. B\n"
    assert faults(text) == []


def test_file_registry_sorted_by_package_then_path() -> None:
    text = ("## 2. File Registry\n\n| File | Package | LOC |\n|---|---|---|\n"
            "| `b.rs` | core | 1 |\n| [a.rs](x) | core | 1 |\n| c.rs | core | 1 |\n| a.rs | util | 1 |\n"
            "| z.rs | base | 1 |\n\n### 2b. Sub-table\n\n"
            "| Package | File |\n|---|---|\n| a | x |\n| a | y |\n")
    problems = lint_text(text, "a.md")
    assert [(p.line, p.code) for p in problems] == [(6, lint.FILE_ORDER), (9, lint.FILE_ORDER)]
    assert "a.rs (core) belongs before b.rs (core)" in problems[0].message


def test_file_tables_outside_the_registry_are_not_checked() -> None:
    assert faults("## 5. Subsystem Sections\n\n| File | Package |\n|---|---|\n| b | x |\n| a | x |\n") == []


def test_finding_labels_unique_and_increasing() -> None:
    text = ("## 3. Findings Registry\n\n### 3a. CRITICAL Findings\n\n| ID | Description |\n|---|---|\n"
            "| C1 | a |\n| C3 | b |\n| C2 | c |\n\n### 3b. HIGH Findings\n\n| ID | Description |\n|---|---|\n"
            "| **H1** | a |\n| H1 | b |\n\n## 4. Positives Registry\n\n| ID | Description |\n|---|---|\n"
            "| C1 | not a findings section |\n\n"
            "## 9. Findings Registry\n\n| ID | D |\n|---|---|\n| C3 | again |\n")
    problems = lint_text(text, "a.md")
    got = [(p.line, p.code) for p in problems if p.code == lint.FINDING_LABEL]
    assert got == [(9, lint.FINDING_LABEL), (16, lint.FINDING_LABEL), (28, lint.FINDING_LABEL)]
    messages = [p.message for p in problems if p.code == lint.FINDING_LABEL]
    assert "C2 not increasing in '3a. CRITICAL Findings' (after C3 at line 8)" in messages[0]
    assert "H1 repeated (already used at line 15)" in messages[1]
    assert "C3 repeated (already used at line 8)" in messages[2]


def test_session_log_ascending() -> None:
    text = ("## 8. Session Log\n\n### R3 (d): a\n\n### R2 (d): b\n\n### R5 (d): c\n\n### R5 (d): again\n\n"
            "### Notes\n\n**R1 bold entries are not headings**\n")
    problems = lint_text(text, "a.md")
    assert [(p.line, p.code) for p in problems] == [(5, lint.SESSION_ORDER), (9, lint.SESSION_ORDER)]
    assert "R2 after R3" in problems[0].message and "R5 logged twice" in problems[1].message


def test_bad_markers_are_reported_not_raised() -> None:
    problems = lint_text("# T\n\n<!-- kbgen:begin files -->\n", "a.md")
    assert [(p.line, p.code) for p in problems] == [(3, lint.MARKER)]


def _registries() -> GeneratedSections:
    return GeneratedSections(
        header="> **Priority**: LOW",
        files="| File | Package |\n|---|---|\n| b.rs | a |\n| a.rs | b |\n",
        findings="### 3a. CRITICAL Findings\n\n| ID | Description |\n|---|---|\n| C1 | x |\n| C2 | y |\n",
        positives="", dependencies="", gaps="",
        session_log="### R1 (d): a\n\n### R2 (d): b\n",
    )


def test_managed_document_is_checked_inside_generated_blocks() -> None:
    good = render_document(None, _registries(), title="T")
    assert lint_text(good, "a.md") == []
    bad = good.replace("| b.rs | a |\n| a.rs | b |", "| a.rs | b |\n| b.rs | a |")
    bad = bad.replace("### R1 (d): a\n\n### R2 (d): b", "### R2 (d): b\n\n### R1 (d): a")
    assert {p.code for p in lint_text(bad, "a.md")} == {lint.FILE_ORDER, lint.SESSION_ORDER}


def test_lint_paths_walks_folders_for_analysis_files(tmp_path: Path) -> None:
    good = render_document(None, _registries(), title="T")
    (tmp_path / "domains" / "a").mkdir(parents=True)
    (tmp_path / "domains" / "b" / "deep").mkdir(parents=True)
    (tmp_path / "domains" / "a" / "analysis.md").write_text(good, encoding="utf-8")
    (tmp_path / "domains" / "b" / "deep" / "analysis.md").write_text("## R1: x\n", encoding="utf-8")
    (tmp_path / "domains" / "b" / "notes.md").write_text("## R1: x\n", encoding="utf-8")
    single = tmp_path / "other.md"
    single.write_text("## R2: y\n", encoding="utf-8")
    problems = lint_paths([tmp_path / "domains", str(single)])
    deep = tmp_path / "domains" / "b" / "deep" / "analysis.md"
    assert [str(p) for p in problems] == [
        f"{deep}:1: per-session heading 'R1: x' outside the Session Log",
        f"{single}:1: per-session heading 'R2: y' outside the Session Log",
    ]
    with pytest.raises(UsageError):
        lint_paths([tmp_path / "missing.md"])


def test_sections_are_recognised_by_title_then_by_number() -> None:
    text = ("## Files\n\n| File | Package |\n|---|---|\n| b | x |\n| a | x |\n\n"
            "## 8. Log of the sessions\n\n### R2 (d): b\n\n### R1 (d): a\n")
    assert faults(text) == [(6, lint.FILE_ORDER), (12, lint.SESSION_ORDER)]
