"""needs.json written only when a need changed.

sphinx-needs writes the whole graph to needs.json at the end of every HTML
build (``build-finished``), whatever the build changed: at campaign scale that
is the encoding of every need, tens of megabytes, on a build that only edited
a paragraph of a hand-written page. :mod:`kbgen.sphinxext.deps` compares every
field of the needs on the pages a build read with what they held before; when
none was added, removed or changed, and needs.json is in the output folder,
sphinx-needs' handler is skipped for that build and the file stays as it is
(byte for byte what it would write again).

Whenever that is not known — every page read, a new environment, another
builder, an extension kbgen does not know how to skip — needs.json is written
as usual.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from kbgen.sphinxext import deps

logger = logging.getLogger(__name__)

#: sphinx-needs' ``build-finished`` handler that writes needs.json (module, function name).
HANDLER = ("sphinx_needs.builder", "build_needs_json")
NEEDS_FILE = "needs.json"


def setup(app: Sphinx) -> None:
    # Once reading is done and kbgen.sphinxext.deps (priority 400) knows whether a need changed;
    # Sphinx takes the list of build-finished handlers when it emits the event, so the handler
    # is left out here, not then.
    app.connect("env-updated", _skip_when_unchanged, priority=450)


def unchanged(app: Sphinx) -> bool:
    """True when this build changed no need and needs.json is already in place."""
    if app.builder is None or app.builder.format != "html" or app.env is None:
        return False
    if deps.state(app.env).needs_changed is not False:
        return False
    return (Path(app.outdir) / NEEDS_FILE).is_file()


def _skip_when_unchanged(app: Sphinx, env: BuildEnvironment) -> None:
    if not unchanged(app):
        return
    module, name = HANDLER
    listeners = app.events.listeners.get("build-finished", [])
    skipped = [listener for listener in listeners
               if getattr(listener.handler, "__module__", None) == module
               and getattr(listener.handler, "__name__", None) == name]
    for listener in skipped:
        app.disconnect(listener.id)
    if skipped:
        logger.info("kbgen: no need changed: needs.json kept as it is")
