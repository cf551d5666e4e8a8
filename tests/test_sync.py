"""The sync engine: deterministic, write-if-changed, removes only its own stale pages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kbgen.config import Options
from kbgen.db.engine import sqlite_path
from kbgen.errors import KbgenError
from kbgen.sync import sync


def _db(options: Options) -> Path:
    path = sqlite_path(options.database)
    assert path is not None
    return path if path.is_absolute() else options.project_dir / path


def _snapshot_files(options: Options) -> dict[Path, tuple[bytes, int]]:
    roots = [options.generated_path, options.domains_path]
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for root in roots for p in root.rglob("*") if p.is_file()
            and ".kbgen-sync.lock" not in p.name}


def test_second_sync_writes_nothing(example_project: Options) -> None:
    before = _snapshot_files(example_project)
    report = sync(example_project, force=True)  # render and compare everything
    assert report.written == [] and report.removed == []
    state = (".kbgen-manifest.json", ".kbgen-state.json", ".kbgen-pages.json", ".kbgen-domains.json")
    assert report.unchanged == len([p for p in before if p.name not in state])
    assert _snapshot_files(example_project) == before  # bytes and mtimes


def test_same_database_same_bytes(example_project: Options, tmp_path: Path) -> None:
    from tests.conftest import make_example_project

    other = make_example_project(tmp_path / "other")
    for p in example_project.generated_path.rglob("*.md"):
        rel = p.relative_to(example_project.generated_path)
        assert (other.generated_path / rel).read_bytes() == p.read_bytes(), rel


@pytest.mark.slow
def test_deleted_finding_disappears_and_check_reports_it(example_project: Options) -> None:
    hand_written = {p: p.read_bytes() for p in example_project.docs_path.glob("*.md")}
    generated = example_project.generated_path
    assert "F44" in (generated / "sessions/S3.md").read_text()
    con = sqlite3.connect(_db(example_project))
    con.execute("DELETE FROM findings WHERE id = 44")
    con.commit()
    con.close()

    check = sync(example_project, check=True)
    assert check.stale, "sync --check sees the change before the sync"
    code, out = run_cli(["--project", str(example_project.project_dir), "sync", "--check"])
    assert code == 1 and "stale: docs/kb/sessions/S3.md" in out

    report = sync(example_project)
    assert report.written
    for p in generated.rglob("*.md"):
        assert "(#need-F44)" not in p.read_text(encoding="utf-8"), p
        assert ":id: F44\n" not in p.read_text(encoding="utf-8"), p
    assert {p: p.read_bytes() for p in example_project.docs_path.glob("*.md")} == hand_written
    assert sync(example_project, check=True).stale == []
    assert run_cli(["--project", str(example_project.project_dir), "sync", "--check"])[0] == 0


def run_cli(args: list[str]) -> tuple[int, str]:
    """The real command line in a child process: (exit code, stdout + stderr)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "kbgen", *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_removed_entity_page_is_deleted_but_foreign_files_survive(example_project: Options) -> None:
    foreign = example_project.generated_path / "sessions" / "my-notes.md"
    foreign.write_text("# mine\n")
    con = sqlite3.connect(_db(example_project))
    con.execute("DELETE FROM findings WHERE session_id = 4")
    con.execute("DELETE FROM file_reads WHERE session_id = 4")
    con.execute("DELETE FROM sessions WHERE id = 4")
    con.commit()
    con.close()
    report = sync(example_project)
    assert any(p.endswith("sessions/S4.md") for p in report.removed)
    assert not (example_project.generated_path / "sessions/S4.md").exists()
    assert foreign.read_text() == "# mine\n"


def test_labels_stay_stable_when_findings_come_and_go(example_project: Options) -> None:
    from kbgen.db.engine import open_engine
    from kbgen.db.load import load_snapshot

    def labels() -> dict[tuple[str, int], str]:
        engine = open_engine(f"sqlite:///{_db(example_project)}")
        snap = load_snapshot(engine, example_project)
        engine.dispose()
        return {(lab.domain, lab.finding_id): lab.text for lab in snap.labels}

    first = labels()
    assert first
    _, victim = next(iter(sorted(first)))
    con = sqlite3.connect(_db(example_project))
    con.execute("DELETE FROM findings WHERE id = ?", (victim,))
    con.execute("INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, "
                "description, followed_up) SELECT 999, file_id, session_id, 1, 2, 'CRITICAL', 'bug', 'new one', 0 "
                "FROM findings WHERE id = (SELECT MIN(id) FROM findings)")
    con.commit()
    con.close()
    sync(example_project)
    second = labels()
    for key, text in first.items():
        assert second[key] == text, "a label never changes"
    new = {k: v for k, v in second.items() if k[1] == 999}
    assert new
    for (domain, _), text in new.items():
        used = [int(v[1:]) for (d, _), v in first.items() if d == domain and v[0] == "C"]
        assert int(text[1:]) == max(used, default=0) + 1, "a new finding gets max+1, gaps are not reused"


