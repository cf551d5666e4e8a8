"""A generated campaign-like knowledge base (messy vocabularies, hostile text, plans) builds with -W."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.synthetic import generate
from kbgen.build import build_site
from kbgen.config import load_options
from kbgen.db.plans import import_plan_folder
from kbgen.scaffold import init_project
from kbgen.sync import sync

pytestmark = pytest.mark.slow


def test_generated_knowledge_base_builds_strict(tmp_path: Path) -> None:
    project = tmp_path / "kb"
    init_project(project, title="Generated campaign")
    options = load_options(project)
    url = f"sqlite:///{project / 'db/research.db'}"
    summary = generate(url, scale=0.02, seed=7, plans_dir=project / "plans", hostile=True)
    results = import_plan_folder(url, project / "plans", sessions=summary.dated_plans)
    assert results
    for result in results:
        assert not [w for w in result.warnings if not w.informational], (result.source, result.warnings)
    report = sync(options)
    assert report.written and not report.warnings
    result = build_site(options, strict=True, search="sphinx")
    assert result.warnings == 0
    data = json.loads((options.build_path / "needs.json").read_text(encoding="utf-8"))
    needs = data["versions"][data["current_version"]]["needs"]
    kinds = {n["type"] for n in needs.values()}
    assert kinds == {"session", "question", "finding", "file", "domain"}
    questions = [n for n in needs.values() if n["type"] == "question"]
    assert {q["status"] for q in questions} >= {"open", "inferred"}
