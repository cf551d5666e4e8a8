"""The legacy fixtures: lint finds exactly the listed faults; migration keeps the prose.

Fixtures are ``<name>.md`` with a ``<name>.expect`` beside them, read from
this repository's ``tests/data/domains`` (so the suite runs anywhere) and,
when it exists, the shared fixture folder of the workspace.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kbgen.domain.lint import lint_text
from kbgen.domain.migrate import APPENDIX_TITLE, NOTES_HEADING, migrate_text
from kbgen.domain.sections import GENERATED_KEYS, generated_blocks, split
from kbgen.domain.update import GeneratedSections, render_document

HERE = Path(__file__).parent
LOCAL = HERE / "data" / "domains"
SHARED_CANDIDATES = [Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "domains",
                     Path("/work/shared/fixtures/domains")]
SHARED = next((p for p in SHARED_CANDIDATES if p.is_dir()), None)


def _fixtures() -> list[Path]:
    folders = [LOCAL] + ([SHARED] if SHARED else [])
    return [md for folder in folders for md in sorted(folder.glob("*.md"))
            if md.with_suffix(".expect").exists()]


FIXTURES = _fixtures()
IDS = [f"{'local' if p.parent == LOCAL else 'shared'}/{p.name}" for p in FIXTURES]

# The .expect wording is free; these words name the kind of fault (the check).
KINDS = {
    "per-session heading": "session-heading",
    "not sorted": "file-order",
    "finding label": "finding-label",
    "cumulative list": "cumulative-list",
    "numbered section": "section-order",
    "session log not in ascending": "session-order",
}


def expected_faults(md: Path) -> list[tuple[int, str]]:
    """(line, check code) pairs of the fixture's .expect file."""
    faults = []
    for raw in md.with_suffix(".expect").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(\d+):\s*(.+)$", raw)
        if not match:
            continue
        description = match.group(2).casefold()
        kinds = [code for words, code in KINDS.items() if words in description]
        assert len(kinds) == 1, f"cannot tell the check of {raw!r}"
        faults.append((int(match.group(1)), kinds[0]))
    return faults


def must_keep(text: str) -> list[str]:
    """Non-blank lines that are prose: not a registry row or separator, header line or cumulative item.

    Registry sub-headings (``### 3a. CRITICAL Findings``) and cumulative
    headings belong to the registries too. For headings the text is what must
    survive (a per-session heading may become a bold paragraph).
    """
    kept: list[str] = []
    lines = text.splitlines()
    in_fence = in_cumulative = in_registry_table = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
            kept.append(stripped)
            continue
        if in_fence:
            kept.append(line)
            continue
        if re.match(r"^#{1,6}\s", stripped):
            in_cumulative = re.match(r"^#+\s*Updated\s+\w+\s+Findings", stripped, re.I) is not None
            severity = re.match(r"^#+\s*(\d+[a-z]\.\s*)?(CRITICAL|HIGH|MEDIUM)\s+Findings\s*$", stripped)
            if in_cumulative or severity:
                continue
            kept.append(re.sub(r"^#+\s*", "", stripped))
            continue
        if stripped.startswith("|"):
            if not in_registry_table:
                in_registry_table = re.match(r"^\|\s*(ID|File|Description)\s*\|", stripped) is not None
            if not in_registry_table:
                kept.append(stripped)
            continue
        in_registry_table = False
        if not stripped or re.match(r"^>\s*\*\*(Priority|Last updated)\*\*", stripped):
            continue
        if in_cumulative and re.match(r"^(\d+\.|[-*+])\s", stripped):
            continue
        kept.append(stripped)
    return kept


def well_formed_registries() -> GeneratedSections:
    return GeneratedSections(
        header="> **Priority**: HIGH | **Coverage**: ~40% | **Status**: In Progress",
        files="| File | Package | LOC | Real% | Depth | Key Verdict | Session |\n"
              "|---|---|---|---|---|---|---|\n"
              "| disk.rs | quillc | 421 | 85% | DEEP | no dir fsync | R12 |\n"
              "| evict.rs | quillc | 190 | 60% | MEDIUM | start-up only | R31 |\n",
        findings="### 3a. CRITICAL Findings\n\n| ID | Description | File(s) | Session | Status |\n"
                 "|---|---|---|---|---|\n| C1 | stale | key.rs | R12 | Open |\n"
                 "| C3 | path | load.py | R44 | Open |\n\n"
                 "### 3b. HIGH Findings\n\n| ID | Description | File(s) | Session | Status |\n"
                 "|---|---|---|---|---|\n| H1 | eviction | evict.rs | R31 | Open |\n\n"
                 "### 3c. MEDIUM Findings\n\nNone.\n",
        positives="| Description | File(s) | Session |\n|---|---|---|\n| streaming hash | key.rs | R12 |\n",
        dependencies="- parsing (shared key module)\n",
        gaps="- remote cache client (tier 1)\n",
        session_log="### R12 (2026-03-02): Cache layer\n5 files, 1,842 LOC.\n\n"
                    "### R31 (2026-03-20): Eviction\n2 files.\n\n"
                    "### R44 (2026-04-02): Config loader\n3 files.\n",
    )


def test_fixtures_are_found() -> None:
    assert any(p.parent == LOCAL and p.name == "legacy-analysis.md" for p in FIXTURES)


@pytest.mark.skipif(SHARED is None, reason="no shared fixture folder in this checkout")
def test_local_copy_matches_shared_fixture() -> None:
    assert SHARED is not None
    for name in ("legacy-analysis.md", "legacy-analysis.expect"):
        same = (LOCAL / name).read_bytes() == (SHARED / name).read_bytes()
        assert same, f"refresh tests/data/domains/{name} from the shared fixtures"


