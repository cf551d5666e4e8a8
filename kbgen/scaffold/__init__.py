"""``kbgen init``: scaffold a knowledge-base project without overwriting anything."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kbgen.outputs import write_if_changed
from kbgen.render import escape

TEMPLATES = Path(__file__).parent / "files"

#: project-relative path → template file name in ``files/``.
SCAFFOLD: dict[str, str] = {
    "conf/kbgen.yaml": "kbgen.yaml",
    "docs/conf.py": "conf.py",
    "docs/index.md": "index.md",
    ".gitignore": "gitignore",
    ".github/workflows/pages.yml": "pages.yml",
}


def _quoted(title: str) -> str:
    """A double-quoted string literal, valid both as Python and as YAML (JSON's escapes and
    ``\\uXXXX``/``\\UXXXXXXXX`` are understood by both): a title is data and must not end the
    string it sits in. Unprintable characters (YAML reads U+2028 as a line break) are escaped."""
    body = json.dumps(title, ensure_ascii=False)[1:-1]
    return '"' + "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF
                         else f"\\U{ord(ch):08x}" for ch in body) + '"'


def fill_title(template: str, title: str) -> str:
    """The template with its title placeholders filled: ``"{{title}}"`` (in conf.py and
    kbgen.yaml) becomes a string literal, a bare ``{{title}}`` (the heading of index.md)
    escaped markdown on one line."""
    return template.replace('"{{title}}"', _quoted(title)).replace("{{title}}", escape.inline(title))


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
        text = fill_title((TEMPLATES / name).read_text(encoding="utf-8"), title)
        write_if_changed(path, text.encode("utf-8"))
        created.append(rel)
    for folder in ("domains", "plans", "worksheets", "db"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    return InitResult(created, kept)
