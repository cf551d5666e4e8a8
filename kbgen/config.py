"""One frozen options object for the CLI and the Sphinx extension.

A knowledge-base project is a folder holding ``conf/kbgen.yaml``. Every path
in it is relative to that folder. The same :class:`Options` is read by the
command line (``kbgen sync``) and by ``kbgen.sphinxext`` inside ``conf.py``, so
both always agree on where pages, domain documents and the database are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kbgen import vocab
from kbgen.errors import ConfigError
from kbgen.vocab import category_key

CONFIG_RELPATH = Path("conf") / "kbgen.yaml"
ENV_DB_URL = "KBGEN_DB"
#: The Atom feed's file name, in the generated folder and at the site's root (kbgen.render.feed
#: writes it; the Sphinx extension publishes it without importing the renderer).
FEED_FILE = "feed.xml"

#: Category values (after normalisation) that mark a finding as a positive.
DEFAULT_POSITIVE_CATEGORIES: tuple[str, ...] = (
    "real-functionality", "genuine", "positive", "strength", "good-practice",
    "production-ready", "well-tested", "solid", "verified-real",
)
#: The canonical categories (``categories`` in conf/kbgen.yaml): what a recorder may write
#: (``kbgen record``), aliases folding other spellings onto them; an empty list accepts any category.
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "architecture", "bug", "fabricated-data", "inflated-metrics", "integration-point", "quality",
    "real-functionality", "security", "stub",
)
#: Free-form category spellings folded onto one normalised value.
DEFAULT_CATEGORY_ALIASES: dict[str, str] = {
    "real": "real-functionality",
    "real-function": "real-functionality",
    "functional": "real-functionality",
    "arch": "architecture",
    "integration": "integration-point",
    "integration-points": "integration-point",
    "sec": "security",
    "vuln": "security",
    "vulnerability": "security",
    "stubs": "stub",
    "placeholder": "stub",
    "facade": "stub",
    "bugs": "bug",
    "defect": "bug",
    "fabricated": "fabricated-data",
    "fake-data": "fabricated-data",
}
#: Source files count for gaps; tests, type stubs, docs and generated code do not (nobody plans to
#: read a protobuf stub or a minified bundle; ``exclude_paths`` in the database adds the team's own).
DEFAULT_SOURCE_EXCLUDES: tuple[str, ...] = (
    "%/test/%", "%/tests/%", "%/__tests__/%", "%.test.%", "%.spec.%", "%_test.%",
    "%.d.ts", "%.md", "%/docs/%", "%.txt",
    "%/generated/%", "%.generated.%", "%.min.js", "%.pb.go", "%_pb2.py",
)


@dataclass(frozen=True)
class Options:
    """Everything a knowledge-base project configures."""

    project_dir: Path
    title: str = "Research Knowledge Base"
    database: str = "sqlite:///db/research.db"
    docs_dir: Path = Path("docs")
    generated_subdir: str = "kb"
    domains_root: Path = Path("domains")
    plans_dir: Path = Path("plans")
    build_dir: Path = Path("build/site")
    own_packages: tuple[str, ...] = ()
    positive_categories: tuple[str, ...] = DEFAULT_POSITIVE_CATEGORIES
    category_aliases: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CATEGORY_ALIASES))
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    worksheets_dir: Path = Path("worksheets")
    source_excludes: tuple[str, ...] = DEFAULT_SOURCE_EXCLUDES
    graph_max_nodes: int = 40
    hotspot_min_domains: int = 3
    report_gap_limit: int = 20
    #: The site's search: auto (Pagefind's index, with Sphinx's for pages opened from disk),
    #: pagefind (Pagefind's only) or sphinx (Sphinx's only). Read by ``kbgen build`` and by the
    #: Sphinx extension, so a plain ``sphinx-build`` builds the same site.
    search: str = "auto"
    #: Key Verdicts longer than this are cut at a word boundary in the File Registry (the
    #: file's page has the full text); 0 keeps every verdict whole.
    verdict_max_chars: int = 100
    changes_sessions: int = 10
    site_url: str | None = None

    # -- derived paths -------------------------------------------------------------
    @property
    def docs_path(self) -> Path:
        return self.project_dir / self.docs_dir

    @property
    def generated_path(self) -> Path:
        """The folder kbgen owns inside the Sphinx source (never hand-edited)."""
        return self.docs_path / self.generated_subdir

    @property
    def domains_path(self) -> Path:
        return self.project_dir / self.domains_root

    @property
    def build_path(self) -> Path:
        return self.project_dir / self.build_dir

    @property
    def doctrees_path(self) -> Path:
        """Sphinx's environment and doctrees: next to the site, not in it (never published), shared
        by ``kbgen build`` and a plain ``sphinx-build`` (:mod:`kbgen.sphinxext.project`)."""
        return self.build_path.parent / ".doctrees"

    @property
    def plans_path(self) -> Path:
        return self.project_dir / self.plans_dir

    @property
    def worksheets_path(self) -> Path:
        return self.project_dir / self.worksheets_dir

    def canonical_categories(self) -> tuple[str, ...]:
        """The configured category vocabulary, normalised (what ``kbgen record`` accepts), sorted."""
        return tuple(sorted({vocab.category(c, {}) for c in self.categories}))

    def recordable_category(self, value: str) -> str | None:
        """The canonical category for a recorder's ``value`` (a category or a configured alias), or None.

        The configuration alone; with the aliases stored by ``kbgen vocab apply`` use
        ``Vocabulary.from_options(options, read_aliases(conn)).canonical(value)``.
        """
        return vocab.recordable_category(value, self.canonical_categories(), self.category_aliases)

    def with_database(self, url: str | None) -> Options:
        return self if not url else replace(self, database=url)


_STR_KEYS = {"title": "title", "database": "database", "generated_subdir": "generated_subdir", "search": "search"}
#: The values of ``search``.
SEARCH_MODES = ("auto", "pagefind", "sphinx")
_PATH_KEYS = {"docs_dir": "docs_dir", "domains_root": "domains_root", "plans_dir": "plans_dir",
              "build_dir": "build_dir", "worksheets_dir": "worksheets_dir"}
_INT_KEYS = {"graph_max_nodes", "hotspot_min_domains", "report_gap_limit", "verdict_max_chars",
             "changes_sessions"}
_LIST_KEYS = {"own_packages", "positive_categories", "source_excludes", "categories"}


def load_options(project_dir: Path | str | None = None, *, required: bool = True) -> Options:
    """Read ``conf/kbgen.yaml`` of a project (defaults for anything not given).

    ``KBGEN_DB`` in the environment overrides the configured database URL
    (the ``--db`` option overrides both).
    """
    project = Path(project_dir or os.getcwd()).resolve()
    path = project / CONFIG_RELPATH
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=path,
                              line=(mark.line + 1) if mark else None) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError("expected a mapping of settings", path=path, line=1)
        data = loaded or {}
    elif required:
        raise ConfigError(f"no {CONFIG_RELPATH} in {project}",
                          hint="run kbgen in a knowledge-base project, pass --project DIR, "
                               "or create one with 'kbgen init'")
    kwargs: dict[str, Any] = {"project_dir": project}
    known = {*_STR_KEYS, *_PATH_KEYS, *_INT_KEYS, *_LIST_KEYS, "category_aliases", "site_url"}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"unknown setting {key!r} (known: {', '.join(sorted(known))})", path=path)
        if key in _STR_KEYS:
            kwargs[key] = _expect(str, key, value, path)
        elif key in _PATH_KEYS:
            kwargs[key] = Path(_expect(str, key, value, path))
        elif key in _INT_KEYS:
            kwargs[key] = _expect(int, key, value, path)
            if kwargs[key] < 0:
                raise ConfigError(f"setting {key!r} must not be negative, got {value!r}", path=path)
        elif key == "site_url":
            kwargs[key] = site_url(value, path) if value is not None else None
        elif key in _LIST_KEYS:
            items = _expect(list, key, value, path)
            kwargs[key] = tuple(str(v) for v in items)
        else:
            mapping = _expect(dict, key, value, path)
            kwargs[key] = {**DEFAULT_CATEGORY_ALIASES, **_alias_map(mapping, path)}
    _check_vocabulary(kwargs, data, path)
    generated = Path(str(kwargs.get("generated_subdir", "kb")))
    if generated.is_absolute() or ".." in generated.parts or not generated.parts or generated.parts[0] in (".", ""):
        # kbgen deletes its own stale files there: it must be a plain folder inside docs_dir.
        raise ConfigError(f"generated_subdir must be a plain folder inside docs_dir, got {str(generated)!r}",
                          path=path)
    if kwargs.get("search", "auto") not in SEARCH_MODES:
        raise ConfigError(f"search must be one of {', '.join(SEARCH_MODES)}, got {kwargs['search']!r}", path=path)
    if kwargs.get("changes_sessions", 1) < 1:
        raise ConfigError(f"changes_sessions must be 1 or more, got {kwargs['changes_sessions']}", path=path)
    options = Options(**kwargs)
    env_url = os.environ.get(ENV_DB_URL)
    return options.with_database(env_url) if env_url else options


def _alias_map(mapping: dict[Any, Any], path: Path) -> dict[str, str]:
    """``category_aliases`` as category keys (``'Fake Data'`` → ``fake-data``), each spelling once."""
    out: dict[str, str] = {}
    for spelling, target in mapping.items():
        key, to = category_key(str(spelling)), category_key(str(target) if target is not None else "")
        if not key or not to:
            raise ConfigError(f"category_aliases: {spelling!r}: {target!r} needs a spelling and a category",
                              path=path)
        if key in out and out[key] != to:
            raise ConfigError(f"category_aliases: {spelling!r} folds {key!r} onto both {out[key]!r} and {to!r}",
                              path=path)
        out[key] = to
    return out


def _check_vocabulary(kwargs: dict[str, Any], data: dict[str, Any], path: Path) -> None:
    """A category cannot be both listed as canonical and folded away by an explicit alias."""
    listed = {category_key(c) for c in kwargs.get("categories", ())}
    explicit = _alias_map(data.get("category_aliases") or {}, path) if "category_aliases" in data else {}
    clash = sorted(k for k in explicit if k in listed)
    if clash:
        raise ConfigError(f"{', '.join(clash)}: listed in categories and folded away in category_aliases "
                          "(keep one)", path=path)


def _expect(kind: type, key: str, value: Any, path: Path) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"setting {key!r} must be a {kind.__name__}, got {value!r}", path=path)
    return value


def site_url(value: Any, path: Path) -> str:
    """The published site's base URL, normalised to end in ``/`` (feed links are joined onto it)."""
    text = str(_expect(str, "site_url", value, path)).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"site_url must be the site's address, such as https://team.github.io/research/, "
                          f"got {text!r}", path=path)
    return text if text.endswith("/") else text + "/"
