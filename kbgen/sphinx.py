"""``kbgen.sphinx``: the Sphinx extension a knowledge base's conf.py names.

``extensions = ["kbgen.sphinx"]`` plus a ``project`` title is enough: this
enables myst-parser and sphinx-needs, declares kbgen's need types, fields and
links (:mod:`kbgen.needs_model`), writes needs.json on every build, turns off
everything that could turn database text into markup (smart quotes,
sphinx-needs dynamic functions and variants), and ships the site's styling.
A value the user sets in conf.py wins over kbgen's default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

from kbgen import __version__
from kbgen.needs_model import FIELDS, ID_REGEX, LINKS, NEED_TYPES, STATUSES

STATIC_DIR = Path(__file__).with_name("static")

#: The layout of every kbgen need: one head line, details collapsed by default
#: (pages with hundreds of findings stay readable).
LIGHT_LAYOUT: dict[str, Any] = {
    "grid": "simple",
    "layout": {
        "head": [
            '<<meta("type_name")>>: **<<meta("title")>>** <<meta_id()>> '
            '<<collapse_button("meta", collapsed="icon:arrow-down-circle", '
            'visible="icon:arrow-right-circle", initial=True)>>'
        ],
        "meta": ['<<meta_all(no_links=True, exclude=["layout","style","collapse","hide","constraints",'
                 '"arch","sections","signature","parent_need","tags","is_external","external_url",'
                 '"template","pre_template","post_template","duration","completion"])>>',
                 "<<meta_links_all()>>"],
    },
}


def _defaults() -> dict[str, Any]:
    return {
        "needs_types": [dict(t) for t in NEED_TYPES],
        "needs_fields": {
            name: {"description": text, "nullable": True, "parse_dynamic_functions": False,
                   "parse_variants": False, "schema": {"type": "string"}}
            for name, text in FIELDS.items()
        } | {"status": {"schema": {"type": "string", "enum": [name for name, _ in STATUSES]}}},
        "needs_links": {
            name: {"outgoing": out, "incoming": inc, "parse_dynamic_functions": False,
                   "parse_variants": False}
            for name, (out, inc) in LINKS.items()
        },
        "needs_id_regex": ID_REGEX,
        "needs_id_required": True,
        "needs_build_json": True,
        "needs_parse_dynamic_functions": False,
        "needs_layouts": {"kbgen": LIGHT_LAYOUT},
        "needs_default_layout": "kbgen",
        "needs_role_need_max_title_length": 60,
        "needs_table_style": "TABLE",
        "smartquotes": False,
        "myst_heading_anchors": 0,
        "graphviz_output_format": "svg",
    }


def _apply_defaults(app: Sphinx, config: Config) -> None:
    """Fill in kbgen's defaults for every value conf.py did not set."""
    raw = getattr(config, "_raw_config", {})
    for name, value in _defaults().items():
        if name not in raw:
            config[name] = value
    if "html_theme" not in raw:
        config["html_theme"] = "pydata_sphinx_theme"
        options = dict(config["html_theme_options"] or {})
        options.setdefault("collapse_navigation", True)
        options.setdefault("navigation_depth", 2)
        options.setdefault("show_nav_level", 1)
        options.setdefault("navigation_with_keys", False)
        options.setdefault("secondary_sidebar_items", ["page-toc"])
        config["html_theme_options"] = options
    extensions = list(config["myst_enable_extensions"] or [])
    if "colon_fence" not in extensions:  # kbgen writes needs as ::: fences (titles may hold backticks)
        extensions.append("colon_fence")
    config["myst_enable_extensions"] = extensions
    exclude = list(config["exclude_patterns"] or [])
    for pattern in ("_build", "**/.kbgen-*", "Thumbs.db", ".DS_Store"):
        if pattern not in exclude:
            exclude.append(pattern)
    config["exclude_patterns"] = exclude


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("myst_parser")
    app.setup_extension("sphinx_needs")
    app.setup_extension("sphinx.ext.graphviz")
    app.connect("config-inited", _apply_defaults, priority=5)
    app.connect("builder-inited", _add_static)
    from kbgen.sphinx_labels import setup as setup_labels

    setup_labels(app)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}


def _add_static(app: Sphinx) -> None:
    static = list(app.config.html_static_path or [])
    if str(STATIC_DIR) not in static:
        static.append(str(STATIC_DIR))
        app.config.html_static_path = static
    app.add_css_file("kbgen.css")
