"""Generated markdown reads like a careful human wrote it: the example's domain documents, report and pages.

Domain documents and the master index are read raw on GitHub: no escape a
reader could do without (a backslash before a letter, digit, hyphen or space),
counts in the right number, long verdicts cut at a word with the whole text a
link away, and pages that say what was found.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from kbgen.config import Options, load_options
from kbgen.db.urls import resolve_url, sqlite_path
from kbgen.domain.sections import GeneratedBlock, split
from kbgen.errors import ConfigError
from kbgen.render import escape
from kbgen.report import load, make_report
from kbgen.sync import sync

NOISY = re.compile(r"\\[A-Za-z0-9 \-]")
WRONG_NUMBER = re.compile(r"(?<![\d,.])1 (files|findings|sessions|questions|edges|nodes|packages|warnings)\b")


def _outside_code(line: str) -> str:
    """A line without its code spans (their content is database text, shown verbatim)."""
    spans, _ = escape._code_spans(line)
    for start, end in reversed(spans):
        line = line[:start] + line[end:]
    return line


def _generated(options: Options) -> dict[Path, str]:
    return {path: "".join(b.text for b in split(path.read_text(encoding="utf-8")) if isinstance(b, GeneratedBlock))
            for path in sorted(options.domains_path.glob("**/analysis.md"))}


def test_domain_sections_and_report_have_no_needless_escapes(example_project: Options) -> None:
    texts = {**{str(p): t for p, t in _generated(example_project).items()},
             "report": make_report(example_project).text}
    lines = escaped = 0
    for name, text in texts.items():
        noisy = [line for line in text.splitlines() if NOISY.search(_outside_code(line))]
        assert noisy == [], (name, noisy[:5])
        lines += sum(1 for line in text.splitlines() if line.strip())
        escaped += sum(1 for line in text.splitlines() if "\\" in _outside_code(line))
    # What is left is syntax in the data itself: a "|" in a table cell, "**" that must not be bold, "<script>".
    # (Escaping everything, kbgen put a backslash on 48% of these lines, 54% of the report's.)
    assert escaped / lines < 0.05, (escaped, lines)
    report = texts["report"]
    assert report.startswith("# quillc research — example knowledge base: master index\n")
    assert "NOT_TOUCHED" in report and "\\_" not in report


def test_counts_agree_in_number(example_project: Options) -> None:
    log = (example_project.domains_path / "incremental-build" / "analysis.md").read_text(encoding="utf-8")
    assert "1 file read (604 LOC); 4 findings: 1 CRITICAL, 2 HIGH, 1 INFO." in log
    texts = [*(p.read_text(encoding="utf-8") for p in example_project.generated_path.rglob("*.md")),
             *_generated(example_project).values(), make_report(example_project).text]
    wrong = [m.group() for text in texts for m in WRONG_NUMBER.finditer(text)]
    assert wrong == []


def test_long_verdicts_are_cut_at_a_word_and_link_to_the_file_page(example_project: Options) -> None:
    doc = example_project.domains_path / "incremental-build" / "analysis.md"
    row = next(line for line in doc.read_text(encoding="utf-8").splitlines() if "`src/build/scheduler.rs`" in line)
    verdict = row.split(" | ")[5]
    link = re.search(r"… \[more\]\(([^)]+)\)$", verdict)
    assert link, verdict
    target = (doc.parent / link.group(1)).resolve()
    assert target == (example_project.generated_path / "files" / "FILE1007.md").resolve() and target.exists()
    shown = verdict[: link.start() + 1]
    assert len(shown) <= example_project.verdict_max_chars and not shown.endswith(" …")
    notes = "Rebuild jobs run on a rayon pool sized by `--jobs`; the default is `num_cpus::get()`, not"
    assert shown.startswith(notes), shown  # cut at a word boundary, the code spans whole
    assert notes in target.read_text(encoding="utf-8")  # the whole verdict is on the file page


def test_verdict_limit_is_configurable(example_project: Options) -> None:
    conf = example_project.project_dir / "conf" / "kbgen.yaml"
    conf.write_text(conf.read_text(encoding="utf-8") + "verdict_max_chars: 0\n", encoding="utf-8")
    options = load_options(example_project.project_dir)
    assert options.verdict_max_chars == 0
    sync(options)
    registry = (options.domains_path / "incremental-build" / "analysis.md").read_text(encoding="utf-8")
    assert "[more](" not in registry and "not the fixed 4 workers the README describes" in registry
    conf.write_text(conf.read_text(encoding="utf-8").replace("verdict_max_chars: 0", "verdict_max_chars: -5"),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="verdict_max_chars"):
        load_options(example_project.project_dir)


def test_pages_say_what_was_found(example_project: Options) -> None:
    file_page = (example_project.generated_path / "files" / "FILE1012.md").read_text(encoding="utf-8")
    findings = file_page[file_page.index("## Findings"):file_page.index("## Dependencies")]
    assert "| [F25](#need-F25) | CRITICAL | `PluginHost::load` preopens the site root" in findings
    assert "DEEP in R3; R4 re-read the tail at MEDIUM." in file_page  # the file's notes: the need's text
    session = (example_project.generated_path / "sessions" / "S3.md").read_text(encoding="utf-8")
    # the question's link text says how it is answered, once
    answers = re.search(r"\*\*Answers:\*\* \[Q3-1012 \(([a-z ]+)\)\]\(#need-Q3-1012\)(.*)", session)
    assert answers and answers.group(1) in ("answered", "inferred from the file") and "(" not in answers.group(2)
    # a finding's title is plain text: its code spans without their backticks
    assert ":::{finding} PluginHost::load preopens the site root" in session


def test_file_pages_show_the_normalised_severity(example_project: Options) -> None:
    """The Findings table of a file page says HIGH, as every other page does, whatever the research row spells
    (``High``, ``medium``, ``info``); another word (``Med``) is shown beside it, as categories are."""

    snap = load(example_project)
    raw = {f.severity_raw for f in snap.findings if f.file_id is not None}
    assert raw - {f.severity for f in snap.findings}, "the example has no finding recorded in another case"
    cells = []
    for page in sorted((example_project.generated_path / "files").glob("FILE*.md")):
        text = page.read_text(encoding="utf-8")
        findings = text[text.index("## Findings"):] if "## Findings" in text else ""
        cells += re.findall(r"^\| \[F\d+\]\(#need-F\d+\) \| ([^|]+) \|", findings, re.MULTILINE)
    assert cells and set(cells) <= {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN"}, set(cells)


@pytest.mark.parametrize(("raw", "shown"), [("High", "HIGH"), (" high ", "HIGH"), ("HIGH", "HIGH"), (None, "HIGH"),
                                            ("Hi", "HIGH (Hi)"), ("major", "HIGH (major)")])
def test_severity_shown_names_another_word_only(raw: str | None, shown: str) -> None:
    from kbgen.model import Finding
    from kbgen.vocab import severity

    f = Finding(id=1, file_id=None, session_id=None, line_start=None, line_end=None, severity=severity(raw or "HIGH"),
                severity_raw=raw, category="x", category_raw=None, description="", followed_up=False)
    assert f.severity_shown == shown


@pytest.mark.parametrize(("raw", "shown"), [("deep", "DEEP"), (" Deep ", "DEEP"), ("not-touched", "NOT_TOUCHED"),
                                            (None, "DEEP"), ("Full", "DEEP (Full)"),
                                            ("shallow", "SURFACE (shallow)")])
def test_depth_shown_names_another_word_only(raw: str | None, shown: str) -> None:
    from kbgen.model import FileRead
    from kbgen.vocab import depth

    read = FileRead(id=1, file_id=1, session_id=None, depth=depth(raw) if raw else "DEEP", depth_raw=raw,
                    lines_read=None, line_ranges=None, notes=None)
    assert read.depth_shown == shown


def test_file_pages_show_normalised_depths(example_project: Options) -> None:
    """The Read history shows DEEP, not the recorded ``deep``; another word is shown beside it."""
    db = sqlite_path(resolve_url(example_project.database, example_project.project_dir))
    with sqlite3.connect(db) as conn:
        first, second = (r[0] for r in conn.execute("SELECT id FROM file_reads ORDER BY id LIMIT 2"))
        conn.execute("UPDATE file_reads SET depth = 'deep' WHERE id = ?", (first,))
        conn.execute("UPDATE file_reads SET depth = 'Full' WHERE id = ?", (second,))
    sync(example_project)
    cells = []
    for page in sorted((example_project.generated_path / "files").glob("FILE*.md")):
        text = page.read_text(encoding="utf-8")
        history = text[text.index("## Read history"):text.index("## Findings")]
        cells += re.findall(r"^\| [^|]+ \| ([^|]+) \| [^|]+ \| [^|]+ \|$", history, re.MULTILINE)[1:]
    shown = {c.strip() for c in cells if not set(c.strip()) <= {"-", ":"}}
    assert "DEEP (Full)" in shown and "deep" not in shown, shown
    assert {c.split(" (")[0] for c in shown} <= {"DEEP", "MEDIUM", "SURFACE", "MENTIONED"}, shown


def test_every_finding_label_of_a_domain_shows_in_its_document(example_project: Options) -> None:
    """A positive finding's label (the severity registries skip it) leads its row in the Positives Registry,
    and the severity table it is missing from says so: a reader never meets a gap (3c from M2) unexplained."""

    snap = load(example_project)
    positives_seen = 0
    for domain, labels in snap.labels_of_domain.items():
        path = example_project.domains_path / domain / "analysis.md"
        blocks = {b.key: b.text for b in split(path.read_text(encoding="utf-8")) if isinstance(b, GeneratedBlock)}
        for lab in labels:
            f = snap.finding_by_id.get(lab.finding_id)
            if f is None:
                continue
            if snap.is_positive(f):
                positives_seen += 1
                assert re.search(rf"^\| {lab.text}: ", blocks["positives"], re.MULTILINE), (domain, lab.text)
                assert re.search(rf"\b{lab.text}\b[^\n]* positive findings?, listed in the Positives Registry",
                                 blocks["findings"]), (domain, lab.text)
            else:
                assert re.search(rf"^\| {lab.text} \|", blocks["findings"], re.MULTILINE), (domain, lab.text)
    assert positives_seen, "the example has no labelled positive finding"


def test_domain_header_shows_status_and_last_update_on_two_lines(example_project: Options) -> None:
    """The header's two quoted lines stay two lines on GitHub and the site (not "In progress Last updated")."""
    from markdown_it import MarkdownIt

    for path in sorted(example_project.domains_path.glob("*/analysis.md")):
        header = next(b.body for b in split(path.read_text(encoding="utf-8"))
                      if isinstance(b, GeneratedBlock) and b.key == "header")
        assert [line[:16] for line in header.strip().splitlines()] == ["> **Priority**: ", ">", "> **Last updated"]
        html = MarkdownIt("commonmark").render(header)
        assert re.search(r"<strong>Status</strong>: [^<]+</p>\s*<p><strong>Last updated</strong>", html), html


