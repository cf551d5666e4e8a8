"""kbgen's replacements inside sphinx-needs, the tested-versions guard, and the switch that turns them off.

Every change kbgen makes to third-party code is applied only for the exact
releases it was checked against (:data:`TESTED_SPHINX_NEEDS`,
:data:`TESTED_SPHINX`); on any other release it is left out and the build says
so in one info line. ``kbgen_speedups = False`` in conf.py turns all of them
off, and the collector policy of :mod:`kbgen.sphinxext.gcpolicy` with them.
The output is the same either way: the replacements are checked byte for byte
against the originals (tests/test_sphinx_speedups.py, run on the lowest and the
highest tested sphinx-needs by ``make test-speedups``). To support a new
release: run that target with it, then add it to the list.

The replacements inside sphinx-needs, for sites with thousands of needs:

* ``NeedItem.add_backlink`` checks whether a back link is already in the
  need's list before appending it: a linear scan, so collecting the back links
  of a need with k incoming links costs k²/2 comparisons. kbgen's domain needs
  receive an ``in_domain`` link from every file and finding of their domain.
  The only caller, ``build_backlinks``, sorts every back list right after
  collecting them (``NeedItem.sort_backlinks``, its only caller too): the
  replacement appends, and the replacement sort first drops repeats keeping
  the first of each (``dict.fromkeys``), which gives the very lists the check
  gave.
* ``NeedsList.write_json`` writes needs.json with ``json.dump``, which encodes
  through Python's pure-Python encoder (only ``json.dumps`` uses the C one).
  The replacement writes the same text with ``json.dumps``.
* ``NeedItem.__repr__`` spells out every field of a need. Sphinx's event
  manager formats the arguments of every event it emits for a debug line,
  shown or not, and sphinx-needs emits two events with every need as argument
  on each build (before post-processing and before sealing): the full repr of
  every need, twice, on a build that changed one page. The replacement names
  the need (``NeedItem(id='F12', docname='kb/sessions/S3')``); only Sphinx's
  debug output (``-vv``) shows it, never a page or needs.json.
* ``node_match`` (in ``sphinx_needs.needs``) makes the test sphinx-needs'
  ``doctree-resolved`` handlers pass to ``findall`` over every node of every
  page written: ``any(isinstance(node, t) for t in types)``, a generator per
  node. The replacement asks ``isinstance(node, types)`` with the same types as
  a tuple: the same answer, in one C call.
* ``DynamicFunctionParsed.from_string`` parses a function string such as
  ``meta_all(no_links=True, exclude=[...])`` with ``ast.parse``. The need
  layouts call it for each of their functions on every need written, always
  with the same few strings. The replacement parses each string once and hands
  out a copy (list arguments copied too: ``meta_all`` extends its ``exclude``
  list in place); strings that do not parse raise as before, every time.
* ``SphinxNeedsData.remove_doc`` (sphinx-needs' handler of ``env-purge-doc``)
  scans every need to find those of the page purged, and an incremental build
  purges each page it reads twice (:mod:`kbgen.sphinxext.purge`, then Sphinx's
  own loop): two scans of all the site's needs per page read. The replacement
  finds them in an index of the needs by page, made in one scan and kept up to
  date by ``add_need`` and ``remove_need`` (the only other ways sphinx-needs
  adds or removes a need); it is made again whenever the number of needs is
  not the one it recorded, and every need it names is checked to be of the
  page before it is removed. The rest (the page lists, extends, diagrams) as
  sphinx-needs does.
* ``NeedItem.sort_links`` (the post-processing sorts every link and back list of
  every need on every build, however few pages were read) makes the natural sort
  key of each link with a regular expression, every time: over a hundred thousand
  keys for a few thousand link texts. The replacement makes the key of each text
  once per build (a link with a condition is keyed afresh, as before), and copies
  the lists of fewer than two links without sorting them: the same lists.
* ``SphinxNeedsData.add_need`` (kbgen's, above) also makes each link of the need
  added the one :class:`NeedLink` of its (id, part, condition) among the needs
  added in the build. Links are frozen, so sharing them changes no value; Sphinx
  pickles the environment with every need's links, one object each, written and
  read with a Python call apiece: shared, the pickle writes each once.
* sphinx-needs keeps a copy of every need's node (``env._needs_all_nodes``, for
  ``needextract`` and the ``copy`` function) in the environment, which Sphinx
  pickles and unpickles whole on every build. :class:`NeedNodes` keeps each node
  as its own pickle instead (bytes to the environment's pickle); sphinx-needs'
  own ``set_need_node`` and ``get_need_node`` work on it unchanged, and a node
  read from it is unpickled afresh, the copy the environment's pickle would have
  given the next build. An environment kept by a build with the other setting is
  converted before reading (:func:`keep_need_nodes`). The ``needextract`` pages
  are the same, built fresh and incrementally (tests/test_sphinx_speedups.py).
* ``NeedItem.sort_backlinks`` (kbgen's, above) leaves lists of fewer than two
  links as they are.

And seven inside Sphinx (on the releases of :data:`TESTED_SPHINX`):

* Sphinx keeps every page's table of contents (``env.tocs``, a tree of
  docutils nodes per page) in the environment, which it pickles and unpickles
  whole on every build: at scale, thousands of trees for a build that shows a
  few hundred of them (a page written looks up the tables of contents of the
  pages its navigation lists). :class:`LazyTocs` keeps each table of contents
  as its pickle until something asks for it, and from then on as the tree,
  so a change made to it stays, as in Sphinx's dictionary; the environment's
  pickle holds bytes for the untouched ones. An environment kept by a build
  with the other setting is converted before reading (:func:`keep_lazy_tocs`).
* ``IndexBuilder.prune`` (Sphinx's search index) keeps, in the document set of
  every indexed word, the documents it is given. Before dumping the index,
  the HTML builder gives it the environment's ``all_docs``, a dictionary:
  ``set.intersection_update`` makes a set of it again for each of the
  thousands of words, on every build that writes a page. The replacement makes
  the set once and does the rest as Sphinx does (titles kept in the order the
  documents were given).
* ``HighlightLanguageTransform`` (a post-transform of every page written) walks
  every node of the page with a visitor, a Python call per node, to give each
  literal block the highlight language in force where it stands, then removes
  the ``highlightlang`` nodes. A page without literal blocks gets nothing from
  the walk: the replacement looks for one first (``findall`` by class, no call
  per node) and on such a page only removes the ``highlightlang`` nodes; a page
  with one is walked as before. kbgen's generated pages have none; a hand-written
  page with a code block is handled by Sphinx's own code.
* ``NodeMatcher.findall`` (Sphinx's "nodes of these classes with these
  attributes") hands the matcher to docutils' ``findall`` as a condition: a
  Python call (``__call__`` then ``match``, in a ``try``) for every node of the
  tree, through a chain of nested generators as deep as the node. Sphinx's
  transforms call it on every page read (the translation-progress count, the
  footnote and translatable-inline passes) and written. The replacement walks
  the tree with one generator and a stack of the children lists' iterators, in
  the same order and as lazily (a node's children are looked at after the node
  is handed out, sibling lists are followed as they stand), tests the class
  with ``isinstance`` and calls ``match`` only on nodes of the class that hold
  the first attribute asked for: the same nodes.
* ``SphinxDanglingReferences`` (docutils' ``DanglingReferences``, a transform
  of every page read) walks every node of the page with a visitor (two calls
  and a debug call per node) to resolve the references, footnote references
  and citation references that name their target. The replacement hands the
  same visitor those nodes only, found in one pass over the page in the order
  of the walk (which changes nothing but the node it visits); the rest of the
  transform is Sphinx's and docutils' own. With reference resolvers registered
  (a hook docutils deprecates) or docutils' debug output on, Sphinx's walk runs.
* ``Project.discover`` (every build lists the source folder) makes a ``Path`` of
  each file's relative name two or three times over (joining it, naming its
  document, checking it can be read). The replacement makes the same relative
  names, document names and maps with string operations (on POSIX, where the
  separator is ``/``), one ``Path`` per document for Sphinx's maps; a document
  found twice, or a file that cannot be read, sends the whole search to Sphinx's own
  code, which reports it.

And one more inside sphinx-needs, in how the environment is pickled:

* sphinx-needs' frozen slots dataclasses (a need's links, source, content,
  parts) are pickled with the ``__getstate__`` and ``__setstate__`` that
  ``dataclasses`` generates, which call ``dataclasses.fields()`` for every
  object, tens of thousands per build on the environment's dump and load. The
  replacements get and set the same fields from a list of names made once per
  class: the same state, the same pickle bytes.

What each saves is measured in bench/README.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import unicodedata
import weakref
from collections.abc import Iterable, Iterator
from operator import attrgetter
from pathlib import Path
from typing import Any

import sphinx
import sphinx_needs
import sphinx_needs.need_item as need_item_module
import sphinx_needs.needs as needs_module
from docutils import nodes
from docutils.nodes import Node
from docutils.transforms.references import DanglingReferencesVisitor
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.domains.std import StandardDomain
from sphinx.environment import BuildEnvironment
from sphinx.project import EXCLUDE_PATHS, Project
from sphinx.search import IndexBuilder
from sphinx.transforms.post_transforms.code import HighlightLanguageTransform
from sphinx.transforms.references import SphinxDanglingReferences
from sphinx.util import logging
from sphinx.util.matching import compile_matchers
from sphinx.util.nodes import NodeMatcher
from sphinx_needs.data import SphinxNeedsData
from sphinx_needs.functions.functions import DynamicFunctionParsed
from sphinx_needs.need_item import NeedItem, NeedLink, _link_natural_sort_key
from sphinx_needs.needsfile import NeedsList

from kbgen.sphinxext import SPEEDUPS_CONFIG

#: The sphinx-needs releases the replacements were compared with, byte for byte (exact versions).
TESTED_SPHINX_NEEDS = ("9.0.0", "9.1.0")
#: The Sphinx releases whose internals kbgen touches were checked: the doctree cache kbgen
#: empties (:mod:`kbgen.sphinxext.gcpolicy`), the indexer methods it skips
#: (:mod:`kbgen.sphinxext.search`) and the uses of ``env.tocs`` (:class:`LazyTocs`).
TESTED_SPHINX = ("8.2.3", "9.0.4")

logger = logging.getLogger(__name__)


def applies() -> bool:
    """True when the installed sphinx-needs is one the replacements were checked against."""
    return str(sphinx_needs.__version__) in TESTED_SPHINX_NEEDS and hasattr(NeedItem, "sort_backlinks")


def sphinx_tested() -> bool:
    """True when the installed Sphinx is one whose internals kbgen's changes were checked against."""
    return str(sphinx.__version__) in TESTED_SPHINX