@pytest.mark.parametrize("md", FIXTURES, ids=IDS)
def test_lint_reports_exactly_the_expected_faults(md: Path) -> None:
    problems = lint_text(md.read_text(encoding="utf-8"), str(md))
    assert [(p.line, p.code) for p in problems] == expected_faults(md)
    for p in problems:
        assert str(p).startswith(f"{md}:{p.line}: ")


@pytest.mark.parametrize("md", FIXTURES, ids=IDS)
def test_migration_keeps_every_prose_line(md: Path) -> None:
    text = md.read_text(encoding="utf-8")
    out = migrate_text(text, str(md)).new_text
    missing = [line for line in must_keep(text) if line not in out]
    assert missing == []


@pytest.mark.parametrize("md", FIXTURES, ids=IDS)
def test_migrated_document_is_managed_and_lints_clean(md: Path) -> None:
    result = migrate_text(md.read_text(encoding="utf-8"), str(md))
    assert result.changed
    blocks = generated_blocks(split(result.new_text))
    assert list(blocks) == list(GENERATED_KEYS)
    assert all(b.body == "" for b in blocks.values()), "migration leaves empty blocks for the sync"
    assert lint_text(result.new_text, str(md)) == []
    filled = render_document(result.new_text, well_formed_registries(), title="ignored")
    assert lint_text(filled, str(md)) == []


@pytest.mark.parametrize("md", FIXTURES, ids=IDS)
def test_migrating_a_managed_document_changes_nothing(md: Path) -> None:
    once = migrate_text(md.read_text(encoding="utf-8"), str(md)).new_text
    again = migrate_text(once, str(md))
    assert again.new_text == once and not again.changed and again.report == []
    assert "already managed" in again.format()
    filled = render_document(once, well_formed_registries(), title="ignored")
    assert migrate_text(filled, str(md)).new_text == filled


@pytest.mark.parametrize("md", FIXTURES, ids=IDS)
def test_report_accounts_for_each_registry_table(md: Path) -> None:
    text = md.read_text(encoding="utf-8")
    result = migrate_text(text, str(md))
    lines = text.splitlines()
    fenced, inside = set(), False
    for i, line in enumerate(lines):
        inside = inside != line.startswith("```")
        if inside:
            fenced.add(i)
    table_starts = [i + 1 for i, line in enumerate(lines)
                    if re.match(r"^\|\s*(ID|File|Description)\s*\|", line) and i not in fenced
                    and (i == 0 or not lines[i - 1].startswith("|"))]
    replaced = {e.from_line for e in result.report if e.action == "replaced" and "table" in e.what}
    assert replaced == set(table_starts)
    assert all(1 <= e.from_line <= len(lines) for e in result.report)
    formatted = result.format()
    assert formatted.splitlines()[0].startswith(f"{md}: migrated (")
    assert len(formatted.splitlines()) == len(result.report) + 1


def test_legacy_fixture_placement() -> None:
    out = migrate_text((LOCAL / "legacy-analysis.md").read_text(encoding="utf-8"), "legacy.md").new_text
    summary = out.index("## 1. Current State Summary")
    assert summary < out.index("The build cache stores compiled artefacts") < out.index("## 2. File Registry")
    subsystems = out.index("## 5. Subsystem Sections")
    assert subsystems < out.index("### 5a. Key Derivation") < out.index("### 5b. Storage")
    assert out.index("### 5b. Storage") < out.index("## 6.")
    gaps_notes = out.index(NOTES_HEADING, out.index("<!-- kbgen:end gaps -->"))
    assert gaps_notes < out.index("- The remote cache client is unread.") < out.index("## 8. Session Log")
    log = out[out.index("## 8. Session Log"):]
    entries = re.findall(r"^\*\*R(\d+)", log, re.M)
    assert entries == sorted(entries, key=int) and set(entries) == {"12", "31", "44"}
    assert "**R44: Config loader touches the cache path (session 44)**" in log
    assert APPENDIX_TITLE not in out


def test_older_style_fixture_placement() -> None:
    text = (LOCAL / "older-style-analysis.md").read_text(encoding="utf-8")
    out = migrate_text(text, "older.md").new_text
    assert out.startswith("<!-- Maintained by the parsing team. -->\n\nParsing Domain Analysis\n=====")
    assert out.index("> **Owner**: parsing team") < out.index("## 1. Current State Summary")
    assert "**Priority**" not in out and "**Last updated**" not in out
    section_1 = out[out.index("## 1."):out.index("## 2.")]
    assert "### Overview\n\nThe tokenizer is hand-written" in section_1
    section_5 = out[out.index("## 5."):out.index("## 6.")]
    assert "### Architecture\n\n#### Lexer\n" in section_5
    assert "```text\n## 3. Not a heading\n| File | Package |\n```\n" in section_5
    section_2 = out[out.index("## 2."):out.index("## 3.")]
    assert "| big.json | 120 MB/s |" in section_2 and "parser.rs" not in section_2
    section_3 = out[out.index("## 3."):out.index("## 4.")]
    assert "#### Key Findings" in section_3 and "Both remain open after R20." in section_3
    assert "Unbounded lookahead" not in section_3
    log = out[out.index("## 8."):out.index(f"## {APPENDIX_TITLE}")]
    assert re.findall(r"^\*\*(R\d+[^*]*)\*\*", log, re.M) == [
        "R15 (2026-01-02): Parser", "R18: Lexer rewrite notes", "R18 (2026-01-06): Lexer",
        "R20: Follow-up on recovery"]
    assert log.index("Entries before R15 were lost.") < log.index("**R15")
    appendix = out[out.index(f"## {APPENDIX_TITLE}"):]
    assert "### Risks" in appendix and "[unicode]: https://www.unicode.org/reports/tr31/" in appendix
