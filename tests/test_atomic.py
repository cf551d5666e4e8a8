"""Atomic output: a sync killed at any moment leaves every file old or new, never truncated.

A synthetic database big enough for a sync to take a few seconds is synced
(the *old* state), then changed (findings reworded, sessions removed and
added, a domain redescribed). The *new* state is what a clean sync of the
changed database writes into a copy of the project. Then ``kbgen sync`` runs
as a subprocess and is SIGKILLed at random moments, several times; after each
kill every generated page and domain document must equal its old or its new
bytes, the manifest must parse and own every file present, and temporary
files may only be kbgen's. A last complete sync must give exactly the new
state, with a manifest listing exactly the generated files.

The lock: a second sync on the same output waits (``--wait``) or exits 3 with
a one-line message.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock
from sqlalchemy import text

from kbgen.config import Options, load_options
from kbgen.db.engine import open_engine, resolve_url
from kbgen.outputs import LOCK_NAME, MANIFEST_NAME, TMP_MARK
from kbgen.render.domain_cache import CACHE_NAME as DOMAIN_CACHE_NAME
from kbgen.render.page_cache import CACHE_NAME
from kbgen.scaffold import init_project
from kbgen.sync import sync
from kbgen.sync_state import STATE_NAME

pytestmark = pytest.mark.slow

SCALE = 0.06
#: kbgen's bookkeeping in the generated folder, not generated pages.
BOOKKEEPING = (LOCK_NAME, STATE_NAME, CACHE_NAME, DOMAIN_CACHE_NAME)
KILLS = 7


def files_under(root: Path) -> dict[str, bytes]:
    """Relative path → bytes of every regular file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def is_tmp(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(".") and name.endswith(".tmp") and f".{TMP_MARK}" in name


@dataclass
class Scenario:
    options: Options
    old_generated: dict[str, bytes]
    old_domains: dict[str, bytes]
    new_generated: dict[str, bytes]
    new_domains: dict[str, bytes]
    saved: Path  # copies of the old docs/kb and domains folders

    @property
    def generated(self) -> Path:
        return self.options.generated_path

    def restore_old(self) -> None:
        for name, target in (("kb", self.generated), ("domains", self.options.domains_path)):
            shutil.rmtree(target)
            shutil.copytree(self.saved / name, target, symlinks=True)

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "kbgen", "--quiet", "--project", str(self.options.project_dir), "sync", *extra]


def change_database(options: Options) -> None:
    """Enough changes that a sync rewrites most pages, removes some and creates others."""
    engine = open_engine(resolve_url(options.database, options.project_dir))
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE findings SET description = description || ' (revised)'"))
            conn.execute(text("UPDATE packages SET name = name || '-v2'"))  # on every file page
            conn.execute(text("UPDATE files SET depth = 'DEEP' WHERE id IN (SELECT id FROM files WHERE depth = "
                              "'NOT_TOUCHED' ORDER BY id LIMIT 3)"))  # new file pages
            conn.execute(text("UPDATE domains SET description = COALESCE(description, '') || ' Revised.'"))
            last = int(conn.execute(text("SELECT MAX(id) FROM sessions")).scalar_one())
            conn.execute(text("DELETE FROM sessions WHERE id = :a"), {"a": last})
            conn.execute(text("INSERT INTO sessions (id, name, date, focus, agent_count, notes) "
                              "VALUES (:i, :n, '2026-01-01', 'a new session', 1, 'new')"),
                         {"i": last + 1, "n": f"R{last + 1}"})
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    from bench.synthetic import generate

    base = tmp_path_factory.mktemp("atomic")
    project = base / "kb"
    init_project(project, title="atomic")
    options = load_options(project)
    generate(resolve_url(options.database, project), scale=SCALE, seed=11)
    sync(options)
    saved = base / "saved"
    shutil.copytree(options.generated_path, saved / "kb", symlinks=True)
    shutil.copytree(options.domains_path, saved / "domains", symlinks=True)
    old_generated, old_domains = files_under(options.generated_path), files_under(options.domains_path)
    change_database(options)
    # The new state: a complete sync of the changed database into a copy of the (old) project.
    twin = base / "twin"
    shutil.copytree(project, twin, symlinks=True)
    twin_options = load_options(twin)
    sync(twin_options)
    return Scenario(options, old_generated, old_domains, files_under(twin_options.generated_path),
                    files_under(twin_options.domains_path), saved)