def _table_rows(text: str, after: str) -> list[dict[str, str]]:
    lines = text[text.index(after):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append(line)
    head = [c.strip() for c in block[0].strip("|").split("|")]
    return [dict(zip(head, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in block[2:]]


def test_traceability_counts_percent_and_wording_agree(example_project: Options) -> None:
    """Answered = every kind of answer; Answered + Open = Questions; the percent is Answered / Questions;
    the overall sentence says the same numbers. A partial answer in words is "partly answered" everywhere."""
    import json
    import subprocess
    import sys

    gen = example_project.generated_path
    text = (gen / "traceability.md").read_text(encoding="utf-8")
    kinds = ("Explicit (full)", "Explicit (partly)", "Inferred (file)", "Inferred (cluster)")
    totals = dict.fromkeys(("Questions", "Answered", "Open", *kinds), 0)
    for row in _table_rows(text, "## Answered per session"):
        n = {k: int(row[k]) for k in totals}
        assert n["Answered"] == sum(n[k] for k in kinds) and n["Answered"] + n["Open"] == n["Questions"], row
        assert row["Answered %"] == f"{round(100 * n['Answered'] / n['Questions'])}%", row
        totals = {k: totals[k] + n[k] for k in totals}
    overall = re.search(r"Overall: \*\*(\d+)%\*\* of (\d+) questions answered: (\d+) answered \((\d+) fully and "
                        r"(\d+) partly by an explicit answer, (\d+) inferred from the file, (\d+) inferred from the "
                        r"cluster\) and (\d+) open", text)
    assert overall, text[:1500]
    assert [int(g) for g in overall.groups()] == [
        round(100 * totals["Answered"] / totals["Questions"]), totals["Questions"], totals["Answered"],
        *(totals[k] for k in kinds), totals["Open"]]
    assert totals["Explicit (partly)"] and totals["Inferred (cluster)"], "the example lost its partial/cluster cases"
    # Q3-2003 (a partial answer in words) reads "partly answered" on every page and in plan show
    assert "[Q3-2003 (partly answered)](#need-Q3-2003) | partly answered |" in text
    assert "| [Q3-2003 (partly answered)](#need-Q3-2003) | partly answered |" in (
        gen / "files" / "FILE2003.md").read_text(encoding="utf-8")
    session = (gen / "sessions" / "S3.md").read_text(encoding="utf-8")
    assert "| Questions answered explicitly | 8 | 6/8 (1 in words only, 1 partly) |" in session
    assert ':answer: "partial"' in session[session.index(":id: Q3-2003") - 400:]
    doc = (example_project.domains_path / "live-preview" / "analysis.md").read_text(encoding="utf-8")
    assert re.search(r"^\| Q3-2003 \| R3 \| .* \| partly answered: ", doc, re.MULTILINE)
    env = {k: v for k, v in __import__("os").environ.items() if k != "KBGEN_DB"}
    shown = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(example_project.project_dir),
                            "plan", "show", "R3", "--json"], capture_output=True, text=True, check=True, env=env)
    questions = {q["id"]: q for q in json.loads(shown.stdout)["questions"]}
    assert questions["Q3-2003"]["status"] == "answered" and questions["Q3-2003"]["partly"] is True
    assert questions["Q3-2003"]["status_label"] == "partly answered"
    assert questions["Q3-1012"]["partly"] is False


def test_cluster_question_names_its_cluster_as_the_headings_do(example_project: Options) -> None:
    """Q3-N1 says "the files of cluster B": the page's cluster headings carry the letter, as the plan's do."""
    session = (example_project.generated_path / "sessions" / "S3.md").read_text(encoding="utf-8")
    named = set(re.findall(r"on the files of cluster ([A-Z])\b", session))
    assert named == {"B"}
    headings = re.findall(r"^### Cluster ([A-Z]): ", session, re.MULTILINE)
    assert headings == ["A", "B"] and named <= set(headings)


_RATIONALE_PLAN = """# R12 Execution Plan: Tokenizer

**Date**: 2026-03-02
**Session ID**: 12
**Focus**: Deep-read the tokenizer.

## Rationale

Drafted from the priority gaps: it takes `CONNECTED` files first.

- **CONNECTED** `src/lexer/lexer.rs`: imported by `src/parse/mod.rs` (DEEP)
- `src/lexer/token_stream.rs` <script>alert(1)</script> *not bold*
- a ``code ` span`` with a backtick

1. first
2. second `x`

## Target: 1 file, ~612 LOC

### Cluster A: Tokenizer (1 file, ~612 LOC)

| # | File ID | File | LOC | Context |
|---|---------|------|-----|---------|
| 1 | 501 | `src/lexer/lexer.rs` | 612 | PROXIMATE |

**Key questions**:
- Does `lexer.rs` handle CRLF?
"""


def test_plan_rationale_keeps_its_lists_and_code_spans_as_inert_text() -> None:
    """`kbgen plan draft` writes its rationale as bullets with code spans: the session page shows a list with
    code, as the plan reads, while everything else in it stays text (plan text is data)."""
    from bs4 import BeautifulSoup
    from markdown_it import MarkdownIt

    from kbgen.plan.parser import parse_plan
    from kbgen.render.pages import rationale_md

    plan = parse_plan(_RATIONALE_PLAN, "R12-plan.md")
    html = BeautifulSoup(MarkdownIt("commonmark").render(rationale_md(plan.rationale or "")), "html.parser")
    assert [p.get_text() for p in html.find_all("p")] == [
        "Drafted from the priority gaps: it takes CONNECTED files first."]
    bullets = html.find("ul")
    assert bullets is not None
    items = bullets.find_all("li", recursive=False)
    assert [i.get_text() for i in items] == [
        "CONNECTED src/lexer/lexer.rs: imported by src/parse/mod.rs (DEEP)",
        "src/lexer/token_stream.rs <script>alert(1)</script> not bold",
        "a code ` span with a backtick"]
    assert [c.get_text() for c in items[0].find_all("code")] == ["src/lexer/lexer.rs", "src/parse/mod.rs"]
    assert [c.get_text() for c in items[2].find_all("code")] == ["code ` span"]
    assert not html.find_all(["script", "em", "strong"])  # plan text is data: no markup beyond code spans
    ordered = html.find("ol")
    assert ordered is not None and [li.get_text() for li in ordered.find_all("li")] == ["first", "second x"]
