"""A session worksheet as plain data: what one session read, found and answered.

:func:`parse_worksheet` checks the YAML and its schema (no database needed)
and returns a :class:`Worksheet` whose every entry knows its line, so the
checks against the database (:mod:`kbgen.record`) can name
``R95.yaml:14:`` too. The one-off commands (``kbgen read``, ``kbgen finding
add``, ``kbgen tag``) build the same objects from their arguments, so they
pass exactly the same checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbgen.errors import UsageError
from kbgen.worksheet import ranges
from kbgen.worksheet.schema import check
from kbgen.worksheet.yamlmarks import Marked, Problem, YamlSyntaxError, load_marked

FORMAT_VERSION = 1


class WorksheetInvalid(UsageError):
    """A worksheet (or one-off entry) with problems; nothing was written (exit 2)."""

    def __init__(self, problems: list[Problem], *, path: str | None) -> None:
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''}; nothing recorded", path=path,
                         hint=f"fix {'it' if count == 1 else 'them'} and run the command again")
        self.problems = problems

    def lines(self) -> list[str]:
        return [p.render(self.path) for p in self.problems]


@dataclass(frozen=True)
class FileRef:
    """A file named by ID, or by package and path (or both, which must then agree)."""

    id: int | None
    package: str | None
    path: str | None
    line: int | None

    def describe(self) -> str:
        if self.id is not None:
            return f"file {self.id}"
        return f"{self.package}:{self.path}"


@dataclass(frozen=True)
class ReadEntry:
    file: FileRef
    depth: str | None  #: None: listed (planned) but not read
    lines: str | int | None  #: as written: "1-50,170-320", 42, "all"
    notes: str | None
    line: int | None
    marks: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class AnswerLink:
    question: str
    partial: bool
    note: str | None
    line: int | None


@dataclass(frozen=True)
class FindingEntry:
    key: str | None
    file: FileRef
    severity: str
    category: str
    lines: str | int | None
    description: str
    answers: tuple[AnswerLink, ...]
    followed_up: bool | None
    line: int | None
    marks: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class QuestionEntry:
    id: str
    answer: str | None  #: full | partial | None (open)
    verdict: str | None
    line: int | None
    marks: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TagEntry:
    domains: tuple[tuple[str, int | None], ...]
    files: tuple[FileRef, ...]
    line: int | None


@dataclass(frozen=True)
class DependencyEntry:
    source: FileRef
    target: FileRef
    relationship: str
    evidence: str | None
    verified: bool
    line: int | None


@dataclass(frozen=True)
class Worksheet:
    """One session's record, parsed; ``source`` is how errors name it (``worksheets/R95.yaml``)."""

    source: str | None
    session: int
    date: str | None = None
    focus: str | None = None
    agents: int | None = None
    notes: str | None = None
    reads: tuple[ReadEntry, ...] = ()
    findings: tuple[FindingEntry, ...] = ()
    questions: tuple[QuestionEntry, ...] = ()
    tags: tuple[TagEntry, ...] = ()
    dependencies: tuple[DependencyEntry, ...] = ()
    marks: dict[str, int] = field(default_factory=dict, compare=False)
    #: True for a whole worksheet; False for a one-off command (which never prunes).
    complete: bool = True


_SESSION = re.compile(r"^[Rr]?(\d+)$")


