"""The build-speed modules: sphinx-needs replacements, the GC freeze, the sphinx-build runner.

What is checked, on real sphinx-needs code and real builds (nothing under test is mocked):

* :mod:`kbgen.sphinxext.speedups`: ``build_backlinks`` gives the same back links with
  the replacement ``add_backlink`` as with sphinx-needs' own, on the example site's
  environment and on a small site whose needs link one target several times (the
  exact input of the build's own ``build_backlinks`` call is captured, and on the example
  with every link written twice: the replacement ``sort_backlinks`` drops the repeats the
  original ``add_backlink`` refused); a whole build gives the same final back links and a
  byte-identical needs.json; the
  replacement ``write_json`` writes the same bytes as the original; ``apply()`` keeps
  the true originals, is idempotent and patches nothing on other sphinx-needs versions.
* :mod:`kbgen.sphinxext.gcpolicy`: the collector's permanent generation is filled while reading
  and writing and emptied once the build ends, also when the build fails.
* :mod:`kbgen.sphinxext.main`: exit codes and streams of ``python -m kbgen.sphinxext.main``.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import os
import pickle
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import sphinx
import sphinx_needs
import sphinx_needs.directives.need as need_directive
import sphinx_needs.needs as needs_module
import sphinx_needs.needsfile as needsfile
from docutils import nodes
from docutils.nodes import Node
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError
from sphinx.project import Project
from sphinx.search import IndexBuilder, js_index
from sphinx.testing.util import SphinxTestApp
from sphinx.transforms.references import SphinxDanglingReferences
from sphinx.util.nodes import NodeMatcher
from sphinx_needs.data import SphinxNeedsData
from sphinx_needs.exceptions import FunctionParsingException
from sphinx_needs.functions.functions import DynamicFunctionParsed
from sphinx_needs.need_item import NeedItem, NeedLink
from sphinx_needs.needs_schema import FieldsSchema
from sphinx_needs.needsfile import NeedsList

from kbgen.build import doctrees_path
from kbgen.config import Options
from kbgen.sphinxext import gcbudget, gcpolicy, speedups

REPO = Path(__file__).resolve().parents[1]

#: Back links of every need and of every need part: need id → [(link type, part or "", [source ids])].
Backlinks = dict[str, list[tuple[str, str, list[str]]]]

CONF = 'extensions = ["kbgen.sphinxext"]\nproject = "t"\n'

#: Needs that link one target several times: the same link written twice (F2 answers,
#: F3 in_domain), a need and one of its parts (F3 on FILE1 and FILE1.p1), so their
#: back links arrive more than once; F10 sorts before F2 as a string, after as a number.
DUPLICATE_LINKS_PAGE = """\
# Duplicate links

:::{session} Session one
:id: S1
:::

:::{domain} Core
:id: D-CORE
:::

:::{question} Does it parse?
:id: Q1-1
:in_session: S1
:::

:::{file} parser.rs
:id: FILE1
:in_domain: D-CORE

The {np}`(p1) header parser` and the {np}`(p2) body parser`.
:::

:::{file} lexer.rs
:id: FILE2
:in_domain: D-CORE
:::

:::{finding} The header parser skips a byte
:id: F2
:answers: Q1-1, Q1-1
:on_file: FILE1
:in_session: S1
:in_domain: D-CORE
:::

:::{finding} Correction: it skips two bytes
:id: F3
:answers: Q1-1
:on_file: FILE1, FILE1.p1, FILE1.p1
:supersedes: F2
:in_domain: D-CORE, D-CORE
:::

:::{finding} Follow-up on both
:id: F10
:depends_on: F3, F2, F3
:on_file: FILE2, FILE1.p2
:in_domain: D-CORE
:::
"""


# -- helpers --------------------------------------------------------------------------------------


def write_site(root: Path, pages: dict[str, str], conf: str = CONF) -> Path:
    """A Sphinx source folder with ``conf.py`` and the given pages; returns it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "conf.py").write_text(conf, encoding="utf-8")
    for name, text in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def build_in_process(srcdir: Path, builddir: Path, *, buildername: str = "dummy",
                     confoverrides: dict[str, Any] | None = None,
                     connect: Callable[[Sphinx], None] | None = None,
                     freshenv: bool = True, parallel: int = 0) -> tuple[SphinxTestApp, str]:
    """Build ``srcdir`` fresh in this process; returns the (cleaned up) app and its warnings.

    ``connect`` may add event listeners before the build starts. A build that raises
    still cleans up the app (docutils' global registries) before the error propagates.
    ``parallel`` is Sphinx's ``-j``.
    """
    warnings = StringIO()
    app = SphinxTestApp(buildername, srcdir=srcdir, builddir=builddir, freshenv=freshenv, parallel=parallel,
                        confoverrides=confoverrides, status=StringIO(), warning=warnings)
    try:
        if connect is not None:
            connect(app)
        app.build()
    finally:
        app.cleanup()
    return app, warnings.getvalue()


def backlinks_of(needs: dict[str, NeedItem]) -> Backlinks:
    """Every back list of every need and part, in its stored order (duplicates kept)."""
    result: Backlinks = {}
    for key, need in needs.items():
        lists = [(link_type, "", [link.id for link in links])
                 for link_type, links in need.iter_backlinks_items(as_str=False)]
        for part in need.parts:
            lists += [(link_type, part.id, [link.id for link in links])
                      for link_type, links in sorted(part.backlinks.items())]
        result[key] = lists
    return result


def run_build_backlinks(needs: dict[str, NeedItem], schema: FieldsSchema, *, reset: bool = True) -> Backlinks:
    """``build_backlinks`` on a deep copy of ``needs`` with the add_backlink now installed."""
    work = copy.deepcopy(needs)
    need_directive.build_backlinks(work, schema, reset=reset)
    return backlinks_of(work)


def total_links(backlinks: Backlinks) -> int:
    return sum(len(ids) for lists in backlinks.values() for _, _, ids in lists)


@pytest.fixture(autouse=True)
def speedups_state_kept() -> Iterator[None]:
    """Whether the replacements are installed is process state: each test leaves it as it found it."""
    before = speedups.installed()
    yield
    if before and not speedups.installed():
        speedups.apply()
    elif not before and speedups.installed():
        speedups.remove()


@pytest.fixture
def speedups_applied() -> dict[str, Any]:
    """The replacements installed (as the extension installs them); returns the originals."""
    assert speedups.apply(), f"sphinx-needs {sphinx_needs.__version__} is not a checked version"
    assert NeedItem.add_backlink is speedups.add_backlink
    assert NeedsList.write_json is speedups.write_json
    return dict(speedups.ORIGINALS)


@pytest.fixture
def use_original_add_backlink(monkeypatch: pytest.MonkeyPatch,
                              speedups_applied: dict[str, Any]) -> Callable[[], None]:
    """Returns a function that puts sphinx-needs' own add_backlink and sort_backlinks back
    (until the test ends)."""
    def restore() -> None:
        monkeypatch.setattr(NeedItem, "add_backlink", speedups_applied["add_backlink"])
        monkeypatch.setattr(NeedItem, "sort_backlinks", speedups_applied["sort_backlinks"])
    return restore


@pytest.fixture(scope="module")
def example_env(built_example: Options) -> BuildEnvironment:
    """The example site's pickled environment, loaded without a Sphinx app."""
    with (doctrees_path(built_example) / "environment.pickle").open("rb") as handle:
        env = pickle.load(handle)
    assert isinstance(env, BuildEnvironment)
    return env


class FrozenDatetime(datetime):
    """``datetime.now()`` at a fixed instant: needs.json records the time it was written."""

    @classmethod
    def now(cls, tz: Any = None) -> FrozenDatetime:
        return cls(2024, 5, 6, 7, 8, 9, 123456)


# -- speedups: add_backlink --------------------------------------------------------


def test_apply_keeps_sphinx_needs_own_functions_as_originals(speedups_applied: dict[str, Any]) -> None:
    originals = speedups_applied
    assert originals["add_backlink"] is not speedups.add_backlink
    assert originals["write_json"] is not speedups.write_json
    assert originals["add_backlink"].__module__ == "sphinx_needs.need_item"
    assert originals["write_json"].__module__ == "sphinx_needs.needsfile"
    # idempotent: a second apply (every build's config-inited calls it) does not store the replacement
    assert speedups.apply()
    now = speedups.ORIGINALS
    assert now == originals


def test_need_repr_names_the_need_and_the_original_is_kept(speedups_applied: dict[str, Any],
                                                           example_env: BuildEnvironment) -> None:
    from sphinx_needs.data import SphinxNeedsData

    needs = SphinxNeedsData(example_env).get_needs_mutable()
    need = needs["F25"]
    assert repr(need) == f"NeedItem(id='F25', docname={need.get('docname')!r})"
    full = speedups_applied["__repr__"](need)
    assert full.startswith("NeedItem(core=") and len(full) > 10 * len(repr(need))
    assert speedups_applied["__repr__"].__module__ == "sphinx_needs.need_item"


def test_add_backlink_appends_and_rejects_unknown_link_types(speedups_applied: dict[str, Any]) -> None:
    need = NeedItem.__new__(NeedItem)  # only the back lists are used
    object.__setattr__(need, "_backlinks", {"answers": [], "on_file": []})
    need.add_backlink("answers", "F2")
    need.add_backlink("answers", NeedLink(id="F3"))
    need.add_backlink("answers", "F2.p1")
    assert need._backlinks["answers"] == [NeedLink(id="F2"), NeedLink(id="F3"), NeedLink(id="F2", part="p1")]
    assert need._backlinks["on_file"] == []
    with pytest.raises(KeyError, match="nope"):
        need.add_backlink("nope", "F2")
    with pytest.raises(KeyError, match="nope"):
        speedups_applied["add_backlink"](need, "nope", "F2")


def test_build_backlinks_same_as_original_on_the_example_site(
        example_env: BuildEnvironment, built_example: Options, use_original_add_backlink: Callable[[], None]) -> None:
    data = SphinxNeedsData(example_env)
    needs = data.get_needs_mutable()
    schema = data.get_schema()
    assert len(needs) > 50
    replaced = run_build_backlinks(needs, schema)
    use_original_add_backlink()
    original = run_build_backlinks(needs, schema)
    assert total_links(original) > 100  # the example's domains alone get over a hundred
    assert replaced == original
    # the pickled environment holds the needs as read, before any back link: the input build_backlinks
    # gets; what it makes of it is what the example build wrote to needs.json (there after sort_links)
    assert total_links(backlinks_of(needs)) == 0
    built = json.loads((built_example.build_path / "needs.json").read_text(encoding="utf-8"))
    built_needs = built["versions"][example_env.config.version]["needs"]
    assert set(built_needs) == set(replaced)
    for key, lists in replaced.items():
        for link_type, part, ids in lists:
            if not part:
                assert sorted(ids) == sorted(built_needs[key][f"{link_type}_back"]), (key, link_type)


@pytest.fixture
def duplicate_links_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          speedups_applied: dict[str, Any]) -> tuple[dict[str, NeedItem], FieldsSchema, dict[str, Any]]:
    """The needs exactly as a real build hands them to ``build_backlinks``, for the duplicate-links page.

    The build's own call (inside sphinx-needs' ``resolve_functions``) is wrapped to copy its arguments.
    """
    captured: list[tuple[dict[str, NeedItem], FieldsSchema, dict[str, Any]]] = []
    real = need_directive.build_backlinks

    def capture(needs: dict[str, NeedItem], schema: FieldsSchema, **kwargs: Any) -> None:
        captured.append((copy.deepcopy(dict(needs)), schema, kwargs))
        real(needs, schema, **kwargs)

    monkeypatch.setattr(need_directive, "build_backlinks", capture)
    src = write_site(tmp_path / "src", {"index.md": DUPLICATE_LINKS_PAGE})
    _, warnings = build_in_process(src, tmp_path / "_build")
    monkeypatch.setattr(need_directive, "build_backlinks", real)
    assert "WARNING" not in warnings, warnings
    assert len(captured) == 1
    needs, schema, kwargs = captured[0]
    # the input does hold duplicate links, so de-duplication matters
    assert needs["F2"].get_links("answers") == ["Q1-1", "Q1-1"]
    assert needs["F3"].get_links("on_file") == ["FILE1", "FILE1.p1", "FILE1.p1"]
    return needs, schema, kwargs