def enabled(config: Config) -> bool:
    """``kbgen_speedups`` as conf.py (or ``-D``) set it; on by default."""
    return bool(getattr(config, SPEEDUPS_CONFIG, True))


def add_backlink(self: NeedItem, link_type: str, backlink: str | NeedLink) -> None:
    """Append a back link; ``build_backlinks`` de-duplicates and sorts the lists afterwards."""
    backlinks = self._backlinks
    if link_type not in backlinks:
        raise KeyError(f"Link type {link_type!r} does not exist in backlinks.")
    backlinks[link_type].append(NeedLink.from_string(backlink) if isinstance(backlink, str) else backlink)


def sort_backlinks(self: NeedItem) -> None:
    """Drop repeated back links (first kept, as ``add_backlink`` used to), then sort as sphinx-needs does.

    Parts' back lists are sorted only: sphinx-needs never de-duplicated those.
    """
    for value in self._backlinks.values():
        if len(value) > 1:
            value[:] = sorted(dict.fromkeys(value), key=attrgetter("id"))
    for part in self._parts.values():
        for links in part.backlinks.values():
            links.sort(key=attrgetter("id"))


def need_repr(self: NeedItem) -> str:
    """A need's ID and page: what a debug line needs (the full form lists every field)."""
    return f"NeedItem(id={self.get('id')!r}, docname={self.get('docname')!r})"


