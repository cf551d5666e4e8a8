"""render_document: the canonical skeleton, in-place updates, re-inserted blocks."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kbgen.domain.lint import lint_text
from kbgen.domain.sections import (
    GENERATED_KEYS,
    GeneratedBlock,
    HumanBlock,
    generated_blocks,
    is_marker_line,
    lines_of,
    split,
)
from kbgen.domain.structure import PLACEHOLDERS, SECTIONS
from kbgen.domain.update import GeneratedSections, format_block, render_document
from kbgen.errors import DomainDocError


def sections(tag: str = "v1") -> GeneratedSections:
    """Well-formed registries, as the renderer would supply them; ``tag`` varies the content."""
    return GeneratedSections(
        header=f"> **Priority**: HIGH | **Coverage**: ~40% | **Status**: {tag}\n"
               "> **Last updated**: 2026-04-20 (Session R58)",
        files="| File | Package | LOC | Real% | Depth | Key Verdict | Session |\n"
              "|---|---|---|---|---|---|---|\n"
              f"| disk.rs | quillc | 421 | 85% | DEEP | {tag} | R12 |\n"
              "| key.rs | quillc | 231 | 70% | DEEP | missing version | R12 |\n",
        findings="### 3a. CRITICAL Findings\n\n| ID | Description | File(s) | Session | Status |\n"
                 "|---|---|---|---|---|\n| C1 | stale | key.rs | R12 | Open |\n"
                 f"| C2 | torn {tag} | disk.rs | R12 | Open |\n\n"
                 "### 3b. HIGH Findings\n\n| ID | Description | File(s) | Session | Status |\n"
                 "|---|---|---|---|---|\n| H1 | eviction | evict.rs | R31 | Open |\n\n"
                 "### 3c. MEDIUM Findings\n\nNone.\n",
        positives=f"| Description | File(s) | Session |\n|---|---|---|\n| hashing {tag} | key.rs | R12 |\n",
        dependencies=f"- **parsing** ({tag})\n",
        gaps="- remote client unread\n",
        session_log=f"### R12 (2026-03-02): Cache layer\n5 files.\n\n### R31 (2026-03-20): {tag}\n2 files.\n",
    )


def human_texts(text: str) -> list[str]:
    return [b.text for b in split(text) if isinstance(b, HumanBlock)]


def test_new_document_is_the_canonical_skeleton() -> None:
    text = render_document(None, sections(), title="Build Cache")
    assert text.startswith("# Build Cache Domain Analysis\n\n<!-- kbgen:begin header -->\n")
    headings = [line.rstrip("\n") for line in lines_of(text) if line.startswith("## ")]
    assert headings == [s.heading for s in SECTIONS]
    assert list(generated_blocks(split(text))) == list(GENERATED_KEYS)
    assert PLACEHOLDERS[1] in text and PLACEHOLDERS[5] in text
    for sub in ("### 3a. CRITICAL Findings", "### 3b. HIGH Findings", "### 3c. MEDIUM Findings"):
        assert sub in text
    # each generated block sits right under its own heading
    for section in SECTIONS:
        if section.key:
            assert f"{section.heading}\n\n<!-- kbgen:begin {section.key} -->\n" in text
    assert lint_text(text, "new.md") == []
    assert render_document("  \n", sections(), title="Build Cache") == text


def test_title_is_not_doubled() -> None:
    text = render_document(None, GeneratedSections.empty(), title="Build  Cache Domain Analysis")
    assert text.startswith("# Build Cache Domain Analysis\n")


def test_update_replaces_only_generated_bodies_and_is_idempotent() -> None:
    doc = render_document(None, sections("v1"), title="Build Cache")
    doc = doc.replace(PLACEHOLDERS[1], "The cache is **fast**.\n\n| not | a registry |\n|---|---|")
    once = render_document(doc, sections("v2"), title="ignored")
    assert human_texts(once) == human_texts(doc)
    assert "v2" in once and "v1" not in once
    assert render_document(once, sections("v2"), title="ignored") == once
    assert render_document(once, sections("v1"), title="ignored") == doc


def test_empty_bodies_leave_markers_only() -> None:
    assert format_block("gaps", "\n\n") == "<!-- kbgen:begin gaps -->\n<!-- kbgen:end gaps -->\n"
    expected = "<!-- kbgen:begin gaps -->\n\n- a\n\n<!-- kbgen:end gaps -->\n"
    assert format_block("gaps", "\n- a\n\n") == expected


def test_body_with_a_marker_line_is_refused() -> None:
    bad = GeneratedSections.empty().__class__(**{**GeneratedSections.empty().__dict__,
                                                 "gaps": "x\n<!-- kbgen:end gaps -->\n"})
    with pytest.raises(ValueError, match="marker"):
        render_document(None, bad, title="T")


def test_legacy_document_must_be_migrated_first() -> None:
    with pytest.raises(DomainDocError) as err:
        render_document("# T\n\n## 2. File Registry\n\n| File | Package |\n", sections(), title="T",
                        path="domains/t/analysis.md")
    assert "migrate" in str(err.value) and err.value.path == "domains/t/analysis.md"


def test_malformed_markers_are_refused() -> None:
    doc = render_document(None, sections(), title="T").replace("<!-- kbgen:end gaps -->\n", "")
    with pytest.raises(DomainDocError):
        render_document(doc, sections(), title="T")


def _without_block(text: str, key: str) -> str:
    return "".join(b.text for b in split(text) if not (isinstance(b, GeneratedBlock) and b.key == key))


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(line == other for other in it) for line in small)


def _keeps_human_lines(before: str, after: str) -> bool:
    """Every human line of ``before`` is, in order, a human line of ``after`` (only insertions)."""
    def human_lines(text: str) -> list[str]:
        return [line.rstrip("\n") for line in lines_of("".join(human_texts(text)))]
    return _is_subsequence(human_lines(before), human_lines(after))


def test_deleted_block_is_reinserted_under_its_heading() -> None:
    doc = render_document(None, sections(), title="T")
    doc = doc.replace("## 7. Knowledge Gaps\n\n", "## 7. Knowledge Gaps\n\nThe author's words.\n\n")
    gone = _without_block(doc, "gaps")
    out = render_document(gone, sections(), title="T")
    assert "## 7. Knowledge Gaps\n\n<!-- kbgen:begin gaps -->\n\n- remote client unread\n\n" \
           "<!-- kbgen:end gaps -->\n\nThe author's words.\n" in out
    assert _keeps_human_lines(gone, out)
    assert render_document(out, sections(), title="T") == out
    assert lint_text(out, "t.md") == []


def test_deleted_section_is_appended_in_canonical_order() -> None:
    doc = render_document(None, sections(), title="T")
    start, end = doc.index("## 4. Positives Registry"), doc.index("## 5. Subsystem Sections")
    gone = doc[:start] + doc[end:]
    out = render_document(gone, sections(), title="T")
    assert out == doc
    # the last section goes after the last one present, even at end of file without a newline
    cut = doc[:doc.index("## 8. Session Log")].rstrip("\n")
    out = render_document(cut, sections(), title="T")
    assert out.endswith(doc[doc.index("## 8. Session Log"):])
    assert lint_text(out, "t.md") == []


def test_renamed_heading_still_receives_its_block() -> None:
    doc = render_document(None, sections(), title="T").replace("## 7. Knowledge Gaps", "## 7. What we do not know")
    out = render_document(_without_block(doc, "gaps"), sections(), title="T")
    assert "## 7. What we do not know\n\n<!-- kbgen:begin gaps -->\n" in out
    assert out.count("## 7.") == 1


def test_deleted_header_goes_back_under_the_title() -> None:
    doc = render_document(None, sections(), title="T")
    out = render_document(_without_block(doc, "header"), sections(), title="T")
    assert out == doc


def test_missing_section_goes_before_an_appendix() -> None:
    doc = render_document(None, sections(), title="T") + "\n## Appendix: kept\n\nold text\n"
    start = doc.index("## 8. Session Log")
    gone = doc[:start] + doc[doc.index("## Appendix"):]
    out = render_document(gone, sections(), title="T")
    assert out.index("## 8. Session Log") < out.index("## Appendix: kept")
    assert lint_text(out, "t.md") == []


def test_heading_inside_a_fence_is_not_the_section() -> None:
    doc = render_document(None, sections(), title="T")
    fenced = doc.replace(PLACEHOLDERS[1], "```\n## 7. Knowledge Gaps\n```")
    gone = _without_block(fenced, "gaps")
    out = render_document(gone, sections(), title="T")
    assert "```\n## 7. Knowledge Gaps\n```\n" in out
    real_heading = out.index("\n## 7. Knowledge Gaps\n", out.index("```\n## 7") + 10)
    assert out.index("<!-- kbgen:begin gaps -->") > real_heading


# -- property: human edits survive any sequence of syncs ---------------------

_SNIPPETS = st.sampled_from([
    "## 2. File Registry\n", "## 9. Extra\n", "### R44: session\n", "# Title\n",
    "| File | Package |\n|---|---|\n| b | x |\n| a | x |\n", "```\n", "<!-- a comment -->\n",
    "\r\n", "\n", "> quoted\n", "- item\n", "Setext\n---\n", "    indented code\n",
])
_EDIT_TEXT = st.lists(st.one_of(st.text(max_size=20), _SNIPPETS), max_size=4).map("".join)
_EDITS = st.lists(st.tuples(st.integers(0, 100), st.floats(0, 1), st.booleans(), _EDIT_TEXT), max_size=5)
_BODY = st.lists(st.one_of(st.text(max_size=20), _SNIPPETS), max_size=4).map("".join).filter(
    lambda t: not any(is_marker_line(line) for line in lines_of(t)))
_GENERATED = st.builds(GeneratedSections, header=_BODY, files=_BODY, findings=_BODY, positives=_BODY,
                       dependencies=_BODY, gaps=_BODY, session_log=_BODY)


def _apply_edits(doc: str, edits: list[tuple[int, float, bool, str]]) -> str:
    blocks = split(doc)
    humans = [i for i, b in enumerate(blocks) if isinstance(b, HumanBlock)]
    texts = [b.text for b in blocks]
    for which, where, replace, new in edits:
        i = humans[which % len(humans)]
        old = texts[i]
        pos = int(where * len(old))
        end = min(len(old), pos + len(new)) if replace else pos
        edited = old[:pos] + new + old[end:]
        if i + 1 < len(texts) and edited and not edited.endswith("\n"):
            edited += "\n"  # the author keeps the next marker on its own line
        texts[i] = edited
    return "".join(texts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_EDITS, st.lists(_GENERATED, min_size=1, max_size=3))
def test_human_edits_survive_syncs(edits: list[tuple[int, float, bool, str]],
                                   runs: list[GeneratedSections]) -> None:
    doc = render_document(None, sections(), title="Build Cache")
    edited = _apply_edits(doc, edits)
    assume(sum(is_marker_line(line) for line in lines_of(edited)) == 2 * len(GENERATED_KEYS))
    expected = human_texts(edited)
    current = edited
    for generated in runs:
        current = render_document(current, generated, title="Build Cache")
        assert human_texts(current) == expected
    assert render_document(current, runs[-1], title="Build Cache") == current


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sets(st.sampled_from(GENERATED_KEYS), min_size=1, max_size=len(GENERATED_KEYS) - 1),
       _EDITS, _GENERATED)
def test_deleted_blocks_come_back_without_touching_human_lines(
        deleted: set[str], edits: list[tuple[int, float, bool, str]], generated: GeneratedSections) -> None:
    doc = _apply_edits(render_document(None, sections(), title="T"), edits)
    assume(sum(is_marker_line(line) for line in lines_of(doc)) == 2 * len(GENERATED_KEYS))
    for key in deleted:
        doc = _without_block(doc, key)
    out = render_document(doc, generated, title="T")
    assert list(generated_blocks(split(out))) and set(generated_blocks(split(out))) == set(GENERATED_KEYS)
    assert _keeps_human_lines(doc, out)
    assert render_document(out, generated, title="T") == out


def test_output_is_deterministic() -> None:
    a = render_document(None, sections(), title="T")
    b = render_document(None, sections(), title="T")
    assert a == b
    assert re.search(r"\n\n\n", a) is None
