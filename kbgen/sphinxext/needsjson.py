"""needs.json written only when a need changed, and then from the needs that changed.

sphinx-needs writes the whole graph to needs.json at the end of every HTML
build (``build-finished``), whatever the build changed: at campaign scale that
is the encoding of every need, tens of megabytes, on a build that only edited
a paragraph of a hand-written page. :mod:`kbgen.sphinxext.deps` compares every
field of the needs on the pages a build read with what they held before, so:

* when no need was added, removed or changed and needs.json is the one the
  last build wrote, sphinx-needs' handler is skipped for that build and the
  file stays as it is (byte for byte what it would write again);
* when some were, and the configuration is one where a need's entry depends
  only on its own page and on the IDs of the needs linking to it (no needs
  file merged in, no external needs, no ``needextend``, no dynamic functions,
  variants, constraints or derived fields: :func:`_entries_follow_pages`), the
  entries of the needs :mod:`kbgen.sphinxext.deps` names as touched (those of
  the changed pages, before and after, and every need they link or linked
  to) are encoded afresh by sphinx-needs' own code (``NeedsList.add_need``),
  the others taken as text from the file the last build wrote (at the offsets
  kbgen's writer recorded in the stamp; the first time after a full write, by
  decoding the file), and the whole written again: the same bytes as
  sphinx-needs' full write (tests/test_needs_json.py), without reading every
  field of every need or encoding them again. This is a replacement of
  sphinx-needs' code and follows :mod:`kbgen.sphinxext.speedups`' rules: tested
  releases only, off with ``kbgen_speedups = False``.

Whenever that is not known — every page read, a new environment, another
builder, a needs.json not written by the last build (:data:`STAMP_NAME`), a
configuration kbgen cannot vouch for — needs.json is written whole. kbgen
writes it whole too, one need at a time (:func:`_write_all`: sphinx-needs'
``add_need`` makes each entry, which is encoded, written and dropped), when
the file holds this build's needs alone (no ``needs_file`` merged in, the
default ``needs_builder_filter``) and the speedups apply: sphinx-needs builds
every entry into one dictionary and encodes the whole, both held at the end of
a full build, on top of the environment. Otherwise sphinx-needs writes it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from kbgen.gcpause import collector_paused
from kbgen.sphinxext import deps

logger = logging.getLogger(__name__)

#: sphinx-needs' ``build-finished`` handler that writes needs.json (module, function name).
HANDLER = ("sphinx_needs.builder", "build_needs_json")
NEEDS_FILE = "needs.json"
#: Next to the doctrees: the path, size and modification time of the needs.json the last build
#: wrote, a digest of the settings that shape it (:func:`_config_digest`) and, when kbgen wrote it,
#: where each need's entry is. Removed before the environment is pickled, written again once
#: needs.json is: a build cut off in between leaves none, and the next one writes needs.json whole
#: instead of trusting a stale file.
STAMP_NAME = "kbgen-needs-json.json"
#: sphinx-needs' default ``needs_builder_filter``: a need's own field decides.
DEFAULT_FILTERS = ("", "is_external==False")


def setup(app: Sphinx) -> None:
    # Once reading is done and kbgen.sphinxext.deps (priority 400) knows what changed; Sphinx
    # takes the list of build-finished handlers when it emits the event, so they are chosen here.
    app.connect("env-updated", _choose_writer, priority=450)


# -- the last build's file -------------------------------------------------------------------

def _stamp_path(app: Sphinx) -> Path:
    return Path(app.doctreedir) / STAMP_NAME


def _file_stamp(path: Path) -> list[str | int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _config_digest(app: Sphinx) -> str:
    """A digest of the settings needs.json depends on: sphinx-needs' (``needs_*``), the project and
    version. Settings that only change how pages are written make Sphinx write every page without
    reading any (no need changes), while the file's entries may have to change with them."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return sorted((repr(k), plain(v)) for k, v in value.items())
        if isinstance(value, (set, frozenset)):
            return sorted(repr(plain(v)) for v in value)
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return repr(value)

    settings = sorted((item.name, plain(item.value)) for item in app.config
                      if item.name.startswith("needs_") or item.name in ("project", "version"))
    return hashlib.blake2b(repr(settings).encode("utf-8"), digest_size=16).hexdigest()


