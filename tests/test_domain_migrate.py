"""migrate_text on synthetic legacy documents: placement, reports, and a no-loss property."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbgen.domain.lint import lint_text
from kbgen.domain.migrate import APPENDIX_TITLE, NOTES_HEADING, migrate_text
from kbgen.domain.sections import generated_blocks, split
from kbgen.domain.update import GeneratedSections, render_document


def migrate(text: str) -> str:
    return migrate_text(text, "d/analysis.md").new_text


def test_document_without_title_gets_header_block_first() -> None:
    out = migrate("> **Status**: Draft\n\nIntro text.\n\n## Overview\n\nIt works.\n")
    assert out.startswith("<!-- kbgen:begin header -->\n<!-- kbgen:end header -->\n\nIntro text.\n\n"
                          "## 1. Current State Summary\n\n### Overview\n\nIt works.\n")
    assert lint_text(out, "x") == []


def test_empty_human_sections_get_the_placeholder() -> None:
    out = migrate("# X Domain Analysis\n\n## 2. File Registry\n\n| File | Package |\n|---|---|\n| a | b |\n")
    assert "## 1. Current State Summary\n\n<!-- Write the current state" in out
    assert "## 5. Subsystem Sections\n\n<!-- One subsection per topic" in out
    assert "| a | b |" not in out


def test_setext_and_nested_headings_are_shifted_under_their_new_parent() -> None:
    text = "# T\n\nDesign\n------\n\nWords.\n\n### Part\n\nMore.\n\n#### Detail\n\nDeep.\n"
    out = migrate(text)
    section_5 = out[out.index("## 5."):out.index("## 6.")]
    assert "### Design\n\nWords.\n\n#### Part\n\nMore.\n\n##### Detail\n\nDeep.\n" in section_5


def test_session_blocks_in_human_sections_move_to_the_log() -> None:
    text = ("# T\n\n## 5. Subsystem Sections\n\n### 5a. Keys\n\nKey text.\n\n### R7: keys revisited\n\n"
            "Revisit text.\n\n#### Files\n\n- k.rs\n\n### 5b. Store\n\nStore text.\n")
    out = migrate(text)
    section_5 = out[out.index("## 5."):out.index("## 6.")]
    assert "### 5a. Keys\n\nKey text.\n\n### 5b. Store\n\nStore text.\n" in section_5
    log = out[out.index("## 8."):]
    assert f"{NOTES_HEADING}\n\n**R7: keys revisited**\n\nRevisit text.\n\n#### Files\n\n- k.rs\n" in log
    assert lint_text(out, "x") == []


def test_cumulative_list_in_a_human_section_leaves_its_prose_in_the_findings_notes() -> None:
    text = ("# T\n\n## 1. Current State Summary\n\nNow.\n\n### Updated CRITICAL Findings (+2)\n\n"
            "- one\n- two\n\nC2 was re-rated.\n")
    result = migrate_text(text, "d.md")
    section_1 = result.new_text[result.new_text.index("## 1."):result.new_text.index("## 2.")]
    assert "Now." in section_1 and "one" not in section_1
    section_3 = result.new_text[result.new_text.index("## 3."):result.new_text.index("## 4.")]
    assert "C2 was re-rated." in section_3
    assert [(e.action, e.from_line) for e in result.report if "cumulative" in e.what] == [("replaced", 7)]


def test_quoted_header_keeps_lines_it_does_not_generate() -> None:
    out = migrate("# T\n\n> **Priority**: LOW\n> **Owner**: Ann\n\n## 1. Summary\n\nNow.\n")
    assert "> **Owner**: Ann\n" in out and "Priority" not in out
    assert "## 1. Current State Summary\n\nNow.\n" in out


def test_header_in_two_quoted_paragraphs_is_recognised_whole() -> None:
    """kbgen's own header form (two quoted paragraphs, an empty quote line between them) and the older one
    (two lines of one paragraph) are both replaced by the generated header, leaving nothing behind."""
    for first in ("> **Priority**: HIGH | **Coverage**: ~40% | **Status**: In progress\n>\n",
                  "> **Priority**: HIGH | **Coverage**: ~40% | **Status**: In Progress\n"):
        result = migrate_text(f"# T\n\n{first}> **Last updated**: 2026-04-20 (Session R58)\n\n## 1. Summary\n\nNow.\n",
                              "d.md")
        assert "Priority" not in result.new_text and "Last updated" not in result.new_text
        assert not [e for e in result.report if "other quoted lines" in e.what]
        assert lint_text(result.new_text, "d.md") == []


def test_existing_appendix_is_reused_not_nested() -> None:
    text = f"# T\n\n## {APPENDIX_TITLE}\n\n### Old\n\nKept.\n\n## Ideas\n\nMaybe.\n"
    out = migrate(text)
    appendix = out[out.index(f"## {APPENDIX_TITLE}"):]
    assert out.count(APPENDIX_TITLE) == 1
    assert "### Old\n\nKept.\n\n### Ideas\n\nMaybe.\n" in appendix


def test_report_actions() -> None:
    text = ("# T\n\n## Overview\n\nA.\n\n## 2. File Registry\n\n| File | Package |\n|---|---|\n| a | b |\n\n"
            "## Ideas\n\nB.\n\n## R3: x\n\nC.\n")
    result = migrate_text(text, "d.md")
    assert [(e.action, e.from_line) for e in result.report] == [
        ("moved", 3), ("replaced", 9), ("set-aside", 13), ("moved", 17)]
    text_out = result.format()
    assert "set-aside d.md:13  section 'Ideas' -> Appendix: text kept by kbgen domain migrate" in text_out


# -- property: no prose is lost, the result lints clean ----------------------


@dataclass(frozen=True)
class Part:
    """A piece of a synthetic legacy document and the lines that must survive migration."""

    text: str
    keep: tuple[str, ...]


_SECTION_TITLES = [
    "1. Current State Summary", "Overview", "2. File Registry", "Files", "3. Findings Registry",
    "Key Findings", "4. Positives Registry", "5. Subsystem Sections", "Architecture", "6. Cross-Domain Dependencies",
    "7. Knowledge Gaps", "8. Session Log", "Session Log", "Risks", "9. Roadmap",
]


@st.composite
def _item(draw: st.DrawFn, uid: int) -> Part:
    kind = draw(st.sampled_from(["para", "bullets", "sub", "session", "severity", "file", "findings",
                                 "positives", "table", "fence", "cumulative", "ref", "quote", "comment"]))
    n = draw(st.integers(1, 60))
    words = " ".join(draw(st.lists(st.sampled_from(["cache", "key", "entry", "lock", "disk"]), max_size=4)))
    if kind == "para":
        line = f"Paragraph {uid} about {words}."
        return Part(line, (line,))
    if kind == "bullets":
        lines = tuple(f"- point {uid}.{i} {words}" for i in range(draw(st.integers(1, 3))))
        return Part("\n".join(lines), lines)
    if kind == "sub":
        return Part(f"### 5{uid}. Topic {uid}", (f"5{uid}. Topic {uid}",))
    if kind == "session":
        title = f"R{n} (2026-01-{uid % 28 + 1:02d}): focus {uid}"
        return Part(f"### {title}", (title,))
    if kind == "severity":
        return Part("### 3a. CRITICAL Findings", ())
    if kind == "file":
        return Part(f"| File | Package | LOC |\n|---|---|---|\n| z{uid}.rs | p | 1 |\n| a{uid}.rs | p | 2 |",
                    ())
    if kind == "findings":
        return Part(f"| ID | Description | File(s) | Session | Status |\n|---|---|---|---|---|\n"
                    f"| H{n} | issue {uid} | f.rs | R1 | Open |\n| H{n} | again | f.rs | R1 | Open |", ())
    if kind == "positives":
        return Part(f"| Description | File(s) | Session |\n|---|---|---|\n| good {uid} | f.rs | R2 |", ())
    if kind == "table":
        rows = ("| Metric | Value |", "|---|---|", f"| m{uid} | {n} |")
        return Part("\n".join(rows), (rows[0], rows[2]))
    if kind == "fence":
        lines = ("```text", f"## 3. Inside {uid}", "### R1: not a heading", "```")
        return Part("\n".join(lines), lines)
    if kind == "quote":
        lines = (f"> ## R{n}: quoted {uid}", "> ### Updated HIGH Findings")
        return Part("\n".join(lines), lines)
    if kind == "comment":
        line = f"<!-- note {uid} -->"
        return Part(line, (line,))
    if kind == "ref":
        line = f"[ref{uid}]: https://example.org/{uid}"
        return Part(line, (line,))
    return Part(f"### Updated HIGH Findings (+{n})\n\n1. listed {uid}\n2. listed again", ())


@st.composite
def _legacy_document(draw: st.DrawFn) -> tuple[str, list[str]]:
    uid = iter(range(1, 10_000))
    parts: list[Part] = []
    if draw(st.booleans()):
        parts.append(Part(f"# Domain {next(uid)} Analysis", ()))
        if draw(st.booleans()):
            parts.append(Part("> **Priority**: HIGH | **Coverage**: ~10%\n> **Owner**: team",
                              ("> **Owner**: team",)))
    parts += [draw(_item(next(uid))) for _ in range(draw(st.integers(0, 2)))]
    for _ in range(draw(st.integers(0, 7))):
        choice = draw(st.sampled_from([*_SECTION_TITLES, "R", "cumulative", "setext", "part"]))
        i = next(uid)
        if choice == "R":
            n = draw(st.integers(1, 60))
            parts.append(Part(f"## R{n}: stray {i}", (f"R{n}: stray {i}",)))
        elif choice == "cumulative":
            parts.append(Part("## Updated MEDIUM Findings", ()))
        elif choice == "part":
            parts.append(Part(f"# Part {i} #", (f"Part {i}",)))
        elif choice == "setext":
            parts.append(Part(f"Notes {i}\n--------", (f"Notes {i}",)))
        else:
            parts.append(Part(f"## {choice}", ()))
        parts += [draw(_item(next(uid))) for _ in range(draw(st.integers(0, 5)))]
    # A list right under a cumulative heading is the cumulative list: it may go.
    under_cumulative = False
    for k, part in enumerate(parts):
        if part.text.startswith("#") or "\n---" in part.text:
            under_cumulative = "Updated" in part.text
        elif under_cumulative and part.text.startswith("- "):
            parts[k] = Part(part.text, ())
    text = "\n\n".join(p.text for p in parts) + ("\n" if draw(st.booleans()) else "")
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text, [line for p in parts for line in p.keep]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_legacy_document())
def test_migration_loses_no_prose_and_lints_clean(doc: tuple[str, list[str]]) -> None:
    text, keep = doc
    result = migrate_text(text, "d/analysis.md")
    out = result.new_text
    assert [line for line in keep if line not in out] == []
    assert lint_text(out, "d/analysis.md") == []
    assert migrate_text(out, "d/analysis.md").new_text == out
    assert len(generated_blocks(split(out))) == 7
    filled = render_document(out, GeneratedSections(
        header="> **Priority**: HIGH", files="| File | Package |\n|---|---|\n| a | p |\n| b | p |\n",
        findings="### 3a. CRITICAL Findings\n\n| ID | Description |\n|---|---|\n| C1 | x |\n",
        positives="", dependencies="- other\n", gaps="",
        session_log="### R1 (d): one\n\n### R2 (d): two\n"), title="ignored")
    assert lint_text(filled, "d/analysis.md") == []
    assert render_document(filled, GeneratedSections.empty(), title="x") != filled