def check_old_or_new(sc: Scenario) -> tuple[int, int]:
    """Every file is its old or its new version; the manifest owns every file. Returns (#new, #old) pages."""
    now = files_under(sc.generated)
    fresh = stale = 0
    for rel, data in now.items():
        if rel in (*BOOKKEEPING, MANIFEST_NAME) or is_tmp(rel):  # (the manifest is checked below)
            continue
        old, new = sc.old_generated.get(rel), sc.new_generated.get(rel)
        assert data in (old, new), f"{rel}: neither the old nor the new version ({len(data)} bytes)"
        if old != new:
            fresh += data == new
            stale += data == old
    manifest = json.loads(now[MANIFEST_NAME])["files"]
    present = {rel for rel in now if rel not in (*BOOKKEEPING, MANIFEST_NAME) and not is_tmp(rel)}
    assert present <= set(manifest), f"files the manifest does not own: {sorted(present - set(manifest))[:5]}"
    old_set = set(sc.old_generated) - {MANIFEST_NAME, *BOOKKEEPING}
    new_set = set(sc.new_generated) - {MANIFEST_NAME, *BOOKKEEPING}
    assert set(manifest) in (old_set, new_set, old_set | new_set)
    for rel, data in files_under(sc.options.domains_path).items():
        if is_tmp(rel):
            continue
        assert data in (sc.old_domains.get(rel), sc.new_domains.get(rel)), f"domains/{rel}: torn"
    for rel in [*now, *files_under(sc.options.domains_path)]:
        name = rel.rsplit("/", 1)[-1]
        assert not name.endswith(".tmp") or is_tmp(rel), f"unexpected temporary file {rel}"
    return fresh, stale


def test_scenario_changes_enough(scenario: Scenario) -> None:
    """The test only means something if the new state differs from the old in many files, both ways."""
    changed = [r for r in scenario.new_generated if scenario.old_generated.get(r) != scenario.new_generated[r]]
    assert len(changed) > 50
    assert set(scenario.old_generated) - set(scenario.new_generated), "no page is removed"
    assert set(scenario.new_generated) - set(scenario.old_generated), "no page is created"
    assert any(scenario.old_domains[r] != scenario.new_domains.get(r) for r in scenario.old_domains)


def _wait_for(sc: Scenario, proc: subprocess.Popen[bytes], rel: str, data: bytes, timeout: float = 60.0) -> bool:
    """Poll until generated file ``rel`` holds ``data`` (or the sync ends)."""
    path = sc.generated / rel
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if path.read_bytes() == data:
                return True
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    try:  # the sync may have written it and ended between two polls
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def test_sigkill_at_random_points_leaves_old_or_new(scenario: Scenario, seeded_random: random.Random) -> None:
    sc = scenario
    rng = seeded_random  # its seed is printed when the test fails (KBGEN_TEST_SEED replays it)
    # Pages are written in sorted order: waiting for one of them to turn new puts a kill mid-write.
    # (The manifest and the state file are written last, just before the sync exits: not pages.)
    changed = sorted(r for r, data in sc.new_generated.items()
                     if r not in {MANIFEST_NAME, *BOOKKEEPING} and sc.old_generated.get(r) != data)
    created = sorted(set(sc.new_generated) - set(sc.old_generated))
    sc.restore_old()
    started = time.monotonic()
    subprocess.run(sc.command(), check=True, capture_output=True)
    full = time.monotonic() - started
    mixed = 0
    for i in range(KILLS):
        sc.restore_old()
        proc = subprocess.Popen(sc.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i % 3 == 0:  # anywhere in the run: start-up, database, rendering, writing, removing
            time.sleep(rng.uniform(0.0, full))
        else:  # right after a given page was written (once: the first page that did not exist before)
            rel = created[0] if i == 1 else changed[rng.randrange(len(changed) * 4 // 5)]
            assert _wait_for(sc, proc, rel, sc.new_generated[rel]), f"the sync never wrote {rel}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fresh, stale = check_old_or_new(sc)
        mixed += bool(fresh and stale)
    assert mixed, "no kill landed while pages were being written"
    # A complete sync afterwards (with the leftovers of a killed one) gives exactly the new state.
    result = subprocess.run(sc.command(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    now = files_under(sc.generated)
    assert {r: d for r, d in now.items() if r not in BOOKKEEPING} == {
        r: d for r, d in sc.new_generated.items() if r not in BOOKKEEPING}
    assert set(json.loads(now[MANIFEST_NAME])["files"]) == set(now) - {MANIFEST_NAME, *BOOKKEEPING}
    assert files_under(sc.options.domains_path) == sc.new_domains


def test_second_sync_exits_3_with_one_line_or_waits(scenario: Scenario) -> None:
    sc = scenario
    sc.options.generated_path.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(sc.generated / LOCK_NAME))
    with lock:  # (--force: with nothing changed, a sync takes the no-op shortcut and needs no lock)
        busy = subprocess.run(sc.command("--force"), capture_output=True, text=True, timeout=120)
    assert busy.returncode == 3
    lines = busy.stderr.strip().splitlines()
    assert len(lines) == 1 and "another kbgen sync is writing" in lines[0] and "--wait" in lines[0], busy.stderr
    assert "Traceback" not in busy.stderr
    # With --wait, the second sync waits for the first to finish, then runs.
    lock.acquire()
    waiting = subprocess.Popen(sc.command("--force", "--wait", "60"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(1.5)
    assert waiting.poll() is None, "the second sync did not wait for the lock"
    lock.release()
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err


def test_two_concurrent_syncs_leave_the_new_state(scenario: Scenario) -> None:
    sc = scenario
    sc.restore_old()
    procs = [subprocess.Popen(sc.command("--wait", "120"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    now = files_under(sc.generated)
    assert {r: d for r, d in now.items() if r not in BOOKKEEPING} == {
        r: d for r, d in sc.new_generated.items() if r not in BOOKKEEPING}
    assert files_under(sc.options.domains_path) == sc.new_domains