def _read_stamp(app: Sphinx) -> dict[str, Any] | None:
    """The stamp when needs.json in the output folder is the one the last build wrote with the same
    settings, else None."""
    try:
        stamp = json.loads(_stamp_path(app).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    current = _file_stamp(Path(app.outdir) / NEEDS_FILE)
    if not isinstance(stamp, dict) or current is None or stamp.get("file") != current:
        return None
    return stamp if stamp.get("config") == _config_digest(app) else None


def last_written(app: Sphinx) -> bool:
    """True when needs.json in the output folder is the one the last build wrote (its stamp)."""
    return _read_stamp(app) is not None


def unchanged(app: Sphinx) -> bool:
    """True when this build changed no need and needs.json is the one the last build wrote."""
    if app.builder is None or app.builder.format != "html" or app.env is None:
        return False
    if deps.state(app.env).needs_changed is not False:
        return False
    return last_written(app)


# -- choosing the writer ----------------------------------------------------------------------

def _sphinx_needs_handlers(app: Sphinx) -> list[Any]:
    module, name = HANDLER
    return [listener for listener in app.events.listeners.get("build-finished", [])
            if getattr(listener.handler, "__module__", None) == module
            and getattr(listener.handler, "__name__", None) == name]


def _choose_writer(app: Sphinx, env: BuildEnvironment) -> None:
    stamp = _read_stamp(app)  # removed below, once this build may change needs.json
    if deps.state(env).needs_changed is not False:  # whatever the builder: the HTML's file is stale now
        _stamp_path(app).unlink(missing_ok=True)  # before the environment is pickled (see STAMP_NAME)
    handlers = _sphinx_needs_handlers(app)
    if not handlers or app.builder is None or app.builder.format != "html":
        return  # no needs.json written by this build (or sphinx-needs changed its handler)
    if unchanged(app):
        for listener in handlers:
            app.disconnect(listener.id)
        logger.info("kbgen: no need changed: needs.json kept as it is")
        return
    _stamp_path(app).unlink(missing_ok=True)
    if _streaming_applies(app):
        for listener in handlers:
            app.disconnect(listener.id)
        original = handlers[0].handler
        touched = deps.state(env).needs_touched
        partial = touched is not None and stamp is not None and _entries_follow_pages(app, env)
        entries = stamp.get("entries") if partial and stamp is not None else None

        def write(app: Sphinx, exception: BaseException | None) -> None:
            if partial and touched is not None \
                    and _write_touched(app, touched, entries if isinstance(entries, list) else None):
                return
            if not _write_all(app):
                original(app, exception)

        app.connect("build-finished", write)
    app.connect("build-finished", _record_stamp(_file_stamp(Path(app.outdir) / NEEDS_FILE)), priority=900)


def _record_stamp(before: list[str | int] | None) -> Any:
    """Stamp needs.json once the build has written it: its size and time differ from ``before``.

    Compared with the file as it was, never with the clock: on a machine whose file times lag
    its clock (see :mod:`kbgen.sphinxext.sources`) a file just written looks older than the build.
    """
    def record(app: Sphinx, exception: BaseException | None) -> None:
        path = Path(app.outdir) / NEEDS_FILE
        stamp = _file_stamp(path)
        if stamp is None or stamp == before:
            return  # not written by this build
        if _read_stamp(app) is None:  # written whole by sphinx-needs (kbgen's writer stamps its own)
            _write_stamp(app, stamp, None)
    return record


def _streaming_applies(app: Sphinx) -> bool:
    """Whether kbgen writes needs.json (see the module text): speedups on, a tested sphinx-needs, and
    the file made of this build's needs only (no needs file merged in, the default filter)."""
    from sphinx_needs.config import NeedsSphinxConfig

    from kbgen.sphinxext import speedups

    if not (speedups.enabled(app.config) and speedups.applies()):
        return False
    config = NeedsSphinxConfig(app.config)
    return not config.file and config.builder_filter in DEFAULT_FILTERS


def _entries_follow_pages(app: Sphinx, env: BuildEnvironment) -> bool:
    """True when each need's needs.json entry depends on its own page and its back links only."""
    from sphinx_needs.config import NeedsSphinxConfig
    from sphinx_needs.data import SphinxNeedsData

    config = NeedsSphinxConfig(app.config)
    raw = app.config
    if config.file or config.external_needs or config.constraints or config.variants:
        return False
    if config.builder_filter not in DEFAULT_FILTERS or getattr(raw, "needs_parse_dynamic_functions", True):
        return False
    if getattr(raw, "needs_functions", None) or SphinxNeedsData(env).get_or_create_extends():
        return False
    declarations = [*(getattr(raw, "needs_fields", None) or {}).values(),
                    *(getattr(raw, "needs_links", None) or {}).values()]
    for declaration in declarations:
        if not isinstance(declaration, dict) or declaration.get("parse_dynamic_functions") \
                or declaration.get("parse_variants") or "derive" in declaration or "derive_by_type" in declaration:
            return False
    return all(isinstance(t, dict) and "fields" not in t for t in getattr(raw, "needs_types", None) or [])


# -- writing from the touched needs ----------------------------------------------------------

def _write_stamp(app: Sphinx, file_stamp: list[str | int], entries: list[list[str | int]] | None) -> None:
    data: dict[str, Any] = {"file": file_stamp, "config": _config_digest(app)}
    if entries is not None:
        data["entries"] = entries
    _stamp_path(app).write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


#: Stands for the needs object while the rest of needs.json is encoded (a NUL never ends up in
#: an encoded string: JSON escapes it).
SENTINEL = "\x00kbgen-needs\x00"


def _old_entries(text: str, entries: list[list[str | int]] | None, version: str) -> dict[str, tuple[int, int]] | None:
    """Where each need's encoded entry is in the last needs.json, by ID (start and end offsets).

    From the offsets kbgen's writer recorded (each checked against the text around it), else by
    walking the file's needs object one entry at a time (the first time after a full write; the
    whole file is never decoded at once, which would hold every need's fields twice).
    """
    if entries is not None:
        out: dict[str, tuple[int, int]] = {}
        for item in entries:
            need_id, start, end = str(item[0]), int(item[1]), int(item[2])
            key = json.dumps(need_id) + ": "
            if text[start - len(key):start] != key or text[end:end + 1] not in (",", "}"):
                break
            out[need_id] = (start, end)
        else:
            return out
    try:
        return _walk_entries(text, version)
    except (ValueError, IndexError):
        return None


def _walk_entries(text: str, version: str) -> dict[str, tuple[int, int]] | None:
    """The offsets of the entries of ``versions[version].needs`` in text ``json.dumps`` wrote."""
    decoder = json.JSONDecoder()
    pos = 0

    def expect(literal: str) -> None:
        nonlocal pos
        if not text.startswith(literal, pos):
            raise ValueError(f"expected {literal!r} at {pos}")
        pos += len(literal)

    def key() -> str:
        nonlocal pos
        value, pos = decoder.raw_decode(text, pos)
        expect(": ")
        if not isinstance(value, str):
            raise ValueError("a key is no string")
        return value

    def skip() -> None:
        nonlocal pos
        _, pos = decoder.raw_decode(text, pos)

    expect("{")
    while key() != "versions":
        skip()
        expect(", ")
    expect("{")
    if key() != version:
        return None
    expect("{")
    while key() != "needs":
        skip()
        expect(", ")
    expect("{")
    out: dict[str, tuple[int, int]] = {}
    if text.startswith("}", pos):
        return out
    with collector_paused():  # each entry decoded and dropped: no garbage the collector must find
        while True:
            need_id = key()
            start = pos
            skip()
            out[need_id] = (start, pos)
            if text.startswith("}", pos):
                return out
            expect(", ")


def _write_touched(app: Sphinx, touched: frozenset[str], entries: list[list[str | int]] | None) -> bool:
    """Write needs.json from the last build's entries and the touched needs' fresh ones.

    The text is what ``json.dumps(..., sort_keys=True)`` makes of the whole (sphinx-needs' write):
    each need's entry is encoded on its own, the entries joined in key order as the encoder joins
    them; an untouched entry is copied from the last file as it is. False (and nothing written)
    when the last file cannot be read that way, or lacks an untouched need this build has: the
    caller writes it whole.
    """
    from sphinx_needs.data import SphinxNeedsData
    from sphinx_needs.needsfile import NeedsList

    env = app.env
    path = Path(app.outdir) / NEEDS_FILE
    version = getattr(env.config, "version", "unset")
    try:
        text = path.read_text(encoding="ascii")  # json.dumps escapes every non-ASCII character
    except (OSError, UnicodeDecodeError):
        return False
    old = _old_entries(text, entries, version)
    if old is None:
        return False
    needs = SphinxNeedsData(env).get_needs_view()
    filtered = app.config.needs_builder_filter != ""
    kept = {need_id for need_id, need in needs.items() if not (filtered and need["is_external"])}
    fresh = {need_id for need_id in kept if need_id.lower() in touched}
    if not (kept - fresh) <= old.keys():
        return False  # a need the file lacks though this build did not touch it
    needs_list = NeedsList(env, app.outdir, app.srcdir)
    for need_id in sorted(fresh):
        needs_list.add_need(version, needs[need_id])
    encoded = {need_id: json.dumps(value, sort_keys=True)
               for need_id, value in needs_list.needs_list["versions"].get(version, {}).get("needs", {}).items()}

    def entry(need_id: str) -> str:
        if need_id in encoded:
            return encoded[need_id]
        start, end = old[need_id]
        return text[start:end]

    if not _write_file(app, needs_list, version, sorted(kept), entry):
        return False
    logger.info("kbgen: needs.json written from %d touched need%s of %d", len(fresh),
                "" if len(fresh) == 1 else "s", len(kept))
    return True


def _write_all(app: Sphinx) -> bool:
    """Write needs.json from every need, as sphinx-needs' ``build_needs_json`` does, one entry at a time.

    sphinx-needs builds the writable fields of every need into one dictionary, then encodes it
    whole: at campaign scale both are held at once, at the very end of the build, on top of the
    environment (the build's peak memory: bench/README.md). Here each need's entry is made by
    sphinx-needs' own ``NeedsList.add_need``, encoded and written, then dropped; the text is the
    same (tests/test_needs_json.py). The entries' offsets are stamped, so the next build that
    changes a few needs does not have to walk the file to find them.
    """
    import os

    from sphinx_needs.config import NeedsSphinxConfig
    from sphinx_needs.data import SphinxNeedsData
    from sphinx_needs.needsfile import NeedsList

    env = app.env
    if not NeedsSphinxConfig(env.config).build_json:
        return True
    if os.path.exists(os.path.join(app.srcdir, NEEDS_FILE)):  # what sphinx-needs says here
        logger.info("needs.json found, but will not be used because needs_file not configured.")
    version = getattr(env.config, "version", "unset")
    needs = SphinxNeedsData(env).get_needs_view()
    filtered = app.config.needs_builder_filter != ""
    kept = sorted(need_id for need_id, need in needs.items() if not (filtered and need["is_external"]))
    needs_list = NeedsList(env, app.outdir, app.srcdir)

    def entry(need_id: str) -> str:
        needs_list.add_need(version, needs[need_id])
        return json.dumps(needs_list.needs_list["versions"][version]["needs"].pop(need_id), sort_keys=True)

    if not _write_file(app, needs_list, version, kept, entry):
        return False
    logger.info("Needs successfully exported")
    return True


def _write_file(app: Sphinx, needs_list: Any, version: str, kept: list[str], entry: Any) -> bool:
    """Write needs.json: ``needs_list``'s other fields as ``json.dumps(..., sort_keys=True)`` writes
    them, the needs object made of ``entry(need_id)`` for each of ``kept`` (sorted), joined as the
    encoder joins them; stamp the file with each entry's offsets. False (nothing written) when the
    text around the needs cannot be made that way; True once written or failed with an error logged.
    """
    needs_list.update_or_add_version(version)
    needs_list._finalise()  # what write_json does first: the project, version and (no) time stamps
    data = needs_list.needs_list
    version_entry = data["versions"][version]
    version_entry["needs"] = SENTINEL
    version_entry["needs_amount"] = len(kept)
    head, marker = json.dumps(data, sort_keys=True), json.dumps(SENTINEL)
    version_entry["needs"] = {}  # add_need fills it again, one entry at a time
    if head.count(marker) != 1:
        return False
    before, after = head.split(marker)
    path = Path(app.outdir) / NEEDS_FILE
    offsets: list[list[str | int]] = []
    pos = len(before) + 1
    try:
        # Written piece by piece: no second copy of the file in memory.
        with open(path, "w", encoding="ascii") as handle:
            handle.write(before + "{")
            for index, need_id in enumerate(kept):
                key = ("" if index == 0 else ", ") + json.dumps(need_id) + ": "
                value = entry(need_id)
                handle.write(key)
                handle.write(value)
                offsets.append([need_id, pos + len(key), pos + len(key) + len(value)])
                pos += len(key) + len(value)
            handle.write("}" + after)
    except OSError as exc:
        logger.error(f"Error during writing json file: {exc}")
        return True
    stamp = _file_stamp(path)
    if stamp is not None:
        _write_stamp(app, stamp, offsets)
    return True