def write_json(self: NeedsList, needs_file: str = "needs.json", needs_path: str = "") -> None:
    """Write needs.json as sphinx-needs does, encoded by the C encoder."""
    self._finalise()
    text = json.dumps(self.needs_list, sort_keys=True)
    with open(os.path.join(needs_path or self.outdir, needs_file), "w") as handle:
        handle.write(text)


def node_match(node_types: Any) -> Any:
    """A ``findall`` condition: is the node of one of ``node_types`` (a type or a list of types)."""
    types = tuple(node_types) if isinstance(node_types, list) else (node_types,)

    def condition(node: Any) -> bool:
        return isinstance(node, types)

    return condition


#: The needs of each page: [the needs dictionary indexed, its size when last checked, {page: [IDs]}].
#: One slot (the environment being built); never pickled with the environment.
_BY_DOC: list[Any] = [None, -1, {}]


def _page(need: NeedItem) -> Any:
    """The page ``NeedItem.is_in_document`` compares with."""
    return need._source.dict_repr.get("docname")


def _index_of(needs: dict[str, Any]) -> dict[str | None, list[str]]:
    """The page → need IDs index of ``needs``, made again when it is not the one indexed or its
    size is not the one recorded."""
    if _BY_DOC[0] is needs and _BY_DOC[1] == len(needs):
        index: dict[str | None, list[str]] = _BY_DOC[2]
        return index
    index = {}
    for need_id, need in needs.items():
        index.setdefault(_page(need), []).append(need_id)
    _BY_DOC[:] = [needs, len(needs), index]
    return index


def add_need(self: SphinxNeedsData, need: NeedItem) -> None:
    """sphinx-needs' ``add_need``, noting the need in the index of its page."""
    needs = self._env_needs
    indexed = _BY_DOC[0] is needs and _BY_DOC[1] == len(needs)
    ORIGINALS["add_need"](self, need)
    _share_links(need)
    if indexed:
        _BY_DOC[2].setdefault(_page(need), []).append(need["id"])
        _BY_DOC[1] = len(needs)


def remove_need(self: SphinxNeedsData, need_id: str) -> None:
    """sphinx-needs' ``remove_need``; the index keeps the ID, checked when its page is purged."""
    needs = self._env_needs
    indexed = _BY_DOC[0] is needs and _BY_DOC[1] == len(needs)
    ORIGINALS["remove_need"](self, need_id)
    if indexed:
        _BY_DOC[1] = len(needs)


def remove_doc(self: SphinxNeedsData, docname: str) -> None:
    """sphinx-needs' ``remove_doc``, the page's needs found through the index."""
    if self.needs_is_post_processed:
        raise RuntimeError("Needs have already been post-processed and frozen.")
    needs = self._env_needs
    for need_id in _index_of(needs).pop(docname, ()):
        need = needs.get(need_id)
        if need is not None and need.is_in_document(docname):
            del needs[need_id]
            self.remove_need_node(need_id)
    _BY_DOC[1] = len(needs)
    docs = self.get_or_create_docs()
    for key, value in docs.items():
        docs[key] = [doc for doc in value if doc != docname]
    extends = self.get_or_create_extends()
    for extend_id in list(extends):
        if extends[extend_id]["docname"] == docname:
            del extends[extend_id]
    umls = self.get_or_create_umls()
    for uml_id in list(umls):
        if umls[uml_id]["docname"] == docname:
            del umls[uml_id]


# -- the post-processing's link sorts, the need links shared, the need-node cache ----------------


class _NaturalKeys(dict[str, tuple[Any, str, str]]):
    """Link text (no condition) → sphinx-needs' natural sort key of such a link, made once per text."""

    def __missing__(self, text: str) -> tuple[Any, str, str]:
        key = self[text] = _link_natural_sort_key(NeedLink.parse_address(text))
        return key