@pytest.mark.slow
def test_build_backlinks_same_as_original_as_sets_with_duplicate_links(
        duplicate_links_input: tuple[dict[str, NeedItem], FieldsSchema, dict[str, Any]],
        use_original_add_backlink: Callable[[], None]) -> None:
    """Which needs link back, per need, link type and part, is the same (order and multiplicity aside)."""
    needs, schema, kwargs = duplicate_links_input
    replaced = run_build_backlinks(needs, schema, **kwargs)
    use_original_add_backlink()
    original = run_build_backlinks(needs, schema, **kwargs)
    assert original["Q1-1"][0] == ("answers", "", ["F2", "F3"])
    assert ("on_file", "", ["F10", "F2", "F3"]) in original["FILE1"]  # id order, compared as strings

    def as_sets(backlinks: Backlinks) -> dict[str, set[tuple[str, str, str]]]:
        return {key: {(t, p, i) for t, p, ids in lists for i in ids} for key, lists in backlinks.items()}

    assert as_sets(replaced) == as_sets(original)


@pytest.mark.slow
def test_build_backlinks_same_as_original_with_duplicate_links(
        duplicate_links_input: tuple[dict[str, NeedItem], FieldsSchema, dict[str, Any]],
        use_original_add_backlink: Callable[[], None]) -> None:
    needs, schema, kwargs = duplicate_links_input
    replaced = run_build_backlinks(needs, schema, **kwargs)
    use_original_add_backlink()
    original = run_build_backlinks(needs, schema, **kwargs)
    assert replaced == original


def test_build_backlinks_same_as_original_on_the_example_site_with_every_link_twice(
        example_env: BuildEnvironment, use_original_add_backlink: Callable[[], None]) -> None:
    data = SphinxNeedsData(example_env)
    needs = copy.deepcopy(data.get_needs_mutable())
    for need in needs.values():
        for link_type in list(need.iter_links_keys()):
            links = need.get_links(link_type)
            need[link_type] = links + links
    if sum(len(need.get_links("in_domain")) for need in needs.values()) < 200:
        pytest.fail("the links were not doubled")
    replaced = run_build_backlinks(needs, data.get_schema())
    use_original_add_backlink()
    original = run_build_backlinks(needs, data.get_schema())
    assert replaced == original


@pytest.mark.slow
def test_whole_build_same_back_links_and_needs_json_as_original(
        tmp_path: Path, speedups_applied: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """After the post-processing (sort_links) every back list and needs.json are the same."""
    src = write_site(tmp_path / "src", {"index.md": DUPLICATE_LINKS_PAGE})
    overrides = {"needs_reproducible_json": True}
    replaced_app, _ = build_in_process(src, tmp_path / "replaced", confoverrides=overrides)
    assert speedups.installed()
    # conf.py's switch: the build puts sphinx-needs' own functions back
    original_app, _ = build_in_process(src, tmp_path / "original",
                                       confoverrides={**overrides, "kbgen_speedups": False})
    assert NeedItem.add_backlink is speedups_applied["add_backlink"]
    assert NeedItem.sort_backlinks is speedups_applied["sort_backlinks"]
    assert NeedsList.write_json is speedups_applied["write_json"]

    replaced = backlinks_of(SphinxNeedsData(replaced_app.env).get_needs_mutable())
    original = backlinks_of(SphinxNeedsData(original_app.env).get_needs_mutable())
    assert replaced == original
    assert ("answers", "", ["F2", "F3"]) in original["Q1-1"]
    assert ("depends_on", "", ["F10"]) in original["F2"]
    replaced_json = (replaced_app.outdir / "needs.json").read_bytes()
    original_json = (original_app.outdir / "needs.json").read_bytes()
    assert replaced_json == original_json
    assert json.loads(original_json)["versions"][""]["needs"]["D-CORE"]["in_domain_back"] == \
        ["F2", "F3", "F10", "FILE1", "FILE2"]  # natural order


@pytest.mark.slow
def test_html_build_writes_the_same_needs_json_as_sphinx_needs(tmp_path: Path) -> None:
    """An HTML build's needs.json is written by kbgen one entry at a time (kbgen.sphinxext.needsjson):
    the bytes sphinx-needs' own handler writes with speedups off, parts and repeated links included."""
    src = write_site(tmp_path / "src", {"index.md": DUPLICATE_LINKS_PAGE})
    overrides = {"needs_reproducible_json": True}
    replaced_app, _ = build_in_process(src, tmp_path / "replaced", buildername="html", confoverrides=overrides)
    original_app, _ = build_in_process(src, tmp_path / "original", buildername="html",
                                       confoverrides={**overrides, "kbgen_speedups": False})
    replaced_json = (replaced_app.outdir / "needs.json").read_bytes()
    assert replaced_json == (original_app.outdir / "needs.json").read_bytes()
    stamp = json.loads((Path(replaced_app.doctreedir) / "kbgen-needs-json.json").read_text(encoding="utf-8"))
    assert [entry[0] for entry in stamp["entries"]] == sorted(json.loads(replaced_json)["versions"][""]["needs"])


# -- speedups: node_match, from_string ------------------------------------------------


def test_node_match_answers_as_the_original_on_every_node_of_the_example(
        built_example: Options, speedups_applied: dict[str, Any]) -> None:
    from docutils import nodes
    from sphinx import addnodes
    from sphinx_needs.nodes import Need

    pickles = sorted(doctrees_path(built_example).rglob("*.doctree"))
    assert len(pickles) > 10
    kinds: list[Any] = [Need, [Need], [nodes.table, addnodes.toctree, Need], [nodes.Text, nodes.Element]]
    matched = 0
    for path in pickles:
        tree = pickle.loads(path.read_bytes())
        for kind in kinds:
            replaced, original = speedups.node_match(kind), speedups_applied["node_match"](kind)
            answers = [(replaced(node), original(node)) for node in tree.findall()]
            assert all(mine == theirs for mine, theirs in answers)
            matched += sum(mine for mine, _ in answers)
    assert matched > 100
    assert needs_module.node_match is speedups.node_match  # what process_caller calls at run time


@pytest.mark.parametrize("text", [
    "meta_all(no_links=True, exclude=['layout', 'style'])", "meta('status', 'Status: ')",
    "meta_id()", "collapse_button('meta', collapsed='icon:arrow-down-circle', visible='icon:arrow-right-circle')",
    "copy(need.title, 1, [1, 'a', True])"])
def test_from_string_parses_once_as_the_original_and_hands_out_fresh_lists(
        text: str, speedups_applied: dict[str, Any]) -> None:
    allow = text.startswith("copy")
    original = speedups_applied["from_string"].__func__(DynamicFunctionParsed, text, allow_need=allow)
    first = DynamicFunctionParsed.from_string(text, allow_need=allow)
    second = DynamicFunctionParsed.from_string(text, allow_need=allow)
    assert first == original == second and type(first) is DynamicFunctionParsed
    for a, b in zip([*first.args, *(v for _, v in first.kwargs)], [*second.args, *(v for _, v in second.kwargs)],
                    strict=True):
        if isinstance(a, list):
            assert a is not b
            a.append("changed by a caller")  # meta_all extends its exclude list in place
    assert DynamicFunctionParsed.from_string(text, allow_need=allow) == original


def test_from_string_raises_as_the_original_every_time(speedups_applied: dict[str, Any]) -> None:
    for _ in range(2):
        with pytest.raises(FunctionParsingException):
            DynamicFunctionParsed.from_string("meta(")
        with pytest.raises(FunctionParsingException):
            DynamicFunctionParsed.from_string("copy(need.title)")  # need.* only with allow_need


# -- speedups: write_json ----------------------------------------------------------


#: Values whose encodings the C and the pure-Python JSON encoders must agree on.
AWKWARD_VALUES: dict[str, Any] = {
    "text": 'quotes " \\ / </script> \u00e9\u2014\u4e2d\U0001f642 \x00\x1f\x7f \u2028 \ud800',
    "numbers": [0, -1, 2**70, 0.1, 1e300, 1e-300, -0.0, 3.0, float("inf"), float("-inf"), float("nan")],
    "constants": [True, False, None],
    "nested": {"z": [[], {}, [{"b": 1, "a": (1, 2)}]], "a": "", "\u00e9": "non-ASCII key"},
    "int keys": {10: "ten", 2: "two", -1: "minus"},
}


def fill_needs_list(env: BuildEnvironment, outdir: Path, source: str, built: Options) -> NeedsList:
    """A NeedsList holding the example's needs (from its environment or its needs.json) and awkward values."""
    needs_list = NeedsList(env, outdir, outdir)
    version = env.config.version
    if source == "environment":
        data = SphinxNeedsData(env)
        needs = copy.deepcopy(data.get_needs_mutable())
        need_directive.build_backlinks(needs, data.get_schema())  # the post-processing's steps
        for need in needs.values():
            need.sort_links()
            needs_list.add_need(version, need)
    else:
        needs_list.load_json(str(built.build_path / "needs.json"))
    needs_list.needs_list["versions"]["awkward"] = {"needs": {"X1": dict(AWKWARD_VALUES)}}  # type: ignore[typeddict-item]
    return needs_list


@pytest.mark.parametrize("source", ["environment", "needs.json"])
def test_write_json_writes_the_same_bytes_as_the_original(
        source: str, example_env: BuildEnvironment, built_example: Options, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, speedups_applied: dict[str, Any]) -> None:
    monkeypatch.setattr(needsfile, "datetime", FrozenDatetime)
    for name in ("replaced", "original", "replaced-dir", "original-dir"):
        (tmp_path / name).mkdir()
    needs_list = fill_needs_list(example_env, tmp_path / "replaced", source, built_example)
    assert len(needs_list.needs_list["versions"][example_env.config.version]["needs"]) > 50

    speedups.write_json(needs_list)
    speedups.write_json(needs_list, "custom.json", str(tmp_path / "replaced-dir"))
    needs_list.outdir = tmp_path / "original"
    speedups_applied["write_json"](needs_list)
    speedups_applied["write_json"](needs_list, "custom.json", str(tmp_path / "original-dir"))

    replaced = (tmp_path / "replaced" / "needs.json").read_bytes()
    original = (tmp_path / "original" / "needs.json").read_bytes()
    assert replaced == original
    assert (tmp_path / "replaced-dir" / "custom.json").read_bytes() == original
    assert (tmp_path / "original-dir" / "custom.json").read_bytes() == original
    # _finalise ran: a full needs.json, with the build time only where needs_reproducible_json is off
    # (kbgen turns it on so the same pages give the same needs.json)
    assert b'"current_version": ""' in original
    stamped = b'"created": "2024-05-06T07:08:09.123456"' in original
    assert stamped is not bool(example_env.config.needs_reproducible_json)
    assert b"NaN" in original and b"\\ud800" in original and b"\\u00e9" in original


def test_write_json_overwrites_a_longer_file(example_env: BuildEnvironment, tmp_path: Path,
                                             speedups_applied: dict[str, Any]) -> None:
    target = tmp_path / "needs.json"
    target.write_text("x" * 10_000_000)
    needs_list = NeedsList(example_env, tmp_path, tmp_path)
    speedups.write_json(needs_list)
    assert json.loads(target.read_text())["project"] == example_env.config.project


# -- speedups: apply() on other versions -------------------------------------------


@pytest.fixture
def unpatched(monkeypatch: pytest.MonkeyPatch, speedups_applied: dict[str, Any]) -> dict[str, Any]:
    """sphinx-needs' own functions in place and nothing recorded, as in a fresh process.

    monkeypatch puts the replacements and the ORIGINALS dict back when the test ends.
    """
    monkeypatch.setattr(NeedItem, "add_backlink", speedups_applied["add_backlink"])
    monkeypatch.setattr(NeedItem, "sort_backlinks", speedups_applied["sort_backlinks"])
    monkeypatch.setattr(NeedsList, "write_json", speedups_applied["write_json"])
    monkeypatch.setattr(NeedItem, "__repr__", speedups_applied["__repr__"])
    monkeypatch.setattr(needs_module, "node_match", speedups_applied["node_match"])
    monkeypatch.setattr(DynamicFunctionParsed, "from_string", speedups_applied["from_string"])
    for name in ("add_need", "remove_need", "remove_doc"):
        monkeypatch.setattr(SphinxNeedsData, name, speedups_applied[name])
    monkeypatch.setattr(NeedItem, "sort_links", speedups_applied["sort_links"])
    monkeypatch.setattr(speedups, "ORIGINALS", {})
    return speedups_applied


@pytest.mark.parametrize("version", ["8.0.0", "9.0.1", "9.1", "9.2.0", "9.1.0rc1", "10.0.0", "90.1", "", "unknown"])
def test_apply_patches_nothing_on_other_sphinx_needs_versions(
        version: str, unpatched: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sphinx_needs, "__version__", version)
    assert speedups.applies() is False
    assert speedups.apply() is False
    assert NeedItem.add_backlink is unpatched["add_backlink"]
    assert NeedsList.write_json is unpatched["write_json"]
    assert NeedItem.__repr__ is unpatched["__repr__"]
    assert needs_module.node_match is unpatched["node_match"]
    assert DynamicFunctionParsed.__dict__["from_string"] is unpatched["from_string"]
    assert SphinxNeedsData.remove_doc is unpatched["remove_doc"]
    assert NeedItem.sort_links is unpatched["sort_links"]
    assert speedups.ORIGINALS == {}


def test_apply_patches_nothing_without_sort_backlinks(unpatched: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sphinx_needs, "__version__", "9.1.0")
    monkeypatch.delattr(NeedItem, "sort_backlinks")
    assert speedups.apply() is False
    assert NeedItem.add_backlink is unpatched["add_backlink"]
    assert NeedsList.write_json is unpatched["write_json"]
    assert speedups.ORIGINALS == {}


def test_apply_patches_a_9x_version_from_scratch(unpatched: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sphinx_needs, "__version__", "9.0.0")
    assert speedups.apply() is True
    assert NeedItem.add_backlink is speedups.add_backlink
    assert NeedsList.write_json is speedups.write_json
    recorded = speedups.ORIGINALS
    assert recorded == {"add_backlink": unpatched["add_backlink"], "sort_backlinks": unpatched["sort_backlinks"],
                        "write_json": unpatched["write_json"], "__repr__": unpatched["__repr__"],
                        "node_match": unpatched["node_match"], "from_string": unpatched["from_string"],
                        "add_need": unpatched["add_need"], "remove_need": unpatched["remove_need"],
                        "remove_doc": unpatched["remove_doc"], "sort_links": unpatched["sort_links"]}
    assert NeedItem.__repr__ is speedups.need_repr
    assert NeedItem.sort_links is speedups.sort_links
    assert SphinxNeedsData.remove_doc is speedups.remove_doc
    assert needs_module.node_match is speedups.node_match


def test_state_restored_after_the_version_tests(speedups_applied: dict[str, Any]) -> None:
    """Runs after the tests above (file order): the monkeypatched state did not leak."""
    assert speedups.ORIGINALS["add_backlink"].__module__ == "sphinx_needs.need_item"
    assert str(sphinx_needs.__version__) in speedups.TESTED_SPHINX_NEEDS
    assert hasattr(NeedItem, "sort_backlinks")


def doctree_cache_after_reading(src: Path, builddir: Path) -> list[int]:
    """Sizes of Sphinx's write-phase doctree cache once reading is done, after kbgen's listeners."""
    sizes: list[int] = []

    def record(app: Sphinx, env: BuildEnvironment) -> list[str]:
        sizes.append(len(getattr(env, "_write_doc_doctree_cache", {})))
        return []

    build_in_process(src, builddir, connect=lambda app: app.connect("env-updated", record, priority=1000))
    return sizes


@pytest.mark.slow
def test_untested_versions_build_without_the_changes_and_say_so_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, speedups_applied: dict[str, Any]) -> None:
    src = write_site(tmp_path / "src", {"index.md": DUPLICATE_LINKS_PAGE})
    with monkeypatch.context() as big:  # a build reading more pages than kbgen keeps in memory
        big.setattr(gcpolicy, "KEEP_DOCTREES_MAX", 0)
        assert doctree_cache_after_reading(src, tmp_path / "tested") == [0]  # emptied as reading goes
    monkeypatch.setattr(sphinx_needs, "__version__", "9.2.0")
    monkeypatch.setattr(speedups.sphinx, "__version__", "9.9.9")
    status = StringIO()
    app = SphinxTestApp("dummy", srcdir=src, builddir=tmp_path / "untested", status=status, warning=StringIO())
    try:
        assert not speedups.installed()
        assert NeedItem.add_backlink is speedups_applied["add_backlink"]
    finally:
        app.cleanup()
    lines = [line for line in status.getvalue().splitlines() if line.startswith("kbgen:")]
    assert len(lines) == 1, lines
    assert "sphinx-needs 9.2.0 (tested: 9.0.0, 9.1.0)" in lines[0] and "Sphinx 9.9.9" in lines[0]
    assert doctree_cache_after_reading(src, tmp_path / "untested-build") == [1]  # Sphinx's own behaviour


