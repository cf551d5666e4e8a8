"""``kbgen build``: real sphinx-build runs on the example knowledge base.

What is checked: a strict build is clean and complete (pages, needs.json,
kbgen's assets, the search page, the Pagefind bundle when its binary runs);
a build with no changed input does not start Sphinx; an incremental build
after a change rewrites the *other* pages that show the changed needs (plain
incremental Sphinx would leave them stale); the staleness check publish
relies on; the command line (summary line, exit codes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kbgen import build
from kbgen.build import (
    PAGEFIND_SUBDIR,
    BuildFailed,
    build_site,
    build_staleness,
    pagefind_available,
    read_stamp,
)
from kbgen.config import Options

pytestmark = pytest.mark.slow

CROSS_PAGE_FINDING = """

## A hand-written finding

:::{finding} Hand-written note on the WASI capability question
:id: F990001
:severity: "LOW"
:status: "open"
:on_file: FILE1013
:in_session: S4
:answers: Q3-1013

Written by hand to check incremental builds.
:::
"""


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def kbgen(options: Options, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kbgen", "--project", str(options.project_dir), *args],
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})


def test_strict_build_is_clean_and_complete(example_project: Options) -> None:
    result = build_site(example_project, strict=True)
    site = example_project.build_path
    assert result.warnings == 0 and result.warning_lines == ()
    assert result.mode == "fresh" and result.index == site / "index.html"
    assert (site / "kb" / "sessions" / "S3.html").exists()
    assert result.pages == sum(1 for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_"))
    needs = json.loads((site / "needs.json").read_text(encoding="utf-8"))
    current = needs["versions"][needs["current_version"]]["needs"]
    assert {"S3", "Q3-1012", "F25"} <= set(current)
    assert (site / "_static" / "kbgen.css").exists() and (site / "_static" / "kbgen.js").exists()
    assert not (site / "_static" / "templates").exists()  # templates are not shipped as static files

    s3 = _soup(site / "kb" / "sessions" / "S3.html")
    assert any("kbgen.js" in str(s.get("src") or "") for s in s3.find_all("script"))
    head = s3.find(id="F25")  # the need's head line: a heading carrying its id (kbgen.sphinxext.searchable)
    assert head is not None and head.find_parent("table", class_="need") is not None

    search = _soup(site / "search.html")
    scripts = [str(s.get("src") or "") for s in search.find_all("script")]
    assert not any(src.endswith("searchindex.js") for src in scripts)  # loaded on demand, not up front
    assert "KBGEN_SEARCH" in search.get_text() or any("KBGEN_SEARCH" in (s.string or "")
                                                      for s in search.find_all("script"))
    assert search.find(id="search-results") is not None and search.find(id="kbgen-pagefind") is not None
    if pagefind_available():
        assert result.search == "pagefind"
        assert (site / PAGEFIND_SUBDIR / "pagefind.js").exists()
        assert (site / PAGEFIND_SUBDIR / "pagefind-ui.js").exists()
    # the fallback (a site opened from disk cannot use Pagefind) stays available
    assert _indexed_pages(site) >= {"index", "kb/sessions/S3"}

    stamp = read_stamp(example_project)
    assert stamp is not None and stamp["warnings"] == 0 and stamp["pages"] == result.pages
    assert build_staleness(example_project) is None

    # Nothing changed: Sphinx is not started at all (no timing assertion: the machine may be busy).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build, "_run_sphinx", _sphinx_must_not_run)
        again = build_site(example_project, strict=True)
    assert again.mode == "up to date" and again.pages == result.pages


def _sphinx_must_not_run(*args: object, **kwargs: object) -> tuple[int, str]:
    raise AssertionError("sphinx-build ran for a site whose inputs did not change")


def _indexed_pages(site: Path) -> set[str]:
    """The pages Sphinx's searchindex.js lists."""
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    data = json.loads(text[text.index("(") + 1:text.rindex(")")])
    return set(data["docnames"])


def test_pagefind_only_builds_skip_sphinx_index_and_switching_back_completes_it(example_project: Options) -> None:
    if not pagefind_available():
        pytest.skip("the Pagefind binary does not run here")
    site = example_project.build_path
    first = build_site(example_project, search="pagefind")
    assert first.search == "pagefind" and not (site / "searchindex.js").exists()
    assert (site / PAGEFIND_SUBDIR / "pagefind.js").exists()

    second = build_site(example_project)  # auto: Pagefind's bundle and Sphinx's index
    assert second.search == "pagefind" and second.mode == "incremental"  # not "up to date": an index is missing
    pages = {p.relative_to(site).with_suffix("").as_posix() for p in site.rglob("*.html")
             if not p.relative_to(site).parts[0].startswith(("_", "pagefind"))}
    pages -= {"search", "genindex", "permalink"}  # pages without a source document
    assert _indexed_pages(site) == pages  # every page, though none of them was re-read
    assert (site / PAGEFIND_SUBDIR / "pagefind.js").exists()
    assert build_site(example_project).mode == "up to date"

    third = build_site(example_project, search="sphinx")
    assert third.search == "sphinx" and _indexed_pages(site) == pages
    assert not (site / PAGEFIND_SUBDIR).exists()

    fourth = build_site(example_project, search="pagefind")
    assert fourth.search == "pagefind" and not (site / "searchindex.js").exists()