#: The natural sort keys made so far; emptied by every :func:`apply` (one build's links).
_NATURAL_KEYS = _NaturalKeys()


def _link_key(link: NeedLink) -> tuple[Any, str, str]:
    """``_link_natural_sort_key(link)``: for a link without a condition (its text is its filter
    string), the one made for that text; else made afresh."""
    if link.condition is None:
        return _NATURAL_KEYS[link.to_filter_string()]
    return _link_natural_sort_key(link)


def sort_links(self: NeedItem) -> None:
    """sphinx-needs' ``sort_links`` (every link and back list de-duplicated and sorted in natural
    order), with each link text's sort key made once per build, and lists of fewer than two
    links copied as they are."""
    for lists in (self._links, self._backlinks, *(part.backlinks for part in self._parts.values())):
        for key, value in lists.items():
            lists[key] = sorted(set(value), key=_link_key) if len(value) > 1 else list(value)


#: One :class:`NeedLink` per (id, part, condition) among the needs added; emptied by every
#: :func:`apply`.
_SHARED_LINKS: dict[tuple[str, str | None, str | None], NeedLink] = {}


def _share_links(need: NeedItem) -> None:
    """Make each link of ``need`` the one instance of its (id, part, condition) (links are frozen)."""
    shared = _SHARED_LINKS
    for value in need._links.values():
        for index, link in enumerate(value):
            one = shared.setdefault((link.id, link.part, link.condition), link)
            if one is not link:
                value[index] = one


class NeedNodes(dict[str, Any]):
    """sphinx-needs' cache of need nodes (``env._needs_all_nodes``), each node kept as its pickle.

    sphinx-needs keeps a copy of every need's node for ``needextract`` (and the ``copy``
    function), in the environment: tens of thousands of small node trees that Sphinx
    pickles and unpickles whole on every build, whether or not a page reads one. Kept
    pickled, they are bytes strings to the environment's pickle. ``cache[id] = node``
    stores the node's pickle; ``cache[id]`` unpickles a fresh copy, which
    sphinx-needs' ``get_need_node`` copies again as it copies its own. ``values()``,
    ``items()`` and ``pop()`` give the pickles (sphinx-needs' parallel merge copies them
    as they are; sphinx-needs reads the cache with ``in`` and ``[]`` only). A value that is
    not a docutils node is kept as it is.
    """

    def __setitem__(self, need_id: str, node: Any) -> None:
        if isinstance(node, Node):
            node = pickle.dumps(node, protocol=pickle.HIGHEST_PROTOCOL)
        dict.__setitem__(self, need_id, node)

    def __getitem__(self, need_id: str) -> Any:
        value = dict.__getitem__(self, need_id)
        return pickle.loads(value) if isinstance(value, bytes) else value

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # a plain dictionary of bytes in the environment's pickle (quick to write and read)
        return _need_nodes, (dict(self),)


def _need_nodes(pickles: dict[str, Any]) -> NeedNodes:
    cache = NeedNodes()
    dict.update(cache, pickles)
    return cache


def keep_need_nodes(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Before reading: sphinx-needs' node cache as :class:`NeedNodes` while the replacements are
    installed, else as sphinx-needs' own dictionary of nodes (an environment kept by a build with
    the other setting is converted once)."""
    cache = getattr(env, "_needs_all_nodes", None)
    if installed():
        if type(cache) is not NeedNodes:
            kept = NeedNodes()
            for need_id, node in (cache or {}).items():
                kept[need_id] = node
            env._needs_all_nodes = kept  # type: ignore[attr-defined]
    elif isinstance(cache, NeedNodes):
        env._needs_all_nodes = {need_id: cache[need_id] for need_id in cache}  # type: ignore[attr-defined]


class LazyTocs(dict[str, Any]):
    """Sphinx's tables of contents by page (``env.tocs``), each kept as its pickle until read.

    ``tocs[page]`` (and ``get``, ``pop``, ``setdefault``, ``values``, ``items``) unpickle a stored
    table of contents once and keep the tree in its place, so Sphinx's in-place changes (section
    numbers) stay, as in a plain dictionary. ``tocs[page] = tree`` keeps the tree. Pickled (with
    the environment), every entry is its pickle: the trees nobody read are written as the bytes
    they were read as. Sphinx reads the mapping with ``[]``, ``get``, ``in``, ``pop`` and ``=``
    only (checked on the releases of :data:`TESTED_SPHINX`).
    """

    def __getitem__(self, docname: str) -> Any:
        value = dict.__getitem__(self, docname)
        if isinstance(value, bytes):
            value = pickle.loads(value)
            dict.__setitem__(self, docname, value)
        return value

    def get(self, docname: str, default: Any = None) -> Any:
        if docname not in self:
            return default
        return self[docname]

    def pop(self, docname: str, *default: Any) -> Any:
        if docname not in self:
            return dict.pop(self, docname, *default)
        value = self[docname]
        dict.__delitem__(self, docname)
        return value

    def setdefault(self, docname: str, default: Any = None) -> Any:
        if docname not in self:
            dict.__setitem__(self, docname, default)
        return self[docname]

    def values(self) -> Any:
        return [self[docname] for docname in self]

    def items(self) -> Any:
        return [(docname, self[docname]) for docname in self]

    def copy(self) -> LazyTocs:
        return _lazy_tocs(dict(dict.items(self)))

    def __reduce__(self) -> tuple[Any, tuple[dict[str, bytes]]]:
        # a plain dictionary of bytes in the environment's pickle (quick to write and read)
        return _lazy_tocs, ({docname: value if isinstance(value, bytes)
                             else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
                             for docname, value in dict.items(self)},)


def _lazy_tocs(pickles: dict[str, Any]) -> LazyTocs:
    tocs = LazyTocs()
    dict.update(tocs, pickles)
    return tocs


def keep_lazy_tocs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Before reading: Sphinx's tables of contents as :class:`LazyTocs` while the Sphinx
    replacements are installed, else as Sphinx's own dictionary of trees (an environment kept by
    a build with the other setting is converted once)."""
    if sphinx_installed():
        if type(env.tocs) is not LazyTocs:
            env.tocs = _lazy_tocs(dict(env.tocs))
    elif isinstance(env.tocs, LazyTocs):
        env.tocs = {docname: env.tocs[docname] for docname in env.tocs}


