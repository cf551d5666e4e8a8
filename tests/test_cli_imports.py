"""The command line answers at once: importing it, and printing any help, loads none of the
libraries behind the commands (SQLAlchemy, Alembic, Sphinx, Rich, Jinja2, ...).

Each check runs in a fresh interpreter (this test process has long imported everything) and
reads ``sys.modules`` there. Timings are in bench/README.md, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Top-level packages a ``kbgen --help`` must not load: each costs tens to hundreds of milliseconds.
HEAVY = ("sqlalchemy", "alembic", "sphinx", "sphinx_needs", "docutils", "myst_parser", "rich", "jinja2",
         "markdown_it", "jsonschema", "yaml")

_PROBE = """
import json, sys
{code}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""


def _loaded(code: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(code=code)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert not _loaded("import kbgen.cli") & set(HEAVY)


@pytest.mark.parametrize("argv", [["--help"], ["build", "--help"], ["sync", "--help"], ["plan", "--help"],
                                  ["plan", "import", "--help"], ["record", "--help"], ["session", "--help"],
                                  ["db", "--help"], ["report", "--help"], ["finding", "add", "--help"],
                                  ["vocab", "--help"], ["changes", "--help"], ["plan", "draft", "--help"],
                                  ["db", "copy", "--help"]])
def test_help_loads_no_heavy_library(argv: list[str]) -> None:
    code = f"""
from kbgen.cli import app
sys.argv = ["kbgen", *{argv!r}]
try:
    app(standalone_mode=False)
except SystemExit:
    pass
"""
    loaded = _loaded(code)
    assert "typer" in loaded  # the probe did build the command line
    assert not loaded & set(HEAVY), f"kbgen {' '.join(argv)} loaded {sorted(loaded & set(HEAVY))}"


def test_a_usage_error_loads_no_heavy_library() -> None:
    loaded = _loaded("""
from kbgen.cli import app, common
sys.argv = ["kbgen", "build", "--search", "nonsense", "--no-sync", "--project", "/nonexistent"]
code = common.run(app)
assert code != 0, code
""")
    assert not loaded & {"sqlalchemy", "alembic", "sphinx"}


def test_cli_default_jobs_is_the_build_default() -> None:
    from kbgen.build import DEFAULT_JOBS
    from kbgen.cli import site_cmd

    assert site_cmd.DEFAULT_JOBS == DEFAULT_JOBS


def test_database_errors_still_map_to_exit_3(tmp_path: object) -> None:
    """The SQLAlchemy error branch works although the CLI no longer imports SQLAlchemy up front."""
    from sqlalchemy.exc import OperationalError

    from kbgen.cli import common

    error = common._database_error(OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert error is not None and error.exit_code == 3
    assert common._database_error(ValueError("not a database error")) is None
