"""needs.json written from the needs a build touched (kbgen/sphinxext/needsjson.py).

Real builds of the example knowledge base. After a full build, each change below is built
incrementally; the build must say it wrote needs.json from the touched needs, and the file must
be byte for byte the one a clean build of the same sources writes (sphinx-needs' own full write):

* a new session in the database (new findings, files read deeper, a finding resolved: the sync
  rewrites session, file, domain and listing pages);
* a hand-written need linking to generated needs (their back links), its text edited, its links
  moved to other needs, and the need removed again.

The next write takes the untouched entries at the offsets the last one recorded (checked against
the text: offsets that do not match are not used). And the cases that must fall back to
a full write (kbgen's, one entry at a time, the bytes of sphinx-needs' own: the last test; with
``kbgen_speedups = False``, sphinx-needs' own): a needs.json the last build did not
write (its stamp gone, the file edited), a sphinx-needs setting changed (Sphinx then writes
every page and reads none), and ``kbgen_speedups = False``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from kbgen.build import build_site, doctrees_path
from kbgen.config import Options, load_options
from kbgen.sphinxext import needsjson
from kbgen.sync import sync

pytestmark = pytest.mark.slow

NEW_SESSION = """
INSERT INTO sessions (id, name, date, focus, agent_count, notes) VALUES
  (5, 'R5', '2025-09-29', 'Plugin ABI and HTML rendering; the CLI again', 1, NULL);
INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) VALUES
  (37, 1002, 5, 'DEEP', 240, '1-240', NULL);
UPDATE files SET depth = 'DEEP', lines_read = 240, last_read_date = '2025-09-29' WHERE id = 1002;
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up)
VALUES (61, 1002, 5, 10, 40, 'CRITICAL', 'security', 'Host functions trust guest pointers without bounds checks.', 0),
       (62, 1002, 5, 1, 50, 'MEDIUM', 'quality', 'Attributes are escaped twice.', 0);
INSERT INTO kbgen_finding_status (finding_id, status, session_id, superseded_by, reason, updated_at)
VALUES (28, 'resolved', 5, NULL, NULL, '2025-09-29T12:00:00Z');
"""
#: (The session reads a file that has a page already; a file that gets its first page is
#: tests/test_incremental_deps.py's test_a_file_read_for_the_first_time_moves_its_need_to_its_own_page_cleanly.)

HAND_NEED = """

:::{finding} A hand-written note on the plugin host
:id: F990010
:severity: "LOW"
:status: "open"
:on_file: FILE1012
:in_session: S3
:answers: Q3-1012

Written by hand.
:::
"""


def _build(options: Options) -> list[str]:
    result = build_site(options, search="sphinx", quiet=True)
    assert result.mode == "incremental", result.mode
    assert result.warnings == 0
    return result.notes


def _full_write(options: Options, tmp_path: Path) -> bytes:
    """needs.json as a clean build of the same sources writes it (a copy of the project)."""
    copy = tmp_path / f"clean-{time.monotonic_ns()}"
    shutil.copytree(options.project_dir, copy, ignore=shutil.ignore_patterns("build"))
    other = load_options(copy)
    result = build_site(other, clean=True, search="sphinx", quiet=True)
    assert result.mode == "fresh" and result.warnings == 0
    return (other.build_path / "needs.json").read_bytes()


def _partial(notes: list[str]) -> int:
    """How many touched needs the build's note names (fails when needs.json was written whole)."""
    lines = [note for note in notes if "needs.json written from" in note]
    assert lines, notes
    return int(lines[0].split("written from ")[1].split()[0])


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def built(example_project: Options) -> Options:
    result = build_site(example_project, search="sphinx")
    assert result.mode == "fresh" and result.warnings == 0
    assert needsjson.STAMP_NAME in {p.name for p in doctrees_path(example_project).iterdir()}
    return example_project


def _needs(options: Options) -> dict[str, dict[str, object]]:
    data = json.loads((options.build_path / "needs.json").read_text(encoding="utf-8"))
    return data["versions"][data["current_version"]]["needs"]  # type: ignore[no-any-return]


def test_a_new_session_writes_the_same_needs_json_as_a_full_build(built: Options, tmp_path: Path) -> None:
    total = len(_needs(built))
    db = built.project_dir / "db" / "research.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(NEW_SESSION)
    conn.close()
    sync(built)
    touched = _partial(_build(built))
    assert 0 < touched < total  # not every need encoded again
    needs = _needs(built)
    assert needs["F61"]["in_session"] == ["S5"] and "F61" in needs["FILE1002"]["on_file_back"]
    assert needs["F28"]["status"] == "resolved"
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)


def test_a_hand_written_need_added_edited_relinked_and_removed(built: Options, tmp_path: Path) -> None:
    about = built.docs_path / "about.md"
    original = about.read_text(encoding="utf-8")
    about.write_text(original + HAND_NEED, encoding="utf-8")
    _partial(_build(built))
    needs = _needs(built)
    assert needs["F990010"]["on_file"] == ["FILE1012"] and "F990010" in needs["FILE1012"]["on_file_back"]
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)

    # kbgen's writer records where each entry is: the next write reuses them without decoding
    stamp = json.loads((doctrees_path(built) / needsjson.STAMP_NAME).read_text(encoding="utf-8"))
    assert len(stamp["entries"]) == len(_needs(built))
    _edit(about, "Written by hand.", "Written by hand, then edited.")
    assert _partial(_build(built)) >= 1
    assert "then edited" in str(_needs(built)["F990010"]["content"])
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)

    _edit(about, ":on_file: FILE1012", ":on_file: FILE1002")  # the old target loses a back link
    _partial(_build(built))
    needs = _needs(built)
    assert "F990010" not in needs["FILE1012"].get("on_file_back", [])
    assert "F990010" in needs["FILE1002"]["on_file_back"]
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)

    about.write_text(original, encoding="utf-8")
    _partial(_build(built))
    needs = _needs(built)
    assert "F990010" not in needs and "F990010" not in needs["FILE1002"].get("on_file_back", [])
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)


