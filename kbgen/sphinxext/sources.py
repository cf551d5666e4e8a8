"""Re-read a source that changed, whatever its modification time says.

Sphinx re-reads a document when its file (or a file it includes) is *newer*
than the moment Sphinx last read it: a modification time compared with the
wall clock. That misses real edits: a file copied or restored with its old
time (``cp -p``, ``rsync -t``, ``tar x``, a cache restored in CI), and any
machine whose file timestamps lag its clock (virtual machines and sandboxes
whose files are stamped by a host clock: an edit made seconds after a build
looks older than the build). The site then shows the old text with no
warning.

This module records, when Sphinx reads a document, the size and modification
time of its file and of every file it includes; at the next build
(``env-get-outdated``) a document whose files no longer match that record is
read again. Equality, not order: no clock is compared with another. It runs
in every ``sphinx-build`` that loads kbgen's extension, so ``kbgen build`` and a
plain ``sphinx-build`` agree.

For a file a page includes in pieces (a domain page and its domain document), the
record is what the page takes from it (:mod:`kbgen.sphinxext.pieces`) rather than
its size and time, and the rule works both ways: such a page is read again when a
piece changed, and not when only the rest of the file did, though the file is
newer than the page (with kbgen's speedups on, on the Sphinx releases they were
checked against: it takes the page out of the set Sphinx hands its
``env-get-outdated`` handlers).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from kbgen.sphinxext import pieces, speedups

logger = logging.getLogger(__name__)

#: The environment attribute holding the records (pickled with the environment).
ENV_ATTR = "kbgen_source_stats"
#: How many documents the last ``env-get-outdated`` handed back (said once reading starts).
_MISSED_ATTR = "kbgen_sources_missed"
#: How many it kept from being read again: newer included files, same pieces (said with it).
_SAME_ATTR = "kbgen_sources_same"

#: A file's identity as seen when it was read: size and modification time in nanoseconds
#: (None for a file that could not be read).
Stat = tuple[int, int] | None
#: What a page took from a file it includes in pieces: ("pieces", the pieces, their fingerprint).
Taken = tuple[str, tuple[pieces.Piece, ...], str | None]
#: docname → (path of the source or an included file, relative to the source folder when inside
#: it, and its stat — or what the page took from it — when the document was read).
Records = dict[str, tuple[tuple[str, Stat | Taken], ...]]


def _records(env: BuildEnvironment) -> Records:
    current = getattr(env, ENV_ATTR, None)
    if not isinstance(current, dict):
        current = {}
        setattr(env, ENV_ATTR, current)
    return current


def _stat(srcdir: Path, path: str) -> Stat:
    try:
        st = os.stat(srcdir / path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def setup(app: Sphinx) -> None:
    app.connect("source-read", _source_read)
    app.connect("doctree-read", _doctree_read)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-before-read-docs", _say_missed)


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    """Stat the source as Sphinx reads it (an edit made during the build is seen by the next one)."""
    if docname not in app.env.found_docs:
        return  # an included file: Sphinx 7 fires source-read for those too; doctree-read records it
    path = str(app.env.doc2path(docname, False))
    _records(app.env)[docname] = ((path, _stat(app.env.srcdir, path)),)


def _doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    """Add the files the document included while it was parsed (``{include}``, literal includes)."""
    env = app.env
    docname = env.docname
    records = _records(env)
    srcdir = Path(env.srcdir)
    included = sorted(_relative(srcdir, Path(dep)) for dep in env.dependencies.get(docname, ()))
    taken = _pieces_of(app, docname) if included else {}
    records[docname] = records.get(docname, ()) + tuple(
        (path, _seen(srcdir, path, taken.get(pieces.normalised(srcdir / path)))) for path in included)


def _pieces_of(app: Sphinx, docname: str) -> dict[str, tuple[pieces.Piece, ...]]:
    """The pieces the page includes of each file, read from its source ({} when not modelled: an
    ``include-read`` handler may change what a page takes, so then none is)."""
    if app.events.listeners.get("include-read"):
        return {}
    source = Path(app.env.doc2path(docname))
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return pieces.included_pieces(text, source.parent, Path(app.env.srcdir)) or {}


def _seen(srcdir: Path, path: str, taken: tuple[pieces.Piece, ...] | None) -> Stat | Taken:
    """How ``path`` looks now: what the page takes from it when it includes it in pieces, else its stat."""
    if taken is None:
        return _stat(srcdir, path)
    return ("pieces", taken, pieces.fingerprint(pieces.normalised(srcdir / path), taken))


def _now(srcdir: Path, path: str, recorded: Stat | Taken) -> Stat | Taken:
    """The same view of ``path`` as ``recorded``, today."""
    if recorded is not None and isinstance(recorded[0], str):
        return _seen(srcdir, path, recorded[1])
    return _stat(srcdir, path)


def _relative(srcdir: Path, path: Path) -> str:
    full = srcdir / path
    return full.relative_to(srcdir).as_posix() if full.is_relative_to(srcdir) else str(full)


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _records(env).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: Iterable[str], other: BuildEnvironment) -> None:
    """Parallel reading: take the worker's records of the documents it read."""
    mine, theirs = _records(env), _records(other)
    for docname in docnames:
        if docname in theirs:
            mine[docname] = theirs[docname]


