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
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The environment attribute holding the records (pickled with the environment).
ENV_ATTR = "kbgen_source_stats"
#: How many documents the last ``env-get-outdated`` handed back (said once reading starts).
_MISSED_ATTR = "kbgen_sources_missed"

#: A file's identity as seen when it was read: size and modification time in nanoseconds
#: (None for a file that could not be read).
Stat = tuple[int, int] | None
#: docname → (path of the source or an included file, relative to the source folder when inside
#: it, and its stat when the document was read).
Records = dict[str, tuple[tuple[str, Stat], ...]]


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
    records[docname] = records.get(docname, ()) + tuple((path, _stat(srcdir, path)) for path in included)


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
    """The documents whose files differ from what was read, and Sphinx's time check missed."""
    records, srcdir = _records(env), Path(env.srcdir)
    missed = sorted(docname for docname, files in records.items()
                    if docname not in changed and docname not in removed and docname in env.found_docs
                    and any(_stat(srcdir, path) != stat for path, stat in files))
    setattr(app, _MISSED_ATTR, len(missed))
    return missed


def _say_missed(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Say it on a line of its own (``env-get-outdated`` runs mid-line: "updating environment: ")."""
    missed = getattr(app, _MISSED_ATTR, 0)
    if missed:
        logger.info("kbgen: %d source%s changed with an older or equal modification time: read again",
                    missed, "s" if missed != 1 else "")
    setattr(app, _MISSED_ATTR, 0)
