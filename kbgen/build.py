"""Running Sphinx: ``kbgen build``, used by ``kbgen demo`` and ``kbgen serve``.

sphinx-build runs in a child process (the same Python) so a build gets a
fresh interpreter — sphinx-needs keeps module-level state — and parallel
jobs work as documented.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kbgen.config import Options
from kbgen.errors import EnvironmentProblem, KbgenError


class BuildFailed(KbgenError):
    """sphinx-build reported an error (or a warning under --strict)."""

    exit_code = 1


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    seconds: float
    warnings: int
    index: Path


def sphinx_command(options: Options, *, clean: bool = False, strict: bool = False,
                   jobs: str = "auto", builder: str = "html") -> list[str]:
    cmd = [sys.executable, "-m", "sphinx", "-b", builder, "-j", jobs, "-q"]
    if clean:
        cmd.append("-E")
    if strict:
        cmd += ["-W", "--keep-going"]
    cmd += ["-d", str(options.build_path.parent / ".doctrees"), str(options.docs_path), str(options.build_path)]
    return cmd


def build_site(options: Options, *, clean: bool = False, strict: bool = False, jobs: str = "auto",
               quiet: bool = True) -> BuildResult:
    """Build the HTML site from the docs folder (sync first: see ``kbgen build``)."""
    if not (options.docs_path / "conf.py").exists():
        raise EnvironmentProblem(f"no Sphinx conf.py in {options.docs_path}", hint="run 'kbgen init' first")
    if clean and options.build_path.exists():
        shutil.rmtree(options.build_path)
        shutil.rmtree(options.build_path.parent / ".doctrees", ignore_errors=True)
    started = time.perf_counter()
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    proc = subprocess.run(sphinx_command(options, clean=clean, strict=strict, jobs=jobs),
                          cwd=options.project_dir, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    if proc.returncode != 0:
        detail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        raise BuildFailed(f"sphinx-build failed (exit {proc.returncode}):\n{detail}")
    if not quiet and proc.stderr.strip():
        sys.stderr.write(proc.stderr)
    return BuildResult(options.build_path, seconds, len(warnings), options.build_path / "index.html")
