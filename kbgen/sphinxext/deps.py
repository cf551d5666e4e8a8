"""Which pages to rewrite when a page changes: those that show something the change touched.

Sphinx re-reads the sources that changed and writes them, but a page also
shows things defined on other pages, resolved when it is written: the title
of a need or a label it links to, the back links of its needs, the titles of
its ancestors (breadcrumbs) and the navigation. Sphinx does not rewrite a page
when those change elsewhere, so an incremental build could leave stale links
and menus. kbgen's own generated pages carry what they show in their own source
(``kbgen sync`` rewrites them when it changes: :mod:`kbgen.render.deps`), but
hand-written pages and domain documents are edited by people, and a build used
to rewrite every page whenever one of them changed (a full rewrite, two thirds
of a full build at campaign scale).

This module finds the pages that really depend on a change, inside Sphinx, so
it works the same for ``kbgen build`` and a plain ``sphinx-build``:

* while a page is read, the references it makes are noted: labels and need IDs
  it links to, documents it links to, and whether it holds a sphinx-needs
  table, list, chart or count (those show every need);
* once reading is done (``env-updated``), what each re-read page *exports* —
  its title, its labels, its needs (type, title, status, links) — is compared
  with what it exported before, and the pages that reference a changed export
  are handed back to Sphinx to be written again (they are not re-read: their
  references are resolved anew when they are written): pages linking to a
  changed label, need or document, pages holding the needs a changed need
  started or stopped linking to (their back links; all it links or linked to
  when what a back link shows of it changed: :func:`_backlinks_changed`), and,
  when any need changed, the pages with sphinx-needs tables or charts;
* the navigation each page carries — the toctree entries it shows (the header's,
  and its ancestors' down to the depth the theme shows), its breadcrumbs and its
  previous and next pages, with their titles — is digested per page; the pages
  whose digest changed are written again, and the build says how many. A new
  title in the header rewrites every page; a new session page, the pages of its
  group.

A paragraph edited on a hand-written page therefore rewrites that page alone.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The environment attribute holding :class:`DepsState` (pickled with the environment).
ENV_ATTR = "kbgen_deps"
#: The export key of a page's needs with all their fields: when it changes, needs.json changes.
NEEDS_DATA = "data:needs"
#: The export key prefix of what a page holding a need's link targets shows of it: their back
#: links name it (its ID, or its title and type with ``needs_show_link_title``/``_type``) and
#: point to its page. Its status and other fields are not shown there.
SHOWN = "shown:"
SHOWN_FIELDS = ("id", "type", "type_name", "title", "is_external", "external_url")
#: Theme option and default of pydata-sphinx-theme: how many toctree levels below a top-level
#: section its sidebar shows (with ``collapse_navigation``, only along the current page's path).
NAV_DEPTH_OPTION = "navigation_depth"


@dataclass
class DepsState:
    """Per-document references and exports, kept from build to build in the environment."""

    #: docname → what it references: ``label:<name>``, ``doc:<docname>``, ``need:<id>`` (a need role)
    #: and ``incoming:<id>`` (a role listing the need's back links).
    refs: dict[str, frozenset[str]] = field(default_factory=dict)
    #: docname → key → digest of what it exports under that key.
    exports: dict[str, dict[str, str]] = field(default_factory=dict)
    #: docname → need ID → the needs it links to (their back links are shown on the target's page).
    link_targets: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    #: Documents holding sphinx-needs tables, lists, charts or counts (they show every need).
    dynamic: set[str] = field(default_factory=set)
    #: docname → digest of the navigation it shows (:func:`_navigation`).
    nav: dict[str, str] = field(default_factory=dict)
    #: The previous exports (and need links) of documents being re-read or removed in this build.
    before: dict[str, tuple[dict[str, str], dict[str, frozenset[str]]]] = field(default_factory=dict)
    #: Documents read in this build.
    read: set[str] = field(default_factory=set)
    #: Whether a need was added, removed or changed in this build (None: not known yet, as
    #: before reading is done; then it counts as changed). :mod:`kbgen.sphinxext.needsjson`
    #: writes needs.json only when it is.
    needs_changed: bool | None = None
    #: The needs (lowercased IDs) whose entry in needs.json this build may have changed: those of
    #: the pages whose exports changed, before and after, and every need they link or linked to
    #: (their back links). None when not known (every need counts as touched).
    needs_touched: frozenset[str] | None = None


def state(env: BuildEnvironment) -> DepsState:
    current = getattr(env, ENV_ATTR, None)
    if not isinstance(current, DepsState):
        current = DepsState()
        setattr(env, ENV_ATTR, current)
    return current


def setup(app: Sphinx) -> None:
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-updated", _dependents, priority=400)


# -- reading -------------------------------------------------------------------------------

def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    """A document is about to be re-read or is removed: keep what it exported, to compare."""
    deps = state(env)
    if docname not in deps.before and docname in deps.exports:
        deps.before[docname] = (deps.exports[docname], deps.link_targets.get(docname, {}))
    deps.exports.pop(docname, None)
    deps.link_targets.pop(docname, None)
    deps.refs.pop(docname, None)
    deps.dynamic.discard(docname)


def _dynamic_types() -> tuple[type[nodes.Element], ...]:
    """sphinx-needs nodes whose output depends on every need (tables, lists, charts, counts)."""
    from sphinx_needs import needs

    skip = {"NeedPart", "NeedRef", "NeedIncoming", "NeedOutgoing"}
    kinds = [*needs.NODE_TYPES, *needs.NODE_TYPES_PRIO]
    return tuple(kind for kind in kinds if kind.__name__ not in skip)


def node_kinds() -> dict[type[nodes.Node], str]:
    """Node class → what a node of it references: see :func:`note_node`."""
    from sphinx_needs.roles.need_incoming import NeedIncoming
    from sphinx_needs.roles.need_outgoing import NeedOutgoing
    from sphinx_needs.roles.need_ref import NeedRef

    kinds: dict[type[nodes.Node], str] = {kind: "dynamic" for kind in _dynamic_types()}
    kinds.update({addnodes.pending_xref: "xref", NeedRef: "need", NeedOutgoing: "need", NeedIncoming: "incoming"})
    return kinds


def note_node(kind: str, node: nodes.Element, refs: set[str]) -> None:
    """Note what a node of a page being read references; ``kind`` is its class's in :func:`node_kinds`.

    The caller walks the page once and looks each node's class up (kbgen's extension does it
    while registering need labels): one pass over every page of a big site is a noticeable cost.
    """
    if kind == "dynamic":
        refs.add("dynamic")
        return
    target = str(node.get("reftarget", ""))
    if kind == "xref":
        refs.add(f"doc:{target}" if node.get("refdomain") == "doc" else f"label:{target.lower()}")
    else:
        refs.add(f"{kind}:{target.split('.')[0].lower()}")


def page_read(env: BuildEnvironment, docname: str, refs: set[str]) -> None:
    """Record what a page just read references (:func:`note_node` collected it)."""
    deps = state(env)
    if "dynamic" in refs:
        refs.discard("dynamic")
        deps.dynamic.add(docname)
    deps.refs[docname] = frozenset(refs)
    deps.read.add(docname)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: Iterable[str], other: BuildEnvironment) -> None:
    """Parallel reading: take the worker's notes on the documents it read."""
    mine, theirs = state(env), state(other)
    for docname in docnames:
        if docname in theirs.refs:
            mine.refs[docname] = theirs.refs[docname]
        if docname in theirs.dynamic:
            mine.dynamic.add(docname)
        mine.read.add(docname)


