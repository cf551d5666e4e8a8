"""``bench/run.py`` measures the kbgen its caller chose: a checkout named on ``PYTHONPATH`` (how
``bench/bench_first_incremental.py`` compares two checkouts) wins over the checkout the benchmark
is started from, in the ``python -m kbgen`` children as in the benchmark's own ``--child-*`` ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import KBGEN, REPO, run_child


@pytest.fixture
def other_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for another checkout: a ``kbgen`` package that only says who it is."""
    package = tmp_path / "other" / "kbgen"
    package.mkdir(parents=True)
    real = REPO / "kbgen"
    # Its modules are this checkout's (``bench/run.py`` imports kbgen.build), its name says which one.
    (package / "__init__.py").write_text(
        f"__path__.append({str(real)!r})\n"
        f"exec(compile(open({str(real / '__init__.py')!r}).read(), 'kbgen/__init__.py', 'exec'))\n"
        "WHO = 'the other checkout'\n", encoding="utf-8")
    (package / "__main__.py").write_text("print('kbgen of the other checkout')\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    monkeypatch.chdir(REPO)  # started from the checkout's root, as its docstring says
    return package.parent


def test_python_m_kbgen_children_run_the_checkout_on_pythonpath(other_checkout: Path) -> None:
    _, _, stdout, _ = run_child([*KBGEN, "--help"])
    assert stdout.strip() == "kbgen of the other checkout"


def test_an_explicit_working_folder_is_kept(other_checkout: Path, tmp_path: Path) -> None:
    _, _, stdout, _ = run_child([sys.executable, "-c", "import os; print(os.getcwd())"], cwd=tmp_path)
    assert Path(stdout.strip()) == tmp_path


def test_the_benchmark_script_puts_its_checkout_after_pythonpath(other_checkout: Path, tmp_path: Path) -> None:
    # Loaded by file name, as ``python bench/run.py --child-build`` loads it: the script adds its own
    # checkout to sys.path (for ``bench.synthetic``), after the entries of PYTHONPATH.
    code = ("import importlib.util, sys; "
            f"spec = importlib.util.spec_from_file_location('bench_run', {str(REPO / 'bench' / 'run.py')!r}); "
            "module = sys.modules['bench_run'] = importlib.util.module_from_spec(spec); "
            "spec.loader.exec_module(module); "
            "import kbgen; print(kbgen.WHO)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "the other checkout"


def test_measured_commands_use_the_bytecode_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine's PYTHONDONTWRITEBYTECODE must not make every measured command compile kbgen."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    _, _, stdout, _ = run_child([sys.executable, "-c", "import sys; print(sys.dont_write_bytecode)"])
    assert stdout.strip() == "False"