def test_a_needs_json_the_last_build_did_not_write_is_written_whole(built: Options) -> None:
    site_json = built.build_path / "needs.json"
    # edited by hand (its stamp no longer matches): a build that changes a need writes it whole
    site_json.write_text(site_json.read_text(encoding="utf-8").rstrip("}") + "}\n",
                         encoding="utf-8")
    about = built.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + HAND_NEED, encoding="utf-8")
    notes = _build(built)
    assert not any("needs.json written from" in note for note in notes), notes
    assert not site_json.read_text(encoding="utf-8").endswith("\n")  # written whole again
    assert "F990010" in _needs(built)
    # the stamp follows: the next change is written from the touched needs again
    _edit(about, "Written by hand.", "Written by hand, then edited.")
    _partial(_build(built))


def test_offsets_that_do_not_match_the_file_are_not_used(built: Options, tmp_path: Path) -> None:
    about = built.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + HAND_NEED, encoding="utf-8")
    _partial(_build(built))
    stamp_path = doctrees_path(built) / needsjson.STAMP_NAME
    stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    stamp["entries"] = [[need_id, start + 1, end + 1] for need_id, start, end in stamp["entries"]]
    stamp_path.write_text(json.dumps(stamp), encoding="utf-8")
    _edit(about, "Written by hand.", "Written by hand, then edited.")
    _partial(_build(built))  # from the file decoded instead
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)


def test_a_build_cut_off_before_needs_json_leaves_no_stamp(built: Options) -> None:
    """The stamp goes before the environment is pickled: without it, the file is written whole."""
    (doctrees_path(built) / needsjson.STAMP_NAME).unlink()
    about = built.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + HAND_NEED, encoding="utf-8")
    notes = _build(built)
    assert not any("needs.json written from" in note for note in notes), notes
    assert "F990010" in _needs(built)
    assert (doctrees_path(built) / needsjson.STAMP_NAME).is_file()


def test_a_setting_that_shapes_needs_json_rewrites_it(built: Options, tmp_path: Path) -> None:
    """A sphinx-needs setting of the HTML kind makes Sphinx write every page and read none: no
    need changes, yet needs.json must follow the setting (the stamp holds a digest of them)."""
    conf = built.docs_path / "conf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nneeds_json_remove_defaults = True\n", encoding="utf-8")
    result = build_site(built, search="sphinx", quiet=True)
    assert result.warnings == 0
    assert not any("needs.json kept" in note for note in result.notes), result.notes
    data = json.loads((built.build_path / "needs.json").read_text(encoding="utf-8"))
    assert data["versions"][data["current_version"]].get("needs_defaults_removed") is True
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)
    # and the next change is written from the touched needs, under the new setting
    about = built.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + HAND_NEED, encoding="utf-8")
    _partial(_build(built))
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)


def test_speedups_off_writes_needs_json_whole(built: Options, tmp_path: Path) -> None:
    conf = built.docs_path / "conf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nkbgen_speedups = False\n", encoding="utf-8")
    result = build_site(built, search="sphinx", quiet=True)  # conf.py changed: Sphinx decides what to read
    assert result.warnings == 0
    about = built.docs_path / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + HAND_NEED, encoding="utf-8")
    notes = _build(built)
    assert not any("needs.json written from" in note for note in notes), notes
    assert (built.build_path / "needs.json").read_bytes() == _full_write(built, tmp_path)


def test_a_full_build_writes_sphinx_needs_bytes_one_entry_at_a_time(built: Options, tmp_path: Path) -> None:
    """A clean build's needs.json comes from kbgen's writer (each need's entry made by sphinx-needs'
    ``add_need``, encoded, written and dropped): the bytes of sphinx-needs' own write of the same
    sources (speedups off), and the entries' offsets stamped for the next build."""
    text = (built.build_path / "needs.json").read_text(encoding="ascii")
    stamp = json.loads((doctrees_path(built) / needsjson.STAMP_NAME).read_text(encoding="utf-8"))
    needs = _needs(built)
    assert [entry[0] for entry in stamp["entries"]] == sorted(needs)
    for need_id, start, end in stamp["entries"]:
        assert json.loads(text[start:end]) == needs[need_id]
    copy = tmp_path / "original"
    shutil.copytree(built.project_dir, copy, ignore=shutil.ignore_patterns("build"))
    original = load_options(copy)
    conf = original.docs_path / "conf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nkbgen_speedups = False\n", encoding="utf-8")
    result = build_site(original, clean=True, search="sphinx", quiet=True)
    assert result.mode == "fresh" and result.warnings == 0
    assert (original.build_path / "needs.json").read_bytes() == text.encode("ascii")
    written_by_sphinx_needs = json.loads((doctrees_path(original) / needsjson.STAMP_NAME).read_text(encoding="utf-8"))
    assert "entries" not in written_by_sphinx_needs
