"""``kbgen demo``: the bundled example knowledge base, end to end.

Loads the example research data (``kbgen/example``) into a fresh SQLite file,
imports its execution plan, seeds the human sections of domain documents that
do not exist yet from the example narrative, syncs and builds. Run inside a
kbgen project (this repository is one) it builds that project; anywhere else
it scaffolds ``kbgen-demo/`` first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from kbgen.build import BuildResult, build_site
from kbgen.config import CONFIG_RELPATH, Options, load_options
from kbgen.db.engine import resolve_url, sqlite_path
from kbgen.db.plans import import_plan_folder
from kbgen.domain.structure import PLACEHOLDERS, SUBSYSTEMS, SUMMARY
from kbgen.errors import UsageError
from kbgen.example import example_dir
from kbgen.example.loader import load_example
from kbgen.outputs import write_if_changed
from kbgen.scaffold import init_project
from kbgen.sync import SyncReport, domain_doc_paths, sync
from kbgen.wording import count

EXAMPLE_TITLE = "quillc research — example knowledge base"


@dataclass(frozen=True)
class DemoResult:
    project: Path
    sync: SyncReport
    build: BuildResult

    @property
    def index(self) -> Path:
        return self.build.index


def demo_project(target: Path) -> Path:
    """The project to build: ``target`` if it is a kbgen project, else ``target/kbgen-demo``."""
    if (target / CONFIG_RELPATH).exists():
        return target
    project = target / "kbgen-demo"
    init_project(project, title=EXAMPLE_TITLE)
    return project


def load_demo_database(options: Options) -> None:
    url = resolve_url(options.database, options.project_dir)
    if sqlite_path(url) is None:
        raise UsageError("kbgen demo builds a SQLite example database; the project's database is not SQLite",
                         hint="run the demo in an empty folder")
    load_example(url, replace=True)  # imports the example's plans as it records its worksheet
    import_plan_folder(url, example_dir() / "plans", source_prefix="kbgen/example/plans/")


def seed_narratives(options: Options) -> list[Path]:
    """Fill the human sections of new example domain documents with the example narrative."""
    from kbgen.db.load import load_project_snapshot
    from kbgen.domain.update import GeneratedSections, render_document
    from kbgen.render.registries import domain_title

    narrative = yaml.safe_load((example_dir() / "narrative.yaml").read_text(encoding="utf-8"))["domains"]
    snap = load_project_snapshot(options)
    seeded = []
    for name, path in domain_doc_paths(snap, options, []).items():
        story = narrative.get(name)
        if path.exists() or not story:
            continue
        text = render_document(None, GeneratedSections.empty(), title=domain_title(snap.domain_by_name[name]))
        summary = story.get("summary", "").strip()
        subsystems = "\n\n".join(
            f"### 5{chr(ord('a') + i)}. {s['title']}\n\n{s['text'].strip()}"
            for i, s in enumerate(story.get("subsystems", [])))
        text = text.replace(PLACEHOLDERS[SUMMARY], summary, 1).replace(PLACEHOLDERS[SUBSYSTEMS], subsystems, 1)
        write_if_changed(path, text.encode("utf-8"))
        seeded.append(path)
    return seeded


def run_demo(target: Path, *, log: Callable[[str], None] = print, strict: bool = True) -> DemoResult:
    project = demo_project(target)
    options = load_options(project)
    log(f"loading the example research database into {options.database}")
    load_demo_database(options)
    for path in seed_narratives(options):
        log(f"seeded {path.relative_to(project)}")
    report = sync(options)
    log(f"sync: {report.summary()}")
    result = build_site(options, strict=strict)
    log(f"sphinx-build: {result.seconds:.1f} s, {count(result.warnings, 'warning')}")
    return DemoResult(project, report, result)
