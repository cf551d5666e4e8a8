"""Keep what Sphinx compares between two builds the same when nothing was changed.

An incremental build compares two things with the build before it, before any builder exists:

* the configuration pickled with the environment, against the one conf.py and the extensions'
  ``config-inited`` handlers give now (Sphinx logs "The configuration has changed (...)" for every
  option that differs; an option of the ``env`` kind makes it read every page again);
* the hash of the HTML options in the site's ``.buildinfo``, taken when the HTML builder starts:
  when it differs, every page is written again.

pydata-sphinx-theme changes three options after that comparison, while the HTML builder starts
(its ``setup`` and its ``builder-inited`` handler): it appends its component templates to
``templates_path``, sets ``html_permalinks_icon`` to ``#`` and adds ``icon_links`` and ``logo`` to
the theme options, in the dictionary ``html_theme_options`` itself (the builder's
``theme_options`` is that same object). The environment is pickled with those values, so the
next build, which compares before the theme runs, found the three options changed every time.
Here, so that it finds nothing:

* the permalink icon the theme would set is kbgen's default when the theme is
  pydata-sphinx-theme (the same value, set before the comparison);
* with pydata-sphinx-theme, the builder's theme options become a copy of the configured ones
  before the theme's handler runs (what the theme's own code says Sphinx does; every reader of its
  additions asks the builder), so they stay with the builder;
* ``templates_path`` is given back its configured value once the builder's template loader has
  been made from it (the theme's folder stays in the loader; nothing reads the option later).

kbgen's own folders (its templates and static files) are in ``templates_path`` and
``html_static_path``, so the hash in ``.buildinfo`` held the path kbgen is installed at: a new
virtual environment, or CI restoring its cache at another path, made every page be written
again. The hash is taken again with kbgen's folders named by what they are rather than where
they are (:data:`PLACEHOLDERS`); a plain ``sphinx-build`` loads this extension too, so both
commands write and compare the same hash.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

#: The pydata-sphinx-theme default kbgen sets before Sphinx compares configurations.
PERMALINK_ICON = "#"
#: The option holding the configured ``templates_path`` until the builder's loader is made.
_CONFIGURED = "_kbgen_configured_templates_path"


def placeholders() -> dict[str, str]:
    """kbgen's installed folders, and the names the ``.buildinfo`` hash uses for them."""
    from kbgen.sphinxext.extension import STATIC_DIR, TEMPLATES_DIR

    return {str(TEMPLATES_DIR): "<kbgen>/static/templates", str(STATIC_DIR): "<kbgen>/static/site"}


def setup(app: Sphinx) -> None:
    # After kbgen's defaults (priority 5) and every extension's own defaults (500).
    app.connect("config-inited", _settle_config, priority=900)
    # Before pydata-sphinx-theme's ``update_config`` (priority 500).
    app.connect("builder-inited", _settle_builder, priority=1)


def _settle_config(app: Sphinx, config: Config) -> None:
    from kbgen.sphinxext.extension import DEFAULT_THEME, user_settings

    if config.html_theme == DEFAULT_THEME and "html_permalinks_icon" not in user_settings(config):
        config["html_permalinks_icon"] = PERMALINK_ICON
    setattr(app, _CONFIGURED, list(config["templates_path"] or []))


def _settle_builder(app: Sphinx) -> None:
    from kbgen.sphinxext.extension import DEFAULT_THEME

    builder = app.builder
    config = app.config
    options = getattr(builder, "theme_options", None)
    # Only for the theme whose handlers were checked to read the builder's options: another theme
    # may fill the configured dictionary at builder-inited and expect the builder to see it.
    if config.html_theme == DEFAULT_THEME and isinstance(options, dict) and options is config.html_theme_options:
        builder.theme_options = dict(options)  # type: ignore[attr-defined]
    configured = getattr(app, _CONFIGURED, None)
    if configured is not None and getattr(builder, "templates", None) is not None:
        config.templates_path = list(configured)
    if getattr(builder, "build_info", None) is not None:
        builder.build_info = _build_info(builder, config)  # type: ignore[attr-defined]


def _build_info(builder: Any, config: Config) -> Any:
    """The builder's ``.buildinfo`` record, taken with kbgen's folders named by :func:`placeholders`."""
    names = placeholders()
    saved = {name: config[name] for name in ("templates_path", "html_static_path")}
    try:
        for name, value in saved.items():
            if isinstance(value, list):
                config[name] = [names.get(str(entry), entry) for entry in value]
        return builder.create_build_info()
    finally:
        for name, value in saved.items():
            config[name] = value
