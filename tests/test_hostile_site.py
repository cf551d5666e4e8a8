"""Hostile database and plan text, through sync and a real Sphinx build, stays inert.

The example knowledge base is copied, every text cell kbgen reads (research
tables, and kbgen's own plan, question, answer and status tables) is
overwritten with hostile text, and the site is synced and built. The HTML
must then

* contain no element, attribute, event handler, script or ``javascript:`` URL
  beyond what the clean example build has (:func:`dangerous_signatures`),
* contain no more structure (code blocks, admonitions, quotes, math, tables,
  footnotes ...) than the clean build (:func:`structure_counts`),
* show each payload literally and whole wherever it shows it (each payload is
  tagged; every end tag on the site must follow the whole literal text),
* and the build must not warn more than the clean build does.

The dependency graphs are inline SVG on the pages: their elements are part of
the first two checks, and their text (shortened on purpose) is checked to
reach them as text only.

One corpus build, and one Hypothesis example of 48 generated strings in one
database and one build (builds take seconds; a build per example would not).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from kbgen.build import sphinx_command
from kbgen.config import Options, load_options
from kbgen.db.engine import open_engine, resolve_url
from kbgen.sync import sync
from tests.hostile_corpus import (
    CORPUS,
    LONG_TOKEN,
    dangerous_signatures,
    hostile_text,
    html_pages,
    page_text,
    structure_counts,
    tagged,
    whole_occurrences,
)

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@dataclass
class Site:
    options: Options
    pages: dict[str, BeautifulSoup]
    warnings: list[str]

    def signatures(self) -> set[str]:
        return {sig for soup in self.pages.values() for sig in dangerous_signatures(soup)}


@dataclass(frozen=True)
class Injected:
    number: int
    payload: str
    place: str  # table.column (or plan.<key>)


# -- building -----------------------------------------------------------------------------


def make_example(project: Path) -> Options:
    """A copy of the repository's example project with its database loaded (not synced)."""
    from kbgen.demo import load_demo_database, seed_narratives

    for rel in ("conf", "docs", "domains"):
        src = REPO / rel
        if src.exists():
            shutil.copytree(src, project / rel,
                            ignore=shutil.ignore_patterns("_build", ".kbgen-sync.lock", "kb"))
    options = load_options(project)
    load_demo_database(options)
    seed_narratives(options)
    return options


def build(options: Options) -> Site:
    """Sync and build (not strict: every warning is collected and compared instead)."""
    sync(options)
    proc = subprocess.run(sphinx_command(options, clean=True, jobs="1"), cwd=options.project_dir,
                          capture_output=True, text=True, env={"PYTHONHASHSEED": "0", **_env()})
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    return Site(options, html_pages(options.build_path), warnings)


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