# -- after reading -------------------------------------------------------------------------

def _digest(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=12).hexdigest()


def _exports(env: BuildEnvironment, docnames: set[str]) -> tuple[dict[str, dict[str, str]],
                                                                  dict[str, dict[str, frozenset[str]]]]:
    """What each of ``docnames`` exports (title, labels, needs) and what each of its needs links to."""
    out: dict[str, dict[str, str]] = {doc: {} for doc in docnames}
    links: dict[str, dict[str, frozenset[str]]] = {doc: {} for doc in docnames}
    for doc in docnames:
        title = env.titles.get(doc)
        out[doc][f"doc:{doc}"] = title.astext() if title is not None else ""
    std = env.domains.standard_domain
    for name, (doc, labelid, sectname) in std.labels.items():
        if doc in out:
            out[doc][f"label:{name}"] = _digest(labelid, sectname)
    for name, (doc, labelid) in std.anonlabels.items():
        if doc in out and f"label:{name}" not in out[doc]:
            out[doc][f"label:{name}"] = _digest(labelid)
    data: dict[str, list[tuple[str, str]]] = {}  # page → (need ID, digest of all its fields)
    for need_id, need in _needs(env):
        doc = need.get("docname")
        if doc not in out:
            continue
        targets = sorted((kind, link.id) for kind, values in need.iter_links_items(as_str=False) for link in values)
        key = need_id.lower()
        out[doc][f"need:{key}"] = _digest(need.get("type"), need.get("title"), need.get("status"), targets)
        out[doc][f"{SHOWN}{key}"] = _digest(*(need.get(name) for name in SHOWN_FIELDS))
        links[doc][key] = frozenset(f"{kind} {target.lower()}" for kind, target in targets)
        # one short digest per need as it goes: a full build digests every need of the site, and
        # holding all their fields' text at once would raise the build's peak memory
        data.setdefault(doc, []).append((need_id, _digest(sorted((k, repr(v)) for k, v in need.items()))))
    for doc, items in data.items():  # every field, as needs.json holds them (no page shows this key)
        out[doc][NEEDS_DATA] = _digest(sorted(items))
    return out, links


