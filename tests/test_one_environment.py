"""One environment: ``kbgen build`` and a plain ``sphinx-build -b html docs build/site`` (the command a
knowledge base's README gives) share the configuration and the doctree folder, so either one after the
other is incremental, and the build stamp notices a site another tool rewrote (kbgen/sphinxext/project.py).

Real builds of the example knowledge base: ``kbgen build`` through the library, the plain build as the
``sphinx-build`` command of the virtual environment, in the project folder, with no option at all.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kbgen import pagefind
from kbgen.build import build_site, build_staleness
from kbgen.config import Options
from tests.test_search_incremental import _live

pytestmark = pytest.mark.slow

PHRASE = "narwhal tusk telemetry"


def _sphinx_build(options: Options) -> str:
    """``sphinx-build -b html docs build/site`` in the project folder; its standard output."""
    sphinx_build = Path(sys.executable).parent / "sphinx-build"
    proc = subprocess.run([str(sphinx_build), "-b", "html", str(options.docs_dir), str(options.build_dir)],
                          cwd=options.project_dir, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", proc.stdout)  # colours: Sphinx colours under CI=true


def _updating(stdout: str) -> tuple[int, int, int]:
    """Sphinx's ``updating environment: [new config] N added, N changed, N removed``, as numbers."""
    match = re.search(r"updating environment: (?:\[[^\]]*\] )?(\d+) added, (\d+) changed, (\d+) removed", stdout)
    assert match, stdout
    added, changed, removed = (int(g) for g in match.groups())
    return added, changed, removed


@pytest.fixture
def built(example_project: Options, monkeypatch: pytest.MonkeyPatch) -> Options:
    if pagefind.pagefind_available():
        monkeypatch.setattr(pagefind, "FOLD_SHARE", 1.0)  # keep the delta: its content is checked below
    first = build_site(example_project)
    assert first.mode == "fresh" and first.warnings == 0
    return example_project


def test_kbgen_build_then_sphinx_build_then_kbgen_build_are_incremental(built: Options) -> None:
    options = built
    pages = len(list(options.build_path.rglob("*.html")))
    time.sleep(0.01)
    about = options.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + f"\nThe {PHRASE} is read by hand.\n", encoding="utf-8")

    # the plain sphinx-build reuses kbgen's environment: the edited page alone is read again
    stdout = _sphinx_build(options)
    assert "[new config]" not in stdout and "[config changed" not in stdout and "[extensions changed" not in stdout
    assert _updating(stdout) == (0, 1, 0)
    assert PHRASE in (options.build_path / "about.html").read_text(encoding="utf-8")
    # and keeps its doctrees where kbgen build does, out of the published folder
    assert not (options.build_path / ".doctrees").exists()
    assert (options.doctrees_path / "about.doctree").exists()

    # the build stamp notices that another tool rewrote the site (the search index did not follow)
    reason = build_staleness(options)
    assert reason is not None and "another tool" in reason

    # kbgen build after it: incremental, nothing left to read, the search index catches up
    second = build_site(options)
    assert second.mode == "incremental" and second.read == 0
    assert second.written is not None and second.written < pages / 4
    if second.search == "pagefind":
        assert second.search_update is not None and second.search_update.mode == "delta"
        assert PHRASE in _live(options.build_path)["/about.html"]
    assert build_staleness(options) is None
    assert build_site(options).mode == "up to date"

    # and a plain sphinx-build after kbgen build has nothing to do
    stdout = _sphinx_build(options)
    assert _updating(stdout) == (0, 0, 0)


def test_sphinx_build_of_an_edited_domain_document_after_kbgen_build(built: Options) -> None:
    options = built
    document = options.domains_path / "plugin-sandbox" / "analysis.md"
    text = document.read_text(encoding="utf-8")
    old = "The registry does not verify"
    assert old in text
    time.sleep(0.01)
    document.write_text(text.replace(old, "The registry (checked by hand) does not verify", 1), encoding="utf-8")
    stdout = _sphinx_build(options)
    assert _updating(stdout) == (0, 1, 0)
    assert "checked by hand" in (options.build_path / "kb/domains/plugin-sandbox.html").read_text(encoding="utf-8")
    again = build_site(options)
    assert again.mode == "incremental" and again.read == 0


def test_a_project_search_setting_reaches_a_plain_sphinx_build(built: Options) -> None:
    """``search: pagefind`` in conf/kbgen.yaml turns Sphinx's own index off for both builds alike."""
    if not pagefind.pagefind_available():
        pytest.skip("the Pagefind binary does not run here")
    from kbgen.config import load_options

    config = built.project_dir / "conf" / "kbgen.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "search: pagefind\n", encoding="utf-8")
    options = load_options(built.project_dir)
    assert options.search == "pagefind"
    result = build_site(options)
    assert result.search == "pagefind" and result.warnings == 0
    assert not (options.build_path / "searchindex.js").exists()
    stdout = _sphinx_build(options)
    assert "[config changed" not in stdout
    assert _updating(stdout) == (0, 0, 0)  # the same configuration: nothing to read again
    assert not (options.build_path / "searchindex.js").exists()
