"""A throwaway PostgreSQL server for the test suite (initdb + pg_ctl, no Docker).

Started once per test session on a free loopback port with trust auth in a
temporary folder; each test gets a fresh database. As root (CI), the server
runs as the ``postgres`` system user, since initdb refuses to run as root.
When no server can be started the PostgreSQL tests are skipped — unless
``KBGEN_REQUIRE_POSTGRES=1`` (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    folder: Path
    bindir: Path

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


def _bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if (Path(c) / "initdb").exists():
            return Path(c)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[PgServer | None, str]:
    """Start a server; (server, "") or (None, reason)."""
    bindir = _bindir()
    if bindir is None:
        return None, "PostgreSQL server binaries (initdb) not found"
    folder = Path(tempfile.mkdtemp(prefix="kbgen-pg-"))
    data = folder / "data"
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        if shutil.which("runuser") is None:
            return None, "running as root without runuser"
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres", "postgres")
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
        return None, f"cannot start PostgreSQL: {detail.strip()[:400]}"
    server = PgServer("127.0.0.1", port, "postgres", folder, bindir)
    for _ in range(50):
        try:
            server.psql("SELECT 1")
            break
        except subprocess.CalledProcessError:
            time.sleep(0.2)
    server._prefix = prefix  # type: ignore[attr-defined]
    return server, ""


def stop_server(server: PgServer) -> None:
    prefix = getattr(server, "_prefix", [])
    subprocess.run([*prefix, str(server.bindir / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "immediate",
                    "stop"], capture_output=True)
    shutil.rmtree(server.folder, ignore_errors=True)
