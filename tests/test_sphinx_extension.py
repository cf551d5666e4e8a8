"""The Sphinx extension's configuration: kbgen's defaults, and a conf.py (or -D) that always wins.

These create Sphinx applications (reading conf.py and running config-inited)
without building anything.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.testing.util import SphinxTestApp

from kbgen.sphinxext import extension

REPO = Path(__file__).resolve().parents[1]


def make_app(tmp_path: Path, conf: str, confoverrides: dict[str, Any] | None = None) -> Iterator[SphinxTestApp]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "conf.py").write_text(conf, encoding="utf-8")
    (src / "index.md").write_text("# Home\n", encoding="utf-8")
    app = SphinxTestApp("html", srcdir=src, builddir=tmp_path / "_build", confoverrides=confoverrides,
                        status=StringIO(), warning=StringIO())
    try:
        yield app
    finally:
        app.cleanup()


def configured(tmp_path: Path, conf: str, confoverrides: dict[str, Any] | None = None) -> Config:
    for app in make_app(tmp_path, conf, confoverrides):
        return app.config
    raise AssertionError("no app")


MINIMAL = 'extensions = ["kbgen.sphinxext"]\nproject = "Minimal KB"\n'


def test_defaults_fill_a_minimal_conf_py(tmp_path: Path) -> None:
    config = configured(tmp_path, MINIMAL)
    assert config.smartquotes is False
    assert config.html_theme == "pydata_sphinx_theme"
    assert config.html_title == "Minimal KB"
    assert config.html_copy_source is False
    assert config.needs_id_required is True
    assert config.needs_default_layout == "kbgen"
    assert {t["directive"] for t in config.needs_types} >= {"session", "question", "finding", "file", "domain"}
    assert "colon_fence" in config.myst_enable_extensions
    assert config.kbgen_speedups is True


def test_a_value_set_in_conf_py_wins_over_kbgens_default(tmp_path: Path) -> None:
    conf = MINIMAL + (
        "smartquotes = True\n"  # Sphinx's own default: set explicitly, it must still win
        'html_theme = "classic"\n'
        'html_title = "My own title"\n'
        "html_copy_source = True\n"
        "needs_id_required = False\n"
        'needs_default_layout = "clean"\n'
        'myst_enable_extensions = ["deflist"]\n'
        'exclude_patterns = ["drafts/**"]\n'
    )
    config = configured(tmp_path, conf)
    assert config.smartquotes is True
    assert config.html_theme == "classic"
    assert config.html_title == "My own title"
    assert config.html_copy_source is True
    assert config.needs_id_required is False
    assert config.needs_default_layout == "clean"
    # Lists kbgen needs something in are extended, never replaced.
    assert config.myst_enable_extensions == ["deflist", "colon_fence"]
    assert config.exclude_patterns[0] == "drafts/**" and "_build" in config.exclude_patterns
    # And an unset value still gets kbgen's default.
    assert config.html_show_sourcelink is False


def test_a_conf_py_declaring_its_own_needs_keeps_kbgens(tmp_path: Path) -> None:
    """A team's own need type, field or link is added to kbgen's, which the generated pages use;
    redeclaring one of kbgen's by name replaces that one only."""
    conf = MINIMAL + (
        'needs_types = [{"directive": "risk", "title": "Risk", "prefix": "RISK", "color": "#fff", "style": "node"},\n'
        '               {"directive": "finding", "title": "Our finding", "prefix": "F", "color": "#000",\n'
        '                "style": "node"}]\n'
        'needs_fields = {"owner": {"description": "who follows it up"}}\n'
        'needs_links = {"mitigates": {"incoming": "mitigated by", "outgoing": "mitigates"}}\n'
    )
    config = configured(tmp_path, conf)
    types = {t["directive"]: t for t in config.needs_types}
    assert set(types) >= {"risk", "finding", "session", "question"}
    assert types["finding"]["title"] == "Our finding"
    assert [t["directive"] for t in config.needs_types].count("finding") == 1
    assert "owner" in config.needs_fields and "severity" in config.needs_fields
    assert config.needs_fields["title"] == {"parse_dynamic_functions": False, "parse_variants": False}
    assert "mitigates" in config.needs_links and "answers" in config.needs_links


def test_a_command_line_override_wins_over_kbgens_default(tmp_path: Path) -> None:
    config = configured(tmp_path, MINIMAL, {"smartquotes": True, "html_show_sourcelink": True,
                                             "kbgen_speedups": False})
    assert config.smartquotes is True
    assert config.html_show_sourcelink is True
    assert config.kbgen_speedups is False


def test_without_a_way_to_read_conf_py_the_build_stops_rather_than_override() -> None:
    config = Config({"smartquotes": True})
    assert "smartquotes" in extension.user_settings(config)
    del config._raw_config
    with pytest.raises(ExtensionError, match=r"cannot tell which settings conf\.py made"):
        extension.user_settings(config)


def test_the_former_extension_name_still_works(tmp_path: Path) -> None:
    config = configured(tmp_path, 'extensions = ["kbgen.sphinx"]\nproject = "Old conf.py"\n')
    assert config.needs_default_layout == "kbgen"
    assert config.smartquotes is False


def test_loading_the_extension_does_not_import_the_build_driver() -> None:
    """The extension runs inside sphinx-build: it must not pull in ``kbgen build``'s driver (or the CLI)."""
    code = ("import sys, kbgen.sphinx, kbgen.sphinxext.extension, kbgen.sphinxext.main; "
            "from kbgen.sphinxext.extension import setup; "
            "print(sorted(m for m in sys.modules if m in ('kbgen.build', 'kbgen.cli', 'kbgen.sync', 'typer')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_the_build_driver_gets_the_extensions_names_without_importing_sphinx() -> None:
    code = "import sys, kbgen.build; print('sphinx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_need_titles_and_options_show_shifts_and_brackets_as_written(tmp_path: Path) -> None:
    """``memory_size(4 << 30)`` in a need title is shown as written, and ``[[...]]``/``<<...>>`` run no function:
    kbgen switches sphinx-needs' dynamic functions and variants off for titles as for its own fields."""
    from bs4 import BeautifulSoup

    from kbgen.render.myst import need

    title = "memory_size(4 << 30) [[copy('id')]] <<meta('title')>> << x >> y >> 2"
    for app in make_app(tmp_path, MINIMAL):
        (Path(app.srcdir) / "index.md").write_text(
            "# Home\n\n" + need("finding", "F1", title, options={"severity": "[[copy('id')]] 1 << 2"}),
            encoding="utf-8")
        app.build()
        assert "WARNING" not in app.warning.getvalue() and "ERROR" not in app.warning.getvalue(), app.warning.getvalue()
        soup = BeautifulSoup((Path(app.outdir) / "index.html").read_text(encoding="utf-8"), "html.parser")
        shown = soup.select_one(".needs_title")
        assert shown is not None and shown.get_text() == title
        assert "[[copy('id')]] 1 << 2" in soup.get_text()
