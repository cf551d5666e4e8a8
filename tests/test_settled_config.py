"""What Sphinx compares between two builds stays the same when nothing was changed
(kbgen/sphinxext/settled.py): no "configuration has changed" on every incremental build, and the
path kbgen is installed at is not part of the ``.buildinfo`` hash, so a new virtual environment (or
a CI cache restored at another path) does not make every page be written again.

Real ``sphinx-build`` runs in child processes, on a small project whose conf.py names kbgen's
extension only, as a knowledge base's conf.py does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kbgen.sphinxext import settled

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def _project(root: Path, conf_extra: str = "") -> Path:
    docs = root / "docs"
    docs.mkdir(parents=True)
    (docs / "conf.py").write_text(f'extensions = ["kbgen.sphinxext"]\nproject = "Settled"\n{conf_extra}',
                                  encoding="utf-8")
    (docs / "index.md").write_text("# Home\n\n```{toctree}\none\ntwo\n```\n", encoding="utf-8")
    (docs / "one.md").write_text("# One\n\nThe first page.\n", encoding="utf-8")
    (docs / "two.md").write_text("# Two\n\nThe second page.\n", encoding="utf-8")
    return docs


def _sphinx_build(docs: Path, *, pythonpath: Path | None = None) -> str:
    """``sphinx-build -b html docs build/site`` in the project folder; its output, without colours."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "docs", "build/site"], cwd=docs.parent,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", proc.stdout + proc.stderr)


def _written(output: str) -> set[str]:
    """The pages Sphinx wrote (``writing output... [ 50%] one``)."""
    return set(re.findall(r"writing output\.\.\. \[\s*\d+%\] (\S+)", output))


def _touch(page: Path) -> None:
    time.sleep(0.01)
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")


def test_an_incremental_build_finds_no_configuration_change(tmp_path: Path) -> None:
    docs = _project(tmp_path)
    first = _sphinx_build(docs)
    assert "[new config]" in first
    _touch(docs / "one.md")
    second = _sphinx_build(docs)
    assert "configuration has changed" not in second, second
    assert "build_info mismatch" not in second, second
    assert re.search(r"updating environment: 0 added, 1 changed, 0 removed", second), second
    assert "one" in _written(second) and "two" not in _written(second)  # the index shows the toctree
    html = (docs.parent / "build/site/one.html").read_text(encoding="utf-8")
    # What pydata-sphinx-theme set after the comparison still reaches the pages.
    assert 'class="headerlink" href="#one" title="Link to this heading">#</a>' in html
    assert (docs.parent / "build/site/_static/kbgen.css").is_file()


def test_a_permalink_icon_set_in_conf_py_is_kept(tmp_path: Path) -> None:
    docs = _project(tmp_path, 'html_permalinks_icon = "§"\n')
    _sphinx_build(docs)
    _touch(docs / "one.md")
    second = _sphinx_build(docs)
    assert "configuration has changed" not in second, second
    html = (docs.parent / "build/site/one.html").read_text(encoding="utf-8")
    assert 'title="Link to this heading">§</a>' in html


def test_a_moved_kbgen_install_rewrites_only_the_changed_page(tmp_path: Path) -> None:
    """The same kbgen at another path (a new virtual environment): the ``.buildinfo`` hash holds
    kbgen's folders by name, not by path, so only the edited page is written again."""
    docs = _project(tmp_path / "kb")
    _sphinx_build(docs)
    buildinfo = (docs.parent / "build/site/.buildinfo").read_text(encoding="utf-8")
    moved = tmp_path / "elsewhere"
    shutil.copytree(REPO / "kbgen", moved / "kbgen", ignore=shutil.ignore_patterns("__pycache__"))
    check = subprocess.run([sys.executable, "-c", "import kbgen; print(kbgen.__file__)"], cwd=tmp_path,
                           env=dict(os.environ, PYTHONPATH=str(moved)), capture_output=True, text=True, check=True)
    assert check.stdout.strip() == str(moved / "kbgen" / "__init__.py")
    _touch(docs / "two.md")
    second = _sphinx_build(docs, pythonpath=moved)
    assert "build_info mismatch" not in second, second
    assert "two" in _written(second) and "one" not in _written(second)
    assert (docs.parent / "build/site/.buildinfo").read_text(encoding="utf-8") == buildinfo
    assert str(REPO) not in (docs.parent / "build/site/two.html").read_text(encoding="utf-8")


def test_the_placeholders_name_kbgens_own_folders() -> None:
    from kbgen.sphinxext.extension import STATIC_DIR, TEMPLATES_DIR

    names = settled.placeholders()
    assert names == {str(TEMPLATES_DIR): "<kbgen>/static/templates", str(STATIC_DIR): "<kbgen>/static/site"}
    assert TEMPLATES_DIR.is_dir() and STATIC_DIR.is_dir()


def test_another_theme_keeps_its_options_and_finds_no_configuration_change(tmp_path: Path) -> None:
    docs = _project(tmp_path, 'html_theme = "alabaster"\nhtml_theme_options = {"description": "A settled site"}\n')
    _sphinx_build(docs)
    _touch(docs / "one.md")
    second = _sphinx_build(docs)
    assert "configuration has changed" not in second, second
    assert "A settled site" in (docs.parent / "build/site/index.html").read_text(encoding="utf-8")
    html = (docs.parent / "build/site/one.html").read_text(encoding="utf-8")
    assert 'title="Link to this heading">¶</a>' in html  # Sphinx's own icon: only pydata's is set early
