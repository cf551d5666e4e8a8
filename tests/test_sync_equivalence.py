"""An incremental sync gives exactly the tree a sync from scratch gives, change after change.

The sync keeps file pages whose inputs did not change (:mod:`kbgen.render.page_cache`)
instead of rendering them. Whatever it keeps must be what it would have rendered: on the
example project, a sequence of changes is applied (a new session with reads and findings,
a finding resolved, a file read deeper, a domain renamed, a plan imported, a configuration
change, a template and code change, generated pages deleted or edited by hand); after each
one the project is synced incrementally, with ``KBGEN_PAGE_CACHE_VERIFY`` rendering every kept
page again to compare, and its generated folder and domain documents are compared byte for
byte with those of a copy of the project synced from scratch.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader

import kbgen.fingerprint
import kbgen.sync
import kbgen.sync_state
from kbgen.config import Options, load_options
from kbgen.db.engine import open_engine, resolve_url, sqlite_path
from kbgen.db.plans import import_plan
from kbgen.plan import parse_plan_file
from kbgen.render import pages
from kbgen.render.page_cache import CACHE_NAME, VERIFY_ENV
from kbgen.sync import sync


def _tree(options: Options) -> dict[str, bytes]:
    """What a sync owns, by path: the generated folder (without kbgen's state files) and the domain documents."""
    out: dict[str, bytes] = {}
    for label, root in (("generated", options.generated_path), ("domains", options.domains_path)):
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith(".kbgen-"):
                out[f"{label}/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return out


def _db(options: Options) -> Path:
    db = sqlite_path(resolve_url(options.database, options.project_dir))
    assert db is not None
    return db


def _from_scratch(options: Options, where: Path) -> Options:
    """A copy of the project (database, configuration, documents) without its generated folder, synced."""
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(options.project_dir, where)
    fresh = load_options(where)
    shutil.rmtree(fresh.generated_path)
    sync(fresh)
    return fresh


def _add_session(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        sid = conn.execute("SELECT max(id) FROM sessions").fetchone()[0] + 1
        conn.execute("INSERT INTO sessions (id, name, date, focus, agent_count, notes) VALUES (?, ?, ?, ?, ?, ?)",
                      (sid, f"R{sid}", "2025-09-29", "follow-ups on the cache", 2, "added by the test"))
        unread = [row[0] for row in conn.execute(
            "SELECT id FROM files WHERE depth IN ('NOT_TOUCHED', 'MENTIONED') ORDER BY id LIMIT 2")]
        read = [row[0] for row in conn.execute("SELECT id FROM files WHERE depth = 'MEDIUM' ORDER BY id LIMIT 1")]
        rid = conn.execute("SELECT max(id) FROM file_reads").fetchone()[0] + 1
        for i, fid in enumerate(unread + read):
            conn.execute("INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) "
                         "VALUES (?, ?, ?, 'DEEP', 80, '1-80', 'read in the test')", (rid + i, fid, sid))
            conn.execute("UPDATE files SET depth = 'DEEP', last_read_date = '2025-09-29' WHERE id = ?", (fid,))
        fid0 = conn.execute("SELECT max(id) FROM findings").fetchone()[0] + 1
        for i, fid in enumerate(unread + read):
            conn.execute("INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, "
                         "description, followed_up) VALUES (?, ?, ?, ?, ?, ?, 'correctness', ?, 0)",
                         (fid0 + i, fid, sid, 10 + i, 12 + i, ("HIGH", "LOW", "MEDIUM")[i % 3],
                          f"Finding {i} of the test session"))


def _resolve_finding(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        finding, session = conn.execute(
            "SELECT f.id, (SELECT max(id) FROM sessions) FROM findings f WHERE f.id NOT IN "
            "(SELECT finding_id FROM kbgen_finding_status) AND f.file_id IS NOT NULL ORDER BY f.id LIMIT 1").fetchone()
        conn.execute("INSERT INTO kbgen_finding_status (finding_id, status, session_id, superseded_by, reason, "
                     "updated_at) VALUES (?, 'resolved', ?, NULL, NULL, '2025-09-29T00:00:00Z')", (finding, session))


def _read_deeper(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        fid = conn.execute("SELECT id FROM files WHERE depth = 'SURFACE' ORDER BY id LIMIT 1").fetchone()[0]
        rid = conn.execute("SELECT max(id) FROM file_reads").fetchone()[0] + 1
        sid = conn.execute("SELECT max(id) FROM sessions").fetchone()[0]
        conn.execute("INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) "
                     "VALUES (?, ?, ?, 'MEDIUM', 40, '1-40', 'deeper')", (rid, fid, sid))
        conn.execute("UPDATE files SET depth = 'MEDIUM', lines_read = 40 WHERE id = ?", (fid,))


def _rename_domain(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE domains SET name = 'plugin-isolation' WHERE name = 'plugin-sandbox'")


def _import_plan(options: Options, tmp: Path) -> None:
    with sqlite3.connect(_db(options)) as conn:
        sid = conn.execute("SELECT max(id) FROM sessions").fetchone()[0]
        files = conn.execute("SELECT id, relative_path, loc FROM files ORDER BY id LIMIT 2").fetchall()
    rows = "\n".join(f"| {i + 1} | {fid} | `{path}` | {loc or 0} |" for i, (fid, path, loc) in enumerate(files))
    source = tmp / f"R{sid}-plan.md"
    source.write_text(f"# R{sid} Execution Plan: Follow-ups\n\n**Session ID**: {sid}\n\n"
                      "### Cluster A: Cache (2 files, ~100 LOC)\n\n| # | File ID | File | LOC |\n|---|---|---|---|\n"
                      f"{rows}\n\n**Key questions**:\n- Is the cache key complete?\n", encoding="utf-8")
    engine = open_engine(resolve_url(options.database, options.project_dir))
    try:
        import_plan(engine, parse_plan_file(source), f"plans/{source.name}")
    finally:
        engine.dispose()


def _configure(options: Options) -> Options:
    """Fewer graph nodes: every file page's graph with many neighbours changes, and nothing in the database."""
    conf = options.project_dir / "conf" / "kbgen.yaml"
    conf.write_text(conf.read_text(encoding="utf-8") + "\ngraph_max_nodes: 3\n", encoding="utf-8")
    changed = load_options(options.project_dir)
    assert changed.graph_max_nodes == 3
    return changed


def _change_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another kbgen: the file page template changed, and with it the code fingerprint."""
    template = pages._ENV.loader.get_source(pages._ENV, "file.md.j2")[0]  # type: ignore[union-attr]
    changed = template.replace("## Read history", "## Reading history")
    assert changed != template
    monkeypatch.setattr(pages._ENV, "loader", ChoiceLoader([DictLoader({"file.md.j2": changed}), pages._ENV.loader]))
    pages._ENV.cache.clear()  # type: ignore[union-attr]
    fingerprint = kbgen.fingerprint.code_fingerprint()
    for module in (kbgen.fingerprint, kbgen.sync_state, kbgen.sync):  # each holds its own reference
        monkeypatch.setattr(module, "code_fingerprint", lambda package_dir=None: fingerprint + "-next")


def _edit_pages(options: Options) -> None:
    """Generated pages deleted and edited by hand: the next sync puts them right."""
    files = sorted((options.generated_path / "files").glob("FILE*.md"))
    files[0].unlink()
    files[1].write_text(files[1].read_text(encoding="utf-8") + "\nA line added by hand.\n", encoding="utf-8")


@pytest.mark.slow
def test_incremental_sync_equals_sync_from_scratch(example_project: Options, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VERIFY_ENV, "1")
    options = example_project
    db = _db(options)
    state: dict[str, Options] = {"options": options}
    steps: list[tuple[str, Callable[[], None]]] = [
        ("nothing changed", lambda: None),
        ("a new session with reads and findings", lambda: _add_session(db)),
        ("a finding resolved", lambda: _resolve_finding(db)),
        ("a file read deeper", lambda: _read_deeper(db)),
        ("a domain renamed", lambda: _rename_domain(db)),
        ("a plan imported", lambda: _import_plan(options, tmp_path)),
        ("a configuration change", lambda: state.update(options=_configure(options))),
        ("a template and code change", lambda: _change_code(monkeypatch)),
        ("generated pages deleted and edited", lambda: _edit_pages(options)),
    ]
    kept_any = False
    for name, change in steps:
        change()
        current = state["options"]
        report = sync(current)
        kept_any = kept_any or report.kept > 0
        fresh = _from_scratch(current, tmp_path / "fresh")
        ours, theirs = _tree(current), _tree(fresh)
        differ = sorted(rel for rel in ours.keys() | theirs.keys() if ours.get(rel) != theirs.get(rel))
        assert not differ, f"after {name}: the incremental sync differs from a sync from scratch: {differ[:10]}"
        assert (current.generated_path / CACHE_NAME).is_file()
        if name == "a new session with reads and findings":
            assert report.kept > 0, "an unchanged file page was rendered again"
        if name == "a template and code change":
            assert report.kept == 0, "another kbgen's pages were kept"
    assert kept_any


def test_kept_pages_are_not_rendered(example_project: Options, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second sync (forced past the no-op shortcut by a new session) renders only the file pages that changed."""
    monkeypatch.setenv("KBGEN_NO_FORK", "1")  # count the calls in this process
    monkeypatch.delenv(VERIFY_ENV, raising=False)  # the guard renders kept pages too: not here
    rendered: list[int] = []
    real = pages.file_page

    def counting(view: object, f: object) -> str:
        rendered.append(f.id)  # type: ignore[attr-defined]
        return real(view, f)  # type: ignore[arg-type]
    monkeypatch.setattr(pages, "file_page", counting)
    _add_session(_db(example_project))
    report = sync(example_project)
    file_pages = {w.rsplit("/", 1)[-1] for w in report.written if "/files/FILE" in w}
    pages_kept = len(list((example_project.generated_path / "files").glob("FILE*.md"))) - len(rendered)
    assert rendered and pages_kept > 0
    assert report.kept >= pages_kept  # and the charts whose data did not change
    # every rendered page is one whose inputs changed; the written ones are among them
    assert file_pages <= {f"FILE{i}.md" for i in rendered}


def test_kept_pages_and_reused_graphs_are_not_read_again(example_project: Options, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The sync compares with the file on disk only what it did not just read from it: a page the cache
    kept whose dependency line is the same, a graph reused. The tree is still a sync from scratch's."""
    import kbgen.sync as sync_module

    monkeypatch.setenv("KBGEN_NO_FORK", "1")
    monkeypatch.delenv(VERIFY_ENV, raising=False)
    compared: list[str] = []
    real = sync_module._apply

    def counting(target: Path, data: bytes, report: object, *, label: str, write: bool, durable: bool = True) -> None:
        compared.append(label)
        real(target, data, report, label=label, write=write, durable=durable)  # type: ignore[arg-type]
    monkeypatch.setattr(sync_module, "_apply", counting)
    _add_session(_db(example_project))
    report = sync(example_project)
    generated = f"{example_project.docs_dir.as_posix()}/{example_project.generated_subdir}/"
    compared_pages = [label for label in compared if label.startswith(generated)]
    graphs = list((example_project.generated_path / "graphs").glob("*.svg"))
    assert report.kept > 0 and graphs
    assert len(compared_pages) <= report.unchanged + len(report.written) - report.kept - len(graphs) + 1
    assert not any("/graphs/" in label for label in compared_pages if label not in report.written)
    assert set(report.written) <= set(compared)  # what changed was compared, and written
    fresh = _from_scratch(example_project, tmp_path / "fresh")
    assert _tree(example_project) == _tree(fresh)


def test_a_tampered_cache_is_not_trusted(example_project: Options, tmp_path: Path) -> None:
    """A cache entry naming a graph by another DOT, or digesting another text, makes its page rendered again."""
    import json

    cache_file = example_project.generated_path / CACHE_NAME
    data = json.loads(cache_file.read_text(encoding="utf-8"))
    with_graphs = [rel for rel, entry in data["pages"].items() if entry[3]]
    assert with_graphs, "the example has file pages with a dependency graph"
    for rel in with_graphs:
        data["pages"][rel][3] = {graph: "digraph { injected }" for graph in data["pages"][rel][3]}
    plain = next(rel for rel, entry in data["pages"].items() if not entry[3] and rel.startswith("files/"))
    data["pages"][plain][1] = "0" * 64
    cache_file.write_text(json.dumps(data), encoding="utf-8")
    _add_session(_db(example_project))  # past the no-op shortcut
    report = sync(example_project)
    assert report.kept <= len(data["pages"]) - len(with_graphs) - 1
    fresh = _from_scratch(example_project, tmp_path / "fresh")
    assert _tree(example_project) == _tree(fresh)
    assert "injected" not in cache_file.read_text(encoding="utf-8")
