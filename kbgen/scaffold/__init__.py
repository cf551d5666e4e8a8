"""``kbgen init``: scaffold a knowledge-base project without overwriting anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kbgen.outputs import write_if_changed

TEMPLATES = Path(__file__).parent / "files"

#: project-relative path → template file name in ``files/``.
SCAFFOLD: dict[str, str] = {
    "conf/kbgen.yaml": "kbgen.yaml",
    "docs/conf.py": "conf.py",
    "docs/index.md": "index.md",
    ".gitignore": "gitignore",
    ".github/workflows/pages.yml": "pages.yml",
}


@dataclass(frozen=True)
class InitResult:
    created: list[str]
    kept: list[str]


def init_project(target: Path, *, title: str = "Research Knowledge Base") -> InitResult:
    """Write each scaffold file that does not exist yet; never touch an existing one."""
    created, kept = [], []
    for rel, name in SCAFFOLD.items():
        path = target / rel
        if path.exists():
            kept.append(rel)
            continue
        text = (TEMPLATES / name).read_text(encoding="utf-8").replace("{{title}}", title)
        write_if_changed(path, text.encode("utf-8"))
        created.append(rel)
    for folder in ("domains", "plans", "worksheets", "db"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    return InitResult(created, kept)