@pytest.fixture(scope="module")
def clean_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The example knowledge base, built without hostile text: the baseline.

    Its plan gets the same extra parts as the hostile builds' (a Results section, a file known
    by path only), with plain words, so the structure of the two sites can be compared.
    """
    options = make_example(tmp_path_factory.mktemp("clean") / "kb")
    engine = open_engine(resolve_url(options.database, options.project_dir))
    try:
        with engine.begin() as conn:
            for plan_id, raw in list(conn.execute(text("SELECT id, data FROM kbgen_plans ORDER BY id"))):
                data = json.loads(raw)
                plan_extras(data, lambda place: f"plain words for {place.rsplit('.', 1)[-1]}")
                conn.execute(text("UPDATE kbgen_plans SET data = :d WHERE id = :k"),
                             {"d": json.dumps(data), "k": plan_id})
    finally:
        engine.dispose()
    return build(options)


def plan_extras(data: dict[str, Any], take: Callable[[str], str]) -> None:
    """What retroactive and drifting plans add: a Results section of every block kind, a file without an ID."""
    data["results"] = {"title": take("plan.results.title"), "line": 1, "text": "", "blocks": [
        {"kind": "heading", "level": 3, "text": take("plan.results.heading")},
        {"kind": "paragraph", "text": take("plan.results.paragraph")},
        {"kind": "table", "rows": [["File", "Verdict"], [take("plan.results.cell"), take("plan.results.cell")]]},
        {"kind": "list", "ordered": False, "items": [take("plan.results.item")]},
        {"kind": "list", "ordered": True, "items": [take("plan.results.item")]},
        {"kind": "code", "text": take("plan.results.code")},
    ]}
    data["files"].append({**data["files"][0], "file_id": None, "resolved_by": None,
                          "path": take("plan.no_id_file.path")})


# -- injecting ----------------------------------------------------------------------------

#: Every text column kbgen reads from the research tables and shows somewhere
#: (depth and file ids are left alone: they decide which pages exist).
RESEARCH_SLOTS: tuple[tuple[str, str], ...] = (
    ("packages", "name"), ("packages", "description"), ("packages", "base_path"), ("packages", "repo_url"),
    ("files", "relative_path"), ("files", "notes"),
    ("domains", "name"), ("domains", "description"),
    ("sessions", "name"), ("sessions", "focus"), ("sessions", "notes"), ("sessions", "date"),
    ("file_reads", "line_ranges"), ("file_reads", "notes"),
    ("findings", "description"), ("findings", "category"), ("findings", "severity"),
    ("dependencies", "relationship"), ("dependencies", "evidence"),
    ("package_dependencies", "relationship"), ("package_dependencies", "notes"),
    ("exclude_paths", "reason"),
    ("kbgen_questions", "text"),
)
PLAN_KEYS = ("title", "focus", "strategic_value", "rationale")


class Payloads:
    """Hands out payloads round-robin, each under a fresh tag number."""

    def __init__(self, payloads: list[str]) -> None:
        self.payloads = payloads
        self.next = 0
        self.injected: list[Injected] = []

    def take(self, place: str, payload: str | None = None) -> str:
        if payload is None:
            payload = self.payloads[self.next % len(self.payloads)]
            self.next += 1
        item = Injected(len(self.injected) + 1, payload, place)
        self.injected.append(item)
        return tagged(item.number, payload)


def inject(engine: Engine, payloads: list[str], *, long_token: bool) -> list[Injected]:
    """Overwrite every text cell kbgen renders with tagged payloads; return what went where."""
    pool = Payloads(payloads)
    with engine.begin() as conn:
        for table, column in RESEARCH_SLOTS:
            key = "id"
            ids = [r[0] for r in conn.execute(text(f"SELECT {key} FROM {table} ORDER BY {key}"))]
            for row_id in ids:
                conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"),
                             {"v": pool.take(f"{table}.{column}"), "k": row_id})
        if long_token:
            for table, column in (("findings", "description"), ("files", "relative_path"),
                                  ("dependencies", "evidence"), ("sessions", "focus"), ("kbgen_questions", "text")):
                row_id = conn.execute(text(f"SELECT MIN(id) FROM {table}")).scalar()
                conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :k"),
                             {"v": pool.take(f"{table}.{column}", LONG_TOKEN), "k": row_id})
        for plan_id, raw in list(conn.execute(text("SELECT id, data FROM kbgen_plans ORDER BY id"))):
            data = json.loads(raw)
            for key in PLAN_KEYS:
                data[key] = pool.take(f"plan.{key}")
            for cluster in data.get("clusters", []):
                cluster["name"] = pool.take("plan.cluster")
            for item in data.get("files", []):
                item["context"] = pool.take("plan.file.context")
                item["path"] = pool.take("plan.file.path")
            # A planned file the inventory lacks: its page shows the plan's path for it.
            ghost = {**data["files"][0], "file_id": 999_999, "path": pool.take("plan.unknown_file.path")}
            data["files"].append(ghost)
            data["clusters"][0]["files"].append(999_999)
            data["outcomes"] = [pool.take("plan.outcome"), pool.take("plan.outcome")]
            data["cluster_questions"] = [{"cluster": "A", "text": pool.take("plan.cluster_question")}]
            plan_extras(data, pool.take)
            source = pool.take("plan.source")
            data["source"] = source
            conn.execute(text("UPDATE kbgen_plans SET data = :d, source_path = :s, title = :t, focus = :f "
                              "WHERE id = :k"),
                         {"d": json.dumps(data), "s": source, "t": data["title"], "f": data["focus"], "k": plan_id})
        question = conn.execute(text("SELECT id FROM kbgen_questions ORDER BY id")).scalar()
        finding = conn.execute(text("SELECT MAX(id) FROM findings")).scalar()
        conn.execute(text("INSERT INTO kbgen_answers (question_id, finding_id, partial, note, created_at) "
                          "VALUES (:q, :f, 1, :n, '2025-01-01T00:00:00Z')"),
                     {"q": question, "f": finding, "n": pool.take("kbgen_answers.note")})
        conn.execute(text("INSERT INTO kbgen_finding_status (finding_id, status, superseded_by, reason, updated_at) "
                          "VALUES (1, 'superseded', :by, :r, '2025-01-01T00:00:00Z')"),
                     {"by": finding, "r": pool.take("kbgen_finding_status.reason")})
    return pool.injected


def hostile_build(project: Path, payloads: list[str], *, long_token: bool) -> tuple[Site, list[Injected]]:
    options = make_example(project)
    url = resolve_url(options.database, options.project_dir)
    engine = open_engine(url)
    try:
        injected = inject(engine, payloads, long_token=long_token)
    finally:
        engine.dispose()
    return build(options), injected


# -- checking -----------------------------------------------------------------------------

#: Places whose text the site must show in full at least once (a payload that
#: is shown nowhere could not be checked for literal rendering).
MUST_SHOW = {
    "packages.name", "files.relative_path", "files.notes", "domains.name", "domains.description",
    "sessions.name", "sessions.focus", "sessions.notes", "file_reads.line_ranges",
    "findings.description", "findings.category", "findings.severity", "dependencies.relationship",
    "dependencies.evidence", "kbgen_questions.text", "plan.title", "plan.focus", "plan.strategic_value",
    "plan.rationale", "plan.cluster", "plan.outcome", "plan.cluster_question", "plan.source",
    "plan.unknown_file.path", "plan.results.heading", "plan.results.paragraph", "plan.results.cell",
    "plan.results.title", "plan.results.item", "plan.results.code", "plan.no_id_file.path",
    "kbgen_finding_status.reason",
}


def check_site(site: Site, clean: Site, injected: list[Injected], *, must_show: set[str]) -> None:
    # 1. Nothing executable or loading beyond what the clean build has.
    extra = site.signatures() - clean.signatures()
    assert not extra, f"injected elements/attributes: {sorted(extra)[:20]}"
    # 2. No structure a payload could have created.
    counts, base = structure_counts(site.pages), structure_counts(clean.pages)
    grown = {k: (base[k], v) for k, v in counts.items() if v > base[k]}
    assert not grown, f"structure appeared (clean, hostile): {grown}"
    # 3. Every payload, wherever shown, is shown whole and literally.
    # (SVG labels are shortened on purpose: graphs and charts are checked for injection only.)
    texts = {name: page_text(soup) for name, soup in site.pages.items() if name.endswith(".html")}
    shown: Counter[str] = Counter()
    broken = []
    for item in injected:
        for name, body in texts.items():
            ends, whole = whole_occurrences(body, item.number, item.payload)
            if ends != whole:
                broken.append((item.place, item.payload[:80], name, ends, whole))
            if whole:
                shown[item.place] += 1
    assert not broken, f"payloads rendered as markup or cut (place, payload, page, seen, whole): {broken[:10]}"
    missing = {place for place in must_show if not shown[place]}
    assert not missing, f"places never shown in full: {sorted(missing)}"
    # 4. No new warnings (a warning caused by hostile text means it was parsed as markup).
    new = sorted(set(_warning_kind(w) for w in site.warnings) - set(_warning_kind(w) for w in clean.warnings))
    assert not new, f"build warnings caused by hostile text: {new[:10]}"


def _warning_kind(line: str) -> str:
    """A warning without its location (pages differ between the builds)."""
    return line.split("WARNING:", 1)[-1].split("ERROR:", 1)[-1].strip()[:200]


# -- tests --------------------------------------------------------------------------------


def test_clean_baseline_is_sane(clean_site: Site) -> None:
    """The comparison base: a clean example build, no payload markers, the usual Sphinx scripts."""
    assert len(clean_site.pages) > 20
    assert not any("kbevil" in s for s in clean_site.signatures())
    assert any(s.startswith("script src:") for s in clean_site.signatures())


def test_hostile_corpus_renders_literally(clean_site: Site, tmp_path: Path) -> None:
    payloads = [v for k, v in CORPUS.items() if k != "long-token"]
    site, injected = hostile_build(tmp_path / "kb", payloads, long_token=True)
    check_site(site, clean_site, injected, must_show=MUST_SHOW)
    # The literal payloads really are on the pages (not merely "no markup"):
    everything = "".join(page_text(s) for s in site.pages.values())
    for needle in ("<script>alert('kbevil-1')</script>", "```{eval-rst}", ":::{raw}html", "[[copy('id')]]",
                   "{{kbevil}}", "javascript:alert('kbevil-5')", "<U+202E>evil<U+202C>", "zero\u200bwidth",
                   "ctrl[31mred[0m", LONG_TOKEN[:1000]):
        assert needle.replace(" ", "") in everything, needle
    # Need titles show database text as written, spacing included (not "4 < < 30"): sphinx-needs runs
    # no dynamic function or variant in them, so nothing has to be broken apart.
    titles = [t.get_text() for s in site.pages.values() for t in s.select(".needs_title")]
    assert any(CORPUS["shifts"] in t for t in titles), "the shifts payload is not literal in any need title"
    # The graphs, inline SVG on the pages, carry the payloads as text only (names, relationships, tooltips).
    graphs = [svg for soup in site.pages.values() for svg in soup.select("div.kbgen-graph svg")]
    assert graphs and sum("kbevil" in g.get_text() for g in graphs) > 5
    assert {t.name for g in graphs for t in g.find_all(True)} <= {"g", "a", "title", "path", "polygon", "text"}
    assert all(set(t.attrs) <= {"href"} for g in graphs for t in g.find_all("a"))


@settings(max_examples=1, phases=(Phase.explicit, Phase.reuse, Phase.generate), deadline=None,
          suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large))
@given(strings=st.lists(hostile_text, min_size=48, max_size=48, unique=True))
def test_generated_strings_render_literally(clean_site: Site, tmp_path_factory: pytest.TempPathFactory,
                                            strings: list[str]) -> None:
    # The first example Hypothesis tries is the simplest one; skip it (cheaply) for a varied one.
    assume(sum(len(s) for s in strings) > 300 and len({s[:1] for s in strings}) > 10)
    note(repr(strings))
    site, injected = hostile_build(tmp_path_factory.mktemp("generated") / "kb", strings, long_token=False)
    check_site(site, clean_site, injected, must_show=MUST_SHOW)


if __name__ == "__main__":  # pragma: no cover - manual runs
    sys.exit(pytest.main([__file__, "-q"]))
