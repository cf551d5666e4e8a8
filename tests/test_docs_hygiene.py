"""What the code says about itself stays true: references resolve, figures live in bench/README.md.

* Docstrings, comments and help texts point to the repository's own reference docs
  (docs/reference/), never to the specs kbgen was written from (``shared/``).
* Benchmark figures (seconds, megabytes, "at x1") belong in bench/README.md, where they are
  dated and reproducible, not in docstrings and comments, where they go stale unseen.
* Every ``kbgen.…`` module, class or function a docstring names exists (modules move).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kbgen
from kbgen.cli import app

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(kbgen.__file__).resolve().parent
SOURCES = sorted(p for p in (*PACKAGE.rglob("*.py"), *(REPO / "bench").glob("*.py")) if "__pycache__" not in p.parts)

#: A benchmark figure: a duration, a size, a speed-up or the benchmark scale.
FIGURE = re.compile(r"\b\d+(?:[.,]\d+)? ?(?:s|ms|seconds|GB|MB|KB)\b|\bx1\b|\bx0\.\d+\b|\b\d+(?:\.\d+)? ?%|"
                    r"\b\d+(?:\.\d+)?× ")


def prose(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python file."""
    source = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc and node.body and isinstance(node.body[0], ast.Expr):
                yield node.body[0].lineno, doc


def rel(path: Path) -> str:
    return path.relative_to(REPO if path.is_relative_to(REPO) else PACKAGE.parent).as_posix()


def test_no_reference_to_the_shared_specs() -> None:
    pattern = re.compile(r"shared/(?:spec|seed|fixtures|docs)|\bspec/\w|\bthe spec\b|\bspec's\b", re.IGNORECASE)
    found = [f"{rel(p)}:{n}: {line.strip()}" for p in SOURCES
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_no_benchmark_figures_in_docstrings_or_comments() -> None:
    found = [f"{rel(p)}:{n}: {match.group(0)!r}" for p in SOURCES if p.parent.name != "bench"
             for n, text in prose(p) for match in [FIGURE.search(text)] if match]
    assert found == [], "benchmark figures belong in bench/README.md"


def test_the_figure_pattern_catches_what_it_is_for() -> None:
    for text in ("about 0.4 s of a sync", "2.3 GB together", "at the x1 scale", "15% faster", "1.2 ms a link"):
        assert FIGURE.search(text), text
    for text in ("the x-axis", "S95 and F12", "sha256", "Q95-4458-2"):
        assert not FIGURE.search(text), text


NAMED = re.compile(r"(?::(?:mod|func|class|data|meth|attr):`~?|``)(kbgen(?:\.\w+)+)(?:\(\))?(?:`|``)")


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            if importlib.util.find_spec(module) is None:
                continue
        except ModuleNotFoundError:  # a parent that is a module, not a package
            continue
        obj: object = importlib.import_module(module)
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_kbgen_name_a_docstring_gives_exists() -> None:
    names = {(rel(p), n, m.group(1)) for p in SOURCES if PACKAGE in p.parents
             for n, text in prose(p) for m in NAMED.finditer(text)}
    assert len(names) > 20
    missing = sorted(f"{path}:{line}: {name}" for path, line, name in names if not resolves(name))
    assert missing == []


def test_every_reference_page_the_code_names_exists() -> None:
    texts = [p.read_text(encoding="utf-8") for p in SOURCES] + [(REPO / "README.md").read_text(encoding="utf-8")]
    named = {m for text in texts for m in re.findall(r"docs/reference/[\w-]+\.md", text)}
    assert named, "the code points to the reference docs"
    assert sorted(n for n in named if not (REPO / n).is_file()) == []


@pytest.mark.parametrize(("command", "page"), [(["lint", "--help"], "docs/reference/domain-documents.md"),
                                               (["plan", "parse", "--help"], "docs/reference/plans.md")])
def test_help_points_to_the_reference_docs(command: list[str], page: str) -> None:
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert page in text
    assert "spec" not in text.lower().replace("inspect", "")


def test_serve_explains_the_design_it_has() -> None:
    """The live preview relies on dependency digests for exact incremental builds; its docstring
    used to say plain incremental builds leave stale pages and that kbgen rewrites them all."""
    import kbgen.serve

    doc = kbgen.serve.__doc__ or ""
    assert "kbgen.render.deps" in doc
    assert "rewrites them all" not in doc and "stale" not in doc


def test_the_installed_package_holds_what_users_run_only() -> None:
    """The wheel's packages (pyproject's find rule) hold no benchmark or test code."""
    import tomllib

    from setuptools import find_packages

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = find_packages(str(REPO), include=include)
    assert "kbgen" in packages and "kbgen.sphinxext" in packages and "kbgen.sphinx" in packages
    assert not [p for p in packages if not p.startswith("kbgen")]
    shipped = [path for package in packages for path in (REPO / package.replace(".", "/")).glob("*.py")]
    assert not [p for p in shipped if "synthetic" in p.name or "bench" in p.name]
    assert (REPO / "bench" / "synthetic.py").is_file()
