"""Path safety: nothing in the database makes kbgen write (or delete) outside its output folders.

Package names, relative paths, domain names and ``synthesis_path`` values
such as ``../../etc/passwd``, absolute paths, reserved names, names with
newlines, symlinks out of the domains folder, and a hand-edited manifest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from kbgen.config import Options
from kbgen.db.engine import open_engine, resolve_url
from kbgen.errors import UsageError
from kbgen.outputs import MANIFEST_NAME, SafeRoot, safe_join
from kbgen.sync import portable_relpath, sync
from tests.hostile_corpus import HOSTILE_PATHS

#: What a generated file or domain document may be called (relative to its root).
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file (content) and symlink (target) under ``root``, by relative path."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*filenames, *[d for d in dirnames if (Path(dirpath) / d).is_symlink()]]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            out[rel] = ("-> " + os.readlink(path)) if path.is_symlink() else path.read_bytes()
    return out


def execute(options: Options, *statements: tuple[str, dict[str, object]]) -> None:
    engine = open_engine(resolve_url(options.database, options.project_dir))
    try:
        with engine.begin() as conn:
            for sql, params in statements:
                conn.execute(text(sql), params)
    finally:
        engine.dispose()


def outside_snapshot(base: Path, project: Path) -> dict[str, bytes | str]:
    """Everything under ``base`` except the folders kbgen owns (and the database it reads)."""
    owned = ("docs/kb/", "domains/", "db/")
    prefix = project.relative_to(base).as_posix() + "/"
    return {k: v for k, v in tree(base).items()
            if not (k.startswith(prefix) and k[len(prefix):].startswith(owned))}


# -- the building blocks ------------------------------------------------------------------

@pytest.mark.parametrize("relative", ["../x.md", "a/../../x.md", "/etc/passwd", "", ".", "..", "a/..",
                                      "../../etc/passwd"])
def test_safe_join_refuses_everything_outside(tmp_path: Path, relative: str) -> None:
    with pytest.raises(UsageError, match="refusing to write outside"):
        safe_join(tmp_path, relative)
    with pytest.raises(UsageError, match="refusing to write outside"):
        SafeRoot(tmp_path).join(relative)


def test_safe_root_joins_as_safe_join_does(tmp_path: Path) -> None:
    """The sync's join (each folder resolved once) answers as :func:`safe_join`: links in and out, files and folders."""
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "out").symlink_to(tmp_path / "outside")
    (root / "in").symlink_to(root / "a")
    (root / "a" / "file-out.md").symlink_to(tmp_path / "outside" / "x.md")
    (root / "a" / "file-in.md").symlink_to(root / "a" / "b" / "y.md")
    joiner = SafeRoot(root)
    for rel in ("x.md", "a/x.md", "a/b/x.md", "new/x.md", "new/x.md", "in/x.md", "in/b/x.md", "a/file-in.md",
                "out/x.md", "a/file-out.md", "a/b/x.md"):
        try:
            expected: Path | str = safe_join(root, rel)
        except UsageError:
            expected = "refused"
        try:
            got: Path | str = joiner.join(rel)
        except UsageError:
            got = "refused"
        assert got == expected, rel
    assert joiner.join("a/b/x.md") == (root / "a" / "b" / "x.md").resolve()


