"""The delta stack's logic (kbgen/pagefind.py) on a small site of hand-written pages, with the real
Pagefind binary: each update indexes only the pages it changed into a bundle of its own, the manifest
lets newer bundles supersede older entries, removed pages stay hidden, the stack merges past
``MAX_DELTAS`` bundles and folds past ``FOLD_SHARE``, and an interrupted update is never trusted.

What the search page sees is computed as it does (tests/test_search_incremental.py drives the page
itself in Chromium): the main bundle's entries and every delta's, in the manifest's order, minus the
superseded ones, an entry two bundles hold listed once.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from kbgen import pagefind

PAGES = {
    "index.html": "Home of the wiki",
    "a.html": "Alpha aardvark page",
    "b.html": "Bravo buffalo page",
    "c.html": "Charlie chinchilla page",
    "d.html": "Delta dingo page",
}


@pytest.fixture(autouse=True)
def _require_pagefind(monkeypatch: pytest.MonkeyPatch) -> None:
    if not pagefind.pagefind_available():
        pytest.skip("the Pagefind binary does not run here")
    monkeypatch.setattr(pagefind, "FOLD_SHARE", 1.0)  # one page is a fifth of this site: never fold by size


def _write(site: Path, rel: str, text: str, *, chrome: str = "") -> None:
    """A page as the theme writes it: navigation outside the article Pagefind reads."""
    path = site / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html lang='en'><head><title>{rel}</title></head><body>"
                    f"<nav>{chrome or 'menu'}</nav><article class=\"bd-article\"><h1>{rel}</h1><p>{text}</p>"
                    "</article></body></html>", encoding="utf-8")


def _site(tmp_path: Path) -> tuple[Path, Path]:
    site, state = tmp_path / "site", tmp_path / "doctrees"
    for rel, text in PAGES.items():
        _write(site, rel, text)
    assert pagefind.update_index(site, state).mode == "full"
    return site, state


def _fragments(bundle: Path) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for path in sorted((bundle / "fragment").glob("*.pf_fragment")):
        raw = gzip.decompress(path.read_bytes())
        out[path.name.removesuffix(".pf_fragment")] = json.loads(raw.removeprefix(b"pagefind_dcd"))
    return out


def _manifest(site: Path) -> dict[str, list[str]] | None:
    path = site / pagefind.DELTA_SUBDIR / pagefind.DELTA_MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _live(site: Path) -> dict[str, str]:
    """url → indexed text, as the search page sees the bundles (each page found once)."""
    manifest = _manifest(site) or {"bundles": [], "superseded": []}
    bundles = [site / pagefind.PAGEFIND_SUBDIR] + [site / pagefind.DELTA_SUBDIR / b for b in manifest["bundles"]]
    replaced, seen, live = set(manifest["superseded"]), set(), {}
    for bundle in bundles:
        assert (bundle / "pagefind-entry.json").exists(), bundle
        for fid, entry in _fragments(bundle).items():
            if fid in replaced or fid in seen:
                continue
            seen.add(fid)
            url = str(entry["url"])
            assert url not in live, f"{url} is found twice"
            live[url] = str(entry["content"])
    return live


def _runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    runs: list[list[str]] = []
    run = pagefind._run
    monkeypatch.setattr(pagefind, "_run", lambda cmd: (runs.append(cmd), run(cmd))[1])
    return runs


def _staged(cmd: list[str]) -> list[str]:
    """The pages a Pagefind run of a delta read (the hard links kbgen staged are gone by now: the
    command's --site folder names them only while it runs), by the bundle's entries."""
    out = Path(cmd[cmd.index("--output-path") + 1])
    return sorted(str(e["url"]) for e in _fragments(out).values()) if out.exists() else []


def test_each_update_indexes_only_its_own_pages_into_a_new_bundle(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    site, state = _site(tmp_path)
    runs = _runs(monkeypatch)
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    first = pagefind.update_index(site, state)
    assert (first.mode, first.indexed, first.delta_pages, first.bundles) == ("delta", 1, 1, 1)
    _write(site, "b.html", "Bravo buffalo page with a yak")
    second = pagefind.update_index(site, state)
    # the second update reads b alone, not a again: its own bundle
    assert (second.mode, second.indexed, second.delta_pages, second.bundles) == ("delta", 1, 2, 2)
    assert len(runs) == 2 and _staged(runs[1]) == ["/b.html"]
    assert _manifest(site)["bundles"] == ["1/", "2/"]  # type: ignore[index]
    live = _live(site)
    assert "zebra" in live["/a.html"] and "yak" in live["/b.html"] and len(live) == len(PAGES)
    # nothing changed: no run, no new bundle
    assert pagefind.update_index(site, state).mode == "unchanged" and len(runs) == 2


def test_a_page_changed_in_two_updates_is_found_once_with_its_newest_text(tmp_path: Path) -> None:
    site, state = _site(tmp_path)
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    _write(site, "c.html", "Charlie chinchilla page with a gnu")  # keeps the first bundle on the stack
    pagefind.update_index(site, state)
    _write(site, "b.html", "Bravo buffalo page with a yak")
    pagefind.update_index(site, state)
    _write(site, "a.html", "Alpha aardvark page with a walrus")
    assert pagefind.update_index(site, state).bundles == 3
    live = _live(site)
    assert "walrus" in live["/a.html"] and "zebra" not in live["/a.html"] and "yak" in live["/b.html"]
    assert "gnu" in live["/c.html"]
    # both older entries of a (the main bundle's and the first delta's) are superseded
    a_entries = {fid for bundle in (site / pagefind.PAGEFIND_SUBDIR, site / pagefind.DELTA_SUBDIR / "1")
                 for fid, e in _fragments(bundle).items() if e["url"] == "/a.html"}
    assert len(a_entries) == 2 and a_entries <= set(_manifest(site)["superseded"])  # type: ignore[index]


def test_a_page_back_to_its_old_text_keeps_one_entry(tmp_path: Path) -> None:
    """Pagefind names an entry by what it indexed: a page whose text returns to the main bundle's gets
    the main bundle's entry id again, which must no longer be superseded."""
    site, state = _site(tmp_path)
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    pagefind.update_index(site, state)
    _write(site, "a.html", PAGES["a.html"])
    pagefind.update_index(site, state)
    live = _live(site)
    assert PAGES["a.html"] in live["/a.html"] and "zebra" not in live["/a.html"] and len(live) == len(PAGES)
    a_main = next(fid for fid, e in _fragments(site / pagefind.PAGEFIND_SUBDIR).items() if e["url"] == "/a.html")
    assert a_main in _fragments(site / pagefind.DELTA_SUBDIR / "2")
    assert a_main not in _manifest(site)["superseded"]  # type: ignore[index]


def test_a_removed_page_stays_hidden_without_a_pagefind_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, state = _site(tmp_path)
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    pagefind.update_index(site, state)
    runs = _runs(monkeypatch)
    (site / "c.html").unlink()
    (site / "a.html").unlink()  # its entry is in the first delta
    update = pagefind.update_index(site, state)
    assert update.mode == "delta" and update.indexed == 0 and runs == []
    live = _live(site)
    assert "/c.html" not in live and "/a.html" not in live and len(live) == len(PAGES) - 2
    _write(site, "b.html", "Bravo buffalo page with a yak")
    pagefind.update_index(site, state)
    assert "/c.html" not in _live(site) and "yak" in _live(site)["/b.html"]


def test_a_page_rewritten_outside_what_pagefind_indexes_keeps_its_entry(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    site, state = _site(tmp_path)
    _write(site, "a.html", PAGES["a.html"], chrome="a new menu")  # same article: same digest, no run
    runs = _runs(monkeypatch)
    assert pagefind.update_index(site, state).mode == "unchanged" and runs == []
    # an article change Pagefind does not index: Pagefind writes the main bundle's very entry again
    main_ids = set(_fragments(site / pagefind.PAGEFIND_SUBDIR))
    text = (site / "b.html").read_text(encoding="utf-8")
    (site / "b.html").write_text(text.replace("<h1>", "<h1 data-x='1'>"), encoding="utf-8")
    _write(site, "c.html", "Charlie chinchilla page with a gnu")
    update = pagefind.update_index(site, state)
    assert update.indexed == 2 and update.delta_pages == 1
    delta = _fragments(site / pagefind.DELTA_SUBDIR / "1")
    b_entry = next(fid for fid, e in delta.items() if e["url"] == "/b.html")
    assert b_entry in main_ids and b_entry not in _manifest(site)["superseded"]  # type: ignore[index]
    assert len(_live(site)) == len(PAGES)
    # alone, such a change leaves no bundle behind
    (site / "d.html").write_text((site / "d.html").read_text(encoding="utf-8").replace("<h1>", "<h1 data-y='2'>"),
                                 encoding="utf-8")
    update = pagefind.update_index(site, state)
    assert update.bundles == 1 and sorted(p.name for p in (site / pagefind.DELTA_SUBDIR).iterdir()) == [
        "1", pagefind.DELTA_MANIFEST]


def test_the_stack_merges_past_max_deltas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagefind, "MAX_DELTAS", 2)
    site, state = _site(tmp_path)
    for rel, word in (("a.html", "zebra"), ("b.html", "yak")):
        _write(site, rel, f"{PAGES[rel]} with a {word}")
        pagefind.update_index(site, state)
    runs = _runs(monkeypatch)
    _write(site, "c.html", "Charlie chinchilla page with a gnu")
    merged = pagefind.update_index(site, state)
    assert (merged.mode, merged.indexed, merged.delta_pages, merged.bundles) == ("delta", 3, 3, 1)
    assert "merged 2" in merged.reason and _staged(runs[0]) == ["/a.html", "/b.html", "/c.html"]
    assert _manifest(site)["bundles"] == ["3/"]  # type: ignore[index]
    assert sorted(p.name for p in (site / pagefind.DELTA_SUBDIR).iterdir()) == ["3", pagefind.DELTA_MANIFEST]
    live = _live(site)
    assert "zebra" in live["/a.html"] and "yak" in live["/b.html"] and "gnu" in live["/c.html"]
    _write(site, "d.html", "Delta dingo page with an emu")
    assert pagefind.update_index(site, state).bundles == 2


def test_a_merge_keeps_the_oldest_bundles_when_they_hold_most_pages(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagefind, "MAX_DELTAS", 3)
    site, state = _site(tmp_path)
    for rel, word in (("a.html", "zebra"), ("b.html", "yak"), ("c.html", "gnu"), ("d.html", "emu")):
        _write(site, rel, f"{PAGES[rel]} with a {word}")
    pagefind.update_index(site, state)  # bundle 1: a, b, c, d
    _write(site, "index.html", "Home of the wiki with an ibis")
    pagefind.update_index(site, state)
    _write(site, "e.html", "Echo eland page")
    assert pagefind.update_index(site, state).bundles == 3
    runs = _runs(monkeypatch)
    _write(site, "f.html", "Foxtrot ferret page")
    merged = pagefind.update_index(site, state)
    # bundle 1's four pages outnumber the newer bundles' and the build's three: kept
    assert (merged.indexed, merged.delta_pages, merged.bundles) == (3, 7, 2) and "merged 2" in merged.reason
    assert _staged(runs[0]) == ["/", "/e.html", "/f.html"]
    assert _manifest(site)["bundles"] == ["1/", "4/"]  # type: ignore[index]
    assert sorted(p.name for p in (site / pagefind.DELTA_SUBDIR).iterdir()) == ["1", "4", pagefind.DELTA_MANIFEST]
    live = _live(site)
    assert all(word in live[url] for url, word in (("/a.html", "zebra"), ("/d.html", "emu"), ("/", "ibis"),
                                                   ("/f.html", "ferret")))


def test_a_bundle_whose_entries_are_all_replaced_leaves_the_stack(tmp_path: Path) -> None:
    site, state = _site(tmp_path)
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    pagefind.update_index(site, state)
    _write(site, "a.html", "Alpha aardvark page with a walrus")
    assert pagefind.update_index(site, state).bundles == 1
    assert _manifest(site)["bundles"] == ["2/"]  # type: ignore[index]
    assert not (site / pagefind.DELTA_SUBDIR / "1").exists()
    assert "walrus" in _live(site)["/a.html"]


def test_the_stack_folds_past_its_share_of_the_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, state = _site(tmp_path)
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    pagefind.update_index(site, state)
    monkeypatch.setattr(pagefind, "FOLD_SHARE", 0.3)  # a and b: 2 pages of 5
    _write(site, "b.html", "Bravo buffalo page with a yak")
    folded = pagefind.update_index(site, state)
    assert folded.mode == "full" and "2 pages of the delta stack exceed 30%" in folded.reason
    assert not (site / pagefind.DELTA_SUBDIR).exists()
    live = _live(site)
    assert "zebra" in live["/a.html"] and "yak" in live["/b.html"]


def test_an_interrupted_update_is_not_trusted(tmp_path: Path) -> None:
    site, state = _site(tmp_path)
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    pagefind.update_index(site, state)
    record = (state / pagefind.STATE_NAME).read_bytes()
    # cut off after the manifest, before the record: the manifest lists a bundle the record does not
    _write(site, "b.html", "Bravo buffalo page with a yak")
    pagefind.update_index(site, state)
    (state / pagefind.STATE_NAME).write_bytes(record)
    assert "yak" in _live(site)["/b.html"]  # the search page loads the stack the manifest lists
    update = pagefind.update_index(site, state)
    assert update.mode == "full" and "interrupted" in update.reason
    # cut off while writing a bundle: a folder the manifest does not list is replaced, then removed
    _write(site, "c.html", "Charlie chinchilla page with a gnu")
    junk = site / pagefind.DELTA_SUBDIR / "1"
    junk.mkdir(parents=True)
    (junk / "pagefind-entry.json").write_text("{}", encoding="utf-8")
    assert pagefind.update_index(site, state).mode == "delta"
    assert "gnu" in _live(site)["/c.html"] and _manifest(site)["bundles"] == ["1/"]  # type: ignore[index]
    _write(site, "d.html", "Delta dingo page with an emu")
    (site / pagefind.DELTA_SUBDIR / "2").mkdir()
    pagefind.update_index(site, state)
    assert sorted(p.name for p in (site / pagefind.DELTA_SUBDIR).iterdir()) == ["1", "2", pagefind.DELTA_MANIFEST]
    assert "emu" in _live(site)["/d.html"]


def test_the_same_changes_write_the_same_manifest_and_record(tmp_path: Path) -> None:
    outs = []
    for run in ("one", "two"):
        site, state = _site(tmp_path / run)
        for rel, word in (("a.html", "zebra"), ("b.html", "yak"), ("a.html", "walrus")):
            _write(site, rel, f"{PAGES[rel]} with a {word}")
            pagefind.update_index(site, state)
        (site / "c.html").unlink()
        pagefind.update_index(site, state)
        record = json.loads((state / pagefind.STATE_NAME).read_text(encoding="utf-8"))
        for page in record["pages"].values():
            page[:2] = []  # file stats differ between the two copies
        outs.append(((site / pagefind.DELTA_SUBDIR / pagefind.DELTA_MANIFEST).read_bytes(), record))
    assert outs[0] == outs[1]


def test_a_record_of_the_single_delta_index_without_a_delta_is_kept(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A site indexed in full by the kbgen before the stack (record format 1, no delta) takes a delta."""
    site, state = _site(tmp_path)
    path = state / pagefind.STATE_NAME
    record = json.loads(path.read_text(encoding="utf-8"))
    old = {"format": 1, "pagefind": record["pagefind"], "root": record["root"], "delta": {}, "gone": [],
           "main": {rel: page[:4] for rel, page in record["pages"].items()}}
    path.write_text(json.dumps(old), encoding="utf-8")
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    assert pagefind.update_index(site, state).mode == "delta"
    old["delta"] = {"a.html": "x"}
    path.write_text(json.dumps(old), encoding="utf-8")
    assert pagefind.update_index(site, state).mode == "full"


def test_fold_on_request_drops_the_stack(tmp_path: Path) -> None:
    site, state = _site(tmp_path)
    _write(site, "a.html", "Alpha aardvark page with a zebra")
    pagefind.update_index(site, state)
    assert pagefind.has_delta(site)
    assert pagefind.update_index(site, state, fold=True).mode == "full"
    assert not pagefind.has_delta(site) and not (site / pagefind.DELTA_SUBDIR).exists()
    assert "zebra" in _live(site)["/a.html"]
    shutil.rmtree(site / pagefind.PAGEFIND_SUBDIR)
    assert pagefind.update_index(site, state).reason == "no main bundle"
    assert os.path.exists(site / pagefind.PAGEFIND_SUBDIR / "pagefind.js")
