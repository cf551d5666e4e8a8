"""Dependency digests (kbgen.render.deps) from the model's need graph.

The digests used to be computed by parsing the MyST that kbgen had just
written. That parser is kept here as an oracle: on the example and on a
synthetic campaign full of hostile text, the graph the model gives
(:func:`kbgen.render.pages.needs_by_page`) is the graph the pages show, and
the digests are the ones the text-parsing version wrote.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict

import pytest

from kbgen.config import Options, load_options
from kbgen.db.plans import import_plan_folder
from kbgen.needs_model import LINKS, UNLISTED_INCOMING
from kbgen.render.deps import DIGEST_PREFIX, with_dependency_digests
from kbgen.scaffold import init_project
from kbgen.sync import sync

# -- the former, text-parsing implementation: the oracle ------------------------------------

_BLOCK = re.compile(r"^:::\{(?:session|question|finding|file|domain)\} .*?^:::$", re.MULTILINE | re.DOTALL)
_ID = re.compile(r"^:id: (\S+)$", re.MULTILINE)
_LINK = re.compile(r"^:(" + "|".join(LINKS) + r"): (.+)$", re.MULTILINE)
_REF = re.compile(r"\]\(#need-([A-Za-z0-9-]+)\)")
_DOMAIN = re.compile(r"^kbgen-domain: (\".*\")$", re.MULTILINE)


def parsed_graph(pages: dict[str, str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Page → need IDs it defines (page order); need → sorted incoming ``link:source``."""
    defines: dict[str, list[str]] = defaultdict(list)
    incoming: dict[str, list[str]] = defaultdict(list)
    for rel, text in pages.items():
        for block in _BLOCK.finditer(text):
            # Only the need's option lines (up to the first blank line) are links: its content is data.
            head = block.group(0).split("\n\n", 1)[0]
            id_match = _ID.search(head)
            assert id_match is not None
            defines[rel].append(id_match.group(1))
            for link in _LINK.finditer(head):
                if link.group(1) in UNLISTED_INCOMING:  # not shown on the target's page
                    continue
                for target in link.group(2).split(","):
                    incoming[target.strip()].append(f"{link.group(1)}:{id_match.group(1)}")
    return dict(defines), {k: sorted(v) for k, v in incoming.items()}


def parsed_digest(rel: str, text: str, defines: dict[str, list[str]], incoming: dict[str, list[str]],
                  labels: dict[str, dict[str, str]]) -> str | None:
    defined_on = {need_id: page for page, ids in defines.items() for need_id in ids}
    facts: list[str] = []
    for need_id in defines.get(rel, ()):
        facts += [f"in {need_id} {source}" for source in incoming.get(need_id, ())]
    facts += sorted({f"ref {target} {defined_on.get(target, '?')}" for target in _REF.findall(text)})
    domain = _DOMAIN.search(text)
    if domain:
        for label, finding in sorted(labels.get(json.loads(domain.group(1)), {}).items()):
            facts.append(f"label {label} {finding} {defined_on.get(finding, '?')}")
    return hashlib.sha256("\n".join(facts).encode("utf-8")).hexdigest()[:20] if facts else None


def written_pages(options: Options) -> dict[str, str]:
    root = options.generated_path
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".md", ".inc")}


def split_digest(text: str) -> tuple[str, str | None]:
    head, sep, digest = text.rstrip("\n").rpartition(f"\n\n{DIGEST_PREFIX}")
    return (head + "\n", digest) if sep else (text, None)


def assert_digests_match_the_text(options: Options) -> int:
    pages = written_pages(options)
    bodies = {rel: split_digest(text)[0] for rel, text in pages.items()}
    defines, incoming = parsed_graph(bodies)
    labels = json.loads((options.generated_path / "_labels.json").read_text(encoding="utf-8"))
    checked = 0
    for rel, text in pages.items():
        body, digest = split_digest(text)
        assert digest == parsed_digest(rel, body, defines, incoming, labels), rel
        checked += digest is not None
    return checked


def test_example_digests_are_the_ones_the_text_gives(example_project: Options) -> None:
    assert assert_digests_match_the_text(example_project) > 20


@pytest.fixture(scope="module")
def synthetic_project(tmp_path_factory: pytest.TempPathFactory) -> Options:
    from bench.synthetic import generate

    root = tmp_path_factory.mktemp("deps")
    init_project(root / "kb")
    url = f"sqlite:///{root / 'research.db'}"
    generate(url, scale=0.02, seed=7, plans_dir=root / "plans", hostile=True)
    import_plan_folder(url, root / "plans")
    options = load_options(root / "kb").with_database(url)
    sync(options)
    return options


def test_synthetic_digests_are_the_ones_the_text_gives(synthetic_project: Options) -> None:
    assert assert_digests_match_the_text(synthetic_project) > 50


def test_text_that_looks_like_a_link_changes_no_digest(example_project: Options) -> None:
    """A description is data: editing it, even to something shaped like a need option, rewrites
    the pages that show it and leaves every digest as it was (no need gains a link)."""
    import sqlite3

    from kbgen.db.engine import resolve_url, sqlite_path

    db = sqlite_path(resolve_url(example_project.database, example_project.project_dir))
    assert db is not None
    before = {rel: split_digest(text)[1] for rel, text in written_pages(example_project).items()}
    con = sqlite3.connect(db)
    finding_id, old = con.execute("SELECT id, description FROM findings ORDER BY id LIMIT 1").fetchone()
    question = json.loads(con.execute("SELECT data FROM kbgen_plans ORDER BY session LIMIT 1").fetchone()[0])
    lookalike = f"{old}\n:answers: {question['questions'][0]['id']}\n:id: F999999\n"
    con.execute("UPDATE findings SET description = ? WHERE id = ?", (lookalike, finding_id))
    con.commit()
    con.close()
    assert sync(example_project).written
    after = {rel: split_digest(text)[1] for rel, text in written_pages(example_project).items()}
    assert after == before
    assert_digests_match_the_text(example_project)


def test_a_domain_member_joining_changes_no_digest() -> None:
    """A domain's members are not listed in its need's details: a file or finding tagged with the
    domain rewrites no page for it, while any listed incoming link does."""
    pages = {"domains/x.md": "# X\n", "files/FILE1.md": "# File\n"}

    def digests(links: dict[str, list[str]]) -> dict[str, str]:
        needs = {"domains/x.md": [("D-X", {})], "files/FILE1.md": [("FILE1", links)]}
        return with_dependency_digests(pages, needs, {}, {})

    assert digests({"in_domain": ["D-X"]}) == digests({}) == pages
    assert DIGEST_PREFIX in digests({"depends_on": ["D-X"]})["domains/x.md"]