def test_safe_join_refuses_a_symlink_out(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(UsageError):
        safe_join(tmp_path / "root", "link/x.md")
    assert safe_join(tmp_path / "root", "a/b.md") == (tmp_path / "root" / "a" / "b.md").resolve()


@pytest.mark.parametrize(("relative", "ok"), [
    ("a/analysis.md", True), ("x.md", True), ("build-cache/v2.analysis.md", True),
    ("a b/analysis.md", False), ("a\n```{raw} html\n/x.md", False), ("../x.md", False), (".git/x.md", False),
    ("a//x.md", False), ("CON.md", False), ("a/nul.md", False), ("com1/x.md", False), ("a/x.txt", False),
    ("a/x`y`.md", False), ("a/\u202ex.md", False), ("/abs.md", False), ("a/" + "x" * 101 + ".md", False),
])
def test_portable_relpath(relative: str, ok: bool) -> None:
    assert portable_relpath(relative) is ok


# -- a real sync with hostile names and paths ---------------------------------------------

HOSTILE_NAMES = ("../../etc", "CON", "nul", "", ".kbgen-manifest.json", "a/b\\c", "x\n```{raw} html\n<b>x</b>\n```",
                 "\x1b[2J\u202eevil", "..", "/", "domains")


def test_hostile_paths_and_names_stay_inside(example_project: Options, tmp_path: Path) -> None:
    options = example_project
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("keep me")
    absolute = outside / "abs.md"
    values = [*HOSTILE_PATHS, str(absolute), str(outside / "x" / "analysis.md")]
    statements: list[tuple[str, dict[str, object]]] = []
    for i, value in enumerate(values):
        name = HOSTILE_NAMES[i % len(HOSTILE_NAMES)] + f"-{i}" * (i >= len(HOSTILE_NAMES))
        statements.append(("INSERT INTO domains (id, name, description, priority, synthesis_path) "
                           "VALUES (:id, :name, 'd', 'HIGH', :path)", {"id": 100 + i, "name": name, "path": value}))
    # File and package names never become file names, whatever they hold.
    statements += [("UPDATE files SET relative_path = :p WHERE id = (SELECT MIN(id) FROM files)",
                    {"p": "../../../../../../tmp/kbgen-evil"}),
                   ("UPDATE packages SET name = :n WHERE id = (SELECT MIN(id) FROM packages)", {"n": "../../pkg"})]
    execute(options, *statements)
    before = outside_snapshot(tmp_path, options.project_dir)

    report = sync(options)

    assert outside_snapshot(tmp_path, options.project_dir) == before, "a file outside kbgen's folders changed"
    assert not absolute.exists() and not Path("/tmp/kbgen-evil").exists()
    unsafe = [w for w in report.warnings if w.code == "sync.unsafe-synthesis-path"]
    refused = [v for v in values if v.strip().replace("\\", "/").endswith(".md")
               and not portable_relpath(v.strip().replace("\\", "/").removeprefix("domains/"))]
    assert len(unsafe) == len(refused) > 10
    for rel in tree(options.generated_path):
        assert SAFE_NAME.fullmatch(rel) or rel in ("_labels.json", ".kbgen-manifest.json", ".kbgen-sync.lock",
                                                      ".kbgen-state.json", ".kbgen-pages.json",
                                                      ".kbgen-domains.json"), rel
    for rel in tree(options.domains_path):
        assert SAFE_NAME.fullmatch(rel), rel
    # The {include} of every domain page is one line naming a portable path.
    for page in set((options.generated_path / "domains").glob("*.md")) - {options.generated_path / "domains/index.md"}:
        lines = page.read_text(encoding="utf-8").splitlines()
        includes = [line for line in lines if line.startswith("```{include}")]
        assert len(includes) == 1 and SAFE_NAME.fullmatch(includes[0].split()[-1].replace("../", "")), includes


def test_symlinked_domain_folder_is_not_followed(example_project: Options, tmp_path: Path) -> None:
    options = example_project
    outside = tmp_path / "outside"
    outside.mkdir()
    (options.domains_path / "evil").symlink_to(outside)
    execute(options, ("UPDATE domains SET synthesis_path = 'domains/evil/analysis.md' WHERE id = "
                      "(SELECT MIN(id) FROM domains)", {}))
    report = sync(options)
    assert list(outside.iterdir()) == []
    assert any(w.code == "sync.unsafe-synthesis-path" for w in report.warnings)


def test_generated_folder_symlink_out_is_refused(example_project: Options, tmp_path: Path) -> None:
    """A generated subfolder replaced by a symlink out: the sync refuses (exit 2), writing nothing there."""
    options = example_project
    outside = tmp_path / "outside"
    outside.mkdir()
    sessions = options.generated_path / "sessions"
    for f in sessions.iterdir():
        f.unlink()
    sessions.rmdir()
    sessions.symlink_to(outside)
    with pytest.raises(UsageError, match="refusing to write outside"):
        sync(options)
    assert list(outside.iterdir()) == []


def test_tampered_manifest_cannot_delete_anything_outside(example_project: Options, tmp_path: Path) -> None:
    options = example_project
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    manifest = options.generated_path / MANIFEST_NAME
    data = json.loads(manifest.read_text(encoding="utf-8"))
    hostile = [os.path.relpath(victim, options.generated_path), str(victim), "../../conf/kbgen.yaml",
               ".kbgen-sync.lock", "sessions/../../../conf/kbgen.yaml"]
    data["files"].update({rel: "0" * 64 for rel in hostile})
    manifest.write_text(json.dumps(data), encoding="utf-8")
    report = sync(options)
    assert victim.read_text() == "keep me"
    assert (options.project_dir / "conf" / "kbgen.yaml").exists()
    assert len([w for w in report.warnings if w.code == "sync.unsafe-manifest-entry"]) == 4
    assert set(json.loads(manifest.read_text(encoding="utf-8"))["files"]).isdisjoint(hostile)


def test_cli_warns_in_one_clean_line(example_project: Options) -> None:
    """Hostile names reach the terminal only as repr(): no escape sequence, no bidi override."""
    options = example_project
    execute(options, ("UPDATE domains SET name = :n, synthesis_path = :p WHERE id = (SELECT MIN(id) FROM domains)",
                      {"n": "\x1b[2J\x1b]0;pwned\x07\u202eevil", "p": "../../\x1b[31m.md"}))
    proc = subprocess.run([sys.executable, "-m", "kbgen", "--project", str(options.project_dir), "sync"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr + proc.stdout and "\u202e" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if "sync.unsafe-synthesis-path" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: ")