@pytest.mark.slow
def test_a_small_build_keeps_its_doctrees_for_writing_and_writes_the_same_pages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to KEEP_DOCTREES_MAX pages read, the doctrees stay in Sphinx's cache for the write phase
    (no unpickling them again); above it they are loaded from their pickles. Same HTML either way."""
    pages = {"index.md": DUPLICATE_LINKS_PAGE + "\n```{toctree}\nother\n```\n",
             "other.md": "# Other\n\nSee [the parser](#need-FILE1) and {need}`FILE2`.\n"}
    src = write_site(tmp_path / "src", pages)
    assert doctree_cache_after_reading(src, tmp_path / "kept") == [2]
    with monkeypatch.context() as big:
        big.setattr(gcpolicy, "KEEP_DOCTREES_MAX", 1)
        assert doctree_cache_after_reading(src, tmp_path / "emptied") == [0]
    sizes = sorted((tmp_path / "kept" / "doctrees" / f"{name}.doctree").stat().st_size for name in ("index", "other"))
    with monkeypatch.context() as small:  # a budget for one of the two pickles: the older one goes
        small.setattr(gcpolicy, "KEEP_DOCTREES_BYTES", sizes[1])
        assert doctree_cache_after_reading(src, tmp_path / "trimmed") == [1]
        small.setattr(gcpolicy, "KEEP_DOCTREES_BYTES", 0)
        assert doctree_cache_after_reading(src, tmp_path / "none-kept") == [0]
    kept, _ = build_in_process(src, tmp_path / "kept-html", buildername="html")
    with monkeypatch.context() as big:
        big.setattr(gcpolicy, "KEEP_DOCTREES_MAX", 1)
        emptied, _ = build_in_process(src, tmp_path / "emptied-html", buildername="html")
    assert 'href="index.html#FILE1"' in (Path(kept.outdir) / "other.html").read_text(encoding="utf-8")
    for name in ("index.html", "other.html"):
        assert (Path(kept.outdir) / name).read_bytes() == (Path(emptied.outdir) / name).read_bytes()


@pytest.mark.slow
def test_a_full_build_keeps_no_pickled_doctrees_once_written_and_writes_the_same_pages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sphinx keeps the bytes of every doctree it loads for writing; kbgen lets each go once the
    page is resolved, so a full build does not end up holding the whole doctree folder."""
    pages = {"index.md": DUPLICATE_LINKS_PAGE + "\n```{toctree}\nother\n```\n",
             "other.md": "# Other\n\nSee [the parser](#need-FILE1) and {need}`FILE2`.\n"}
    src = write_site(tmp_path / "src", pages)
    monkeypatch.setattr(gcpolicy, "KEEP_DOCTREES_MAX", 0)  # a full build: every doctree loaded from its pickle
    held: dict[str, list[int]] = {}

    def recorder(name: str) -> Callable[[Sphinx], None]:
        def connect(app: Sphinx) -> None:
            def load_from_pickles(app: Sphinx, env: BuildEnvironment) -> list[str]:
                env._write_doc_doctree_cache.clear()  # as kbgen's full build does (speedups off: not done)
                return []

            def record(app: Sphinx, exception: BaseException | None) -> None:
                held.setdefault(name, []).append(len(app.env._pickled_doctree_cache))
            app.connect("env-updated", load_from_pickles, priority=1000)
            app.connect("build-finished", record)
        return connect

    kbgen_app, _ = build_in_process(src, tmp_path / "kbgen", buildername="html", connect=recorder("kbgen"))
    sphinx_app, _ = build_in_process(src, tmp_path / "sphinx", buildername="html", connect=recorder("sphinx"),
                                     confoverrides={"kbgen_speedups": False})
    assert held == {"kbgen": [0], "sphinx": [2]}
    for name in ("index.html", "other.html"):
        assert (Path(kbgen_app.outdir) / name).read_bytes() == (Path(sphinx_app.outdir) / name).read_bytes()


@pytest.mark.slow
def test_a_full_build_collects_the_oldest_generation_less_often_and_puts_the_thresholds_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_site(tmp_path / "src", GC_PAGES)
    monkeypatch.setenv(gcbudget.BUDGET_ENV, "0")  # the small build's own pacing (tests/test_gcbudget.py)
    before = gc.get_threshold()
    assert before[2] != gcbudget.FULL_BUILD_THRESHOLD2
    seen: dict[str, list[tuple[int, int, int]]] = {}

    def recorder(name: str) -> Callable[[Sphinx], None]:
        def connect(app: Sphinx) -> None:
            def record(app: Sphinx, *args: Any) -> None:
                seen.setdefault(name, []).append(gc.get_threshold())
            app.connect("source-read", record)
            app.connect("doctree-resolved", record)
        return connect

    build_in_process(src, tmp_path / "small", buildername="html", connect=recorder("small"))
    with monkeypatch.context() as big:  # more pages than kbgen keeps doctrees for: a full build
        big.setattr(gcpolicy, "KEEP_DOCTREES_MAX", 1)
        build_in_process(src, tmp_path / "full", buildername="html", connect=recorder("full"))
        build_in_process(src, tmp_path / "off", buildername="html", connect=recorder("off"),
                         confoverrides={"kbgen_speedups": False})
    assert set(seen["small"]) == {before} and set(seen["off"]) == {before}
    assert set(seen["full"]) == {(before[0], before[1], gcbudget.FULL_BUILD_THRESHOLD2)}
    assert len(seen["full"]) == 4  # two pages read, two written
    assert gc.get_threshold() == before
    for name in ("index.html", "other.html"):
        assert (tmp_path / "full" / "html" / name).read_bytes() == (tmp_path / "off" / "html" / name).read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("freeze_every", [1, 100])
