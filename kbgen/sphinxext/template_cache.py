"""Sphinx's HTML templates compiled once, not by every build: Jinja's bytecode cache.

Sphinx's HTML builder loads its page templates (the theme's layout and the
components of its navigation bar and sidebars) through a Jinja environment it
makes afresh in each sphinx-build process, and Jinja compiles each template from
its source to Python code the first time it is used: a few dozen templates, on
every build, however few pages it writes. Jinja keeps compiled templates across
processes when its environment has a bytecode cache; kbgen gives Sphinx's one a
:class:`jinja2.FileSystemBytecodeCache` in the doctree folder (``jinja2/``, next
to the environment it belongs with), keyed by template and checked against a
digest of the template's source and Jinja's bytecode format: an edited template
or another Jinja or Python is compiled again. A cache file is written under a
temporary name and renamed, so parallel writers never leave a partial one.

Only the compiled code is kept, never a rendered page: the output is the same
either way (tests/test_sphinx_speedups.py builds with ``kbgen_speedups`` on and
off). On with the other speedups, off with them.
"""

from __future__ import annotations

from jinja2 import FileSystemBytecodeCache
from sphinx.application import Sphinx
from sphinx.jinja2glue import BuiltinTemplateLoader

from kbgen.sphinxext import speedups

CACHE_DIR = "jinja2"


def _use_bytecode_cache(app: Sphinx) -> None:
    templates = getattr(app.builder, "templates", None)
    if not isinstance(templates, BuiltinTemplateLoader) or not speedups.enabled(app.config):
        return
    folder = app.doctreedir / CACHE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    templates.environment.bytecode_cache = FileSystemBytecodeCache(str(folder))


def setup(app: Sphinx) -> None:
    app.connect("builder-inited", _use_bytecode_cache)
