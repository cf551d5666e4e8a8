"""kbgen's code fingerprint: one digest of the code and assets that shape what kbgen writes.

Two shortcuts skip work when nothing changed, and both must notice a new
kbgen: the no-op ``kbgen sync`` (:mod:`kbgen.sync_state`) and the "up to date"
build (:mod:`kbgen.build`, which ``kbgen publish`` also asks whether a site is
stale). They share this one fingerprint.

Which files count is not a list kept by hand (a list goes stale the day a
module moves): it is the import closure of the entry points that produce
output — ``kbgen.sync`` (pages and domain documents), ``kbgen.build`` (the
sphinx-build command line) and the Sphinx extension with its runner — found by
reading their ``import`` lines, plus the data files (templates, CSS, JS)
of every package in that closure. A module that moves or is renamed is still
covered because whatever imports it is; a module that no output path imports
(the CLI, the live preview, the benchmark generator, which is not even in the
package) does not invalidate every user's no-op sync when it is edited.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

#: The installed package whose code is fingerprinted.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Modules whose code decides what kbgen writes; everything they import counts too.
#: ``kbgen.sphinx`` is the extension's former name (a conf.py may still load it) and the
#: runner is started by name (``python -m``), so both are roots rather than imports.
OUTPUT_ROOTS = ("kbgen.sync", "kbgen.build", "kbgen.sphinxext", "kbgen.sphinx", "kbgen.sphinxext.main")


def code_fingerprint(package_dir: Path | None = None) -> str:
    """The digest of :func:`output_files` (paths and contents) of ``package_dir`` (kbgen's own).

    Read from disk on every call (a few milliseconds), not cached: a long-running process
    (``kbgen serve``) starts sphinx-build with the code on disk, which may have changed.
    """
    package_dir = (package_dir or PACKAGE_DIR).resolve()
    outer = hashlib.sha256()
    for path in output_files(package_dir):
        rel = path.relative_to(package_dir).as_posix()
        outer.update(rel.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return outer.hexdigest()


def output_files(package_dir: Path | None = None) -> list[Path]:
    """The files the fingerprint covers, sorted: the roots' import closure and its packages' data."""
    root = (package_dir or PACKAGE_DIR).resolve()
    name = root.name
    modules = _closure(root, name, OUTPUT_ROOTS)
    files: set[Path] = set()
    packages: set[Path] = set()
    for module in modules:
        path = _module_file(root, name, module)
        if path is None:
            continue
        files.add(path)
        packages.add(path.parent)
    for package in packages:
        files.update(_data_files(package))
    return sorted(files)


def _module_file(root: Path, name: str, module: str) -> Path | None:
    """A dotted module name of the package → its ``.py`` file or its ``__init__.py`` (None: not ours)."""
    parts = module.split(".")
    if parts[0] != name:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py") if len(parts) > 1 else None, base / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _closure(root: Path, name: str, roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    todo = [m for r in roots for m in _with_parents(r)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = _module_file(root, name, module)
        if path is None:
            continue
        seen.add(module)
        for imported in _imports(path, module, root, name):
            todo.extend(_with_parents(imported))
    return seen


def _with_parents(module: str) -> list[str]:
    """Importing a module runs the ``__init__.py`` of every package above it too."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


#: ``import a.b, c`` and ``from .a import (b, c)`` at the start of a line, at any indentation
#: (imports inside functions count). A regular expression rather than :mod:`ast`: much faster
#: (bench/README.md), and the no-op sync pays for it on every run; a docstring line that
#: looks like an import can only add a module, never lose one.
_IMPORT_RE = re.compile(r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)|import[ \t]+([^\n]*))",
                        re.MULTILINE)


def _imports(path: Path, module: str, root: Path, name: str) -> Iterator[str]:
    """Every module that ``path`` may import (``from x import y`` yields ``x`` and ``x.y``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for match in _IMPORT_RE.finditer(path.read_text(encoding="utf-8", errors="replace")):
        source, names, plain = match.groups()
        if plain is not None:
            yield from (_name(item) for item in plain.split(","))
            continue
        if source.startswith("."):
            level = len(source) - len(source.lstrip("."))
            parts = package.split(".")
            parts = parts[: len(parts) - (level - 1)]
            rest = source.lstrip(".")
            source = ".".join([*parts, rest] if rest else parts)
        yield source
        for item in names.strip("()").split(","):
            if item := _name(item):
                yield f"{source}.{item}"


def _name(item: str) -> str:
    """``b as c  # comment`` → ``b``."""
    return item.split("#")[0].strip().split(" ")[0].strip()


def _data_files(package: Path) -> Iterator[Path]:
    """A package's files that are not Python modules (templates, CSS, JS, SQL, YAML), in the
    package folder and its non-package subfolders; sub-packages count only when imported."""
    for path in package.iterdir():
        if path.name == "__pycache__" or path.name.startswith("."):
            continue
        if path.is_dir():
            if not (path / "__init__.py").exists():
                yield from (p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        elif path.suffix not in (".py", ".pyc"):
            yield path
