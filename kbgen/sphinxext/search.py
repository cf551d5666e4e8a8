"""Skip Sphinx's own search index when the site is searched through Pagefind only.

``kbgen build --search pagefind`` indexes the built site with Pagefind
(:mod:`kbgen.build`) and passes ``-D kbgen_sphinx_search_index=0``: its
search page then never needs ``searchindex.js``, so feeding every written page
to Sphinx's indexer and dumping the index would be wasted work (a share of
every build, measured in bench/README.md). The default (``--search auto``) keeps Sphinx's index
next to Pagefind's bundle: a site opened from disk (``file://``) cannot fetch
Pagefind's chunks and searches with Sphinx's index instead. The search page
itself always stays (the theme's search box links to it).

The setting is an ``html`` config value, so turning it back on makes Sphinx
rewrite every page and the index it writes is complete again. Skipping the
indexer shadows three builder methods: done only on the Sphinx releases in
:data:`kbgen.sphinxext.speedups.TESTED_SPHINX` (elsewhere the index is written
as usual, with one info line).
"""

from __future__ import annotations

import sphinx
from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.util import logging

from kbgen.sphinxext import SEARCH_INDEX_CONFIG as CONFIG_NAME
from kbgen.sphinxext import speedups

logger = logging.getLogger(__name__)

SEARCH_INDEX = "searchindex.js"


def setup(app: Sphinx) -> None:
    app.add_config_value(CONFIG_NAME, True, "html", types=frozenset({bool}))
    app.connect("builder-inited", _skip_search_index)


def _skip_search_index(app: Sphinx) -> None:
    builder = app.builder
    if getattr(app.config, CONFIG_NAME) or not isinstance(builder, StandaloneHTMLBuilder):
        return
    if not speedups.sphinx_tested():
        logger.info("kbgen: writing Sphinx's search index anyway: Sphinx %s is not a version kbgen's "
                    "index skip was tested with (%s)", sphinx.__version__,
                    ", ".join(speedups.TESTED_SPHINX))
        return
    # Instance attributes shadow the builder's methods for this build only.
    builder.load_indexer = lambda docnames: None  # type: ignore[method-assign]
    builder.index_page = lambda pagename, doctree, title: None  # type: ignore[method-assign]
    builder.dump_search_index = lambda: None  # type: ignore[method-assign]
    # An index left by an earlier build would describe pages as they were then.
    (builder.outdir / SEARCH_INDEX).unlink(missing_ok=True)
