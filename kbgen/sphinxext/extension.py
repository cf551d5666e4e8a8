"""The Sphinx extension a knowledge base's conf.py names (:mod:`kbgen.sphinxext`).

``extensions = ["kbgen.sphinxext"]`` plus a ``project`` title is enough: this
enables myst-parser and sphinx-needs, declares kbgen's need types, fields and
links (:mod:`kbgen.needs_model`), writes needs.json on every build, turns off
everything that could turn database text into markup (smart quotes,
sphinx-needs dynamic functions and variants), and ships the site's styling.
A value the user sets in conf.py wins over kbgen's default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sphinx
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

from kbgen import __version__
from kbgen.needs_model import FIELDS, ID_REGEX, LINKS, NEED_TYPES, STATUSES, UNLISTED_INCOMING

#: CSS and JS copied into every site's ``_static``.
STATIC_DIR = Path(__file__).parent.parent / "static" / "site"
#: Jinja templates (not copied): kbgen's search page for pydata-sphinx-theme.
TEMPLATES_DIR = Path(__file__).parent.parent / "static" / "templates"
DEFAULT_THEME = "pydata_sphinx_theme"
SEARCH_TEMPLATE = "kbgen-search.j2"

#: pydata-sphinx-theme options for sites with hundreds of session pages: the primary sidebar
#: shows only the current section, collapsed (the theme renders the toctree of every page into
#: it, so an expanded tree costs build time and page weight that grow with the site — see
#: bench/README-theme.md); session pages come grouped (by hundreds or by month) by the pages
#: kbgen generates.
THEME_OPTIONS: dict[str, Any] = {
    "collapse_navigation": True,
    "navigation_depth": 2,
    "show_nav_level": 1,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "show_prev_next": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
#: HTML settings that keep a generated site lean: no copy of every source page
#: (``_sources`` would double the output) and no "show source" links to them.
HTML_DEFAULTS: dict[str, Any] = {
    "html_copy_source": False,
    "html_show_sourcelink": False,
}

#: The layout of every kbgen need: one head line, details collapsed by default
#: (pages with hundreds of findings stay readable), every link but the incoming ones of
#: :data:`~kbgen.needs_model.UNLISTED_INCOMING` (a domain's members). The collapse button is a
#: text arrow: sphinx-needs' "icon:" buttons inline two SVG drawings in every need,
#: a sizeable share of a big site's HTML (bench/README.md).
LIGHT_LAYOUT: dict[str, Any] = {
    "grid": "simple",
    "layout": {
        "head": [
            '<<meta("type_name")>>: **<<meta("title")>>** <<meta_id()>> '
            '<<collapse_button("meta", collapsed="▾", visible="▸", initial=True)>>'
        ],
        "meta": ['<<meta_all(no_links=True, exclude=["layout","style","collapse","hide","constraints",'
                 '"arch","sections","signature","parent_need","tags","is_external","external_url",'
                 '"template","pre_template","post_template","duration","completion"])>>',
                 f"<<meta_links_all(exclude={json.dumps([f'{name}_back' for name in UNLISTED_INCOMING])})>>"],
    },
}


def _defaults() -> dict[str, Any]:
    return {
        "needs_types": [dict(t) for t in NEED_TYPES],
        "needs_fields": {
            name: {"description": text, "nullable": True, "parse_dynamic_functions": False,
                   "parse_variants": False, "schema": {"type": "string"}}
            for name, text in FIELDS.items()
        } | {"status": {"schema": {"type": "string", "enum": [name for name, _ in STATUSES]}},
             # A need title is database text written as it is (``memory_size(4 << 30)``): the core
             # field parses ``[[...]]`` and ``<<...>>`` unless told not to.
             "title": {"parse_dynamic_functions": False, "parse_variants": False}},
        "needs_links": {
            name: {"outgoing": out, "incoming": inc, "parse_dynamic_functions": False,
                   "parse_variants": False}
            for name, (out, inc) in LINKS.items()
        },
        "needs_id_regex": ID_REGEX,
        "needs_id_required": True,
        "needs_build_json": True,
        "needs_reproducible_json": True,  # no build time in needs.json: the same pages give the same bytes
        "needs_parse_dynamic_functions": False,
        "needs_layouts": {"kbgen": LIGHT_LAYOUT},
        "needs_default_layout": "kbgen",
        # kbgen writes every need reference's text into the referencing page itself
        # (kbgen.render.myst.need_link); hand-written {need} roles show the title.
        "needs_role_need_template": "{{ title }}",
        "needs_role_need_max_title_length": -1,
        "needs_table_style": "TABLE",
        "smartquotes": False,
        "myst_heading_anchors": 0,
        # Where [text](#target) links are looked up. Not the C and C++ domains: they parse every
        # target as a declaration, most of the time of writing a listing page (bench/README.md);
        # kbgen's own links are std labels (need-<id>).
        "myst_ref_domains": ["std", "py", "js", "rst", "math", "citation"],
        "graphviz_output_format": "svg",
    }


def user_settings(config: Config) -> frozenset[str]:
    """The config names conf.py or the command line (``-D``) set: kbgen's defaults never replace them.

    Sphinx has no public API for this (sphinx-doc/sphinx#9573). Its conf.py namespace,
    ``Config._raw_config``, is what pydata-sphinx-theme (``config_provided_by_user``) and furo
    read for the same purpose; kbgen reads it here only, and if a Sphinx release ever drops it
    the build stops with this error rather than let kbgen's defaults silently replace
    settings of the user's conf.py.
    """
    raw = getattr(config, "_raw_config", None)
    if not isinstance(raw, dict):
        raise ExtensionError(f"kbgen cannot tell which settings conf.py made on Sphinx {sphinx.__version__} "
                             "(its Config has no _raw_config); install a Sphinx that kbgen supports")
    return frozenset(raw) | frozenset(config.overrides)


#: Settings that declare things by name (need types by directive, fields, links, layouts): a conf.py
#: that declares its own keeps kbgen's too, which the generated pages need, unless it redeclares
#: one of the same name (its declaration wins).
DECLARATIONS = ("needs_types", "needs_fields", "needs_links", "needs_layouts")


def _merge_declarations(kbgen: Any, user: Any) -> Any:
    if isinstance(kbgen, dict) and isinstance(user, dict):
        return kbgen | user
    if isinstance(kbgen, list) and isinstance(user, list):  # needs_types: one dict per directive
        mine = {t.get("directive") for t in user if isinstance(t, dict)}
        return [t for t in kbgen if t.get("directive") not in mine] + user
    return user  # a shape kbgen does not know: sphinx-needs will say what is wrong with it


def _apply_defaults(app: Sphinx, config: Config) -> None:
    """Fill in kbgen's defaults for every value conf.py (or ``-D``) did not set, and add kbgen's
    declarations to those conf.py made (:data:`DECLARATIONS`)."""
    user = user_settings(config)
    for name, value in _defaults().items():
        if name not in user:
            config[name] = value
        elif name in DECLARATIONS:
            config[name] = _merge_declarations(value, config[name])
    _apply_html_defaults(config, user)
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
    app.setup_extension("kbgen.sphinxext.graphs")  # generated pages' graphs: SVG drawn by kbgen sync
    app.setup_extension("sphinx.ext.graphviz")  # hand-written {graphviz} blocks only (they need Graphviz's dot)
    app.connect("config-inited", _apply_defaults, priority=5)
    app.connect("builder-inited", _add_static)
    app.connect("doctree-read", _register_need_targets)
    from kbgen.sphinxext import (
        deps,
        gcbudget,
        gcpolicy,
        labels,
        needsjson,
        parents,
        project,
        purge,
        search,
        searchable,
        settled,
        sources,
        speedups,
        stable_ids,
        template_cache,
    )
    from kbgen.sphinxext.feed import setup as setup_feed

    setup_feed(app)
    deps.setup(app)
    sources.setup(app)
    parents.setup(app)
    purge.setup(app)
    needsjson.setup(app)
    labels.setup(app)
    speedups.setup(app)
    gcpolicy.setup(app)
    gcbudget.setup(app)
    search.setup(app)
    searchable.setup(app)
    stable_ids.setup(app)
    project.setup(app)
    settled.setup(app)
    template_cache.setup(app)
    return {"version": __version__, "env_version": env_version(), "parallel_read_safe": True,
            "parallel_write_safe": True}


def env_version() -> int:
    """A number that changes with kbgen's Sphinx-side code: Sphinx reads every page anew when an
    extension's ``env_version`` changes, so an environment kept by an older kbgen (its data, its
    doctrees) is never reused, by ``kbgen build`` or a plain ``sphinx-build``."""
    import hashlib

    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("*.py"), package.parent / "needs_model.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return int(digest.hexdigest()[:12], 16)


def _apply_html_defaults(config: Config, user: frozenset[str]) -> None:
    """Theme, theme options and lean HTML settings, unless conf.py chose its own."""
    for name, value in HTML_DEFAULTS.items():
        if name not in user:
            config[name] = value
    if "html_title" not in user:  # not "<project> <release> documentation": a knowledge base is no manual
        config["html_title"] = config.project
    if "html_theme" not in user:
        config["html_theme"] = DEFAULT_THEME
        options = dict(config["html_theme_options"] or {})
        for name, value in THEME_OPTIONS.items():
            options.setdefault(name, value)
        config["html_theme_options"] = options
    templates = list(config["templates_path"] or [])
    if str(TEMPLATES_DIR) not in templates:
        templates.append(str(TEMPLATES_DIR))  # after the project's own: a project template wins
        config["templates_path"] = templates
    static = list(config["html_static_path"] or [])
    if str(STATIC_DIR) not in static:
        static.insert(0, str(STATIC_DIR))  # before the project's own: a project file of the same name wins
        config["html_static_path"] = static


def _register_need_targets(app: Sphinx, doctree: Any) -> None:
    """Make every need a Sphinx label, so a plain markdown link ``[text](#need-F12)`` reaches it;
    note what the page references for :mod:`kbgen.sphinxext.deps` in the same pass.

    kbgen links needs with markdown links whose text is escaped database text (rendered
    literally, unlike a role's text); MyST resolves ``#F12`` through the standard labels.
    """
    import re

    from docutils import nodes

    from kbgen.sphinxext import deps

    match = re.compile(ID_REGEX).match
    std = app.env.domains.standard_domain
    docname = app.env.docname
    kinds: dict[type, str] | None = getattr(app, "_kbgen_node_kinds", None)
    if kinds is None:
        kinds = deps.node_kinds()
        app._kbgen_node_kinds = kinds  # type: ignore[attr-defined]
    refs: set[str] = set()
    for node in doctree.findall(nodes.Element):
        kind = kinds.get(type(node))
        if kind is not None:
            deps.note_node(kind, node, refs)
        for need_id in node["ids"]:
            if match(need_id):
                # MyST looks labels up lowercased; the anchor keeps its case. The prefix keeps
                # labels apart from document names (kb/files/FILE12 is also a page).
                std.note_hyperlink_target(f"need-{need_id}".lower(), docname, need_id, need_id)
    deps.page_read(app.env, docname, refs)


def _add_static(app: Sphinx) -> None:
    """Ship kbgen.css/kbgen.js with every page and kbgen's search page with pydata-sphinx-theme."""
    app.add_css_file("kbgen.css")
    app.add_js_file("kbgen.js", loading_method="defer")
    if app.config.html_theme == DEFAULT_THEME:
        app.connect("html-page-context", _search_page)


def _search_page(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                 doctree: Any) -> str | None:
    """Render search.html from kbgen's template: no up-front searchindex.js, Pagefind when built."""
    return SEARCH_TEMPLATE if pagename == "search" else None