#: Parsed function strings: (string, allow_need) → the parse.
_PARSED: dict[tuple[str, bool], DynamicFunctionParsed] = {}


def _fresh(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


@classmethod  # type: ignore[misc]
def from_string(cls: type[DynamicFunctionParsed], func_string: str, *,
                allow_need: bool = False) -> DynamicFunctionParsed:
    """sphinx-needs' parse of a function string, once per string; each caller gets its own lists."""
    key = (func_string, allow_need)
    parsed = _PARSED.get(key)
    if parsed is None:
        parsed = ORIGINALS["from_string"].__func__(cls, func_string, allow_need=allow_need)
        if cls is DynamicFunctionParsed:
            _PARSED[key] = parsed
    return cls(parsed.name, tuple(_fresh(arg) for arg in parsed.args),
               tuple((name, _fresh(arg)) for name, arg in parsed.kwargs))


def prune(self: IndexBuilder, docnames: Iterable[str]) -> None:
    """Sphinx's ``IndexBuilder.prune`` (remove the data of every document not in ``docnames``), with
    the documents made a set once rather than once per indexed word."""
    names = docnames if isinstance(docnames, (set, frozenset, dict, list, tuple)) else list(docnames)
    keep = names if isinstance(names, (set, frozenset)) else set(names)
    titles, all_titles, filenames = self._titles, self._all_titles, self._filenames
    new_titles = {}
    new_alltitles = {}
    new_filenames = {}
    for docname in names:
        if docname in titles:
            new_titles[docname] = titles[docname]
            new_alltitles[docname] = all_titles[docname]
            new_filenames[docname] = filenames[docname]
    self._titles = new_titles
    self._filenames = new_filenames
    self._all_titles = new_alltitles
    for wordnames in self._mapping.values():
        wordnames.intersection_update(keep)
    for wordnames in self._title_mapping.values():
        wordnames.intersection_update(keep)


def highlight_language_apply(self: HighlightLanguageTransform, **kwargs: Any) -> None:
    """Sphinx's ``HighlightLanguageTransform.apply``, its walk over every node skipped on a page
    without literal blocks (the only nodes it sets anything on)."""
    if next(self.document.findall(nodes.literal_block), None) is not None:
        SPHINX_ORIGINALS["highlight_language_apply"](self, **kwargs)
        return
    for node in list(self.document.findall(addnodes.highlightlang)):
        node.parent.remove(node)


def node_matcher_findall(self: NodeMatcher[Any], node: Node) -> Iterator[Any]:
    """Sphinx's ``NodeMatcher.findall``: the nodes under ``node`` (itself first) that ``match``
    accepts, in document order, without a call per node or a generator per level.

    As lazy as docutils' walk: a node's children are looked at once the node has been handed
    out (and the caller resumed), and every list of children is followed as it stands.
    """
    classes = self.classes or (Node,)
    attrs = self.attrs
    match = self.match
    # Every attribute asked for must be in the node's attributes (``key in node``) for ``match``
    # to accept it: the first one is checked here before calling ``match``.
    first = next(iter(attrs), None)
    element = nodes.Element
    if isinstance(node, classes) and (first is None or match(node)):
        yield node
    if not node.children:
        return
    stack = [iter(node.children)]
    while stack:
        for child in stack[-1]:
            if isinstance(child, classes) and (
                    first is None or (isinstance(child, element) and first in child.attributes
                                      and match(child))):
                yield child
            if child.children:
                stack.append(iter(child.children))
                break
        else:
            stack.pop()


#: The classes ``DanglingReferencesVisitor`` has a ``visit_`` method for (it dispatches on the
#: node's class name; every other node goes to its ``unknown_visit``, which does nothing).
_REFERENCE_CLASS_NAMES = frozenset({"reference", "footnote_reference", "citation_reference"})


def _reference_walk(document: nodes.document) -> Any:
    """A ``walk`` for ``document`` that hands a ``DanglingReferencesVisitor`` the nodes it acts on.

    docutils' walk visits every node, in document order, each node's children as they were
    when it finished visiting the node; the visitor changes nothing but the node it visits
    (replaced by a ``problematic`` node when unresolved), so the nodes of those classes found
    in one pass beforehand are the ones the walk would visit, in its order.
    """
    def walk(visitor: Any) -> bool:
        if type(visitor) is not DanglingReferencesVisitor:
            return bool(Node.walk(document, visitor))
        names = _REFERENCE_CLASS_NAMES
        found = []
        stack: list[Any] = [document]
        while stack:
            node = stack.pop()
            if node.__class__.__name__ in names:
                found.append(node)
            if node.children:
                stack.extend(reversed(node.children))
        for node in found:
            visitor.dispatch_visit(node)
        return False

    return walk


def dangling_references_apply(self: SphinxDanglingReferences, **kwargs: Any) -> None:
    """Sphinx's ``SphinxDanglingReferences.apply``, its visitor handed the reference nodes only."""
    document = self.document
    if document.transformer.unknown_reference_resolvers or document.reporter.debug_flag:
        SPHINX_ORIGINALS["dangling_references_apply"](self, **kwargs)
        return
    document.walk = _reference_walk(document)  # type: ignore[method-assign]
    try:
        SPHINX_ORIGINALS["dangling_references_apply"](self, **kwargs)
    finally:
        del document.walk


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _matching_files(dirname: str | os.PathLike[str], include_patterns: Iterable[str],
                    exclude_patterns: Iterable[str]) -> Iterator[str]:
    """Sphinx's ``get_matching_files`` (every file under ``dirname`` matching an include pattern and
    no exclude pattern, as a relative POSIX name), the names joined as strings: on POSIX, what
    ``(Path(relative_root) / entry).as_posix()`` gives for the normalised roots ``os.walk`` and
    ``os.path.relpath`` give."""
    top = os.fspath(os.path.realpath(dirname))
    exclude_matchers = compile_matchers(exclude_patterns)
    include_matchers = compile_matchers(include_patterns)
    for root, dirs, files in os.walk(top, followlinks=True):
        relative_root = os.path.relpath(root, top)
        prefix = "" if relative_root == "." else relative_root + "/"
        included_files = []
        for entry in sorted(files):
            entry = _nfc(prefix + entry)
            keep = any(matcher(entry) for matcher in include_matchers)
            if keep and any(matcher(entry) for matcher in exclude_matchers):
                keep = False
            if keep:
                included_files.append(entry)
        filtered_dirs = []
        for dir_name in sorted(dirs):
            normalised = _nfc(prefix + dir_name)
            if not any(matcher(normalised) for matcher in exclude_matchers):
                filtered_dirs.append(dir_name)
        dirs[:] = filtered_dirs
        yield from included_files


def discover(self: Project, exclude_paths: Iterable[str] = (), include_paths: Iterable[str] = ("**",)) -> set[str]:
    """Sphinx's ``Project.discover``: every document file in the source folder, in
    :attr:`docnames` and the maps between document names and paths, with the names made as strings."""
    if os.sep != "/" or os.altsep is not None:
        result: set[str] = SPHINX_ORIGINALS["discover"](self, exclude_paths, include_paths)
        return result
    self.docnames.clear()
    self._path_to_docname.clear()
    self._docname_to_path.clear()
    srcdir = os.fspath(self.srcdir)
    suffixes = self.source_suffix
    docnames = self.docnames
    for filename in _matching_files(self.srcdir, include_paths, [*exclude_paths, *EXCLUDE_PATHS]):
        # path2doc: the name's first source suffix taken off (no map entry can match yet: each
        # relative name comes once and the maps were emptied above)
        name = filename.rpartition("/")[2]
        docname = next((_nfc(filename).removesuffix(suffix) for suffix in suffixes
                        if name.endswith(suffix)), None)
        if not docname:
            continue
        if docname not in docnames and os.access(os.path.join(srcdir, filename), os.R_OK):
            docnames.add(docname)
            path = Path(filename)
            self._path_to_docname[path] = docname
            self._docname_to_path[docname] = path
        else:  # a document found twice, or a file that cannot be read: Sphinx says so, its way
            result = SPHINX_ORIGINALS["discover"](self, exclude_paths, include_paths)
            return result
    return docnames


#: Per environment, the pages :func:`purge_standard_domain` forgot for this build and not read since.
_PURGED: weakref.WeakKeyDictionary[BuildEnvironment, set[str]] = weakref.WeakKeyDictionary()


def purge_standard_domain(env: BuildEnvironment, docnames: Iterable[str]) -> None:
    """Forget the standard domain's entries of ``docnames`` in one scan of each of its tables, as
    ``StandardDomain.clear_doc`` would one page at a time; its calls for them then return at once
    until each page is read again (:func:`forget_purged`)."""
    domain = env.get_domain("std")
    assert isinstance(domain, StandardDomain)
    pages = set(docnames)
    tables: tuple[dict[Any, tuple[Any, ...]], ...] = (
        domain.progoptions, domain.objects, domain._terms, domain.labels, domain.anonlabels)
    for table in tables:
        for key in [key for key, entry in table.items() if entry[0] in pages]:
            del table[key]
    _PURGED[env] = pages


def standard_clear_doc(self: StandardDomain, docname: str) -> None:
    """Sphinx's ``StandardDomain.clear_doc``, a no-op for a page already forgotten for this build's
    read and not read since."""
    pages = _PURGED.get(self.env)
    if pages is not None and docname in pages:
        return
    SPHINX_ORIGINALS["standard_clear_doc"](self, docname)


def forget_purged(app: Sphinx, docname: str, source: list[str]) -> None:
    """A page is being read: its standard-domain entries are made again, so clear them as usual."""
    pages = _PURGED.get(app.env)
    if pages is not None:
        pages.discard(docname)


def end_purged(app: Sphinx, *args: Any) -> None:
    """Reading is over (or merged from worker processes): every purge is Sphinx's again."""
    _PURGED.pop(app.env, None)


def _slots_dataclasses() -> list[type]:
    """sphinx-needs' need-item dataclasses pickled with the state functions ``dataclasses`` made."""
    found = []
    for value in vars(need_item_module).values():
        if (isinstance(value, type) and dataclasses.is_dataclass(value)
                and value.__module__ == need_item_module.__name__
                and getattr(value.__dict__.get("__getstate__"), "__qualname__", "") == "_dataclass_getstate"
                and getattr(value.__dict__.get("__setstate__"), "__qualname__", "") == "_dataclass_setstate"):
            found.append(value)
    return found


def _state_functions(cls: type) -> tuple[Any, Any]:
    """``__getstate__`` and ``__setstate__`` for ``cls`` giving and taking what ``dataclasses``'
    own do (the list of the fields' values, in field order), from the names found once."""
    names = tuple(field.name for field in dataclasses.fields(cls))
    get = attrgetter(*names)
    setattr_ = object.__setattr__

    if len(names) == 1:
        def getstate(self: Any) -> list[Any]:
            return [get(self)]
    else:
        def getstate(self: Any) -> list[Any]:
            return list(get(self))

    def setstate(self: Any, state: list[Any]) -> None:
        for name, value in zip(names, state, strict=False):
            setattr_(self, name, value)

    getstate.__qualname__ = f"{cls.__qualname__}.__getstate__"
    setstate.__qualname__ = f"{cls.__qualname__}.__setstate__"
    return getstate, setstate


#: The classes given :func:`_state_functions`: class → (their own pair, kbgen's pair).
_STATE: dict[type, tuple[tuple[Any, Any], tuple[Any, Any]]] = {}


def _install_state() -> None:
    if not _STATE:
        for cls in _slots_dataclasses():
            own = (cls.__dict__["__getstate__"], cls.__dict__["__setstate__"])
            _STATE[cls] = (own, _state_functions(cls))
    for cls, (_, (getstate, setstate)) in _STATE.items():
        setattr(cls, "__getstate__", getstate)  # noqa: B010
        setattr(cls, "__setstate__", setstate)  # noqa: B010


def _remove_state() -> None:
    for cls, ((getstate, setstate), _) in _STATE.items():
        setattr(cls, "__getstate__", getstate)  # noqa: B010
        setattr(cls, "__setstate__", setstate)  # noqa: B010


#: Sphinx's own functions kbgen replaces, recorded by the first :func:`apply_sphinx`.
SPHINX_ORIGINALS: dict[str, Any] = {}


def apply_sphinx() -> bool:
    """Install the replacements inside Sphinx (idempotent); False, and none installed, on an untested Sphinx."""
    if not sphinx_tested():
        remove_sphinx()
        return False
    if not SPHINX_ORIGINALS:
        SPHINX_ORIGINALS["prune"] = IndexBuilder.prune
        SPHINX_ORIGINALS["highlight_language_apply"] = HighlightLanguageTransform.apply
        SPHINX_ORIGINALS["standard_clear_doc"] = StandardDomain.clear_doc
        SPHINX_ORIGINALS["node_matcher_findall"] = NodeMatcher.findall
        SPHINX_ORIGINALS["discover"] = Project.discover
        SPHINX_ORIGINALS["dangling_references_apply"] = SphinxDanglingReferences.apply
    IndexBuilder.prune = prune  # type: ignore[method-assign]
    Project.discover = discover  # type: ignore[method-assign]
    SphinxDanglingReferences.apply = dangling_references_apply  # type: ignore[method-assign]
    NodeMatcher.findall = node_matcher_findall  # type: ignore[method-assign]
    HighlightLanguageTransform.apply = highlight_language_apply  # type: ignore[method-assign]
    StandardDomain.clear_doc = standard_clear_doc  # type: ignore[method-assign]
    return True


def remove_sphinx() -> None:
    """Put Sphinx's own functions back."""
    if SPHINX_ORIGINALS:
        IndexBuilder.prune = SPHINX_ORIGINALS["prune"]  # type: ignore[method-assign]
        HighlightLanguageTransform.apply = SPHINX_ORIGINALS["highlight_language_apply"]  # type: ignore[method-assign]
        StandardDomain.clear_doc = SPHINX_ORIGINALS["standard_clear_doc"]  # type: ignore[method-assign]
        NodeMatcher.findall = SPHINX_ORIGINALS["node_matcher_findall"]  # type: ignore[method-assign]
        Project.discover = SPHINX_ORIGINALS["discover"]  # type: ignore[method-assign]
        SphinxDanglingReferences.apply = SPHINX_ORIGINALS["dangling_references_apply"]  # type: ignore[method-assign]
    _PURGED.clear()


def sphinx_installed() -> bool:
    """True while the replacements inside Sphinx are in place."""
    return (IndexBuilder.prune is prune  # type: ignore[comparison-overlap]
            and HighlightLanguageTransform.apply is highlight_language_apply  # type: ignore[comparison-overlap]
            and StandardDomain.clear_doc is standard_clear_doc  # type: ignore[comparison-overlap]
            and NodeMatcher.findall is node_matcher_findall  # type: ignore[comparison-overlap]
            and Project.discover is discover  # type: ignore[comparison-overlap]
            and SphinxDanglingReferences.apply is dangling_references_apply)  # type: ignore[comparison-overlap]


#: sphinx-needs' own functions, recorded by the first :func:`apply`.
ORIGINALS: dict[str, Any] = {}


def apply() -> bool:
    """Install the replacements (idempotent); False, and nothing installed, on an untested sphinx-needs."""
    if not applies():
        remove()
        return False
    if not ORIGINALS:
        ORIGINALS["add_backlink"] = NeedItem.add_backlink
        ORIGINALS["sort_backlinks"] = NeedItem.sort_backlinks
        ORIGINALS["write_json"] = NeedsList.write_json
        ORIGINALS["__repr__"] = NeedItem.__repr__
        ORIGINALS["node_match"] = getattr(needs_module, "node_match")  # noqa: B009 (not re-exported)
        ORIGINALS["from_string"] = DynamicFunctionParsed.__dict__["from_string"]
        ORIGINALS["add_need"] = SphinxNeedsData.add_need
        ORIGINALS["remove_need"] = SphinxNeedsData.remove_need
        ORIGINALS["remove_doc"] = SphinxNeedsData.remove_doc
        ORIGINALS["sort_links"] = NeedItem.sort_links
    _BY_DOC[:] = [None, -1, {}]
    _NATURAL_KEYS.clear()
    _SHARED_LINKS.clear()
    setattr(needs_module, "node_match", node_match)  # noqa: B010
    setattr(DynamicFunctionParsed, "from_string", from_string)  # noqa: B010
    NeedItem.add_backlink = add_backlink  # type: ignore[method-assign]
    NeedItem.__repr__ = need_repr  # type: ignore[method-assign]
    NeedItem.sort_backlinks = sort_backlinks  # type: ignore[method-assign]
    NeedsList.write_json = write_json  # type: ignore[method-assign]
    SphinxNeedsData.add_need = add_need  # type: ignore[method-assign]
    SphinxNeedsData.remove_need = remove_need  # type: ignore[method-assign]
    SphinxNeedsData.remove_doc = remove_doc  # type: ignore[method-assign]
    NeedItem.sort_links = sort_links  # type: ignore[method-assign]
    _install_state()
    return True


def remove() -> None:
    """Put sphinx-needs' own functions back (the replacements are process-wide: a build with
    speedups off that follows one with them on, in the same process, must not inherit them)."""
    if ORIGINALS:
        NeedItem.add_backlink = ORIGINALS["add_backlink"]  # type: ignore[method-assign]
        NeedItem.sort_backlinks = ORIGINALS["sort_backlinks"]  # type: ignore[method-assign]
        NeedsList.write_json = ORIGINALS["write_json"]  # type: ignore[method-assign]
        NeedItem.__repr__ = ORIGINALS["__repr__"]  # type: ignore[method-assign]
        setattr(needs_module, "node_match", ORIGINALS["node_match"])  # noqa: B010
        setattr(DynamicFunctionParsed, "from_string", ORIGINALS["from_string"])  # noqa: B010
        SphinxNeedsData.add_need = ORIGINALS["add_need"]  # type: ignore[method-assign]
        SphinxNeedsData.remove_need = ORIGINALS["remove_need"]  # type: ignore[method-assign]
        SphinxNeedsData.remove_doc = ORIGINALS["remove_doc"]  # type: ignore[method-assign]
        NeedItem.sort_links = ORIGINALS["sort_links"]  # type: ignore[method-assign]
    _remove_state()
    _BY_DOC[:] = [None, -1, {}]
    _NATURAL_KEYS.clear()
    _SHARED_LINKS.clear()


def installed() -> bool:
    """True while the replacements are in place."""
    return NeedItem.add_backlink is add_backlink  # type: ignore[comparison-overlap]


def setup(app: Sphinx) -> None:
    app.add_config_value(SPEEDUPS_CONFIG, True, "", types=frozenset({bool}),
                         description="kbgen's build speedups (same output either way)")
    # Before the collector policy (900), which reads the same switch.
    app.connect("config-inited", _configure, priority=800)
    app.connect("env-before-read-docs", keep_need_nodes)
    app.connect("env-before-read-docs", keep_lazy_tocs)
    app.connect("source-read", forget_purged)
    app.connect("env-merge-info", end_purged)
    app.connect("env-updated", end_purged)


def _configure(app: Sphinx, config: Config) -> None:
    """Apply or remove the replacements for this build, saying once why any is left out."""
    if not enabled(config):
        remove()
        remove_sphinx()
        return
    off = []
    if not apply():
        off.append(f"sphinx-needs {sphinx_needs.__version__} (tested: {', '.join(TESTED_SPHINX_NEEDS)})")
    if not apply_sphinx():
        off.append(f"Sphinx {sphinx.__version__} (tested: {', '.join(TESTED_SPHINX)})")
    if off:
        logger.info("kbgen: speedups left out for untested versions: %s; the output is the same, "
                    "the build slower at scale", "; ".join(off))
