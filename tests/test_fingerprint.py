"""kbgen's code fingerprint (kbgen.fingerprint): one digest, used by the no-op sync and the build.

The fingerprint must follow the code, not file names: a module that is moved
or renamed is still covered (the old build fingerprint globbed ``sphinx*.py``
and lost any module that moved out of that pattern). The tests work on a copy
of the installed package, point :data:`kbgen.fingerprint.PACKAGE_DIR` at it,
and move modules around in the copy.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import kbgen
from kbgen import fingerprint
from kbgen.config import Options
from kbgen.db.engine import resolve_url
from kbgen.fingerprint import code_fingerprint, output_files
from kbgen.sync import sync
from kbgen.sync_state import input_fingerprint

PACKAGE = Path(kbgen.__file__).resolve().parent


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "pkg" / "kbgen"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def rels(package: Path) -> set[str]:
    return {p.relative_to(package).as_posix() for p in output_files(package)}


def move_gc_policy(package: Path) -> Path:
    """Move sphinxext/gcpolicy.py to the package root under another name, as a refactoring would."""
    moved = package / "gc_policy.py"
    (package / "sphinxext" / "gcpolicy.py").rename(moved)
    extension = package / "sphinxext" / "extension.py"
    text = extension.read_text(encoding="utf-8")
    # one import statement, on one line or wrapped in parentheses
    imports = re.search(r"^( +)from kbgen\.sphinxext import (\([^)]*?|[^\n]*?)gcpolicy,\s*", text, re.M)
    assert imports, "extension.py imports gcpolicy from kbgen.sphinxext"
    indent, before = imports.groups()
    extension.write_text(text.replace(imports.group(0), f"{indent}from kbgen import gc_policy as gcpolicy\n"
                                                        f"{indent}from kbgen.sphinxext import {before}"),
                         encoding="utf-8")
    return moved


def test_covers_what_shapes_output_and_not_the_rest() -> None:
    covered = rels(PACKAGE)
    # The extension and everything it loads, the sync's renderers and their templates, the assets.
    assert {"sphinxext/extension.py", "sphinxext/gcpolicy.py", "sphinxext/speedups.py", "sphinxext/main.py",
            "sphinx/__init__.py", "needs_model.py", "sync.py", "render/pages.py", "render/view.py",
            "render/templates/session.md.j2", "static/site/kbgen.css", "static/site/kbgen.js",
            "static/templates/kbgen-search.j2", "build.py", "fingerprint.py"} <= covered
    # Code no output path imports: the command line, the live preview, publishing, scaffolding.
    assert not covered & {"cli/__init__.py", "cli/site_cmd.py", "serve.py", "publish.py", "scaffold/__init__.py",
                          "scaffold/files/conf.py", "__main__.py"}
    assert not any(rel.startswith("synthetic") or "__pycache__" in rel for rel in covered)


def test_a_copy_of_the_package_has_the_same_fingerprint(package_copy: Path) -> None:
    assert code_fingerprint(package_copy) == code_fingerprint(PACKAGE)


def test_a_moved_module_stays_covered(package_copy: Path) -> None:
    before = code_fingerprint(package_copy)
    moved = move_gc_policy(package_copy)
    after_move = code_fingerprint(package_copy)
    assert after_move != before
    assert "gc_policy.py" in rels(package_copy)
    # The regression the sphinx*.py glob had: an edit of the moved module must still count.
    moved.write_text(moved.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    assert code_fingerprint(package_copy) != after_move


def test_a_renamed_module_stays_covered_through_a_relative_import(package_copy: Path) -> None:
    (package_copy / "render" / "charts.py").rename(package_copy / "render" / "svg_charts.py")
    importers = [p for p in package_copy.rglob("*.py") if "from kbgen.render import charts" in p.read_text()
                 or "from kbgen.render.charts import" in p.read_text()]
    assert importers, "render/charts.py is imported somewhere"
    for path in importers:
        text = path.read_text(encoding="utf-8")
        text = text.replace("from kbgen.render import charts", "from . import svg_charts as charts")
        path.write_text(text.replace("from kbgen.render.charts import", "from .svg_charts import"), encoding="utf-8")
    assert "render/svg_charts.py" in rels(package_copy)
    before = code_fingerprint(package_copy)
    svg = package_copy / "render" / "svg_charts.py"
    svg.write_text(svg.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    assert code_fingerprint(package_copy) != before


def test_editing_code_no_output_path_imports_keeps_the_fingerprint(package_copy: Path) -> None:
    before = code_fingerprint(package_copy)
    cli = package_copy / "cli" / "site_cmd.py"
    cli.write_text(cli.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    assert code_fingerprint(package_copy) == before


def test_the_no_op_sync_notices_a_moved_module(example_project: Options, package_copy: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fingerprint, "PACKAGE_DIR", package_copy)
    assert sync(example_project).shortcut is True  # same code as the fixture's sync: nothing to do
    url = resolve_url(example_project.database, example_project.project_dir)
    before = input_fingerprint(example_project, url)
    moved = move_gc_policy(package_copy)
    assert input_fingerprint(example_project, url) != before
    assert sync(example_project).shortcut is False
    assert sync(example_project).shortcut is True
    moved.write_text(moved.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    assert sync(example_project).shortcut is False


@pytest.mark.slow
def test_a_built_site_is_stale_after_a_module_moves(built_example: Options, package_copy: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from kbgen.build import build_staleness

    monkeypatch.setattr(fingerprint, "PACKAGE_DIR", package_copy)
    assert build_staleness(built_example) is None  # the copy is the code the site was built with
    move_gc_policy(package_copy)
    assert "changed since the last build" in (build_staleness(built_example) or "")
