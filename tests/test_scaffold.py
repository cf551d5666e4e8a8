"""``kbgen init``: the scaffold, and the GitHub Pages workflow it writes.

The workflow is checked as a data structure (not as text), against what
GitHub Actions requires of a Pages deployment and against the project the
same scaffold writes (the artifact path is the configured build folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kbgen.config import load_options
from kbgen.scaffold import init_project

WORKFLOW = ".github/workflows/pages.yml"


def _workflow(project: Path) -> dict[Any, Any]:
    data = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job["steps"]
    assert isinstance(steps, list) and all(isinstance(s, dict) for s in steps)
    for step in steps:  # every step either runs a command or uses an action, never both
        assert ("run" in step) != ("uses" in step), step
    return steps


def _uses(steps: list[dict[str, Any]], action: str) -> dict[str, Any]:
    matches = [s for s in steps if str(s.get("uses", "")).split("@")[0] == action]
    assert len(matches) == 1, f"{action} used {len(matches)} times"
    assert "@v" in matches[0]["uses"], "actions are pinned to a major version"
    return matches[0]


def test_init_writes_the_scaffold_and_never_overwrites(tmp_path: Path) -> None:
    first = init_project(tmp_path, title="Audit KB")
    assert WORKFLOW in first.created
    assert {"conf/kbgen.yaml", "docs/conf.py", "docs/index.md", ".gitignore"} <= set(first.created)
    (tmp_path / WORKFLOW).write_text("# edited by hand\n", encoding="utf-8")
    second = init_project(tmp_path, title="Other title")
    assert second.created == []
    assert WORKFLOW in second.kept
    assert (tmp_path / WORKFLOW).read_text(encoding="utf-8") == "# edited by hand\n"


def test_the_scaffold_gitignore_keeps_machine_local_files_out_of_git(tmp_path: Path) -> None:
    import subprocess

    from kbgen.outputs import LOCK_NAME
    from kbgen.render.domain_cache import CACHE_NAME as DOMAIN_CACHE_NAME
    from kbgen.render.page_cache import CACHE_NAME
    from kbgen.sync_state import STATE_NAME

    init_project(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    local = [f"docs/kb/{name}" for name in (STATE_NAME, CACHE_NAME, DOMAIN_CACHE_NAME, LOCK_NAME)]
    local += ["build/site/index.html", "db/research.db"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *local], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert sorted(proc.stdout.split()) == sorted(local)


def test_pages_workflow_builds_strictly_and_deploys_with_the_official_actions(tmp_path: Path) -> None:
    init_project(tmp_path)
    flow = _workflow(tmp_path)
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1); GitHub reads it as "on".
    triggers = flow.get("on", flow.get(True))
    assert isinstance(triggers, dict)
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert flow["concurrency"]["group"] == "pages"

    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    steps = _steps(build)
    _uses(steps, "actions/checkout")
    assert _uses(steps, "actions/setup-python")["with"]["python-version"] == "3.11"
    commands = "\n".join(str(s["run"]) for s in steps if "run" in s)
    assert "pip install" in commands and "$KBGEN_PACKAGE" in commands
    assert "apt-get" not in commands  # kbgen needs no system package: graphs are drawn by kbgen itself
    assert flow["env"]["KBGEN_PACKAGE"].startswith("kbgen")
    build_runs = [str(s["run"]) for s in steps if "kbgen build" in str(s.get("run", ""))]
    assert len(build_runs) == 1
    assert "--strict" in build_runs[0].split()
    assert "--clean" not in build_runs[0].split()  # incremental on the cached environment
    check = next(s for s in steps if "kbgen sync --check" in str(s.get("run", "")))
    assert "KBGEN_DB" in check["if"]  # only when CI can reach the database
    order = [i for i, s in enumerate(steps) if s is check or "kbgen build" in str(s.get("run", ""))]
    assert order == sorted(order) and len(order) == 2  # check, then build
    upload = _uses(steps, "actions/upload-pages-artifact")
    build_dir = load_options(tmp_path).build_dir.as_posix()
    assert upload["with"]["path"] == build_dir
    assert steps.index(upload) > max(order)

    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    deploy_step = _uses(_steps(deploy), "actions/deploy-pages")
    assert deploy_step["id"] == "deployment"
    assert deploy["environment"]["url"] == "${{ steps.deployment.outputs.page_url }}"


def test_pages_workflow_caches_the_environment_and_search_index_between_runs(tmp_path: Path) -> None:
    """The Sphinx environment (doctrees) and the site with its Pagefind bundles are restored before
    the build and saved after it, under a key made of kbgen's and Sphinx's versions and the
    configuration, so a run after one session is an incremental build."""
    init_project(tmp_path)
    options = load_options(tmp_path)
    steps = _steps(_workflow(tmp_path)["jobs"]["build"])
    restore = _uses(steps, "actions/cache/restore")
    save = _uses(steps, "actions/cache/save")
    build = next(s for s in steps if "kbgen build" in str(s.get("run", "")))
    assert steps.index(restore) < steps.index(build) < steps.index(save)
    assert steps.index(save) < steps.index(_uses(steps, "actions/upload-pages-artifact"))

    # both cache the build folder and the doctree folder kbgen build uses (the project's)
    wanted = {options.build_dir.as_posix(), options.doctrees_path.relative_to(tmp_path).as_posix()}
    for step in (restore, save):
        assert set(str(step["with"]["path"]).split()) == wanted

    # the key: the versions step's output (kbgen and the Sphinx packages) and the configuration
    versions = next(s for s in steps if s.get("id") == "versions")
    assert steps.index(versions) < steps.index(restore)
    for name in ("kbgen", "sphinx", "sphinx-needs", "myst-parser", "pydata-sphinx-theme"):
        assert f'"{name}"' in versions["run"]
    key = str(restore["with"]["key"])
    assert "steps.versions.outputs.key" in key
    assert "hashFiles('conf/kbgen.yaml', 'docs/conf.py')" in key
    assert "github.run_id" in key  # a cache entry is immutable: each run saves a new one
    # an older run's entry with the same versions and configuration is restored
    prefix = key.split("${{ github.run_id }}")[0]
    assert str(restore["with"]["restore-keys"]).strip() == prefix
    assert restore["id"] == "restore" and save["with"]["key"] == "${{ steps.restore.outputs.cache-primary-key }}"


def test_pages_workflow_versions_step_prints_the_key(tmp_path: Path) -> None:
    """The versions step's script runs here and prints one ``key=`` line (GitHub's output format)."""
    import subprocess
    import sys

    init_project(tmp_path)
    steps = _steps(_workflow(tmp_path)["jobs"]["build"])
    script = next(s for s in steps if s.get("id") == "versions")["run"]
    body = script.split("<<'EOF'\n", 1)[1].rsplit("EOF", 1)[0]
    if "pagefind-bin" in body:
        from importlib.metadata import PackageNotFoundError, version

        try:
            version("pagefind-bin")
        except PackageNotFoundError:
            pytest.skip("pagefind-bin is not installed here")
    proc = subprocess.run([sys.executable, "-"], input=body, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("key=kbgen") and " " not in lines[0]


def test_workflow_template_is_valid_yaml_with_two_jobs() -> None:
    """The template file is valid YAML on its own (a broken template would break every new project)."""
    template = Path(__file__).resolve().parents[1] / "kbgen" / "scaffold" / "files" / "pages.yml"
    data = yaml.safe_load(template.read_text(encoding="utf-8"))
    assert set(data["jobs"]) == {"build", "deploy"}


@pytest.mark.parametrize("title", ['The "quillc" audit', "Back\\slash's KB", "Audit *KB* <b>#1</b>: 100 %",
                                   "Two\nlines", "Ünïcödé — KB 🙂",
                                   "Line\u2028separator\x85and\U000e0001tag"])
def test_init_writes_valid_files_for_any_title(tmp_path: Path, title: str) -> None:
    """conf.py must stay Python and kbgen.yaml YAML whatever the title holds (it is data, not code)."""

    init_project(tmp_path, title=title)
    conf = (tmp_path / "docs" / "conf.py").read_text(encoding="utf-8")
    namespace: dict[str, Any] = {}
    exec(compile(conf, "conf.py", "exec"), namespace)
    assert namespace["project"] == title
    assert namespace["extensions"] == ["kbgen.sphinxext"]
    data = yaml.safe_load((tmp_path / "conf" / "kbgen.yaml").read_text(encoding="utf-8"))
    assert data["title"] == title
    assert load_options(tmp_path).title == title
    heading = (tmp_path / "docs" / "index.md").read_text(encoding="utf-8").splitlines()[0]
    assert heading.startswith("# ") and "\n" not in heading