def _needs(env: BuildEnvironment) -> Iterator[tuple[str, Any]]:
    """Every need as sphinx-needs collected it (before its post-processing), by ID."""
    try:
        from sphinx_needs.data import SphinxNeedsData

        data = SphinxNeedsData(env)
        needs = data.get_needs_mutable() if not data.needs_is_post_processed else data.get_needs_view()
    except Exception:  # sphinx-needs internals vary: then needs count as unchanged (pages still read)
        return
    yield from needs.items()


def _need_docs(env: BuildEnvironment) -> dict[str, str]:
    return {need_id.lower(): str(need.get("docname") or "") for need_id, need in _needs(env)}


def _title(env: BuildEnvironment, doc: str | None) -> str:
    title = env.titles.get(doc) if doc else None
    return title.astext() if title is not None else ""


def _navigation(app: Sphinx, env: BuildEnvironment) -> dict[str, str]:
    """Each page → a digest of the navigation it shows, from the toctrees and the titles in them.

    With pydata-sphinx-theme a page shows the root's entries (the header), the entries of its
    ancestors down to the sidebar's depth (collapsed: only along its own path), the titles of
    its ancestors (breadcrumbs) and its previous and next pages (``<link rel="next">``). So a
    new session page changes the navigation of its group's pages, not of the 4,000 file pages
    beside it. With another theme the whole tree counts for every page.
    """
    limit = _nav_depth(app)
    root = app.config.root_doc
    depth = {root: 0}
    parents: dict[str, list[str]] = {}
    queue = deque([root])
    while queue:
        doc = queue.popleft()
        for child in env.toctree_includes.get(doc, ()):
            parents.setdefault(child, []).append(doc)
            if child not in depth:
                depth[child] = depth[doc] + 1
                queue.append(child)

    part: dict[str, str] = {}  # a toctree holder → its entries and their titles

    def entries(doc: str) -> str:
        if doc not in part:
            shown: list[tuple[str, str, str]] = []
            for toc in env.tocs.get(doc, nodes.bullet_list()).findall(addnodes.toctree):
                shown += [(str(title or ""), ref, _title(env, ref)) for title, ref in toc.get("entries", [])]
            part[doc] = _digest(doc, shown)
        return part[doc]

    relations = env.collect_relations()
    if limit is None:
        whole = _digest(limit, [entries(doc) for doc in sorted(depth)])
    out: dict[str, str] = {}
    for doc in env.found_docs:
        ancestors: set[str] = set()
        todo = list(parents.get(doc, ()))
        while todo:
            up = todo.pop()
            if up not in ancestors:
                ancestors.add(up)
                todo += parents.get(up, ())
        if limit is None:
            shown_parts = [whole]
        else:
            shown_parts = sorted(entries(a) for a in ancestors | {doc, root} if depth.get(a, limit) < limit)
        crumbs = sorted((a, _title(env, a)) for a in ancestors)
        rel = [(r, _title(env, r)) for r in relations.get(doc, ())[:3]]
        out[doc] = _digest(shown_parts, crumbs, rel)
    return out


def _nav_depth(app: Sphinx) -> int | None:
    """How deep below the root document the navigation of pydata-sphinx-theme reaches (None: all of it).

    Its header shows the root's entries; its sidebar the levels below a top-level section, down
    to ``navigation_depth``. Another theme may show the whole tree.
    """
    if app.config.html_theme != "pydata_sphinx_theme":
        return None
    options = app.config.html_theme_options or {}
    try:
        return 1 + int(options.get(NAV_DEPTH_OPTION, 4))
    except (TypeError, ValueError):
        return None