def _outdated(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str],
              removed: set[str]) -> list[str]:
    """The documents whose files differ from what was read, and Sphinx's time check missed.

    And the other way: a document Sphinx found newer only through files it includes in pieces
    that are the same as read is taken out of ``changed`` (speedups on, tested Sphinx).
    """
    records, srcdir = _records(env), Path(env.srcdir)
    missed = sorted(docname for docname, files in records.items()
                    if docname not in changed and docname not in removed and docname in env.found_docs
                    and any(_now(srcdir, path, seen) != seen for path, seen in files))
    setattr(app, _MISSED_ATTR, len(missed))
    if speedups.enabled(app.config) and speedups.sphinx_tested():
        same = [docname for docname in changed if _same_pieces(env, srcdir, docname, records.get(docname))]
        changed.difference_update(same)
        setattr(app, _SAME_ATTR, len(same))
    return missed


def _same_pieces(env: BuildEnvironment, srcdir: Path, docname: str,
                 files: tuple[tuple[str, Stat | Taken], ...] | None) -> bool:
    """True when the document includes a file in pieces and everything it read is as it was read:
    its source and every file it depends on, the pieces by what it took of them, and its doctree is
    there to write from."""
    if not files or docname in env.reread_always or not any(
            seen is not None and isinstance(seen[0], str) for _, seen in files):
        return False
    recorded = {path for path, _ in files}
    if any(_relative(srcdir, Path(dep)) not in recorded for dep in env.dependencies.get(docname, ())):
        return False  # a dependency noted after the record (the record cannot vouch for it)
    if not (Path(env.doctreedir) / f"{docname}.doctree").is_file():
        return False
    return all(seen is not None and _now(srcdir, path, seen) == seen for path, seen in files)


def _say_missed(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Say it on a line of its own (``env-get-outdated`` runs mid-line: "updating environment: ")."""
    missed = getattr(app, _MISSED_ATTR, 0)
    if missed:
        logger.info("kbgen: %d source%s changed with an older or equal modification time: read again",
                    missed, "s" if missed != 1 else "")
    same = getattr(app, _SAME_ATTR, 0)
    if same:
        logger.info("kbgen: %d page%s not read again: %s from %s included file%s did not change",
                    same, "s" if same != 1 else "", "what they take" if same != 1 else "what it takes",
                    "their" if same != 1 else "its", "s" if same != 1 else "")
    setattr(app, _MISSED_ATTR, 0)
    setattr(app, _SAME_ATTR, 0)
