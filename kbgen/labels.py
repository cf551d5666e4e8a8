"""Stable per-domain finding labels (C1, H4, M12).

A label, once given, never changes and is never reused: new findings get
max+1 within (domain, letter), a deleted finding leaves a gap. Labels are
persisted in ``kbgen_finding_labels``. When the database is read-only, new
labels are computed the same way but only in memory, with a warning, and are
persisted by the next writable sync.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Engine, insert
from sqlalchemy.exc import SQLAlchemyError

from kbgen import vocab
from kbgen.db import kbtables as kb
from kbgen.model import Label, Snapshot


def missing_labels(snap: Snapshot) -> list[Label]:
    """Labels the snapshot's C/H/M findings lack, numbered after the highest ever given."""
    taken: dict[tuple[str, str], int] = {}
    have: set[tuple[str, int]] = set()
    for lab in snap.labels:
        key = (lab.domain, lab.letter)
        taken[key] = max(taken.get(key, 0), lab.number)
        have.add((lab.domain, lab.finding_id))
    new: list[Label] = []
    for f in snap.findings:  # ordered by id: older findings get lower numbers
        letter = vocab.SEVERITY_LETTERS.get(f.severity)
        if letter is None:
            continue
        for domain in snap.domains_of_finding.get(f.id, ()):
            if (domain, f.id) in have:
                continue
            key = (domain, letter)
            taken[key] = taken.get(key, 0) + 1
            new.append(Label(domain, letter, taken[key], f.id))
            have.add((domain, f.id))
    return new


def assign_labels(engine: Engine | None, snap: Snapshot) -> tuple[Snapshot, int, str | None]:
    """Give every C/H/M finding its labels; (snapshot, how many new, warning or None)."""
    new = missing_labels(snap)
    if not new:
        return snap, 0, None
    warning = None
    if engine is None:
        warning = f"{len(new)} new finding labels are provisional: the database is opened read-only"
    else:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            with engine.begin() as conn:
                conn.execute(insert(kb.finding_labels), [
                    {"domain": lab.domain, "letter": lab.letter, "number": lab.number,
                     "finding_id": lab.finding_id, "assigned_at": now} for lab in new])
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            warning = (f"{len(new)} new finding labels are provisional: cannot write kbgen_finding_labels "
                       f"({str(cause).splitlines()[0]})")
    labels = tuple(sorted((*snap.labels, *new), key=lambda lab: (lab.domain, lab.letter, lab.number)))
    return replace(snap, labels=labels), len(new), warning
