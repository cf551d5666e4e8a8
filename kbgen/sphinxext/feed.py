"""The Atom feed on the site: copied to the root and linked from every page's head.

``kbgen sync`` writes ``feed.xml`` into the generated folder
(:mod:`kbgen.render.feed`); this part of the extension only publishes it, so
the data still flows one way and an incremental build costs one file copy.
The project is found from ``conf.py``'s folder upwards (the folder holding
``conf/kbgen.yaml`` whose ``docs_dir`` is this Sphinx source folder); its
``site_url`` also becomes Sphinx's ``html_baseurl`` (canonical links) unless
``conf.py`` sets one. A plain Sphinx project, or one synced before kbgen had
a feed, builds as before, without the link.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

from kbgen.config import CONFIG_RELPATH, FEED_FILE, Options, load_options
from kbgen.errors import KbgenError

logger = logging.getLogger(__name__)


def project_options(confdir: Path, srcdir: Path) -> Options | None:
    """The kbgen project whose Sphinx source folder this is, if any."""
    confdir, srcdir = confdir.resolve(), srcdir.resolve()
    for folder in (confdir, *confdir.parents):
        if (folder / CONFIG_RELPATH).is_file():
            try:
                options = load_options(folder)
            except KbgenError as exc:
                logger.warning("kbgen: %s; the site gets no Atom feed", exc)
                return None
            return options if options.docs_path.resolve() == srcdir else None
    return None


def _configure(app: Sphinx, config: Config) -> None:
    from kbgen.sphinxext.project import project_of

    options = project_of(app)
    app._kbgen_feed_title = None  # type: ignore[attr-defined]
    if options is None:
        return
    raw = getattr(config, "_raw_config", {})
    if options.site_url and "html_baseurl" not in raw:
        config["html_baseurl"] = options.site_url
    feed = options.generated_path / FEED_FILE
    if not feed.is_file():
        return
    entry = Path(os.path.relpath(feed.resolve(), Path(app.confdir).resolve())).as_posix()
    extra = list(config["html_extra_path"] or [])
    if entry not in extra:
        extra.append(entry)
        config["html_extra_path"] = extra
    app._kbgen_feed_title = f"{options.title}: latest changes"  # type: ignore[attr-defined]


def _head_link(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    title = getattr(app, "_kbgen_feed_title", None)
    if title is None or "pathto" not in context:
        return
    href = context["pathto"](FEED_FILE, 1)
    link = (f'<link rel="alternate" type="application/atom+xml" title="{html.escape(title)}" '
            f'href="{html.escape(href)}" />')
    context["metatags"] = (context.get("metatags") or "") + "\n    " + link


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _configure, priority=600)
    app.connect("html-page-context", _head_link)
