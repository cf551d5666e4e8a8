"""Generated markdown reads like a careful human wrote it: the example's domain documents, report and pages.

Domain documents and the master index are read raw on GitHub: no escape a
reader could do without (a backslash before a letter, digit, hyphen or space),
counts in the right number, long verdicts cut at a word with the whole text a
link away, and pages that say what was found.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kbgen.config import Options, load_options
from kbgen.domain.sections import GeneratedBlock, split
from kbgen.errors import ConfigError
from kbgen.render import escape
from kbgen.report import make_report
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
