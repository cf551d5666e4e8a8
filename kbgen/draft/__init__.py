"""``kbgen plan draft``: the next session's execution plan, drafted from the priority gaps.

The loop a research team runs is plan → record → sync → publish → plan
again; this package writes the first step. :func:`draft_plan` picks the
files (:mod:`~kbgen.draft.select`), groups them (:mod:`~kbgen.draft.clusters`),
computes what the plan cites and expects (:mod:`~kbgen.draft.evidence`,
:mod:`~kbgen.draft.expected`) and renders the seed's plan format
(:mod:`~kbgen.draft.render`). The result is plain markdown that ``kbgen
plan parse`` reads back with no warnings; :func:`write_plan` puts it on
disk without ever replacing a plan someone may have edited.

A snapshot in, text out: the same database and request give the same bytes
(the date is the only input that is not data, and callers pass it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kbgen.config import Options
from kbgen.draft import evidence
from kbgen.draft.clusters import DraftCluster, cluster_picks
from kbgen.draft.expected import Expected, expected
from kbgen.draft.phrase import Phrase, code, join, text
from kbgen.draft.render import PlanDraft, render_plan
from kbgen.draft.select import DraftRequest, Selection, normalise, select
from kbgen.errors import UsageError
from kbgen.model import Snapshot
from kbgen.outputs import write_if_changed

__all__ = ["Draft", "DraftRequest", "draft_plan", "next_session", "write_plan"]

#: More files than any real plan holds (3-25, typically 6-14); a guard against a typo such as 900.
MAX_FILES = 500


@dataclass(frozen=True)
class Draft:
    """A drafted plan: its text and what went into it."""

    session: int
    date: str
    text: str
    selection: Selection
    clusters: tuple[DraftCluster, ...]
    expected: Expected


def next_session(snap: Snapshot) -> int:
    """The session after the highest ``R{n}`` the database knows (a session or an imported plan)."""
    numbers = [s.number for s in snap.sessions] + [p.session for p in snap.plans]
    return max(numbers, default=0) + 1


def _limits(request: DraftRequest) -> Phrase:
    parts: list[Phrase] = []
    for noun, values in (("domain", request.domains), ("package", request.packages)):
        if values:
            parts.append(text(noun + ("s " if len(values) > 1 else " ")) + join(map(code, values), ", ", " and "))
    if request.tiers:
        parts.append(text(("tiers " if len(request.tiers) > 1 else "tier ") + ", ".join(request.tiers)))
    return text(" (limited to ") + join(parts, "; ") + text(")") if parts else Phrase()


def draft_plan(snap: Snapshot, options: Options, request: DraftRequest, *, session: int | None = None,
               date: str | None = None) -> Draft:
    """Draft the plan of ``session`` (default: the next one). Raises UsageError when nothing can be drafted."""
    if request.files > MAX_FILES:
        raise UsageError(f"--files {request.files}: a plan holds at most {MAX_FILES} files")
    if session is not None and session < 1:
        raise UsageError(f"--session {session}: session numbers start at 1")
    day = date or dt.date.today().isoformat()
    try:
        day = dt.date.fromisoformat(day).isoformat()
    except ValueError as exc:
        raise UsageError(f"--date {date!r} is not a date (expected YYYY-MM-DD)") from exc
    request = normalise(snap, request)
    selection = select(snap, options, request)
    clusters = tuple(cluster_picks(selection.picks))
    number = session if session is not None else next_session(snap)
    exp = expected(snap, selection.picks)
    plan = PlanDraft(session=number, date=day, selection=selection, clusters=clusters, expected=exp,
                     isolation=tuple(evidence.isolation(snap, selection.picks)), loc_budget=request.loc_budget,
                     file_limit=request.files, limits=_limits(request))
    return Draft(number, day, render_plan(snap, options, plan), selection, clusters, exp)


def write_plan(path: Path, text_: str, *, force: bool = False) -> None:
    """Write a drafted plan; an existing file is kept (UsageError naming it) unless ``force``.

    Without ``force`` the file is created atomically and exclusively (a
    hard link of a finished temporary file), so a plan that appears between
    the check and the write is not replaced either, and a crash leaves no
    half-written plan.
    """
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the plan's file name with -o")
    data = text_.encode("utf-8")
    if force:
        write_if_changed(path, data)
        return
    if path.exists():
        raise UsageError(f"{path} already exists; it may hold edits", hint="choose another -o, or pass --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.kbgen-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise UsageError(f"{path} already exists; it may hold edits",
                             hint="choose another -o, or pass --force") from exc
        except OSError:  # a file system without hard links: exclusive create, then the bytes
            with open(path, "xb") as handle:
                handle.write(data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
