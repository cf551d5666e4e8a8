"""Key questions: bind each bullet to the plan files it names, give it a stable ID.

IDs are part of the traceability contract (docs/reference/traceability.md):
findings are linked to them, so they must not move when a plan is edited.
The rule therefore depends only on a bullet's own first-named file and on
the bullets before it that share that file:

* ``Q<session>-<file id>`` for the first bullet whose first-named file
  (among those with an ID) is that file, ``Q<session>-<file id>-2``,
  ``-3``... for later ones;
* ``Q<session>-N<n>`` for the n-th bullet (1-based) that names no plan file
  with an ID (a question about a file new since the inventory, known by
  path only, counts here: its ID must not depend on the database).

Editing another file's bullets, adding files or rewording the rationale
leaves an unchanged question's ID alone.

A bullet names a file by a code span (`` `pretrain.rs` ``, `` `src/a/mod.rs` ``)
or, in older plans, by a file-like word in its prose (``Does queue.js ...``).
A name matches a plan file when it equals the file's path or is a
``/``-separated suffix of it (or the other way round). A bare ``mod.rs``
matching files in several clusters goes to the file of the bullet's own
cluster. Failing that, a shortened path matches: its folders, in order, are
a subsequence of the file's folders and the file name is the same
(``pattern-server/server.js`` for ``src/pattern-server/src/server.js``,
``shared/limits.js`` for ``packages/shared/lib/limits.js``); it binds only
when exactly one planned file matches so. A backticked file name that
matches nothing is reported, prose words are not (``e.g.`` must not warn).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

from kbgen.plan.blocks import collapse_space, plain_text
from kbgen.plan.model import (
    PLACEHOLDER_MARK,
    QUESTION_AMBIGUOUS_FILE,
    QUESTION_PLACEHOLDER,
    QUESTION_UNKNOWN_FILE,
    PlannedFile,
    PlanWarning,
    Question,
)


@dataclass(frozen=True)
class Bullet:
    """A key-question bullet as found, before binding."""

    children: tuple[Token, ...]
    line: int
    cluster: str | None
    """Letter of the cluster section the bullet stands in."""


# Extensions that make a backticked word "a file name" worth a warning when it
# matches no planned file; anything else in backticks (`todo!()`, `Vec<f32>`,
# `self.weights`) is code, not a file.
_SOURCE_EXTENSIONS = frozenset({
    "rs", "py", "pyi", "js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "go", "java", "kt", "kts",
    "scala", "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "cs", "fs", "rb", "php", "swift", "m",
    "mm", "sh", "bash", "zsh", "ps1", "lua", "zig", "ex", "exs", "erl", "hrl", "hs", "ml", "mli",
    "dart", "r", "jl", "sql", "proto", "wasm", "wat", "vue", "svelte", "toml", "yaml", "yml",
    "json", "jsonc", "md", "rst", "txt", "cfg", "ini", "lock", "html", "htm", "css", "scss",
    "sass", "less", "xml", "gradle", "cmake", "mk", "nix", "tf", "ipynb",
})

# A file-like word in prose: optional directories, a name, a dot, an extension.
_PROSE_FILE = re.compile(r"(?<![\w/.~-])((?:[\w.~-]+/)*[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,9})(?![\w/-])")
_CONNECTOR = re.compile(r"^\s*(?:and|&|\+|,|/|or)?\s*$", re.IGNORECASE)
_SUBJECT_END = re.compile(r"^\s*(?:\(\s*~?[\d,]+\s*(?:LOC|lines)?\s*\))?\s*:\s*", re.IGNORECASE)
_REPO_PREFIX = re.compile(r"^.*?(?:^|/)repos/[^/]+/")


@dataclass(frozen=True)
class _Name:
    text: str
    backticked: bool


def _names(children: Sequence[Token]) -> list[_Name]:
    """File names a bullet mentions, in reading order."""
    names: list[_Name] = []
    for tok in children:
        if tok.type == "code_inline":
            names.append(_Name(tok.content.strip(), True))
        elif tok.type == "text":
            names.extend(_Name(m.group(1), False) for m in _PROSE_FILE.finditer(tok.content))
    return names


def question_text(children: Sequence[Token]) -> str:
    """The question without its ``\\`file.rs\\` (N LOC):`` subject prefix.

    Only a prefix made of code spans joined by "and"/","/"&" and closed by a
    colon is dropped; a bullet in prose keeps its whole text.
    """
    toks = [t for t in children if not (t.type == "text" and t.content == "")]
    seen_code = False
    for index, tok in enumerate(toks):
        if tok.type == "code_inline":
            seen_code = True
            continue
        if tok.type != "text" or not seen_code:
            break
        end = _SUBJECT_END.match(tok.content)
        if end is not None:
            rest = tok.content[end.end():] + plain_text(toks[index + 1:])
            return collapse_space(rest)
        if not _CONNECTOR.match(tok.content):
            break
    return collapse_space(plain_text(children))


def _normalise(name: str) -> str:
    name = name.strip().strip("'\"").rstrip(".,;:!?)")
    name = _REPO_PREFIX.sub("", name)
    while name.startswith("./"):
        name = name[2:]
    return name


def _matches(name: str, path: str) -> bool:
    path = path.strip().strip("`")
    if not name or not path:
        return False
    return name == path or path.endswith("/" + name) or name.endswith("/" + path)


def _shortened(name: str, path: str) -> bool:
    """``a/c/f.rs`` names ``x/a/b/c/f.rs``: same file name, folders an ordered subsequence."""
    named = [s for s in name.split("/") if s]
    full = [s for s in path.strip().strip("`").split("/") if s]
    if len(named) < 2 or not full or named[-1] != full[-1]:
        return False
    folders = iter(full[:-1])
    return all(any(part == folder for folder in folders) for part in named[:-1])


def looks_like_file(name: str) -> bool:
    """Whether a backticked word is a file name (worth a warning when unknown)."""
    if not name or any(c.isspace() for c in name) or "(" in name or "<" in name:
        return False
    base = name.rstrip("/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return bool(dot and stem and ext.lower() in _SOURCE_EXTENSIONS)


@dataclass
class _Binder:
    files: Sequence[PlannedFile]
    warnings: list[PlanWarning]

    def _paths(self, f: PlannedFile) -> list[str]:
        return [f.path] + ([f.repo_path] if f.repo_path else [])

    def resolve(self, name: _Name, bullet: Bullet) -> int | None:
        """The index in ``files`` of the planned file a name stands for (None: none)."""
        text = _normalise(name.text)
        indexed = list(enumerate(self.files))
        candidates = [i for i, f in indexed if any(_matches(text, p) for p in self._paths(f))]
        if not candidates:
            shortened = [i for i, f in indexed if any(_shortened(text, p) for p in self._paths(f))]
            if len(shortened) == 1:
                return shortened[0]
            if len(shortened) > 1:
                own = [i for i in shortened if self.files[i].cluster == bullet.cluster]
                if len(own) == 1:
                    return own[0]
                self.warnings.append(PlanWarning(
                    QUESTION_AMBIGUOUS_FILE, bullet.line,
                    f"question names {text}, which matches files {self._describe(shortened)}; "
                    "not bound (write more of the path)"))
                return None
            if name.backticked and looks_like_file(text):
                self.warnings.append(PlanWarning(
                    QUESTION_UNKNOWN_FILE, bullet.line,
                    f"question names {text}, which is in no file table of the plan"))
            return None
        if len(candidates) > 1:
            # mod.rs in two clusters: the bullet's own cluster decides.
            own = [i for i in candidates if self.files[i].cluster == bullet.cluster]
            if len(own) == 1:
                return own[0]
            first = self.files[candidates[0]]
            self.warnings.append(PlanWarning(
                QUESTION_AMBIGUOUS_FILE, bullet.line,
                f"question names {text}, which matches files {self._describe(candidates)}; "
                f"bound to {first.file_id if first.file_id is not None else first.path}"))
        return candidates[0]

    def _describe(self, indexes: Sequence[int]) -> str:
        return ", ".join(str(self.files[i].file_id) if self.files[i].file_id is not None
                         else self.files[i].path for i in indexes)


def bind_questions(bullets: Sequence[Bullet], files: Sequence[PlannedFile],
                   session: int) -> tuple[list[Question], list[PlanWarning]]:
    """Questions with IDs and bound files, plus warnings about names that match nothing."""
    warnings: list[PlanWarning] = []
    binder = _Binder(files, warnings)
    per_file: dict[int, int] = {}
    unbound = 0
    questions: list[Question] = []
    for bullet in bullets:
        planned: list[int] = []
        for name in _names(bullet.children):
            index = binder.resolve(name, bullet)
            if index is not None and index not in planned:
                planned.append(index)
        file_ids = [fid for fid in (files[i].file_id for i in planned) if fid is not None]
        if file_ids:
            first = file_ids[0]
            ordinal = per_file[first] = per_file.get(first, 0) + 1
            qid = f"Q{session}-{first}" + (f"-{ordinal}" if ordinal > 1 else "")
        else:
            unbound += 1
            ordinal = unbound
            qid = f"Q{session}-N{ordinal}"
        cluster = files[planned[0]].cluster if planned else bullet.cluster
        questions.append(Question(id=qid, text=question_text(bullet.children),
                                  file_ids=tuple(dict.fromkeys(file_ids)), line=bullet.line,
                                  ordinal=ordinal, cluster=cluster,
                                  paths=tuple(files[i].path for i in planned), planned=tuple(planned)))
    return questions, warnings


#: PLACEHOLDER_MARK as a researcher may leave it (spacing, case); its colon is optional.
_PLACEHOLDER = re.compile(r"\bTODO\s*\(\s*researcher\s*\)", re.IGNORECASE)
_SHOWN = PLACEHOLDER_MARK.rstrip(":")


def placeholder_notes(questions: Sequence[Question]) -> list[PlanWarning]:
    """A note at each key question that is still the draft's ``TODO (researcher):`` slot.

    Imported as it is, such a bullet would show as an open question on every page,
    indistinguishable from a real one; the note (informational, see ``INFO_CODES``)
    points at the line to write.
    """
    return [PlanWarning(QUESTION_PLACEHOLDER, q.line,
                        f"question {q.id} is still the draft's placeholder '{_SHOWN}': write the "
                        "question the session should answer")
            for q in questions if _PLACEHOLDER.search(q.text)]


def placeholder_summary(lines: Sequence[int]) -> str:
    """``2 questions (lines 43, 44) are still 'TODO (researcher)' placeholders: ...``, the one warning of
    ``plan import`` and ``session start --plan`` (the per-line notes may be silenced with --quiet)."""
    where = ", ".join(f"{n:,}" for n in lines)
    if len(lines) == 1:
        return (f"1 question (line {where}) is still a '{_SHOWN}' placeholder: it shows as an open question until "
                "you write it and import the plan again")
    return (f"{len(lines):,} questions (lines {where}) are still '{_SHOWN}' placeholders: they show as open "
            "questions until you write them and import the plan again")
