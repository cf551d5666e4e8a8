"""Skip Sphinx's own search index when the site is searched through Pagefind.

``kbgen build`` indexes the built site with Pagefind (:mod:`kbgen.build`) and
then passes ``-D kbgen_sphinx_search_index=0``: the site's search page never
loads ``searchindex.js`` while a Pagefind bundle is there, so feeding every
written page to Sphinx's indexer and dumping the index would be wasted work
(about 2 s of a one-session incremental build at the x1 benchmark scale, and
a share of every full build). The search page itself stays (the theme's
search box links to it).

The setting is an ``html`` config value, so turning it back on (``--search
sphinx``, or a plain ``sphinx-build``) makes Sphinx rewrite every page and
the index it writes is complete again.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder

from kbgen.build import SPHINX_SEARCH_CONFIG as CONFIG_NAME

SEARCH_INDEX = "searchindex.js"


def setup(app: Sphinx) -> None:
    app.add_config_value(CONFIG_NAME, True, "html", types=frozenset({bool}))
    app.connect("builder-inited", _skip_search_index)


def _skip_search_index(app: Sphinx) -> None:
    builder = app.builder
    if getattr(app.config, CONFIG_NAME) or not isinstance(builder, StandaloneHTMLBuilder):
        return
    # Instance attributes shadow the builder's methods for this build only.
    builder.load_indexer = lambda docnames: None  # type: ignore[method-assign]
    builder.index_page = lambda pagename, doctree, title: None  # type: ignore[method-assign]
    builder.dump_search_index = lambda: None  # type: ignore[method-assign]
    # An index left by an earlier build would describe pages as they were then.
    (builder.outdir / SEARCH_INDEX).unlink(missing_ok=True)
