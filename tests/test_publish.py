"""``kbgen publish`` against a local bare repository: real git, real ghp-import, no mocks.

The knowledge-base project is its own git repository whose ``origin`` is a
bare repository in the test's temporary folder; what was published is read
back from the bare repository's ``gh-pages`` branch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kbgen.build import build_site
from kbgen.config import Options
from kbgen.errors import UsageError
from kbgen.publish import StaleSite, publish_site

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")]

GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return proc.stdout


def kbgen(options: Options, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(options.project_dir), *args],
                          capture_output=True, text=True, env={**os.environ, **GIT_ENV, "NO_COLOR": "1"})


@pytest.fixture
def repo_with_remote(example_project: Options, tmp_path: Path) -> tuple[Options, Path]:
    """The example project as a git repository (one commit) with a bare ``origin``."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    project = example_project.project_dir
    git(project, "init", "--quiet", "--initial-branch=main")
    (project / ".gitignore").write_text("/build/\n/db/\n", encoding="utf-8")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "knowledge base")
    git(project, "remote", "add", "origin", str(remote))
    git(project, "push", "--quiet", "origin", "main")
    return example_project, remote


def test_publish_pushes_the_site_with_nojekyll_to_gh_pages(repo_with_remote: tuple[Options, Path]) -> None:
    options, remote = repo_with_remote
    build_site(options, strict=True)

    result = publish_site(options)
    assert (result.remote, result.branch) == ("origin", "gh-pages")
    files = set(git(remote, "ls-tree", "-r", "--name-only", "gh-pages").split())
    assert {"index.html", ".nojekyll", "kb/sessions/S3.html", "_static/kbgen.css", "needs.json"} <= files
    assert git(remote, "rev-parse", "gh-pages").strip() == result.commit
    assert git(remote, "show", "gh-pages:index.html").lstrip().lower().startswith("<!doctype html")
    assert "Publish knowledge base from" in git(remote, "log", "-1", "--format=%s", "gh-pages")
    # the working tree and the source branch are untouched
    assert git(options.project_dir, "status", "--porcelain").strip() == ""
    assert git(options.project_dir, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"

    # a second publish adds a commit on top of the first (history kept, fast-forward push)
    second = publish_site(options, message="second publication")
    log = git(remote, "log", "--format=%s", "gh-pages").splitlines()
    assert log == ["second publication", log[1]] and second.commit != result.commit


def test_publish_folds_the_search_delta(repo_with_remote: tuple[Options, Path],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from kbgen import pagefind
    from kbgen.sync import sync

    if not pagefind.pagefind_available():
        pytest.skip("the Pagefind binary does not run here")
    options, remote = repo_with_remote
    monkeypatch.setattr(pagefind, "FOLD_SHARE", 1.0)
    build_site(options)
    page = options.docs_path / "about.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nA paragraph about narwhals.\n", encoding="utf-8")
    sync(options)
    assert build_site(options).search_update.mode == "delta"  # type: ignore[union-attr]
    assert pagefind.has_delta(options.build_path)

    publish_site(options, check_database=False)
    files = set(git(remote, "ls-tree", "-r", "--name-only", "gh-pages").split())
    assert "pagefind/pagefind.js" in files
    assert not any(f.startswith(pagefind.DELTA_SUBDIR + "/") for f in files)
    assert not pagefind.has_delta(options.build_path)
    assert build_site(options).mode == "up to date"  # the fold left the build current


def test_publish_refuses_a_missing_or_stale_build(repo_with_remote: tuple[Options, Path]) -> None:
    options, remote = repo_with_remote
    with pytest.raises(StaleSite, match="no built site"):
        publish_site(options)
    build_site(options)
    about = options.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\nEdited after the build.\n", encoding="utf-8")
    with pytest.raises(StaleSite, match="changed since the last build"):
        publish_site(options)
    build_site(options)

    # the database changed after the build: the committed pages no longer match it
    import sqlite3

    db = options.project_dir / "db" / "research.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE findings SET description = description || ' (revised)' WHERE id = 25")
    with pytest.raises(StaleSite, match="no longer match the database"):
        publish_site(options)
    publish_site(options, check_database=False)  # explicitly skipped: the build matches its pages
    assert "index.html" in git(remote, "ls-tree", "--name-only", "gh-pages")

    with pytest.raises(UsageError, match="no git remote named 'upstream'"):
        publish_site(options, remote="upstream", check_database=False)


def test_cli_publish_options_and_exit_codes(repo_with_remote: tuple[Options, Path]) -> None:
    options, remote = repo_with_remote
    refused = kbgen(options, "publish")
    assert refused.returncode == 1
    assert "not publishing" in refused.stderr and "kbgen build" in refused.stderr

    assert kbgen(options, "build").returncode == 0
    done = kbgen(options, "publish", "--remote", "origin", "--branch", "site", "--message", "Site for review")
    assert done.returncode == 0, done.stderr
    assert "origin/site" in done.stdout
    assert git(remote, "log", "-1", "--format=%s", "site").strip() == "Site for review"
    assert ".nojekyll" in git(remote, "ls-tree", "--name-only", "site").split()

    assert kbgen(options, "publish", "--remote", "nowhere").returncode == 2