def test_a_full_build_frees_the_doctrees_it_read_before_freezing_the_environment(
        freeze_every: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The doctrees read are garbage (cycles) once pickled; frozen with the environment they would
    stay in memory to the end of the build. Also when reading freezes between pages."""
    import weakref

    src = write_site(tmp_path / "src", GC_PAGES)
    monkeypatch.setattr(gcpolicy, "KEEP_DOCTREES_MAX", 1)
    monkeypatch.setattr(gcbudget, "FREEZE_EVERY_PAGES", freeze_every)
    read: list[weakref.ref[Any]] = []
    alive_when_writing: list[int] = []

    def connect(app: Sphinx) -> None:
        def remember(app: Sphinx, doctree: Any) -> None:
            read.append(weakref.ref(doctree))

        def count(app: Sphinx, doctree: Any, docname: str) -> None:
            alive_when_writing.append(sum(ref() is not None for ref in read))
        app.connect("doctree-read", remember)
        app.connect("doctree-resolved", count)

    build_in_process(src, tmp_path / "full", buildername="html", connect=connect)
    assert len(read) == 2
    assert alive_when_writing == [0, 0]


def test_no_info_line_on_tested_versions_or_with_speedups_off(tmp_path: Path) -> None:
    src = write_site(tmp_path / "src", {"index.md": "# Tiny\n"})
    for name, overrides in (("on", {}), ("off", {"kbgen_speedups": False})):
        status = StringIO()
        app = SphinxTestApp("dummy", srcdir=src, builddir=tmp_path / name, status=status, warning=StringIO(),
                            confoverrides=overrides)
        app.cleanup()
        assert "kbgen:" not in status.getvalue()


# -- gcpolicy -------------------------------------------------------------------------------------


@pytest.fixture
def no_frozen_objects() -> Iterator[None]:
    """The tests below measure the permanent generation: it must start empty, and end empty."""
    assert gc.get_freeze_count() == 0, "something froze the GC before this test"
    yield
    frozen = gc.get_freeze_count()
    gc.unfreeze()  # do not leave a frozen process to the other tests
    assert frozen == 0


GC_PAGES = {
    "index.md": "# Home\n\n```{toctree}\nother\n```\n\n:::{finding} A finding\n:id: F1\n:::\n",
    "other.md": "# Other\n\n:::{file} a.rs\n:id: FILE1\n:::\n\n"
                ":::{finding} Another\n:id: F2\n:on_file: FILE1\n:depends_on: F1\n:::\n",
}


@pytest.mark.slow
def test_gc_frozen_while_building_and_unfrozen_after(tmp_path: Path, no_frozen_objects: None) -> None:
    seen: dict[str, list[int]] = {}

    def record(event: str) -> Callable[..., None]:
        def listener(app: Sphinx, *args: Any) -> None:
            seen.setdefault(event, []).append(gc.get_freeze_count())
        return listener

    def connect(app: Sphinx) -> None:
        app.connect("env-before-read-docs", record("env-before-read-docs, before kbgen"), priority=0)
        app.connect("env-before-read-docs", record("env-before-read-docs, after kbgen"), priority=2)
        app.connect("source-read", record("source-read"))
        app.connect("env-updated", record("env-updated"), priority=1000)
        app.connect("doctree-resolved", record("doctree-resolved"))
        app.connect("build-finished", record("build-finished, before kbgen"), priority=9_999)
        app.connect("build-finished", record("build-finished, after kbgen"), priority=10_001)

    src = write_site(tmp_path / "src", GC_PAGES)
    build_in_process(src, tmp_path / "_build", connect=connect)
    # frozen once the (fresh) environment is there, before reading (no runner here: nothing earlier)
    assert seen["env-before-read-docs, before kbgen"] == [0]
    assert seen["env-before-read-docs, after kbgen"][0] > 0
    assert len(seen["source-read"]) == 2 and min(seen["source-read"]) > 0
    # the second freeze takes in what reading created: the doctrees, the needs
    assert seen["env-updated"][0] > max(seen["source-read"])
    assert len(seen["doctree-resolved"]) == 2 and min(seen["doctree-resolved"]) > 0
    assert seen["build-finished, before kbgen"][0] > 0
    assert seen["build-finished, after kbgen"] == [0]
    assert gc.get_freeze_count() == 0


@pytest.mark.slow
@pytest.mark.parametrize("event", ["source-read", "doctree-resolved", "env-check-consistency"])
def test_gc_unfrozen_after_a_failed_build(event: str, tmp_path: Path, no_frozen_objects: None) -> None:
    frozen_when_failing: list[int] = []

    def fail(app: Sphinx, *args: Any) -> None:
        frozen_when_failing.append(gc.get_freeze_count())
        raise RuntimeError("kbgen test: this build fails")

    src = write_site(tmp_path / "src", GC_PAGES)
    with pytest.raises(ExtensionError) as raised:  # Sphinx wraps a listener's error
        build_in_process(src, tmp_path / "_build", connect=lambda app: app.connect(event, fail))
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert str(raised.value.__cause__) == "kbgen test: this build fails"
    assert frozen_when_failing and frozen_when_failing[0] > 0
    assert gc.get_freeze_count() == 0


def test_gc_setup_listens_on_the_documented_events() -> None:
    """The priorities decide what is frozen: first before reading, last after it; unfrozen last."""
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[str, int]] = []

        def connect(self, event: str, callback: Callable[..., Any], priority: int = 500) -> int:
            self.calls.append((event, priority))
            return len(self.calls)

    recorder = Recorder()
    gcpolicy.setup(recorder)  # type: ignore[arg-type]
    calls = dict(recorder.calls)
    assert {"config-inited", "builder-inited", "env-before-read-docs", "env-updated", "build-finished"} <= set(calls)
    assert calls["env-before-read-docs"] < 500 < calls["env-updated"] < calls["build-finished"]
    assert calls["config-inited"] > 500  # after kbgen's own configuration (and most others')


#: conf.py of the start-up probe: listeners on the events before a test can connect its own,
#: recording (collector on?, frozen objects) into the ``kbgen_gc_probe`` module.
PROBE_CONF = CONF + """
import gc
import kbgen_gc_probe

def setup(app):
    def probe(name):
        def listener(app, *args):
            kbgen_gc_probe.SEEN[name] = (gc.isenabled(), gc.get_freeze_count())
        return listener
    app.connect("config-inited", probe("config-inited, after kbgen"), priority=901)
    app.connect("builder-inited", probe("builder-inited, before kbgen"), priority=0)
    app.connect("builder-inited", probe("builder-inited, after kbgen"), priority=2)
"""


@pytest.fixture
def gc_probe() -> Iterator[dict[str, tuple[bool, int]]]:
    probe = types.ModuleType("kbgen_gc_probe")
    seen: dict[str, tuple[bool, int]] = {}
    probe.SEEN = seen  # type: ignore[attr-defined]
    sys.modules["kbgen_gc_probe"] = probe
    try:
        yield seen
    finally:
        del sys.modules["kbgen_gc_probe"]


def build_with_runner(srcdir: Path, outdir: Path, *args: str) -> int:
    """A build through the runner ``kbgen build`` starts, in this process (no ``os._exit``)."""
    from kbgen.sphinxext.main import main

    return main(["-b", "dummy", "-q", *args, str(srcdir), str(outdir)])


@pytest.mark.slow
@pytest.mark.parametrize("fresh", [False, True], ids=["incremental", "fresh"])
def test_gc_off_while_the_runner_loads_the_environment(fresh: bool, tmp_path: Path, no_frozen_objects: None,
                                                       gc_probe: dict[str, tuple[bool, int]]) -> None:
    """The pickled environment is loaded with the collector off; it is frozen, then the collector is on."""
    src = write_site(tmp_path / "src", GC_PAGES, conf=PROBE_CONF)
    assert build_with_runner(src, tmp_path / "_build") == 0  # leaves an environment to load
    gc_probe.clear()
    assert gc.isenabled()
    assert build_with_runner(src, tmp_path / "_build", *(["-E"] if fresh else [])) == 0
    assert gc_probe["config-inited, after kbgen"] == (False, 0)
    assert gc_probe["builder-inited, before kbgen"] == (False, 0)
    enabled, frozen = gc_probe["builder-inited, after kbgen"]
    assert enabled and frozen > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert not gcpolicy.PROCESS.paused


@pytest.mark.slow
def test_gc_never_paused_in_a_build_the_runner_does_not_own(tmp_path: Path, no_frozen_objects: None,
                                                            gc_probe: dict[str, tuple[bool, int]]) -> None:
    """A build in someone else's process (tests, plain sphinx-build) keeps the collector on: nothing
    could turn it back on if the start-up failed."""
    src = write_site(tmp_path / "src", GC_PAGES, conf=PROBE_CONF)
    build_in_process(src, tmp_path / "_build")
    assert gc_probe["config-inited, after kbgen"] == (True, 0)
    assert gc_probe["builder-inited, after kbgen"] == (True, 0)
    assert gc.isenabled() and gc.get_freeze_count() == 0


#: conf.py of a site whose builder fails to initialise (after config-inited, before builder-inited).
BROKEN_BUILDER_CONF = 'extensions = ["kbgen.sphinxext", "kbgen_broken_builder"]\nproject = "t"\n'


@pytest.fixture
def broken_builder_extension() -> Iterator[None]:
    """An extension (a builder must come from one, not from conf.py) whose builder's init raises."""
    from sphinx.builders.dummy import DummyBuilder

    class BrokenBuilder(DummyBuilder):
        name = "broken"

        def init(self) -> None:
            raise RuntimeError("kbgen-test: the builder cannot start")

    module = types.ModuleType("kbgen_broken_builder")
    module.setup = lambda app: app.add_builder(BrokenBuilder)  # type: ignore[attr-defined]
    sys.modules["kbgen_broken_builder"] = module
    try:
        yield
    finally:
        del sys.modules["kbgen_broken_builder"]


def test_gc_back_on_when_the_builder_fails_to_start(tmp_path: Path, no_frozen_objects: None,
                                                     broken_builder_extension: None) -> None:
    src = write_site(tmp_path / "src", GC_PAGES, conf=BROKEN_BUILDER_CONF)
    # In a process kbgen does not own: the collector was never paused (it used to stay off here).
    with pytest.raises(RuntimeError, match="the builder cannot start"):
        SphinxTestApp("broken", srcdir=src, builddir=tmp_path / "direct", status=StringIO(), warning=StringIO())
    assert gc.isenabled()
    # Through the runner: paused for the start-up, back on although builder-inited never came.
    from kbgen.sphinxext.main import main

    assert main(["-b", "broken", "-q", str(src), str(tmp_path / "runner")]) == 2
    assert gc.isenabled()
    assert not gcpolicy.PROCESS.paused
    assert gc.get_freeze_count() == 0


@pytest.mark.slow
def test_speedups_off_leave_the_collector_alone(tmp_path: Path, no_frozen_objects: None,
                                                gc_probe: dict[str, tuple[bool, int]]) -> None:
    """``kbgen_speedups = False``: no pause (back on at config-inited), no freeze, a normal exit."""
    src = write_site(tmp_path / "src", GC_PAGES, conf=PROBE_CONF + "kbgen_speedups = False\n")
    frozen: list[int] = []
    assert build_with_runner(src, tmp_path / "_build") == 0
    assert gc_probe["config-inited, after kbgen"] == (True, 0)
    assert gc_probe["builder-inited, after kbgen"] == (True, 0)
    assert not gcpolicy.PROCESS.fast_exit
    build_in_process(src, tmp_path / "_build2", connect=lambda app: app.connect(
        "doctree-resolved", lambda app, *args: frozen.append(gc.get_freeze_count())))
    assert frozen and set(frozen) == {0}
    assert not speedups.installed()
    gcpolicy.PROCESS.fast_exit = True


@pytest.mark.slow
def test_gc_left_alone_when_the_caller_turned_it_off(tmp_path: Path, no_frozen_objects: None) -> None:
    src = write_site(tmp_path / "src", GC_PAGES)
    gc.disable()
    try:
        build_in_process(src, tmp_path / "_build")
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- main -------------------------------------------------------------------------------------


def run_sphinx_main(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m kbgen.sphinxext.main ARGS`` with both streams on pipes, block-buffered as in ``kbgen build``."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)  # (set in some CI and dev shells) it would hide a missing flush
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "kbgen.sphinxext.main", "--no-color", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_sphinx_main_builds_a_site(tmp_path: Path) -> None:
    src = write_site(tmp_path / "src", {"index.md": "# Tiny\n\nHello from the tiny site.\n"})
    out = tmp_path / "out"
    result = run_sphinx_main("-b", "html", "-d", tmp_path / "doctrees", src, out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Hello from the tiny site." in (out / "index.html").read_text(encoding="utf-8")
    assert (out / "needs.json").is_file()  # kbgen's extension was loaded
    # stdout is a pipe (block-buffered): its last lines reach us only if flushed before os._exit
    assert "build succeeded" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("The HTML pages are in")


#: conf.py of a site whose last words are written after Sphinx's own, with no newline, no flush.
LAST_WORDS_CONF = CONF + """
import sys

def _last_words(app, exception):
    print("kbgen-test: last words on stdout", end="")
    sys.stderr.write("kbgen-test: last words on stderr")

def setup(app):
    app.connect("build-finished", _last_words, priority=100_000)
"""


@pytest.mark.slow
def test_sphinx_main_flushes_both_streams_before_exiting(tmp_path: Path) -> None:
    src = write_site(tmp_path / "src", {"index.md": "# Tiny\n"}, conf=LAST_WORDS_CONF)
    result = run_sphinx_main("-q", "-b", "dummy", src, tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("kbgen-test: last words on stdout")
    assert result.stderr.endswith("kbgen-test: last words on stderr")


def test_sphinx_main_reports_a_broken_conf_py(tmp_path: Path) -> None:
    src = write_site(tmp_path / "src", {"index.md": "# Tiny\n"},
                     conf=CONF + 'raise RuntimeError("kbgen-test: conf.py is broken")\n')
    result = run_sphinx_main("-b", "html", src, tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 2
    assert "kbgen-test: conf.py is broken" in result.stderr
    assert not (tmp_path / "out" / "index.html").exists()


@pytest.mark.slow
def test_sphinx_main_exit_code_with_warnings_as_errors(tmp_path: Path) -> None:
    src = write_site(tmp_path / "src", {"index.md": "# Tiny\n", "orphan.md": "# Not in any toctree\n"})
    lenient = run_sphinx_main("-b", "dummy", src, tmp_path / "lenient", cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stderr
    assert "isn't included in any toctree" in lenient.stderr
    strict = run_sphinx_main("-b", "dummy", "-W", src, tmp_path / "strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert "isn't included in any toctree" in strict.stderr
    assert "build finished with problems" in strict.stdout


@pytest.mark.slow
def test_sphinx_main_main_returns_the_exit_code_in_process(tmp_path: Path) -> None:
    """``main`` itself only returns (the os._exit is in the ``__main__`` block)."""
    from kbgen.sphinxext.main import main

    src = write_site(tmp_path / "src", {"index.rst": "Tiny\n====\n"}, conf='project = "t"\n')
    assert main(["-b", "dummy", "-q", str(src), str(tmp_path / "out")]) == 0
    assert main(["-b", "no-such-builder", "-q", str(src), str(tmp_path / "out2")]) == 2


# -- speedups inside Sphinx: IndexBuilder.prune -------------------------------------


@pytest.fixture
def sphinx_speedups_kept() -> Iterator[None]:
    """Whether Sphinx's prune is replaced is process state: each test leaves it as it found it."""
    before = IndexBuilder.prune is speedups.prune
    yield
    if before:
        speedups.apply_sphinx()
    else:
        speedups.remove_sphinx()


def _example_indexer(env: BuildEnvironment, site: Path) -> IndexBuilder:
    indexer = IndexBuilder(env, "en", {}, None)
    with (site / "searchindex.js").open(encoding="utf-8") as handle:
        indexer.load(handle, js_index)
    assert len(indexer._titles) > 50 and indexer._mapping
    return indexer


@pytest.mark.parametrize("kind", ["dict", "set", "list", "generator"])
def test_prune_keeps_what_sphinx_keeps(kind: str, example_env: BuildEnvironment, built_example: Options,
                                       sphinx_speedups_kept: None) -> None:
    """The example site's index pruned to all documents but a few, given as the HTML builder gives
    them (the environment's ``all_docs`` dictionary, a set) or otherwise: the same index (the bytes of
    a dumped index: the next test)."""
    assert speedups.apply_sphinx(), "this Sphinx is not a checked version"
    original = speedups.SPHINX_ORIGINALS["prune"]
    indexer = _example_indexer(example_env, built_example.build_path)
    names = sorted(indexer._titles)
    kept = {name: None for name in names[::-1] if name not in names[3:9]}  # reversed: order matters for titles

    def given() -> Any:
        return {"dict": lambda: dict(kept), "set": lambda: set(kept), "list": lambda: list(kept),
                "generator": lambda: list(kept)}[kind]()

    replaced, reference = indexer, _example_indexer(example_env, built_example.build_path)
    replaced.prune(iter(given()) if kind == "generator" else given())
    original(reference, given())
    assert IndexBuilder.prune is speedups.prune
    assert list(replaced._titles) == list(reference._titles)
    assert replaced._mapping == reference._mapping and replaced._title_mapping == reference._title_mapping
    assert replaced._all_titles == reference._all_titles and replaced._filenames == reference._filenames
    assert list(replaced._all_titles) == list(reference._all_titles)  # freeze() reads them in this order
    assert set(reference._titles) == set(kept) and len(reference._titles) < len(names)


def test_apply_sphinx_replaces_nothing_on_other_sphinx_versions(monkeypatch: pytest.MonkeyPatch,
                                                                sphinx_speedups_kept: None) -> None:
    speedups.apply_sphinx()
    original = speedups.SPHINX_ORIGINALS["prune"]
    monkeypatch.setattr(sphinx, "__version__", "9.9.9")
    assert speedups.apply_sphinx() is False
    assert IndexBuilder.prune is original


@pytest.mark.slow
def test_html_build_writes_the_same_search_index_as_sphinx(tmp_path: Path, sphinx_speedups_kept: None) -> None:
    """Two HTML builds of the same pages, then one page edited: with the speedups and without
    (``kbgen_speedups = False``), searchindex.js is the same bytes after each."""
    src = write_site(tmp_path / "src", {"index.md": DUPLICATE_LINKS_PAGE,
                                        "other.md": "# Other page\n\nSome searchable words here.\n"})
    outputs: dict[bool, list[bytes]] = {}
    for on in (True, False):
        overrides = {"needs_reproducible_json": True, "kbgen_speedups": on}
        out = tmp_path / ("replaced" if on else "original")
        app, _ = build_in_process(src, out, buildername="html", confoverrides=overrides)
        assert (IndexBuilder.prune is speedups.prune) is on
        first = (app.outdir / "searchindex.js").read_bytes()
        page = src / "other.md"
        time.sleep(0.05)  # a later modification time than the first build's reading of the page
        page.write_text("# Other page\n\nOther words now.\n", encoding="utf-8")
        app, _ = build_in_process(src, out, buildername="html", confoverrides=overrides, freshenv=False)
        outputs[on] = [first, (app.outdir / "searchindex.js").read_bytes()]
        page.write_text("# Other page\n\nSome searchable words here.\n", encoding="utf-8")
    assert outputs[True] == outputs[False]
    # The edited page's old words pruned (Sphinx keeps a word with no document left).
    assert b'"searchabl":1' in outputs[True][0] and b'"searchabl":[]' in outputs[True][1]


# -- speedups: remove_doc through the index of needs by page -------------------------------------


def _fresh_env(built: Options) -> BuildEnvironment:
    with (doctrees_path(built) / "environment.pickle").open("rb") as handle:
        env = pickle.load(handle)
    env._needs_is_post_processed = False  # as during reading, when pages are purged
    return env


def _on_page(need: NeedItem, page: str) -> NeedItem:
    """A copy of ``need`` read from ``page``."""
    moved = copy.copy(need)
    moved._source = dataclasses.replace(need._source, docname=page)
    assert moved.is_in_document(page) and need.is_in_document(need["docname"])
    return moved


def _needs_state(env: BuildEnvironment) -> tuple[Any, ...]:
    data = SphinxNeedsData(env)
    return (list(data.get_needs_mutable()), sorted(getattr(env, "_needs_all_nodes", {})),
            data.get_or_create_docs(), dict(data.get_or_create_extends()), dict(data.get_or_create_umls()))


def test_remove_doc_removes_what_sphinx_needs_removes(built_example: Options,
                                                      speedups_applied: dict[str, Any]) -> None:
    """Pages purged twice each (as an incremental build does), with needs added, overwritten and
    removed in between: the same needs, need nodes and page lists as sphinx-needs' own functions."""
    envs = {"replaced": _fresh_env(built_example), "original": _fresh_env(built_example)}
    needs = SphinxNeedsData(envs["original"]).get_needs_mutable()
    pages = sorted({need["docname"] for need in needs.values()})
    assert len(pages) > 20 and len(needs) > 50
    purged = [*pages[::5], "no/such/page"]
    before = len(needs)
    moved = copy.copy(needs[next(i for i, n in needs.items() if n["docname"] == pages[1])])
    gone = next(i for i, n in needs.items() if n["docname"] == pages[3])  # removed on its own
    for name, env in envs.items():
        data = SphinxNeedsData(env)
        calls = speedups_applied if name == "original" else {
            "add_need": speedups.add_need, "remove_need": speedups.remove_need, "remove_doc": speedups.remove_doc}
        for page in purged:  # kbgen's purge of every page read first
            calls["remove_doc"](data, page)
        for page in purged:  # then Sphinx's own, page by page, each read after it is purged
            calls["remove_doc"](data, page)
            if page == purged[2]:
                # a need read into this page, with the ID of one of pages[1]'s (it replaces that one)
                fresh = _on_page(moved, page)
                calls["add_need"](data, fresh)
                calls["remove_need"](data, gone)
        calls["remove_doc"](data, purged[2])  # the need read into it goes again
        calls["remove_doc"](data, pages[1])   # the replaced need is no longer of this page: kept
    replaced, original = _needs_state(envs["replaced"]), _needs_state(envs["original"])
    assert replaced == original
    assert moved["id"] not in original[0]  # read into purged[2], then purged with it
    assert gone not in original[0]
    assert len(original[0]) < before - len(purged) + 2  # the needs of the purged pages are gone


def test_remove_doc_indexes_again_after_a_change_it_did_not_see(built_example: Options,
                                                                speedups_applied: dict[str, Any]) -> None:
    """A need put in the dictionary without ``add_need`` changes its size: the index is made again."""
    env = _fresh_env(built_example)
    data = SphinxNeedsData(env)
    needs = data.get_needs_mutable()
    page = sorted({need["docname"] for need in needs.values()})[0]
    speedups.remove_doc(data, "no/such/page")  # the index made
    stray_id, stray = next((i, n) for i, n in needs.items() if n["docname"] != page)
    needs["STRAY-1"] = _on_page(stray, page)
    speedups.remove_doc(data, page)
    assert "STRAY-1" not in needs and stray_id in needs
    assert not any(need.is_in_document(page) for need in needs.values())


# -- speedups: sort_links, the shared need links, the need-node cache ------------------------------


def _link_lists(needs: dict[str, NeedItem]) -> dict[str, list[tuple[str, list[str]]]]:
    """Every link, back link and part back list of every need, in stored order, links with their conditions."""
    result: dict[str, list[tuple[str, list[str]]]] = {}
    for key, need in needs.items():
        lists = [(f"links {t}", [li.to_link_string() for li in v]) for t, v in need._links.items()]
        lists += [(f"back {t}", [li.to_link_string() for li in v]) for t, v in need._backlinks.items()]
        for part in need.parts:
            lists += [(f"part {part.id} {t}", [li.to_link_string() for li in v]) for t, v in part.backlinks.items()]
        result[key] = lists
    return result


def test_sort_links_same_as_original_on_the_example_site(
        example_env: BuildEnvironment, speedups_applied: dict[str, Any]) -> None:
    """Every need of the example, with its back links built and awkward links added (conditions,
    repeats, parts, ids whose natural and string orders differ, ids differing only in case or
    leading zeros): the same lists, in the same order, as sphinx-needs' own ``sort_links``."""
    data = SphinxNeedsData(example_env)
    needs = copy.deepcopy(data.get_needs_mutable())
    need_directive.build_backlinks(needs, data.get_schema())
    target = next(need for need in needs.values() if need.get_links("in_domain"))
    awkward = ["F10", "F2", "F2", "F02", "f2", "R_2[status == 'open']", "R_2", "R_2[status == 'closed']",
               "R_2.p1", "R_2.p1[x]", "F2", "", "A10b", "A9b", "a10B"]
    target._links["in_domain"] += [NeedLink.from_string(text) for text in awkward]
    target._backlinks["in_domain"] += [NeedLink.from_string(text) for text in reversed(awkward)]
    one_part = next((need for need in needs.values() if list(need.parts)), None)
    if one_part is not None:
        part = next(iter(one_part.parts))
        part.backlinks.setdefault("depends_on", []).extend(NeedLink(id=i) for i in ("F10", "F9", "F10", "F1"))
    original_needs = copy.deepcopy(needs)
    assert sum(len(v) for need in needs.values() for v in need._backlinks.values()) > 100
    for need in original_needs.values():
        speedups_applied["sort_links"](need)
    for need in needs.values():
        need.sort_links()
    assert NeedItem.sort_links is speedups.sort_links
    assert _link_lists(needs) == _link_lists(original_needs)
    sorted_awkward = target._links["in_domain"]
    assert [li.to_link_string() for li in sorted_awkward].count("F2") == 1  # repeats dropped


def test_sort_links_keys_made_once_per_link_text(speedups_applied: dict[str, Any]) -> None:
    from sphinx_needs.need_item import _link_natural_sort_key

    speedups.apply()  # empties the keys
    assert not speedups._NATURAL_KEYS
    links = [NeedLink.from_string(text) for text in ("REQ_10", "REQ_9", "REQ_10.p1", "REQ_10[x]")]
    for link in links:
        assert speedups._link_key(link) == _link_natural_sort_key(link)
    assert set(speedups._NATURAL_KEYS) == {"REQ_10", "REQ_9", "REQ_10.p1"}  # a condition's key is not kept


@pytest.mark.slow
def test_needs_added_share_their_links_and_compare_equal(tmp_path: Path) -> None:
    """The needs a build reads hold one link object per (id, part, condition): the same needs as
    sphinx-needs' own (equal items, equal needs.json), in a smaller environment pickle."""
    src = write_site(tmp_path / "src", {"index.md": DUPLICATE_LINKS_PAGE})
    envs = {}
    for on in (True, False):
        app, _ = build_in_process(src, tmp_path / f"b{on}", confoverrides={"kbgen_speedups": on,
                                                                             "needs_reproducible_json": True})
        envs[on] = app
    shared = SphinxNeedsData(envs[True].env).get_needs_mutable()
    own = SphinxNeedsData(envs[False].env).get_needs_mutable()
    assert {k: dict(v.items()) for k, v in shared.items()} == {k: dict(v.items()) for k, v in own.items()}
    session_links = [li for need in shared.values() for li in need._links["in_session"]]
    assert len(session_links) >= 2 and len({id(li) for li in session_links}) == 1
    assert len({id(li) for need in own.values() for li in need._links["in_session"]}) == len(session_links)
    assert (envs[True].outdir / "needs.json").read_bytes() == (envs[False].outdir / "needs.json").read_bytes()


def test_need_nodes_keep_pickles_and_hand_out_fresh_nodes(example_env: BuildEnvironment) -> None:
    nodes = example_env._needs_all_nodes
    assert len(nodes) > 50
    cache = speedups.NeedNodes()
    for need_id in list(nodes)[:20]:
        cache[need_id] = nodes[need_id].deepcopy()  # a node, whichever cache the example kept
    need_id = next(iter(cache))
    stored = dict.__getitem__(cache, need_id)
    assert isinstance(stored, bytes)
    first, second = cache[need_id], cache[need_id]
    assert first is not second and first.pformat() == second.pformat()
    assert first.pformat() == pickle.loads(stored).pformat()
    assert first.parent is None and first.children and first.children[0].parent is first
    cache["not-a-node"] = {"kept": "as it is"}
    assert cache["not-a-node"] == {"kept": "as it is"}
    # the environment's pickle holds a dictionary of bytes; unpickled, the same cache
    again = pickle.loads(pickle.dumps(cache, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(again) is speedups.NeedNodes and dict(again) == dict(cache)
    # sphinx-needs' parallel merge: dict.update copies the pickles as they are
    merged = speedups.NeedNodes()
    merged.update(cache)
    assert dict(merged) == dict(cache)
    del merged[need_id]
    assert need_id not in merged and need_id in cache


#: A page of needs (one hidden, one with a part and a need link in its content), and a hand-written
#: page extracting them with ``needextract``.
EXTRACT_PAGES = {
    "index.md": DUPLICATE_LINKS_PAGE + """
:::{finding} Hidden one
:id: F11
:hide:
:::

:::{finding} With a reference
:id: F12
:depends_on: F2

Mentions {need}`F3` and has an {np}`(q1) inline part`.
:::

```{toctree}
extract
```
""",
    "extract.md": """# Extracts

```{needextract}
:filter: type == 'finding' and not hide
```
""",
}


def _html_pages(outdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*.html"))}


@pytest.mark.slow
def test_needextract_pages_the_same_with_the_node_cache_pickled(tmp_path: Path) -> None:
    """A site with ``needextract``, built fresh, then after an edit of the page of the needs only,
    then after an edit of the extracting page only: with the speedups on (the node cache kept
    pickled) and off, the same HTML pages and needs.json after every build; the environment holds
    :class:`NeedNodes` with the speedups on and sphinx-needs' own dictionary with them off."""
    outputs: dict[bool, list[dict[str, bytes]]] = {}
    for on in (True, False):
        src = write_site(tmp_path / f"src{on}", EXTRACT_PAGES)
        out = tmp_path / f"out{on}"
        overrides = {"needs_reproducible_json": True, "kbgen_speedups": on}
        runs = []
        for step in range(3):
            if step == 1:
                page = src / "index.md"
                text = page.read_text(encoding="utf-8")
                page.write_text(text.replace("Follow-up on both", "Follow-up on both, edited"), encoding="utf-8")
            elif step == 2:
                page = src / "extract.md"
                page.write_text(page.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
            time.sleep(0.05)
            app, warnings = build_in_process(src, out, buildername="html", confoverrides=overrides,
                                             freshenv=step == 0)
            assert "WARNING" not in warnings, warnings
            cache = app.env._needs_all_nodes
            assert type(cache) is (speedups.NeedNodes if on else dict)
            assert {"F2", "F3", "F10", "F12"} <= set(cache)
            pages = _html_pages(app.outdir)
            pages["needs.json"] = (app.outdir / "needs.json").read_bytes()
            runs.append(pages)
        outputs[on] = runs
    assert outputs[True] == outputs[False]
    extract = outputs[True][2]["extract.html"].decode()
    assert "Follow-up on both, edited" in extract and "inline part" in extract and "Edited." in extract


def builds_switching_speedups(src: Path, out: Path, page: str, edit: Callable[[int], str],
                              overrides: dict[str, Any]) -> Iterator[tuple[SphinxTestApp, bool]]:
    """Build ``src`` fresh with the speedups on, then off, then on again, appending ``edit(step)``
    to ``page`` before each later build; yields each (cleaned up) app and the setting it ran with."""
    for step, on in enumerate((True, False, True)):
        if step:
            path = src / page
            path.write_text(path.read_text(encoding="utf-8") + edit(step), encoding="utf-8")
            time.sleep(0.05)
        app, warnings = build_in_process(src, out, buildername="html", freshenv=step == 0,
                                         confoverrides={**overrides, "kbgen_speedups": on})
        assert "WARNING" not in warnings, warnings
        yield app, on


@pytest.mark.slow
def test_node_cache_converted_when_the_speedups_are_switched(tmp_path: Path) -> None:
    """An environment kept by a build with the speedups on, built with them off (and back on):
    the cache converted each time, the extracting page the same."""
    pages = []
    for app, on in builds_switching_speedups(write_site(tmp_path / "src", EXTRACT_PAGES), tmp_path / "out",
                                             "extract.md", lambda step: f"\nEdit {step}.\n",
                                             {"needs_reproducible_json": True}):
        assert type(app.env._needs_all_nodes) is (speedups.NeedNodes if on else dict)
        pages.append((app.outdir / "extract.html").read_text(encoding="utf-8"))
    assert all("Follow-up on both" in page and "inline part" in page for page in pages)
    edits = [page.replace("<p>Edit 1.</p>\n", "").replace("<p>Edit 2.</p>\n", "") for page in pages]
    assert edits[0] == edits[1] == edits[2] and edits[2] != pages[2]


@pytest.mark.slow
def test_needextract_page_the_same_after_a_parallel_read(tmp_path: Path) -> None:
    """Pages read by two worker processes: each worker's node cache (pickled back to the main
    process and merged by sphinx-needs) gives the extracting page sphinx-needs' own does."""
    pages = dict(EXTRACT_PAGES)
    for i in range(6):
        pages[f"p{i}.md"] = (f"# P{i}\n\n:::{{finding}} Extra {i}\n:id: F{100 + i}\n:depends_on: F2\n\n"
                             f"Text {i} mentions {{need}}`F3`.\n:::\n")
    names = "\n".join(f"p{i}" for i in range(6))
    pages["index.md"] = pages["index.md"].replace("extract\n```", f"extract\n{names}\n```")
    # in need-id order: the needs a parallel read merges come in the order the workers finish
    pages["extract.md"] = pages["extract.md"].replace(":filter:", ":sort_by: id\n:filter:")
    src = write_site(tmp_path / "src", pages)
    extracts = {}
    for on in (True, False):
        app, warnings = build_in_process(src, tmp_path / f"b{on}", buildername="html", parallel=2,
                                         confoverrides={"needs_reproducible_json": True, "kbgen_speedups": on})
        assert "WARNING" not in warnings, warnings
        assert type(app.env._needs_all_nodes) is (speedups.NeedNodes if on else dict)
        extracts[on] = (app.outdir / "extract.html").read_bytes()
    assert extracts[True] == extracts[False]
    assert b"Extra 5" in extracts[True] and b"Text 0 mentions" in extracts[True]


# -- Sphinx's tables of contents kept pickled -------------------------------------------------------


def _toc(*titles: str) -> Any:
    from docutils import nodes
    return nodes.bullet_list("", *(nodes.list_item("", nodes.paragraph(text=title)) for title in titles))


def test_lazy_tocs_unpickle_once_and_keep_changes_like_a_dictionary() -> None:
    tocs = speedups.LazyTocs()
    tocs["a"], tocs["b"], tocs["c"] = _toc("A1", "A2"), _toc("B"), _toc("C")
    again = pickle.loads(pickle.dumps(tocs, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(again) is speedups.LazyTocs and list(again) == ["a", "b", "c"]
    assert all(isinstance(dict.__getitem__(again, name), bytes) for name in again)
    first = again["a"]
    assert first is again["a"] and first is again.get("a")  # unpickled once, then the tree itself
    assert first.pformat() == tocs["a"].pformat()
    first["secnumber"] = (1,)  # Sphinx numbers sections in place: the change stays
    assert again["a"]["secnumber"] == (1,)
    untouched = dict.__getitem__(again, "c")
    third = pickle.loads(pickle.dumps(again, protocol=pickle.HIGHEST_PROTOCOL))
    assert dict.__getitem__(third, "c") == untouched  # written as the bytes it was read as
    assert third["a"]["secnumber"] == (1,) and third["b"].pformat() == tocs["b"].pformat()
    assert again.get("missing") is None and again.get("missing", 5) == 5 and "missing" not in again
    assert again.pop("b").pformat() == tocs["b"].pformat() and "b" not in again
    assert again.pop("b", None) is None
    with pytest.raises(KeyError):
        again.pop("b")
    assert again.setdefault("c") is again["c"] and again["c"].pformat() == tocs["c"].pformat()
    assert again.setdefault("d", _toc("D")) is again["d"]
    assert [toc.pformat() for toc in again.values()] == [toc.pformat() for _, toc in again.items()]
    assert [name for name, _ in again.items()] == ["a", "c", "d"]
    copied = again.copy()
    assert type(copied) is speedups.LazyTocs and copied["a"] is again["a"]


#: Pages with nested and numbered tables of contents (Sphinx numbers their sections in the stored
#: trees, in place) and a hidden one.
TOC_PAGES = {
    "index.md": ("# Home\n\n```{toctree}\n:numbered:\nchapter\nnotes\n```\n\n```{toctree}\nother/index\n```\n\n"
                 "```{toctree}\n:hidden:\nhidden\n```\n"),
    "chapter.md": "# Chapter\n\n## First part\n\nText.\n\n## Second part\n\n```{toctree}\nsection\n```\n",
    "section.md": "# Section\n\n## Deep\n\nDeep text.\n",
    "notes.md": "# Notes\n\n## A note\n\nA note's text.\n",
    "hidden.md": "# Hidden\n\nHidden text.\n",
    "other/index.md": "# Other\n\n```{toctree}\na\nb\n```\n",
    "other/a.md": "# A\n\n## Under A\n",
    "other/b.md": "# B\n\n## Under B\n",
}


@pytest.mark.slow
def test_pages_the_same_with_the_tables_of_contents_kept_pickled(tmp_path: Path) -> None:
    """A site built fresh, then after a section added to a page, then after another page's text edited:
    with the speedups on and off, the same HTML pages after every build; with them on, the
    environment holds :class:`LazyTocs`, pickled with each table of contents as its own pickle."""
    outputs: dict[bool, list[dict[str, bytes]]] = {}
    for on in (True, False):
        src = write_site(tmp_path / f"src{on}", TOC_PAGES)
        out = tmp_path / f"out{on}"
        runs = []
        for step in range(3):
            if step == 1:
                page = src / "section.md"
                page.write_text(page.read_text(encoding="utf-8") + "\n## Deeper\n\nMore.\n", encoding="utf-8")
            elif step == 2:
                page = src / "other" / "a.md"
                page.write_text(page.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
            time.sleep(0.05)
            app, warnings = build_in_process(src, out, buildername="html", freshenv=step == 0,
                                             confoverrides={"kbgen_speedups": on})
            assert "WARNING" not in warnings, warnings
            tocs = app.env.tocs
            assert type(tocs) is (speedups.LazyTocs if on else dict)
            assert set(tocs) == {"index", "chapter", "section", "notes", "hidden", "other/index", "other/a",
                                 "other/b"}
            if on:  # the environment on disk: every table of contents a pickle of its own
                kept = pickle.loads((app.doctreedir / "environment.pickle").read_bytes()).tocs
                assert type(kept) is speedups.LazyTocs
                assert all(isinstance(dict.__getitem__(kept, name), bytes) for name in kept)
                assert {name: kept[name].pformat() for name in kept} == {
                    name: toc.pformat() for name, toc in tocs.items()}
            runs.append(_html_pages(app.outdir))
        outputs[on] = runs
    assert outputs[True] == outputs[False]
    assert "1.2.1.2. Deeper" in outputs[True][1]["section.html"].decode()


@pytest.mark.slow
def test_tables_of_contents_converted_when_the_speedups_are_switched(tmp_path: Path) -> None:
    pages = []
    for app, on in builds_switching_speedups(write_site(tmp_path / "src", TOC_PAGES), tmp_path / "out",
                                             "notes.md", lambda step: f"\n## Added {step}\n", {}):
        assert type(app.env.tocs) is (speedups.LazyTocs if on else dict)
        pages.append((app.outdir / "index.html").read_text(encoding="utf-8"))
    assert "Added 1" in pages[1] and "Added 2" in pages[2]


#: A page without literal blocks but with a ``highlight`` directive (its node removed either way),
#: a page whose blocks take the language from ``highlight`` or name their own, and a plain page.
HIGHLIGHT_PAGES = {
    "index.md": "# Home\n\n```{toctree}\nplain\nlanguage-only\ncode\n```\n",
    "plain.md": "# Plain\n\nText only, and a need.\n\n:::{finding} Plain finding\n:id: F1\n:::\n",
    "language-only.md": "# Language only\n\n```{highlight} python\n```\n\nNo block follows.\n",
    "code.md": ("# Code\n\n```{highlight} python\n```\n\n```\nprint('default here is python')\n```\n\n"
                "```{code-block} rust\nfn main() {}\n```\n\n```{highlight} none\n```\n\n```\nplain text\n```\n"),
}


@pytest.mark.slow
def test_highlight_language_pages_the_same_and_the_walk_only_on_pages_with_literal_blocks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sphinx's ``HighlightLanguageTransform`` runs on the pages with literal blocks only: the
    same HTML pages with the speedups on and off, fresh and after an edit."""
    speedups.apply_sphinx()
    walked: list[str] = []
    original = speedups.SPHINX_ORIGINALS["highlight_language_apply"]

    def counting(self: Any, **kwargs: Any) -> None:
        walked.append(self.env.docname)
        original(self, **kwargs)

    monkeypatch.setitem(speedups.SPHINX_ORIGINALS, "highlight_language_apply", counting)
    outputs: dict[bool, list[dict[str, bytes]]] = {}
    for on in (True, False):
        src = write_site(tmp_path / f"src{on}", HIGHLIGHT_PAGES)
        runs = []
        for step in range(2):
            if step:
                page = src / "code.md"
                page.write_text(page.read_text(encoding="utf-8") + "\n```\nmore plain text\n```\n",
                                encoding="utf-8")
                time.sleep(0.05)
            walked.clear()
            app, warnings = build_in_process(src, tmp_path / f"out{on}", buildername="html",
                                             freshenv=step == 0, confoverrides={"kbgen_speedups": on})
            assert "WARNING" not in warnings, warnings
            assert speedups.sphinx_installed() is on
            if on:
                assert walked == ["code"]
            runs.append(_html_pages(app.outdir))
        outputs[on] = runs
    assert outputs[True] == outputs[False]
    code = outputs[True][1]["code.html"].decode()
    assert 'class="highlight-python notranslate"' in code and 'class="highlight-rust notranslate"' in code
    assert code.count('class="highlight-none notranslate"') == 2
    assert "highlightlang" not in outputs[True][0]["language-only.html"].decode()


@pytest.mark.slow
def test_templates_compiled_once_then_read_from_the_bytecode_cache(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTML templates are compiled by the first build only, the next one (a new Sphinx, so a new
    Jinja environment) reads them from the doctree folder; with the speedups off, no cache."""
    from jinja2 import Environment

    compiled: list[str | None] = []
    compile_source = Environment.compile

    def counting(self: Environment, source: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(name)
        return compile_source(self, source, name, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", counting)
    pages: dict[bool, list[dict[str, bytes]]] = {}
    for on in (True, False):
        src = write_site(tmp_path / f"src{on}", HIGHLIGHT_PAGES)
        runs = []
        for step in range(2):
            compiled.clear()
            (src / "plain.md").write_text(f"# Plain\n\nEdit {step}.\n", encoding="utf-8")
            time.sleep(0.05)
            app, warnings = build_in_process(src, tmp_path / f"out{on}", buildername="html",
                                             freshenv=step == 0, confoverrides={"kbgen_speedups": on})
            assert "WARNING" not in warnings, warnings
            cache = app.doctreedir / "jinja2"
            assert cache.is_dir() is on
            if step == 0 or not on:
                assert "page.html" in compiled and "layout.html" in compiled
            else:
                assert not {"page.html", "layout.html"} & set(compiled), compiled
                assert len(list(cache.glob("__jinja2_*.cache"))) >= 2
            runs.append(_html_pages(app.outdir))
        pages[on] = runs
    assert pages[True] == pages[False]


# -- the standard domain purged in one pass ---------------------------------------------------------

#: Pages with every kind of standard-domain entry: labels (explicit and of sections), a glossary
#: term, a program option, and needs; seven of them so that a parallel read is really parallel.
STD_PAGES = {
    "index.md": "# Home\n\n```{toctree}\n" + "\n".join(f"p{i}" for i in range(7)) + "\n```\n",
    **{f"p{i}.md": (f"(label-{i})=\n# Page {i}\n\n## Section {i}\n\nSee {{ref}}`label-{(i + 1) % 7}`.\n\n"
                    f"```{{glossary}}\nterm {i}\n  Meaning {i}.\n```\n\n```{{program}} tool{i}\n```\n\n"
                    f"```{{option}} --flag-{i}\nA flag.\n```\n\n:::{{finding}} Finding {i}\n:id: F{i + 1}\n:::\n")
       for i in range(7)},
}


def _std_tables(env: BuildEnvironment, *, ordered: bool) -> dict[str, Any]:
    """The standard domain's tables: as lists of entries, or (a parallel read merges the workers'
    entries in the order they finish) as dictionaries."""
    std = env.get_domain("std")
    return {name: list(std.data[name].items()) if ordered else dict(std.data[name])
            for name in ("progoptions", "objects", "terms", "labels", "anonlabels")}


@pytest.mark.slow
@pytest.mark.parametrize("parallel", [1, 2])
def test_standard_domain_purged_in_one_pass_the_same_tables_and_pages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: int) -> None:
    """A site built fresh, then after edits that drop, move and add labels, terms and options:
    with the speedups on and off, the same standard-domain tables (in order, when read serially) and
    the same pages;
    with them on, Sphinx's own ``clear_doc`` scans nothing for the pages read."""
    speedups.apply_sphinx()
    scanned: list[str] = []
    original = speedups.SPHINX_ORIGINALS["standard_clear_doc"]

    def counting(self: Any, docname: str) -> None:
        scanned.append(docname)
        original(self, docname)

    monkeypatch.setitem(speedups.SPHINX_ORIGINALS, "standard_clear_doc", counting)
    results: dict[bool, list[tuple[dict[str, Any], dict[str, bytes]]]] = {}
    for on in (True, False):
        src = write_site(tmp_path / f"src{on}", STD_PAGES)
        runs = []
        for step in range(2):
            if step:  # p1 loses its label, p2 takes it over, p3..p6 gain a section, a term changes
                (src / "p1.md").write_text("# Page 1\n\nNo label now.\n", encoding="utf-8")
                for i in range(2, 7):
                    page = src / f"p{i}.md"
                    text = page.read_text(encoding="utf-8").replace(f"term {i}\n", f"term {i} renamed\n")
                    if i == 2:
                        text = text.replace("# Page 2\n\n", "# Page 2\n\n(label-1)=\n## Moved label\n\n")
                    page.write_text(text + f"\n## Added {i}\n", encoding="utf-8")
                time.sleep(0.05)
            scanned.clear()
            app, warnings = build_in_process(src, tmp_path / f"b{on}", buildername="html", freshenv=step == 0,
                                             parallel=parallel, confoverrides={"kbgen_speedups": on})
            assert "WARNING" not in warnings, warnings
            if on and step:
                assert set(scanned).isdisjoint({f"p{i}" for i in range(1, 7)}), scanned
            runs.append((_std_tables(app.env, ordered=parallel == 1), _html_pages(app.outdir)))
        results[on] = runs
    assert results[True] == results[False]
    tables, pages = results[True][1]
    assert dict(tables["labels"])["label-1"][0] == "p2"
    assert ("term 3 renamed" in dict(tables["terms"])) and ("term 3" not in dict(tables["terms"]))
    assert "Moved label" in pages["p0.html"].decode()


# -- speedups inside Sphinx: NodeMatcher.findall ----------------------------------------------------


def _example_doctrees(options: Options) -> list[nodes.document]:
    return [pickle.loads(path.read_bytes()) for path in sorted(doctrees_path(options).rglob("*.doctree"))]


#: Matchers as Sphinx's transforms make them (the first three run on every page read), and
#: the other shapes ``match`` accepts: several classes, no class, attribute values, a Text class.
MATCHERS = [
    NodeMatcher(nodes.Element, translated=Any), NodeMatcher(nodes.inline, translatable=Any),
    NodeMatcher(nodes.footnote_reference), NodeMatcher(addnodes.pending_xref, reftype=Any),
    NodeMatcher(nodes.reference, refid=Any), NodeMatcher(nodes.section, nodes.paragraph),
    NodeMatcher(nodes.Text), NodeMatcher(), NodeMatcher(classes=["xref", "myst"]),
    NodeMatcher(nodes.Element, ids=[]), NodeMatcher(nodes.Element, classes=Any, ids=Any),
    NodeMatcher(nodes.Text, ids=Any),
]


def test_node_matcher_findall_gives_sphinx_nodes_on_the_example_site(built_example: Options,
                                                                     sphinx_speedups_kept: None) -> None:
    """Every matcher above on every doctree of the example site, from the root and from inner
    nodes: the very nodes, in the order, Sphinx's own ``findall`` gives."""
    assert speedups.apply_sphinx(), "this Sphinx is not a checked version"
    original = speedups.SPHINX_ORIGINALS["node_matcher_findall"]
    assert NodeMatcher.findall is speedups.node_matcher_findall and original is not NodeMatcher.findall
    trees = _example_doctrees(built_example)
    assert len(trees) > 50
    found = 0
    for matcher in MATCHERS:
        for tree in trees:
            starts = [tree, *tree.children[:3], next(tree.findall(nodes.Text), tree)]
            for start in starts:
                expected = list(original(matcher, start))
                got = list(matcher.findall(start))
                assert len(got) == len(expected), matcher.attrs
                assert all(a is b for a, b in zip(got, expected, strict=True)), matcher.attrs
                found += len(got)
    assert found > 10_000
    # the example's pages hold nodes of each kind some matcher above looks for
    assert any(next(NodeMatcher(nodes.section).findall(tree), None) for tree in trees)
    for matcher in (MATCHERS[3], MATCHERS[8]):
        assert any(next(matcher.findall(tree), None) for tree in trees), matcher.attrs


def _removing_every_match(findall: Callable[[Any, Node], Iterator[Any]], matcher: NodeMatcher[Any],
                          tree: nodes.document) -> tuple[list[str], str]:
    """Walk ``tree`` lazily, removing each node found from its parent (or emptying it) as it comes:
    the nodes handed out, and the tree left."""
    seen = []
    for node in findall(matcher, tree):
        seen.append(node.astext()[:40] + type(node).__name__)
        if isinstance(node, nodes.paragraph) and node.parent is not None:
            node.parent.remove(node)
        elif isinstance(node, nodes.section):
            node.children = node.children[:1]
        elif isinstance(node, nodes.Element) and node["ids"] and not isinstance(node, nodes.emphasis):
            node.append(nodes.emphasis("", "added"))
    return seen, tree.pformat()


def test_node_matcher_findall_as_lazy_as_sphinx_when_the_tree_changes(built_example: Options,
                                                                      sphinx_speedups_kept: None) -> None:
    """Callers that change the tree while they walk it (nodes removed, children replaced, nodes
    added) see what Sphinx's own walk shows them, and leave the same tree."""
    speedups.apply_sphinx()
    original = speedups.SPHINX_ORIGINALS["node_matcher_findall"]
    trees = _example_doctrees(built_example)[:40]
    changed = 0
    for matcher in (NodeMatcher(nodes.paragraph, nodes.section), NodeMatcher(nodes.Element, ids=Any),
                    NodeMatcher(nodes.strong, nodes.paragraph)):
        for tree in trees:
            expected = _removing_every_match(original, matcher, copy.deepcopy(tree))
            got = _removing_every_match(speedups.node_matcher_findall, matcher, copy.deepcopy(tree))
            assert got == expected
            changed += expected[1] != tree.pformat()
    assert changed > 40


def test_node_matcher_findall_left_alone_on_other_sphinx_versions(monkeypatch: pytest.MonkeyPatch,
                                                                  sphinx_speedups_kept: None) -> None:
    speedups.apply_sphinx()
    original = speedups.SPHINX_ORIGINALS["node_matcher_findall"]
    speedups.remove_sphinx()
    assert NodeMatcher.findall is original
    monkeypatch.setattr(sphinx, "__version__", "9.9.9")
    assert speedups.apply_sphinx() is False
    assert NodeMatcher.findall is original


FOOTNOTE_PAGES = {
    "index.md": "# Index\n\n```{toctree}\nnotes\nplain\n```\n\nA claim[^a] and another[^b].\n\n"
                "[^a]: The first note.\n[^b]: The second, with *emphasis*.\n",
    "notes.md": "# Notes\n\n(target)=\n## Section\n\nSee [the index](index.md) and {ref}`target`, "
                "{abbr}`CPU (central processing unit)`, a note[^n].\n\n[^n]: A note.\n\n"
                ":::{finding} A finding\n:id: F1\n\nWith a note[^m].\n\n[^m]: Inside.\n:::\n",
    "plain.md": "# Plain\n\nText only.\n",
}


@pytest.mark.slow
def test_pages_the_same_with_the_node_matcher_walk(tmp_path: Path) -> None:
    """A site with footnotes, references and an abbreviation (the nodes the read and write transforms
    look for with ``NodeMatcher``), built fresh then after an edit: the same HTML pages with the
    speedups on and off."""
    outputs: dict[bool, list[dict[str, bytes]]] = {}
    for on in (True, False):
        src = write_site(tmp_path / f"src{on}", FOOTNOTE_PAGES)
        runs = []
        for step in range(2):
            if step:
                page = src / "notes.md"
                page.write_text(page.read_text(encoding="utf-8") + "\nAgain[^z].\n\n[^z]: Last.\n",
                                encoding="utf-8")
                time.sleep(0.05)
            app, warnings = build_in_process(src, tmp_path / f"out{on}", buildername="html",
                                             freshenv=step == 0, confoverrides={"kbgen_speedups": on})
            assert "WARNING" not in warnings, warnings
            assert speedups.sphinx_installed() is on
            runs.append(_html_pages(app.outdir))
        outputs[on] = runs
    assert outputs[True] == outputs[False]
    notes = outputs[True][1]["notes.html"].decode()
    assert 'class="footnote' in notes and "Last." in notes and "<abbr" in notes


# -- speedups inside sphinx-needs: the dataclasses' pickling -----------------------------------------


def _need_item_objects(env: BuildEnvironment) -> list[Any]:
    """Every sphinx-needs dataclass object of the example's needs (links, sources, contents, parts)."""
    objects: list[Any] = []
    for need in SphinxNeedsData(env).get_needs_mutable().values():
        objects.append(need._source)
        objects.append(need._content)
        objects.extend(need._parts.values())
        objects.extend(need._modifications)
        for lists in (need._links, need._backlinks):
            for links in lists.values():
                objects.extend(links)
    return objects


def test_need_item_dataclasses_pickle_to_the_same_bytes(example_env: BuildEnvironment,
                                                        speedups_applied: dict[str, Any]) -> None:
    """The example site's needs' dataclass objects pickled with kbgen's state functions: the same bytes
    as with those ``dataclasses`` made, and read back (by either) equal to what was pickled."""
    objects = _need_item_objects(example_env)
    kinds = {type(obj) for obj in objects}
    assert len(objects) > 300 and len(kinds) >= 3, kinds
    assert set(speedups._STATE) >= kinds
    assert all(cls.__getstate__.__qualname__ == f"{cls.__qualname__}.__getstate__" for cls in kinds)
    ours = pickle.dumps(objects, protocol=pickle.HIGHEST_PROTOCOL)
    ours_old_protocol = pickle.dumps(objects, protocol=2)
    assert pickle.loads(ours) == objects
    speedups.remove()
    assert all(cls.__getstate__.__qualname__ == "_dataclass_getstate" for cls in kinds)
    assert pickle.dumps(objects, protocol=pickle.HIGHEST_PROTOCOL) == ours
    assert pickle.dumps(objects, protocol=2) == ours_old_protocol
    assert pickle.loads(ours) == objects
    speedups.apply()
    assert pickle.loads(ours) == objects and copy.deepcopy(objects) == objects


def test_every_need_item_slots_dataclass_gets_the_state_functions(speedups_applied: dict[str, Any]) -> None:
    """Every frozen slots dataclass of ``sphinx_needs.need_item`` (one with a single field too) is
    handled, and gives back the state it was given."""
    import sphinx_needs.need_item as need_item_module

    classes = [value for value in vars(need_item_module).values()
               if isinstance(value, type) and dataclasses.is_dataclass(value)
               and value.__module__ == need_item_module.__name__ and "__slots__" in value.__dict__]
    assert set(classes) == set(speedups._STATE) and NeedLink in classes
    for cls in classes:
        names = [field.name for field in dataclasses.fields(cls)]
        obj = object.__new__(cls)
        cls.__setstate__(obj, list(range(len(names))))
        assert cls.__getstate__(obj) == list(range(len(names)))
        assert [getattr(obj, name) for name in names] == list(range(len(names)))


# -- speedups inside Sphinx: Project.discover ---------------------------------------------------------


def _discovered(find: Callable[..., set[str]], srcdir: Path, *args: Any) -> tuple[Any, ...]:
    project = Project(srcdir, (".md", ".rst", ".txt"))
    found = find(project, *args)
    assert found is project.docnames
    return (set(project.docnames), dict(project._path_to_docname), list(project._docname_to_path.items()),
            {name: project.doc2path(name, absolute=True) for name in project.docnames})


def test_discover_finds_what_sphinx_finds(tmp_path: Path, built_example: Options,
                                          sphinx_speedups_kept: None) -> None:
    """The example site's sources, and a folder of awkward names (nested folders, excluded ones, a name
    out of ASCII, names with no or several suffixes, dots, spaces, Sphinx's own excluded
    ``.#`` files), with include and exclude patterns: the same documents and maps, in order."""
    assert speedups.apply_sphinx(), "this Sphinx is not a checked version"
    original = speedups.SPHINX_ORIGINALS["discover"]
    assert Project.discover is speedups.discover
    src = tmp_path / "src"
    names = ["index.md", "a/b/c.md", "a/b/d.rst", "a/notes.txt", "a/data.json", "a/x.md.md", "a/.hidden.md",
             "a/with space.md", "\u00e9t\u00e9/caf\u00e9.md", "drafts/one.md", "drafts/two/three.md",
             "_templates/page.md", ".#lock.md", "a/.#lock.md", "b.lproj/x.md", "x/_sources/y.md", "noext",
             "z/.md", "z/archive.tar.md"]
    for name in names:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("# T\n", encoding="utf-8")
    cases = [((),), ((), ("**",)), (["drafts", "_templates", "a/*.rst"],), (["drafts/**"], ["a/**", "index*"]),
             (["**/b"], ["**"]), ([], ["e*/**", "z/*"])]
    for args in cases:
        expected = _discovered(original, src, *args)
        assert _discovered(speedups.discover, src, *args) == expected, args
    assert "\u00e9t\u00e9/caf\u00e9" in _discovered(speedups.discover, src)[0]
    # a name in decomposed Unicode: Sphinx looks for its composed form, finds no such file and says
    # so (the replacement hands such a search to Sphinx's own code)
    nfd = write_site(tmp_path / "nfd", {"index.md": "# I\n", "e\u0301te\u0301/cafe\u0301.md": "# C\n"})
    assert _discovered(speedups.discover, nfd) == _discovered(original, nfd)
    assert _discovered(speedups.discover, nfd)[0] == {"index"}
    assert {"index", "a/b/c", "a/b/d", "a/notes", "a/x.md", "z/archive.tar"} <= _discovered(speedups.discover, src)[0]
    docs = built_example.docs_path
    for args in (((),), (["_build", "kb/sessions/*"],)):
        expected = _discovered(original, docs, *args)
        assert len(expected[0]) > 50
        assert _discovered(speedups.discover, docs, *args) == expected


@pytest.mark.slow
def test_discover_leaves_a_document_found_twice_to_sphinx(tmp_path: Path, sphinx_speedups_kept: None) -> None:
    """A document with two source files: Sphinx's own search runs and warns, once per document, as it
    would alone; the same documents and maps."""
    speedups.apply_sphinx()
    src = write_site(tmp_path / "src", {"index.md": "# I\n", "twice.md": "# A\n", "twice.rst": "B\n=\n",
                                        "sub/more.md": "# M\n"})
    found: dict[bool, tuple[Any, str]] = {}
    for on in (True, False):
        _, warnings = build_in_process(src, tmp_path / f"out{on}", confoverrides={"kbgen_speedups": on})
        found[on] = (_discovered(Project.discover, src), warnings)
        assert speedups.sphinx_installed() is on
    assert found[True] == found[False]
    warnings = found[True][1]
    assert warnings.count('multiple files found for the document "twice"') == 1, warnings


def test_discover_left_alone_on_other_sphinx_versions(monkeypatch: pytest.MonkeyPatch,
                                                      sphinx_speedups_kept: None) -> None:
    speedups.apply_sphinx()
    original = speedups.SPHINX_ORIGINALS["discover"]
    monkeypatch.setattr(sphinx, "__version__", "9.9.9")
    assert speedups.apply_sphinx() is False
    assert Project.discover is original


# -- speedups inside Sphinx: SphinxDanglingReferences -------------------------------------------------

REFERENCE_PAGES = {
    "index.rst": ("Index\n=====\n\n.. toctree::\n\n   refs\n   plain\n\n"
                  "See target_ and `Other target`_, a footnote [#f]_, another [1]_, a citation [CIT]_ and "
                  "an unknown one unknown_, `embedded <not closed`_, twice_ and twice_, a missing note [5]_.\n\n"
                  ".. _target: https://example.org/\n.. _Other target:\n\nText.\n\n"
                  ".. _twice: https://example.org/1\n\n"
                  ".. [#f] Auto footnote.\n.. [1] Numbered.\n.. [CIT] A citation.\n"
                  ".. _unreferenced: https://example.org/2\n\n"
                  "**Strong with** target_ inside, `a link <https://example.org/3>`_.\n"),
    "refs.md": "# Refs\n\nA [link](https://example.org), [index](index.rst), a note[^n], [unknown][x].\n\n"
               "[^n]: Note.\n\n:::{finding} A finding\n:id: F1\n\nSee [index](index.rst).\n:::\n",
    "plain.md": "# Plain\n\nText only.\n",
}


@pytest.mark.slow
def test_dangling_references_the_same_pages_warnings_and_doctrees(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages with references that resolve, that do not (unknown names, an embedded URI left open),
    footnotes, citations and targets nobody references, built fresh then after an edit: the same HTML
    pages, warnings and doctrees with the speedups on and off; with them on, Sphinx's walk visits no
    page."""
    speedups.apply_sphinx()
    walked: list[str] = []
    original_walk = Node.walk

    def counting(self: Node, visitor: Any) -> bool:
        if type(visitor).__name__ == "DanglingReferencesVisitor":
            walked.append(type(self).__name__)
        return bool(original_walk(self, visitor))

    monkeypatch.setattr(Node, "walk", counting)
    outputs: dict[bool, list[tuple[dict[str, bytes], str, dict[str, str]]]] = {}
    for on in (True, False):
        src = write_site(tmp_path / f"src{on}", REFERENCE_PAGES)
        runs = []
        for step in range(2):
            if step:
                page = src / "index.rst"
                page.write_text(page.read_text(encoding="utf-8") + "\nMore: target_ and missing_.\n",
                                encoding="utf-8")
                time.sleep(0.05)
            walked.clear()
            app, warnings = build_in_process(src, tmp_path / f"out{on}", buildername="html",
                                             freshenv=step == 0, confoverrides={"kbgen_speedups": on})
            assert speedups.sphinx_installed() is on
            assert (walked == []) is on, walked
            doctrees = {path.name: pickle.loads(path.read_bytes()).pformat().replace(str(src), "SRC")
                        for path in sorted(Path(app.doctreedir).glob("*.doctree"))}
            runs.append((_html_pages(app.outdir), warnings.replace(str(src), "SRC"), doctrees))
        outputs[on] = runs
    for on_run, off_run in zip(outputs[True], outputs[False], strict=True):
        assert on_run[1] == off_run[1]
        assert on_run[2] == off_run[2]
        assert on_run[0] == off_run[0]
    pages, warnings, doctrees = outputs[True][1]
    assert 'Unknown target name: "unknown"' in warnings and 'Unknown target name: "missing"' in warnings
    assert 'Unknown target name: "5"' in warnings
    assert "problematic" in doctrees["index.doctree"] and 'refuri="https://example.org/"' in doctrees["index.doctree"]
    assert "Auto footnote." in pages["index.html"].decode()


def test_dangling_references_walk_left_to_sphinx_with_resolvers(monkeypatch: pytest.MonkeyPatch,
                                                               sphinx_speedups_kept: None) -> None:
    """With an unknown-reference resolver registered, or docutils' debug output on, Sphinx's own walk
    runs (the replacement's one pass would skip what a resolver might change); the documents come
    out the same either way."""
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    speedups.apply_sphinx()
    walks: list[str] = []
    original_walk = Node.walk

    def counting(self: Node, visitor: Any) -> bool:
        if type(visitor).__name__ == "DanglingReferencesVisitor":
            walks.append(type(self).__name__)
        return bool(original_walk(self, visitor))

    monkeypatch.setattr(Node, "walk", counting)
    settings = get_default_settings(Parser)
    settings.report_level = 5
    results = []
    for resolvers, debug in ((False, False), (True, False), (False, True)):
        document = new_document("test", settings)
        Parser().parse("See target_ and unknown_.\n\n.. _target: https://example.org/\n", document)
        document.transformer.unknown_reference_resolvers = [lambda node: False] if resolvers else []
        document.reporter.debug_flag = debug
        document.reporter.stream = None
        walks.clear()
        SphinxDanglingReferences(document).apply()
        assert "walk" not in vars(document)
        results.append((list(walks), document.pformat()))
    assert results[0][0] == [] and results[1][0] and results[2][0]
    assert results[0][1] == results[1][1] == results[2][1]
    assert 'refuri="https://example.org/"' in results[0][1] and "problematic" in results[0][1]