def test_noop_shortcut_notices_every_kind_of_change(example_project: Options) -> None:
    """A sync with no changed input renders nothing — but any change makes it render again."""
    first = sync(example_project)
    assert first.shortcut and not first.written
    page = example_project.generated_path / "sessions/S1.md"
    page.write_text("hand-edited\n")  # a generated page edited by hand is restored
    report = sync(example_project)
    assert not report.shortcut and report.written == ["docs/kb/sessions/S1.md"]
    assert sync(example_project).shortcut
    con = sqlite3.connect(_db(example_project))  # a database change, same size, same instant
    con.execute("UPDATE findings SET severity = 'LOW' WHERE id = 1")
    con.commit()
    con.close()
    report = sync(example_project)
    assert not report.shortcut and report.written
    assert sync(example_project, force=True).shortcut is False


def test_noop_shortcut_after_a_narrative_edit_but_not_after_a_generated_block_edit(example_project: Options) -> None:
    """The narrative of a domain document is the team's: editing it leaves the sync nothing to do
    (the build re-reads the document). A generated block edited by hand, or a marker broken or
    added, makes the sync run: it restores the block, or names the broken marker."""
    assert sync(example_project).shortcut
    document = example_project.domains_path / "plugin-sandbox" / "analysis.md"
    text = document.read_text(encoding="utf-8")
    old = "The registry does not verify"
    assert old in text
    document.write_text(text.replace(old, "The registry (as of this week) does not verify", 1), encoding="utf-8")
    report = sync(example_project)
    assert report.shortcut and not report.written
    assert "as of this week" in document.read_text(encoding="utf-8")

    edited = document.read_text(encoding="utf-8")
    begin = edited.index("<!-- kbgen:begin findings -->")
    end = edited.index("<!-- kbgen:end findings -->")
    document.write_text(edited[:begin] + "<!-- kbgen:begin findings -->\nA row typed by hand.\n"
                        + edited[end:], encoding="utf-8")
    report = sync(example_project)
    assert not report.shortcut and report.written == ["domains/plugin-sandbox/analysis.md"]
    assert document.read_text(encoding="utf-8") == edited  # the block is back, the narrative kept

    document.write_text(edited + "\n<!-- kbgen:begin findings -->\n", encoding="utf-8")  # a repeated marker
    with pytest.raises(KbgenError, match="appears twice"):
        sync(example_project)


def test_noop_shortcut_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL: the fingerprint is an md5 of every table's rows, computed by the server."""
    from sqlalchemy import text

    from bench.synthetic import generate
    from kbgen.config import load_options
    from kbgen.db.engine import open_engine
    from kbgen.scaffold import init_project

    generate(pg_url, scale=0.01, seed=3, hostile=False)
    init_project(tmp_path / "kb")
    options = load_options(tmp_path / "kb").with_database(pg_url)
    assert sync(options).written
    assert sync(options).shortcut
    engine = open_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE findings SET description = description || ' (edited)' "
                          "WHERE id = (SELECT MIN(id) FROM findings)"))
    engine.dispose()
    report = sync(options)
    assert not report.shortcut and report.written
    assert sync(options).shortcut


def test_noop_shortcut_counts_the_unchanged_pages_without_a_domains_folder(tmp_path: Path) -> None:
    """A database without domains leaves no domains/ folder: the shortcut still counts every page."""
    from kbgen.config import load_options
    from kbgen.db.engine import open_engine
    from kbgen.db.migrate import init_research_db
    from kbgen.scaffold import init_project

    init_project(tmp_path / "kb")
    options = load_options(tmp_path / "kb")
    (options.project_dir / "db").mkdir(exist_ok=True)
    engine = open_engine(f"sqlite:///{options.project_dir / 'db' / 'research.db'}", must_exist=False)
    init_research_db(engine)
    engine.dispose()
    (options.project_dir / "domains").rmdir()  # kbgen init makes it; a team may not have one
    full = sync(options)
    assert not full.shortcut and full.written
    assert not options.domains_path.exists()
    again = sync(options)
    assert again.shortcut
    assert again.unchanged == len(full.written) > 0
    assert again.summary().startswith(f"0 written, {len(full.written)} unchanged")