def parse_session(value: str | int) -> int:
    """``R95``, ``r95``, ``95`` → 95."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SESSION.match(str(value).strip())
    if not match:
        raise UsageError(f"not a session: {value!r} (expected R95 or 95)")
    return int(match.group(1))


def parse_file_id(value: str | int) -> int:
    text = str(value).strip()
    digits = text[4:] if text.upper().startswith("FILE") else text
    if not digits.isdigit():
        raise UsageError(f"not a file ID: {value!r} (expected 4458 or FILE4458)")
    return int(digits)


def parse_worksheet_file(path: Path, shown: str | None = None) -> Worksheet:
    """Read and check a worksheet file (YAML + schema); raises :class:`WorksheetInvalid`."""
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{shown}: no such worksheet",
                         hint="create one with 'kbgen session start R<n>'") from exc
    except UnicodeDecodeError as exc:
        raise WorksheetInvalid([Problem(None, f"not UTF-8 text ({exc.reason})")], path=shown) from exc
    return parse_worksheet(text, shown)


def parse_worksheet(text: str, shown: str | None = None) -> Worksheet:
    try:
        marked, problems = load_marked(text)
    except YamlSyntaxError as exc:
        raise WorksheetInvalid([exc.problem], path=shown) from exc
    if marked.data is None:
        raise WorksheetInvalid([Problem(1, "the worksheet is empty (start one with 'kbgen session start R<n>')")],
                               path=shown)
    problems += check(marked)
    if problems:
        raise WorksheetInvalid(sorted(problems, key=lambda p: p.line or 0), path=shown)
    return _build(marked, shown)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _file_ref(value: Any, path: tuple[str | int, ...], marked: Marked) -> FileRef:
    line = marked.line(path)
    if isinstance(value, dict):
        return FileRef(None, str(value["package"]).strip(), str(value["path"]).strip(), line)
    return FileRef(parse_file_id(value), None, None, line)


def _entry_file(item: dict[str, Any], path: tuple[str | int, ...], marked: Marked) -> FileRef:
    file_id = parse_file_id(item["file"]) if item.get("file") is not None else None
    package = _text(item.get("package"))
    rel = _text(item.get("path"))
    line = marked.line((*path, "file")) if "file" in item else marked.line((*path, "path"))
    return FileRef(file_id, package, rel, line)


def _marks(item: dict[str, Any], path: tuple[str | int, ...], marked: Marked) -> dict[str, int]:
    return {k: line for k in item if (line := marked.line((*path, k))) is not None}


def _build(marked: Marked, shown: str | None) -> Worksheet:
    data: dict[str, Any] = marked.data
    reads = []
    for i, item in enumerate(data.get("reads") or []):
        p: tuple[str | int, ...] = ("reads", i)
        reads.append(ReadEntry(_entry_file(item, p, marked), item.get("depth"), item.get("lines"),
                               _text(item.get("notes")), marked.line(p), _marks(item, p, marked)))
    findings = []
    for i, item in enumerate(data.get("findings") or []):
        p = ("findings", i)
        links = []
        for j, link in enumerate(item.get("answers") or []):
            lp = (*p, "answers", j)
            if isinstance(link, dict):
                links.append(AnswerLink(link["question"], bool(link.get("partial", False)), _text(link.get("note")),
                                        marked.line(lp)))
            else:
                links.append(AnswerLink(str(link), False, None, marked.line(lp)))
        findings.append(FindingEntry(
            item.get("key"), _entry_file(item, p, marked), item["severity"], str(item["category"]),
            item.get("lines"), str(item["description"]).strip(), tuple(links), item.get("followed_up"),
            marked.line(p), _marks(item, p, marked)))
    questions = []
    for i, item in enumerate(data.get("questions") or []):
        p = ("questions", i)
        questions.append(QuestionEntry(item["id"], item.get("answer"), _text(item.get("verdict")), marked.line(p),
                                       _marks(item, p, marked)))
    tags = []
    for i, item in enumerate(data.get("tags") or []):
        p = ("tags", i)
        tags.append(TagEntry(
            tuple((str(d).strip(), marked.line((*p, "domains", j))) for j, d in enumerate(item["domains"])),
            tuple(_file_ref(f, (*p, "files", j), marked) for j, f in enumerate(item["files"])),
            marked.line(p)))
    deps = []
    for i, item in enumerate(data.get("dependencies") or []):
        p = ("dependencies", i)
        deps.append(DependencyEntry(_file_ref(item["source"], (*p, "source"), marked),
                                    _file_ref(item["target"], (*p, "target"), marked), item["relationship"],
                                    _text(item.get("evidence")), bool(item.get("verified", True)), marked.line(p)))
    return Worksheet(
        source=shown, session=parse_session(data["session"]), date=_text(data.get("date")),
        focus=_text(data.get("focus")), agents=data.get("agents"), notes=_text(data.get("notes")),
        reads=tuple(reads), findings=tuple(findings), questions=tuple(questions), tags=tuple(tags),
        dependencies=tuple(deps), marks=_marks(data, (), marked))


def line_ranges(value: str | int | None, loc: int | None) -> list[ranges.Range] | None:
    """The ranges a read's ``lines`` names (``all`` needs the file's LOC); None when not given."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "all":
        if not loc:
            raise ranges.RangeError("'all' needs the file's LOC, which the inventory does not have: "
                                    "write the ranges (1-300)")
        return [(1, loc)]
    return ranges.parse(value)
