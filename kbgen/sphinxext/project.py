"""The kbgen project a Sphinx build belongs to, so a plain ``sphinx-build`` builds what ``kbgen build`` does.

``kbgen build`` runs Sphinx with nothing on its command line that conf.py and
``conf/kbgen.yaml`` do not say, and this module reads ``conf/kbgen.yaml`` for the
extension: a knowledge base's own ``sphinx-build -b html docs build/site`` then
uses the same configuration and the same environment, and either build after
the other is incremental. Two settings come from the project:

* the doctree folder: Sphinx's default is a ``.doctrees`` folder inside the
  output folder, which would be published with the site; when Sphinx builds
  into the project's ``build_dir`` with that default, the extension uses the
  project's doctree folder (next to the site, :attr:`kbgen.config.Options.doctrees_path`),
  the one ``kbgen build`` passes with ``-d``. An explicit ``-d`` is left alone.
* Sphinx's own search index (``kbgen_sphinx_search_index``), off when the
  project's ``search`` setting is ``pagefind`` (:mod:`kbgen.sphinxext.search`),
  unless conf.py or ``-D`` sets it.

The project is the folder holding ``conf/kbgen.yaml`` whose ``docs_dir`` is the
Sphinx source folder, looked for above conf.py (the lookup the Atom feed uses,
:func:`kbgen.sphinxext.feed.project_options`). A Sphinx project outside any
kbgen project is built with Sphinx's defaults.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

from kbgen.config import Options
from kbgen.sphinxext import SEARCH_INDEX_CONFIG


def project_of(app: Sphinx) -> Options | None:
    """The project of this build (looked up once, by :func:`kbgen.sphinxext.feed.project_options`:
    the folder above conf.py holding ``conf/kbgen.yaml`` whose ``docs_dir`` is the source folder)."""
    if not hasattr(app, "_kbgen_project"):
        from kbgen.sphinxext.feed import project_options

        app._kbgen_project = project_options(Path(app.confdir), Path(app.srcdir))  # type: ignore[attr-defined]
    project: Options | None = app._kbgen_project  # type: ignore[attr-defined]
    return project


def setup(app: Sphinx) -> None:
    # After kbgen's defaults (5), before anything reads the doctree folder (the environment is
    # loaded after config-inited).
    app.connect("config-inited", _configure, priority=6)


def _configure(app: Sphinx, config: Config) -> None:
    project = project_of(app)
    if project is None:
        return
    out = Path(app.outdir).resolve()
    if out == project.build_path.resolve() and Path(app.doctreedir).resolve() == out / ".doctrees":
        app.doctreedir = project.doctrees_path.resolve()  # type: ignore[assignment]
    from kbgen.sphinxext.extension import user_settings

    if SEARCH_INDEX_CONFIG not in user_settings(config):
        config[SEARCH_INDEX_CONFIG] = project.search != "pagefind"
