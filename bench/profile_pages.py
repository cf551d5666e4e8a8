"""Where a Sphinx build's time goes, page by page and phase by phase (CPU seconds).

Run Sphinx the way ``kbgen build`` does, in this process, with a timer on each phase of each page
(reading: myst-parser, every transform, pickling the doctree; writing: resolving the doctree with
every post-transform, the HTML translator, the templates) and on every event handler::

    python bench/profile_pages.py run OUT.json -- <the arguments of kbgen.sphinxext.main>
    python bench/profile_pages.py report OUT.json [--top 60]

``kbgen.build.sphinx_command(options)[3:]`` gives the arguments of a project's build. Timers add
about a tenth to the run; compare pages with each other, not with an uninstrumented build.
Figures in bench/README.md ("The pages a new session makes Sphinx read and write").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from time import process_time
from typing import Any

#: page → timer name → CPU seconds ("-": outside any page).
TIMES: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
NODES: dict[str, int] = {}
_NOW = {"page": "-", "phase": "other"}


def _add(key: str, seconds: float) -> None:
    TIMES[_NOW["page"]][key] += seconds


def _timed(key: Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = process_time()
        try:
            return function(*args, **kwargs)
        finally:
            _add(key(*args, **kwargs), process_time() - start)
    return wrapper


def _page(phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self_or_name: Any, *args: Any, **kwargs: Any) -> Any:
        docname = self_or_name if phase == "write" else args[0]
        _NOW.update(page=docname, phase=phase)
        start = process_time()
        try:
            return function(self_or_name, *args, **kwargs)
        finally:
            _add(f"{phase}.total", process_time() - start)
            _NOW.update(page="-", phase="other")
    return wrapper


def instrument() -> None:
    import docutils.transforms
    import markdown_it.main
    import myst_parser.parsers.sphinx_ as myst_sphinx
    import sphinx.builders
    from docutils import nodes
    from sphinx.builders import Builder
    from sphinx.builders.html import StandaloneHTMLBuilder
    from sphinx.environment import BuildEnvironment
    from sphinx.events import EventManager

    def apply_transforms(self: Any) -> None:  # docutils' loop, each transform timed
        self.document.reporter.attach_observer(self.document.note_transform_message)
        while self.transforms:
            if not self.sorted:
                self.transforms.sort(reverse=True)
                self.sorted = True
            priority, transform_class, pending, kwargs = self.transforms.pop()
            start = process_time()
            transform_class(self.document, startnode=pending).apply(**kwargs)
            _add(f"{_NOW['phase']}.tf:{transform_class.__module__.split('.')[0]}.{transform_class.__name__}",
                 process_time() - start)
            self.applied.append((priority, transform_class, pending, kwargs))
        self.document.reporter.detach_observer(self.document.note_transform_message)

    docutils.transforms.Transformer.apply_transforms = apply_transforms  # type: ignore[method-assign]
    Builder.read_doc = _page("read", Builder.read_doc)  # type: ignore[method-assign]
    sphinx.builders._write_docname = _page("write", sphinx.builders._write_docname)
    Builder.write_doctree = _timed(lambda *a, **k: "read.pickle", Builder.write_doctree)  # type: ignore[method-assign]
    myst_sphinx.MystParser.parse = _timed(lambda *a, **k: "read.myst", myst_sphinx.MystParser.parse)  # type: ignore[method-assign]
    markdown_it.main.MarkdownIt.parse = _timed(lambda *a, **k: f"{_NOW['phase']}.markdown-it",  # type: ignore[method-assign]
                                               markdown_it.main.MarkdownIt.parse)
    BuildEnvironment.get_doctree = _timed(lambda *a, **k: f"{_NOW['phase']}.unpickle",  # type: ignore[method-assign]
                                          BuildEnvironment.get_doctree)
    resolve = BuildEnvironment.get_and_resolve_doctree

    def get_and_resolve_doctree(self: Any, docname: str, *args: Any, **kwargs: Any) -> Any:
        start = process_time()
        doctree = resolve(self, docname, *args, **kwargs)
        _add("write.resolve", process_time() - start)
        NODES[docname] = sum(1 for _ in doctree.findall())
        return doctree

    BuildEnvironment.get_and_resolve_doctree = get_and_resolve_doctree  # type: ignore[method-assign]
    for name in ("write_doc", "write_doc_serialized", "handle_page"):
        setattr(StandaloneHTMLBuilder, name,
                _timed(lambda *a, name=name, **k: f"write.{name}", getattr(StandaloneHTMLBuilder, name)))
    walkabout = nodes.Node.walkabout

    def walk(self: Any, visitor: Any) -> Any:
        if not isinstance(self, nodes.document):
            return walkabout(self, visitor)
        start = process_time()
        try:
            return walkabout(self, visitor)
        finally:
            _add(f"{_NOW['phase']}.walk:{type(visitor).__name__}", process_time() - start)

    nodes.Node.walkabout = walk  # type: ignore[method-assign]
    connect = EventManager.connect

    def timed_connect(self: Any, name: str, callback: Callable[..., Any], priority: int) -> int:
        label = f"ev:{name}:{getattr(callback, '__module__', '?')}.{getattr(callback, '__qualname__', '?')}"
        return connect(self, name, _timed(lambda *a, **k: label, callback), priority)

    EventManager.connect = timed_connect  # type: ignore[method-assign]


def run(out: str, argv: list[str]) -> int:
    instrument()
    from kbgen.sphinxext.main import main

    start = process_time()
    code = main(argv)
    TIMES["-"]["process"] = process_time() - start
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"times": TIMES, "nodes": NODES}, fh, indent=0)
    return code


def report(path: str, top: int) -> None:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    times, nodes_of = data.get("times", data.get("T")), data.get("nodes", data.get("N", {}))
    pages = sorted(((t.get("read.total", 0.0) + t.get("write.total", 0.0), doc, t)
                    for doc, t in times.items() if doc != "-"), reverse=True)
    read = sum(t.get("read.total", 0.0) for _, _, t in pages)
    write = sum(t.get("write.total", 0.0) for _, _, t in pages)
    process = times["-"].get("process", 0.0)
    print(f"{len(pages)} pages: read {read:.2f} s, written {write:.2f} s; process {process:.2f} s")
    print(f"{'page':55} {'nodes':>6}", *(f"{h:>6}" for h in ("read", "myst", "transf", "write", "post", "html",
                                                             "templ")))
    for _, doc, t in pages[:top]:
        transforms = sum(v for k, v in t.items() if k.startswith("read.tf:"))
        post = sum(v for k, v in t.items() if k.startswith("write.tf:"))
        html = sum(v for k, v in t.items() if k.startswith("write.walk:") and "Translator" in k)
        print(f"{doc[:55]:55} {nodes_of.get(doc, 0):6} {t.get('read.total', 0):6.3f} {t.get('read.myst', 0):6.3f} "
              f"{transforms:6.3f} {t.get('write.total', 0):6.3f} {post:6.3f} {html:6.3f} "
              f"{t.get('write.handle_page', 0):6.3f}")
    totals: Counter[str] = Counter()
    for _, _, t in pages:
        totals.update(t)
    print("\nover all pages:")
    for key, seconds in totals.most_common(40):
        print(f"{seconds:8.3f}  {key}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("out")
    run_parser.add_argument("sphinx_args", nargs=argparse.REMAINDER)
    report_parser = sub.add_parser("report")
    report_parser.add_argument("path")
    report_parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()
    if args.command == "run":
        argv = args.sphinx_args[1:] if args.sphinx_args[:1] == ["--"] else args.sphinx_args
        code = run(args.out, argv)
        sys.stdout.flush()
        os._exit(code)
    report(args.path, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
