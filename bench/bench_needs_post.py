"""sphinx-needs' whole-site work on every build, with and without kbgen's replacements, in process.

Usage: ``python bench/bench_needs_post.py SITE [--runs N]`` where SITE is a kbgen project built at
least once (its ``build/.doctrees/environment.pickle`` is read; nothing is written).

Measures, on that environment (CPU seconds of this process, best of N):

* writing and reading the environment's pickle as sphinx-needs leaves it (every need node a tree
  of docutils nodes, every need link an object of its own) and as kbgen's speedups leave it
  (:class:`kbgen.sphinxext.speedups.NeedNodes`, the need links shared);
* the post-processing's ``sort_links`` over every need, once the back links are built, with
  sphinx-needs' own method and with kbgen's (the same lists are checked to come out);
* ``build_backlinks`` over every need, with a new ``NeedLink`` per back link (sphinx-needs) and
  with the one link of each ID handed out (a trial; the same back lists are checked to come out);
* the schema check of every need against the field and link schemas
  (``validate_field_link_schemas``), and the digest of every need's data a per-need cache of its
  results would make before skipping any need (a trial: it costs more than the check).

The figures are in bench/README.md ("sphinx-needs' whole-site work", issue 21).
"""

from __future__ import annotations

import argparse
import copy
import gc
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _cpu(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.process_time()
        result = action()
        best = min(best, time.process_time() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    from sphinx_needs.data import SphinxNeedsData
    from sphinx_needs.directives.need import build_backlinks
    from sphinx_needs.need_item import NeedItem

    from kbgen.sphinxext import speedups

    path = args.site / "build" / ".doctrees" / "environment.pickle"
    if not path.is_file():
        print(f"{path}: no environment: build the site first", file=sys.stderr)
        return 2
    gc.disable()  # as kbgen's runner loads the environment; the figures are then steadier
    env = pickle.loads(path.read_bytes())
    data = SphinxNeedsData(env)
    needs = data.get_needs_mutable()
    nodes = env._needs_all_nodes
    if isinstance(nodes, speedups.NeedNodes):  # kept by a build with the speedups: sphinx-needs' own form
        env._needs_all_nodes = {need_id: nodes[need_id] for need_id in nodes}
        for need in needs.values():
            for name, links in need._links.items():
                need._links[name] = [copy.copy(link) for link in links]
    print(f"{len(needs)} needs, {len(env._needs_all_nodes)} need nodes, "
          f"{sum(len(v) for n in needs.values() for v in n._links.values())} links")

    def round_trip(label: str) -> None:
        dump, blob = _cpu(lambda: pickle.dumps(env, pickle.HIGHEST_PROTOCOL), args.runs)
        load, _ = _cpu(lambda: pickle.loads(blob), args.runs)
        print(f"environment pickle, {label}: {len(blob) / 1e6:.1f} MB, write {dump:.3f} s, read {load:.3f} s")

    round_trip("sphinx-needs' own form")
    speedups.apply()
    kept = speedups.NeedNodes()
    for need_id, node in env._needs_all_nodes.items():
        kept[need_id] = node
    env._needs_all_nodes = kept
    for need in needs.values():
        speedups._share_links(need)
    round_trip("need nodes pickled, links shared")

    build_backlinks(needs, data.get_schema())
    originals = speedups.ORIGINALS
    results: dict[str, Any] = {}
    for label, sort in (("sphinx-needs'", originals["sort_links"]), ("kbgen's", speedups.sort_links)):
        def sort_all(sort: Callable[[NeedItem], None] = sort) -> dict[str, Any]:
            work = {key: need.copy() for key, need in needs.items()}
            speedups._NATURAL_KEYS.clear()
            start = time.process_time()
            for need in work.values():
                sort(need)
            return {"cpu": time.process_time() - start, "needs": work}
        best = min((sort_all() for _ in range(args.runs)), key=lambda run: run["cpu"])
        results[label] = best
        print(f"sort_links over every need, {label}: {best['cpu']:.3f} s")
    mine, theirs = results["kbgen's"]["needs"], results["sphinx-needs'"]["needs"]
    same = all(mine[key]._links == theirs[key]._links and mine[key]._backlinks == theirs[key]._backlinks
               for key in theirs)
    print("same lists:", same)
    same = _backlinks(needs, data.get_schema(), args.runs) and same
    same = _schema_check(env, needs, data.get_schema(), args.runs) and same
    return 0 if same else 1


def _backlinks(needs: dict[str, Any], schema: Any, runs: int) -> bool:
    """``build_backlinks`` as sphinx-needs runs it (a new ``NeedLink`` per back link), and with the
    one link of each ID handed out instead (``NeedLink`` replaced in its module only: a trial,
    not a kbgen change; it saved a tenth of the function at x1)."""
    import sphinx_needs.directives.need as need_directive
    from sphinx_needs.need_item import NeedLink

    shared: dict[tuple[str, str | None, str | None], NeedLink] = {}

    def shared_link(id: str, part: str | None = None, condition: str | None = None) -> NeedLink:
        key = (id, part, condition)
        link = shared.get(key)
        if link is None:
            link = shared[key] = NeedLink(id=id, part=part, condition=condition)
        return link

    lists = {}
    try:
        for label, factory in (("a new NeedLink per back link", NeedLink), ("one NeedLink per ID", shared_link)):
            setattr(need_directive, "NeedLink", factory)  # noqa: B010
            best = float("inf")
            for _ in range(runs):
                work = {key: need.copy() for key, need in needs.items()}
                start = time.process_time()
                need_directive.build_backlinks(work, schema)  # type: ignore[arg-type]
                best = min(best, time.process_time() - start)
            lists[label] = repr({key: (need._backlinks, [part.backlinks for part in need._parts.values()],
                                       need["has_dead_links"], need["has_forbidden_dead_links"])
                                 for key, need in work.items()})
            print(f"build_backlinks over every need, {label}: {best:.3f} s")
    finally:
        setattr(need_directive, "NeedLink", NeedLink)  # noqa: B010
    same = len(set(lists.values())) == 1
    print("same back lists:", same)
    return same


def _schema_check(env: Any, needs: dict[str, Any], schema: Any, runs: int) -> bool:
    """sphinx-needs' field and link validation of every need, and what a per-need cache of its
    results would pay before skipping any need: a digest of each need's data (``repr`` of its
    fields, links, source, content and computed fields, BLAKE2b)."""
    import hashlib

    import sphinx_needs.schema.process as schema_process
    from sphinx_needs.config import NeedsSphinxConfig

    config = NeedsSphinxConfig(env.config)
    validate = schema_process.validate_field_link_schemas  # type: ignore[attr-defined]
    cpu, warnings = _cpu(lambda: validate(config, schema, needs), runs)
    print(f"schema check of every need (validate_field_link_schemas): {cpu:.3f} s "
          f"({len(warnings)} needs with warnings)")

    def digests() -> list[bytes]:
        return [hashlib.blake2b(repr((need._core, need._extras, need._links, need._source.dict_repr,
                                      need._content.dict_repr, need._computed)).encode(),
                                digest_size=16).digest() for need in needs.values()]
    cpu, made = _cpu(digests, runs)
    print(f"a digest of every need's data: {cpu:.3f} s ({len(set(made))} distinct)")
    return True

if __name__ == "__main__":
    raise SystemExit(main())
