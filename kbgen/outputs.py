"""Writing files safely: only when changed, atomically, inside owned folders.

* Bytes are compared first; an unchanged file is not touched (its mtime
  stays, so Sphinx's incremental build does not re-read it).
* A changed file is written to a temporary file in the same folder, flushed,
  fsynced and renamed over the old one: a crash leaves either the old or the
  new file, never a truncated one.
* Every path is checked to resolve inside an allowed root: nothing from the
  database can make kbgen write elsewhere.
* The manifest lists the files a sync generated (with content hashes) so the
  next sync removes its own stale files and never anything else.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kbgen.errors import EnvironmentProblem, UsageError

MANIFEST_NAME = ".kbgen-manifest.json"
LOCK_NAME = ".kbgen-sync.lock"
#: Temporary files are ``.<name>.kbgen-<random>.tmp`` next to their target.
TMP_MARK = "kbgen-"
TMP_GLOB = f".*.{TMP_MARK}*.tmp"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_join(root: Path, relative: str | Path) -> Path:
    """``root / relative``, refusing anything that would land outside ``root``."""
    rel = Path(relative)
    if rel.is_absolute() or any(part in ("..", "") for part in rel.parts) or not rel.parts:
        raise UsageError(f"refusing to write outside {root}: {str(relative)!r}")
    target = (root / rel).resolve()
    base = root.resolve()
    if target != base and base not in target.parents:
        raise UsageError(f"refusing to write outside {root}: {str(relative)!r}")
    return target


class SafeRoot:
    """:func:`safe_join` for many paths under one root, each folder resolved once.

    Resolving every path of a sync walks every folder of it again (thousands of
    ``lstat`` calls per page). The result is the same as :func:`safe_join`'s: a path whose
    last part is not a symbolic link resolves to its resolved folder joined with that part,
    and a symbolic link is resolved in full. The folders are remembered for one sync only:
    folders created meanwhile are plain folders (kbgen creates no links).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = root.resolve()
        self._folders: dict[Path, Path] = {}

    def join(self, relative: str | Path) -> Path:
        rel = Path(relative)
        if rel.is_absolute() or any(part in ("..", "") for part in rel.parts) or not rel.parts:
            raise UsageError(f"refusing to write outside {self.root}: {str(relative)!r}")
        joined = self.root / rel
        if joined.is_symlink():
            return safe_join(self.root, rel)
        folder = self._folders.get(joined.parent)
        if folder is None:
            folder = self._folders[joined.parent] = joined.parent.resolve()
        target = folder / joined.name
        if target != self.base and self.base not in target.parents:
            raise UsageError(f"refusing to write outside {self.root}: {str(relative)!r}")
        return target


def write_if_changed(path: Path, data: bytes, *, durable: bool = True) -> bool:
    """Atomically replace ``path`` with ``data`` unless it already holds exactly that.

    ``durable=False`` skips the fsyncs (the rename stays atomic, so a killed
    process still leaves the old or the new file): for files whose content is
    checked against the manifest's digest before it is trusted, where a power
    cut costs a rewrite at the next sync, and fsyncing thousands of them
    would cost more than the rest of the sync on a busy disk.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{TMP_MARK}", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_dir(path.parent)
    return True


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_manifest(root: Path) -> dict[str, str]:
    """Relative path → sha256 of what the last sync wrote (empty if none)."""
    try:
        data = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def write_manifest(root: Path, files: dict[str, str]) -> bool:
    body = json.dumps({"generator": "kbgen", "files": dict(sorted(files.items()))}, indent=1) + "\n"
    return write_if_changed(root / MANIFEST_NAME, body.encode())


def remove_tmp_leftovers(root: Path, pattern: str = TMP_GLOB) -> None:
    """Temporary files of a sync that was killed mid-write (symlinked folders are not entered)."""
    if not root.exists():
        return
    for tmp in root.rglob(pattern):
        with contextlib.suppress(OSError):
            tmp.unlink()


@contextmanager
def sync_lock(root: Path, *, wait: float = 0.0) -> Iterator[None]:
    """One sync per output folder; a second one waits ``wait`` seconds, then exits clearly."""
    from filelock import FileLock, Timeout  # only a sync locks: writing one file (kbgen report) does not

    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / LOCK_NAME), timeout=wait)
    try:
        lock.acquire()
    except Timeout as exc:
        raise EnvironmentProblem(f"another kbgen sync is writing {root}",
                                 hint="wait for it to finish, or pass --wait SECONDS") from exc
    try:
        yield
    finally:
        lock.release()