def test_incremental_build_rewrites_pages_that_show_changed_needs(example_project: Options) -> None:
    build_site(example_project, strict=True)
    site = example_project.build_path
    s3_before = (site / "kb" / "sessions" / "S3.html").read_bytes()
    assert b"F990001" not in s3_before

    about = example_project.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + CROSS_PAGE_FINDING, encoding="utf-8")
    assert build_staleness(example_project) is not None

    result = build_site(example_project, strict=True)
    assert result.mode == "incremental" and result.warnings == 0
    # S3 was not re-read (its source did not change) but shows the new incoming link of its question.
    question = _soup(site / "kb" / "sessions" / "S3.html").find(id="Q3-1013").find_parent("table", class_="need")
    assert question is not None
    assert any(a.get_text() == "F990001" for a in question.find_all("a"))
    assert build_staleness(example_project) is None


def test_a_ci_service_s_terminal_settings_do_not_blind_the_build_counts(
        example_project: Options, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI services set CI=true (some FORCE_COLOR too): Sphinx then redraws one progress line with
    # control sequences, and kbgen must still count what it read and wrote, and show progress.
    build_site(example_project)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("FORCE_COLOR", "1")
    about = example_project.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\nA paragraph about narwhals.\n", encoding="utf-8")
    seen: list[tuple[str, int]] = []
    result = build_site(example_project, progress=lambda phase, percent: seen.append((phase, percent)))
    assert result.mode == "incremental"
    assert result.read == 1 and result.written is not None and result.written >= 1
    assert ("reading", 100) in seen and ("writing", 100) in seen


def test_progress_lines_are_read_through_terminal_control_sequences() -> None:
    import io

    out = io.StringIO("\x1b[2K\x1b[01mreading sources... \x1b[39;49;00m[100%] \x1b[35mabout\x1b[39;49;00m\n"
                      "\x1b[2Kwriting output... [ 50%] about\n\x1b[2Kwriting output... [100%] index\n"
                      "kbgen: no need changed: needs.json kept as it is\n")
    run = build.SphinxRun()
    build._follow(out, None, run)
    assert (run.read, run.written, run.notes) == (1, 2, ["kbgen: no need changed: needs.json kept as it is"])


def test_staleness_reports_missing_and_changed_builds(example_project: Options) -> None:
    assert "no built site" in (build_staleness(example_project) or "")
    build_site(example_project, search="sphinx")
    assert not (example_project.build_path / PAGEFIND_SUBDIR).exists()
    assert build_staleness(example_project) is None
    page = example_project.generated_path / "sessions" / "S3.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert "changed since the last build" in (build_staleness(example_project) or "")


def test_strict_build_fails_on_a_warning(example_project: Options) -> None:
    about = example_project.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\n{need}`F0000404`\n", encoding="utf-8")
    with pytest.raises(BuildFailed) as failed:
        build_site(example_project, strict=True)
    assert "F0000404" in str(failed.value)
    assert read_stamp(example_project) is None  # a failed build never looks current


def test_cli_build_syncs_builds_and_reports(example_project: Options) -> None:
    proc = kbgen(example_project, "build", "--strict", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("sync: ")
    assert lines[-1].startswith("built ") and "0 warnings" in lines[-1] and "index.html" in lines[-1]

    quiet = kbgen(example_project, "--quiet", "build")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip() == str(example_project.build_path / "index.html")

    assert kbgen(example_project, "build", "--search", "lunr").returncode == 2
    assert kbgen(example_project, "build", "--jobs", "many").returncode == 2

    about = example_project.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\n{need}`F0000404`\n", encoding="utf-8")
    failed = kbgen(example_project, "build", "--strict")
    assert failed.returncode == 1
    assert "F0000404" in failed.stderr and "Traceback" not in failed.stderr


def test_pagefind_indexes_the_content_element_only_when_the_theme_has_it(tmp_path: Path) -> None:
    from kbgen.build import PAGEFIND_ROOT, pagefind_command

    assert "--root-selector" not in pagefind_command(tmp_path)  # nothing built yet
    (tmp_path / "index.html").write_text('<html><body><div>other theme</div></body></html>', encoding="utf-8")
    assert "--root-selector" not in pagefind_command(tmp_path)
    (tmp_path / "index.html").write_text('<html><body><article class="bd-article">x</article></body></html>',
                                         encoding="utf-8")
    cmd = pagefind_command(tmp_path)
    assert cmd[cmd.index("--root-selector") + 1] == PAGEFIND_ROOT


def test_two_fresh_builds_write_the_same_bytes(example_project: Options, tmp_path: Path) -> None:
    """Every page, needs.json and the search index: identical from the same sources (kbgen.sphinxext.stable_ids).

    sphinx-needs gives each need container a random id and stamps needs.json with the build time
    by default; either would make every build a diff of every page. The one file left out is
    sphinx-needs' schema report, which records how long its validation took.
    """
    sites = []
    for n in (1, 2):
        out = tmp_path / f"site{n}"
        proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-E", "-q", "-d", str(tmp_path / f"dt{n}"),
                               str(example_project.docs_path), str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        sites.append({p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*")
                      if p.is_file() and p.name != "schema_violations.json"})
    first, second = sites
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    html = first["kb/sessions/S3.html"].decode("utf-8")
    assert 'id="SNCB-F' in html and 'id="SNCB-Q3-' in html
    assert len(set(re.findall(r'id="(SNCB-[^"]+)"', html))) == html.count('id="SNCB-')
