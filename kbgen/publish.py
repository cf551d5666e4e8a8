"""``kbgen publish``: push the built site to a gh-pages branch of a git remote.

The commit is made by ghp-import (the tool MkDocs and many Sphinx projects
use): it writes the site as one commit on the branch without touching the
working tree, adds ``.nojekyll`` (GitHub Pages' Jekyll step would otherwise
drop ``_static/`` and every other folder starting with an underscore) and
pushes. ghp-import runs as a child process in the project's repository.

Publishing refuses a missing or stale build rather than pushing whatever is
in the build folder: "stale" means the pages, domain documents or
configuration changed since the last ``kbgen build`` (its recorded
fingerprint no longer matches), or the generated pages no longer match the
database (a read-only ``sync --check``).

A site whose Pagefind index has a delta stack (:mod:`kbgen.pagefind`) is
published with the stack folded into one main bundle: the published search
ranks every page on one index and fetches no other bundle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kbgen import pagefind
from kbgen.build import build_staleness, doctrees_path
from kbgen.config import Options
from kbgen.errors import EnvironmentProblem, KbgenError, UsageError


class StaleSite(KbgenError):
    """The built site is missing or does not match its sources: build before publishing (exit 1)."""

    exit_code = 1


@dataclass(frozen=True)
class PublishResult:
    remote: str
    branch: str
    commit: str
    files: int
    url: str


def _git(args: list[str], cwd: Path, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    except FileNotFoundError as exc:
        raise EnvironmentProblem("git is not installed (kbgen publish pushes with git)") from exc


def site_staleness(options: Options, *, check_database: bool = True) -> str | None:
    """Why the built site must not be published as it is, or None."""
    reason = build_staleness(options)
    if reason or not check_database:
        return reason
    from kbgen.sync import sync

    report = sync(options, check=True, readonly=True)
    if report.stale:
        shown = ", ".join(report.stale[:3]) + (" …" if len(report.stale) > 3 else "")
        return f"{len(report.stale)} generated files no longer match the database ({shown}; run 'kbgen build')"
    return None


def repository_root(project: Path) -> Path:
    proc = _git(["rev-parse", "--show-toplevel"], project)
    if proc.returncode != 0:
        raise EnvironmentProblem(f"{project} is not inside a git repository",
                                 hint="git init; git remote add origin URL")
    return Path(proc.stdout.strip())


def _committer_env(repo: Path) -> dict[str, str]:
    """ghp-import takes the committer from git config; fall back to a neutral one (fresh CI machines)."""
    env = dict(os.environ)
    for key, var, fallback in (("user.name", "GIT_COMMITTER_NAME", "kbgen"),
                               ("user.email", "GIT_COMMITTER_EMAIL", "kbgen@localhost")):
        if var not in env and not _git(["config", key], repo).stdout.strip():
            env[var] = fallback
    return env


def default_message(repo: Path) -> str:
    head = _git(["rev-parse", "--short", "HEAD"], repo)
    source = f" from {head.stdout.strip()}" if head.returncode == 0 and head.stdout.strip() else ""
    return f"Publish knowledge base{source} (kbgen publish)"


def publish_site(options: Options, *, remote: str = "origin", branch: str = "gh-pages",
                 message: str | None = None, check_database: bool = True) -> PublishResult:
    """Commit the built site to ``branch`` (with .nojekyll) and push it to ``remote``."""
    reason = site_staleness(options, check_database=check_database)
    if reason:
        raise StaleSite(f"not publishing: {reason}")
    if not branch or branch.startswith("-") or _git(["check-ref-format", "--branch", branch],
                                                    options.project_dir).returncode != 0:
        raise UsageError(f"not a valid branch name: {branch!r}")
    repo = repository_root(options.project_dir)
    url = _git(["remote", "get-url", remote], repo)
    if url.returncode != 0:
        raise UsageError(f"no git remote named {remote!r}", hint=f"git remote add {remote} URL")
    fetched = _git(["fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"], repo)
    if fetched.returncode != 0 and "couldn't find remote ref" not in fetched.stderr:
        raise EnvironmentProblem(f"cannot fetch {remote}: {fetched.stderr.strip()}")
    site = options.build_path.resolve()
    if pagefind.has_delta(site) and pagefind.pagefind_available():
        pagefind.update_index(site, doctrees_path(options), fold=True)
    cmd = [sys.executable, "-m", "ghp_import", "--no-jekyll", "--push", "--remote", remote, "--branch", branch,
           "--message", message or default_message(repo), str(site)]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, env=_committer_env(repo))
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise EnvironmentProblem(f"publishing to {remote}/{branch} failed: {detail[-2000:]}")
    commit = _git(["rev-parse", f"refs/heads/{branch}"], repo).stdout.strip()
    files = sum(1 for p in site.rglob("*") if p.is_file()) + 1  # + .nojekyll
    return PublishResult(remote, branch, commit, files, url.stdout.strip())