def _backlinks_changed(key: str, diff: set[str], old_links: dict[str, frozenset[str]],
                       new_links: dict[str, frozenset[str]]) -> set[str]:
    """The needs whose back links change when need ``key`` (lowercased ID) changed as ``diff`` says.

    A back link shows what :data:`SHOWN_FIELDS` hold and where the need is: when those changed
    (or the need is new, gone or moved to another page), every need it links or linked to; when
    only its other fields did (a file read deeper, a finding's status), only the needs it started
    or stopped linking to, under each link name: the back links of the others read the same.
    """
    old, new = old_links.get(key, frozenset()), new_links.get(key, frozenset())
    links = old | new if f"{SHOWN}{key}" in diff else old ^ new
    return {link.rpartition(" ")[2] for link in links}


def _touched_needs(old: dict[str, str], new: dict[str, str], old_links: dict[str, frozenset[str]],
                   new_links: dict[str, frozenset[str]]) -> set[str]:
    """A changed page's needs, before and after, and all they link or linked to (lowercased IDs).

    More than changed, never less: a need's entry in needs.json holds its own fields (read from
    its page) and its back links (the IDs of the needs linking to it).
    """
    touched = {key[5:] for key in old.keys() | new.keys() if key.startswith("need:")}
    for links in (old_links, new_links):
        for targets in links.values():
            touched |= {link.rpartition(" ")[2] for link in targets}
    return touched


def _dependents(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-updated``: the documents to write again because something they show changed."""
    deps = state(env)
    read, before = set(deps.read), dict(deps.before)
    deps.read.clear()
    deps.before.clear()
    deps.needs_changed = None
    deps.needs_touched = None
    if not read and not before:
        deps.needs_changed = False
        deps.needs_touched = frozenset()
        return []
    exports, links = _exports(env, read)
    deps.exports.update(exports)
    deps.link_targets.update(links)
    nav = _navigation(app, env)
    fresh = not deps.nav or read >= env.found_docs  # every page is being written anyway
    old_nav, deps.nav = deps.nav, nav
    if fresh:
        return []  # needs_changed stays None: needs.json is written
    moved = {doc for doc, digest in nav.items() if old_nav.get(doc, digest) != digest} - read
    if moved:
        logger.info("kbgen: the navigation changed (a table of contents or a title in it): %d more %s",
                    len(moved), "pages show it and are written again" if len(moved) != 1
                    else "page shows it and is written again")

    changed: set[str] = set()
    need_targets: set[str] = set()
    touched: set[str] = set()
    need_changed = False
    for doc in read | set(before):
        old, old_links = before.get(doc, ({}, {}))  # a new document: everything it exports is new
        new, new_links = deps.exports.get(doc, {}), deps.link_targets.get(doc, {})
        diff = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
        if not diff:
            continue
        changed |= diff
        touched |= _touched_needs(old, new, old_links, new_links)
        if NEEDS_DATA in diff:
            need_changed = True
        for key in diff:
            if key.startswith("need:"):
                need_changed = True
                need_targets |= _backlinks_changed(key[5:], diff, old_links, new_links)
    deps.needs_changed = need_changed
    deps.needs_touched = frozenset(touched)
    if not changed:
        return sorted(moved)
    logger.verbose("kbgen: changed exports: %s", ", ".join(sorted(changed)[:50]))
    changed.discard(NEEDS_DATA)
    # A markdown link to a need (#need-<id>) shows its own text and points to the need's label:
    # the label's export (its page, anchor and name) is what it depends on, not the need's fields.
    need_docs = _need_docs(env) if need_targets else {}
    targets = {need_docs.get(t, "") for t in need_targets}
    changed |= {f"incoming:{t}" for t in need_targets}
    rewrite = {doc for doc, refs in deps.refs.items() if not refs.isdisjoint(changed)}
    rewrite |= targets
    if need_changed:
        rewrite |= deps.dynamic
    rewrite = (rewrite & env.found_docs) - read - moved
    if rewrite:
        logger.info("kbgen: %d more page%s what the changed pages define", len(rewrite),
                    "s show" if len(rewrite) != 1 else " shows")
    return sorted(rewrite | moved)
