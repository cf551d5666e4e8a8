"""Helpers for the recording tests: a project around the seed database, the CLI in-process, worksheets."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kbgen.scaffold import init_project
from tests.seedplan import SEED_FILES, make_seed_db

QUESTIONS = ["Q95-4458", "Q95-4456", "Q95-4455", "Q95-4457", "Q95-4476", "Q95-4471", "Q95-4473", "Q95-4468",
             "Q95-4463"]
#: The two questions the filled seed worksheet answers in words only.
TEXT_ONLY = ("Q95-4468", "Q95-4463")
DEPTHS = {4458: ("DEEP", "1-668"), 4456: ("DEEP", "1-300,250-486"), 4455: ("MEDIUM", "1-200"),
          4457: ("SURFACE", "1-60"), 4476: ("DEEP", "all"), 4471: ("DEEP", "1-508"), 4473: ("MEDIUM", "1-250"),
          4468: ("DEEP", "1-287"), 4463: ("MENTIONED", None)}


@dataclass
class Result:
    code: int
    out: str
    err: str


CliRunner = Callable[..., Result]


def cli_runner(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Run ``kbgen ARGS`` in this process with the real entry point's error handling."""
    from kbgen.cli import app, common

    def run(*args: str) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["kbgen", *args])
        code = common.run(app)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)
    return run


def seed_project(root: Path) -> Path:
    """A kbgen project (``kbgen init``) whose database holds the seed plan's files."""
    init_project(root, title="SONA research")
    make_seed_db(f"sqlite:///{root / 'db' / 'research.db'}")
    return root


def write_worksheet(path: Path, data: dict[str, Any]) -> str:
    text = ("# yaml-language-server: $schema=worksheet.schema.json\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    path.write_text(text, encoding="utf-8")
    return text


def fill_seed_worksheet(data: dict[str, Any]) -> dict[str, Any]:
    """Fill a prefilled R95 worksheet as a researcher would: 9 reads, 10 findings, 9 answers (2 in words only)."""
    data = dict(data)
    for read in data["reads"]:
        read["depth"], read["lines"] = DEPTHS[read["file"]]
    data["findings"] = [
        {"key": "pretrain-format", "file": 4458, "severity": "HIGH", "category": "stub", "lines": "120-180",
         "description": "Writes a custom binary format with a .safetensors extension; no header JSON.",
         "answers": ["Q95-4458"]},
        {"key": "pretrain-real-weights", "file": 4458, "severity": "INFO", "category": "real-functionality",
         "lines": "300-410", "description": "Tensor data itself is the trained LoRA weights, in order."},
        {"key": "hub-todo", "file": 4456, "severity": "CRITICAL", "category": "stub", "lines": "40-96",
         "description": "upload() is todo!(); repo creation returns a fake URL.", "answers": ["Q95-4456"]},
        {"key": "dataset-json", "file": 4455, "severity": "MEDIUM", "category": "Real Functionality",
         "description": "JSON Lines export works; Arrow and Parquet are declared but unimplemented.",
         "answers": [{"question": "Q95-4455", "partial": True}]},
        {"key": "mod-reexports", "file": 4457, "severity": "INFO", "category": "arch", "lines": 12,
         "description": "Only re-exports; no ordering between export stages.", "answers": ["Q95-4457"]},
        {"key": "templates-placeholders", "file": 4476, "severity": "HIGH", "category": "fabricated-data",
         "lines": "1-200", "description": "LLaMA/GPT/BERT templates share one set of placeholder hyperparameters.",
         "answers": ["Q95-4476"]},
        {"key": "factory-wiring", "file": 4471, "severity": "MEDIUM", "category": "integration-point",
         "description": "Builder wires optimizer and scheduler, but the pipeline is constructed twice.",
         "answers": ["Q95-4471"]},
        {"key": "metrics-ema", "file": 4473, "severity": "LOW", "category": "quality",
         "description": "EMA smoothing is real; gradient norms are never filled in.", "answers": ["Q95-4473"]},
        {"file": 4473, "severity": "INFO", "category": "quality", "description": "Learning curves are printed only."},
        {"key": "napi-copy", "file": 4468, "severity": "MEDIUM", "category": "bug", "lines": "100-140",
         "description": "Buffer to Vec<f32> conversion copies twice and ignores endianness."},
    ]
    for q in data["questions"]:
        q["answer"] = "partial" if q["id"] in ("Q95-4455", "Q95-4463") else "full"
        q["verdict"] = f"Verdict for {q['id']}: answered from the reads of R95."
    data["dependencies"] = [{"source": 4457, "target": 4458, "relationship": "imports",
                             "evidence": "pub mod pretrain;"},
                            {"source": {"package": "ruvector-rust", "path": "crates/sona/src/training/factory.rs"},
                             "target": 4476, "relationship": "calls", "evidence": "Factory::from_template",
                             "verified": False}]
    return data


def planned_ids() -> list[int]:
    return [fid for fid, _, _ in SEED_FILES]
