"""Running Sphinx (and the search indexer): ``kbgen build``, used by demo, serve and publish.

sphinx-build runs in a child process (the same Python) so a build gets a
fresh interpreter — sphinx-needs keeps module-level state — and parallel
jobs work as documented.

Incremental builds are Sphinx incremental builds: Sphinx re-reads only the
sources that changed. For kbgen's pages that is enough, because a page shows
nothing it does not say in its own source: need references carry their text
(:func:`kbgen.render.myst.need_link`) and every page ends in a digest of what
Sphinx resolves on it from other pages (incoming links, link targets, label
targets — :mod:`kbgen.render.deps`), so ``kbgen sync`` rewrites exactly the
pages whose HTML must change. Hand-written pages and domain narratives carry no
such digest: the extension writes again the pages that show what they changed
(:mod:`kbgen.sphinxext.deps`), in ``kbgen build`` and in a plain
``sphinx-build`` alike, which shares this build's environment
(:mod:`kbgen.sphinxext.project`). The build record also notes the environment
and ``.buildinfo`` it left, so a site another tool rebuilt is noticed. When
nothing changed, Sphinx is not started at all. What "changed" means is a fingerprint
of every input (hand-written and generated pages, domain documents,
configuration, kbgen's code and the Sphinx packages' versions) stored next to the doctrees after
each successful build — the same fingerprint ``kbgen publish`` uses to
refuse a stale site.

Search: Sphinx's own index is one ``searchindex.js`` that every search
downloads whole and that grows with the site. When the Pagefind binary (the
``pagefind_bin`` wheel) runs here, the built site is also indexed into
Pagefind's chunked index, which the site's search page uses instead; without
it the site keeps Sphinx's search (see ``bench/README-theme.md`` for the
measurements behind this). Pagefind re-indexes only the pages whose content
changed (:mod:`kbgen.pagefind`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from kbgen import __version__, pagefind
from kbgen.config import CONFIG_RELPATH, Options
from kbgen.errors import EnvironmentProblem, KbgenError, UsageError
from kbgen.fingerprint import code_fingerprint
from kbgen.pagefind import (  # noqa: F401  (re-exported: the build's public names)
    PAGEFIND_ROOT,
    PAGEFIND_SUBDIR,
    IndexUpdate,
    index_with_pagefind,
    pagefind_available,
    pagefind_command,
)
from kbgen.sphinxext import SEARCH_INDEX_CONFIG
from kbgen.wording import count

#: Build record written next to the doctrees after every successful build.
STAMP_NAME = "kbgen-build.json"

SearchMode = Literal["auto", "pagefind", "sphinx"]
#: ``progress(phase, percent)``: phase is "reading", "writing" or "indexing".
BuildProgress = Callable[[str, int], None]

#: kbgen's Sphinx extension starts what it tells the user about a build with this.
NOTE_PREFIX = "kbgen: "
_PROGRESS_RE = re.compile(r"^(reading sources|writing output)\.\.\. \[\s*(\d+)%\]")
#: Terminal control sequences (colours, "erase line"): Sphinx writes them when it believes it
#: writes to a terminal, which it also believes when ``CI`` or ``FORCE_COLOR`` is set.
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class BuildFailed(KbgenError):
    """sphinx-build reported an error (or a warning under --strict)."""

    exit_code = 1


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    seconds: float
    warnings: int
    index: Path
    #: "fresh" (no usable cache), "incremental" (only changed sources re-read and re-written)
    #: or "up to date" (nothing changed: Sphinx did not run).
    mode: str = "fresh"
    #: "pagefind" or "sphinx": which index the site's search page uses.
    search: str = "sphinx"
    pages: int = 0
    warning_lines: tuple[str, ...] = ()
    #: What the Pagefind index update did (None: no Pagefind, or nothing built).
    search_update: IndexUpdate | None = None
    #: How many sources Sphinx read and how many pages it wrote (None: not counted, as in a
    #: parallel build, which reports chunks).
    read: int | None = None
    written: int | None = None
    #: What kbgen's Sphinx extension said about the pages it wrote again (:mod:`kbgen.sphinxext.deps`),
    #: such as a navigation change that rewrote pages whose source did not change.
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """The one line ``kbgen build`` prints."""
        search = self.search
        if self.search_update is not None and self.search_update.mode != "full":
            update = self.search_update
            search += (f" ({count(update.delta_pages, 'page')} in the delta index, "
                       f"{count(update.bundles, 'bundle')}; {update.indexed:,} indexed now)")
        mode = self.mode
        if mode == "incremental" and self.read is not None and self.written is not None:
            mode += f": {self.read:,} read, {self.written:,} written"
        return (f"built {count(self.pages, 'page')} ({mode}) in {self.seconds:.1f} s, "
                f"{count(self.warnings, 'warning')}, search: {search} → {self.index}")


# -- inputs and the build stamp ------------------------------------------------------------

def doctrees_path(options: Options) -> Path:
    return options.doctrees_path


def stamp_path(options: Options) -> Path:
    return doctrees_path(options) / STAMP_NAME


def _input_files(options: Options) -> Iterator[tuple[str, str]]:
    """Every file a build reads, as (path, key): the Sphinx source folder, domain documents, kbgen's
    config. The key is the path relative to the project folder (posix), or absolute outside it.

    Plain strings, not :class:`~pathlib.Path`: a knowledge base has thousands of inputs and every
    build lists them all (a path object per file cost more than reading the directories).
    """
    skip_dirs = {"__pycache__", "_build"}
    build = options.build_path.resolve()
    project = options.project_dir
    for root in (options.docs_path, options.domains_path):
        if not root.is_dir():
            continue
        key_root = root.relative_to(project).as_posix() if root.is_relative_to(project) else root.as_posix()
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in skip_dirs
                             and Path(folder, d).resolve() != build)
            inner = os.path.relpath(folder, root).replace(os.sep, "/")
            prefix = key_root + "/" if inner == "." else f"{key_root}/{inner}/"
            if prefix.startswith("./"):  # the project folder itself as a root
                prefix = prefix[2:]
            for name in sorted(files):
                if not name.startswith("."):
                    yield os.path.join(folder, name), prefix + name
    config = project / CONFIG_RELPATH
    if config.exists():
        yield str(config), config.relative_to(project).as_posix()


def _tool_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    lines = [f"kbgen {__version__}"]
    for dist in ("sphinx", "sphinx-needs", "myst-parser", "pydata-sphinx-theme"):
        try:
            lines.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            lines.append(f"{dist} -")
    return "\n".join(lines) + "\n"


def tools_fingerprint() -> str:
    """kbgen's code and assets (:mod:`kbgen.fingerprint`, the fingerprint the no-op sync uses too)
    and the Sphinx packages' versions: when these change, every page is read again (a new kbgen
    or Sphinx may read the same source differently)."""
    outer = hashlib.sha256(_tool_versions().encode())
    outer.update(code_fingerprint().encode())
    return outer.hexdigest()


#: A build input's record: size, modification time (ns), SHA-256 of its content.
InputTable = dict[str, list[object]]


def scan_inputs(options: Options, known: InputTable | None = None, *, restore_mtimes: bool = False) -> InputTable:
    """Every build input with its content digest; files whose size and time match ``known`` are not read.

    ``restore_mtimes``: a file whose content is what ``known`` recorded but whose modification
    time is not — a fresh checkout, a copy, a rewrite with the same bytes — gets the recorded
    time back. Sphinx decides what to read again by modification times, so this keeps a build
    on a fresh CI checkout (with the previous build restored from a cache) incremental.
    """
    table: InputTable = {}
    for path, rel in _input_files(options):
        st = os.stat(path)
        old = known.get(rel) if known else None
        if old is not None and old[0] == st.st_size and old[1] == st.st_mtime_ns:
            table[rel] = old
            continue
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        mtime = st.st_mtime_ns
        if restore_mtimes and old is not None and old[2] == digest and isinstance(old[1], int) and old[1] < mtime:
            os.utime(path, ns=(st.st_atime_ns, old[1]))
            mtime = old[1]
        table[rel] = [st.st_size, mtime, digest]
    return table


def _fingerprint(tools: str, inputs: InputTable) -> str:
    outer = hashlib.sha256(tools.encode())
    for rel in sorted(inputs):
        outer.update(rel.encode("utf-8") + b"\0" + str(inputs[rel][2]).encode())
    return outer.hexdigest()


def source_fingerprint(options: Options, known: InputTable | None = None) -> str:
    """A digest of every build input (content, not times: checkouts and copies keep it stable).

    Inputs are the project's sources and kbgen's extension and assets, plus the versions of
    the Sphinx packages, so upgrading a tool also counts as a change. ``known`` (the inputs
    recorded by the last build) spares reading the files whose size and time did not change.
    """
    return _fingerprint(tools_fingerprint(), scan_inputs(options, known))


def _output_marks(options: Options) -> list[object]:
    """Size and time of the files every Sphinx build that changed anything rewrites: the pickled
    environment and the HTML builder's ``.buildinfo``. Another tool's build changes them."""
    marks: list[object] = []
    for path in (doctrees_path(options) / "environment.pickle", options.build_path / ".buildinfo"):
        try:
            st = path.stat()
        except OSError:
            marks.append(None)
        else:
            marks.append([st.st_size, st.st_mtime_ns])
    return marks


def read_stamp(options: Options) -> dict[str, object] | None:
    try:
        data = json.loads(stamp_path(options).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_stamp(options: Options, *, fingerprint: str, tools: str, inputs: InputTable, search: str,
                 sphinx_index: bool, pages: int, warnings: int) -> None:
    path = stamp_path(options)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"fingerprint": fingerprint, "tools": tools, "kbgen": __version__, "search": search,
              "sphinx_index": sphinx_index, "pages": pages, "warnings": warnings,
              "outputs": _output_marks(options), "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "inputs": inputs}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, separators=(",", ":")) + "\n", encoding="utf-8")
    tmp.replace(path)


def _known_inputs(stamp: dict[str, object] | None) -> InputTable | None:
    inputs = stamp.get("inputs") if stamp else None
    return inputs if isinstance(inputs, dict) else None


def build_staleness(options: Options) -> str | None:
    """Why the built site does not match its sources, or None when it does."""
    index = options.build_path / "index.html"
    if not index.exists():
        return f"no built site at {options.build_path} (run 'kbgen build')"
    stamp = read_stamp(options)
    if stamp is None:
        return f"{options.build_path} was not built by 'kbgen build' (no build record; run 'kbgen build')"
    if stamp.get("outputs") != _output_marks(options):
        return (f"{options.build_path} was rebuilt by another tool (such as sphinx-build) since the last "
                "'kbgen build', which also updates the search index (run 'kbgen build')")
    if stamp.get("fingerprint") != source_fingerprint(options, _known_inputs(stamp)):
        return "pages, domain documents or configuration changed since the last build (run 'kbgen build')"
    return None


# -- Sphinx --------------------------------------------------------------------------------

#: Sphinx processes ``kbgen build`` runs by default. One: Sphinx's parallel reading is slower
#: for a kbgen site and holds several times the memory (each worker pickles its whole
#: environment, every need included, back to the main process, which unpickles it to merge;
#: figures in bench/README.md).
DEFAULT_JOBS = "1"
#: Sphinx config value that turns Sphinx's own search index off (:mod:`kbgen.sphinxext.search`).
SPHINX_SEARCH_CONFIG = SEARCH_INDEX_CONFIG

def sphinx_command(options: Options, *, clean: bool = False, strict: bool = False,
                   jobs: str = DEFAULT_JOBS, builder: str = "html", write_all: bool = False,
                   sphinx_search_index: bool | None = None) -> list[str]:
    """The sphinx-build command line ``kbgen build`` runs (through :mod:`kbgen.sphinxext.main`).

    Everything that shapes the site comes from conf.py and conf/kbgen.yaml, which the extension
    reads too, so a plain ``sphinx-build`` of the same folders builds the same site from the same
    environment. The one exception: ``sphinx_search_index`` other than the project's ``search``
    setting implies (``kbgen build --search``) is passed with ``-D``
    (:mod:`kbgen.sphinxext.search`).
    """
    cmd = [sys.executable, "-m", "kbgen.sphinxext.main", "-b", builder, "-j", jobs, "--no-color"]
    if sphinx_search_index is not None and sphinx_search_index != (options.search != "pagefind"):
        cmd += ["-D", f"{SPHINX_SEARCH_CONFIG}={int(sphinx_search_index)}"]
    if clean:
        cmd.append("-E")
    if write_all:
        cmd.append("-a")
    if strict:
        cmd += ["-W", "--keep-going"]
    cmd += ["-d", str(doctrees_path(options)), str(options.docs_path), str(options.build_path)]
    return cmd


@dataclass
class SphinxRun:
    """What one sphinx-build said: exit code, standard error, and from its standard output the
    sources it read, the pages it wrote and what kbgen's extension noted."""

    code: int = 0
    stderr: str = ""
    read: int = 0
    written: int = 0
    notes: list[str] = field(default_factory=list)


def _run_sphinx(cmd: list[str], cwd: Path, progress: BuildProgress | None) -> SphinxRun:
    """Run sphinx-build, feeding its progress lines to ``progress``."""
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    # kbgen reads this output line by line: plain lines, whatever the CI service or the user's
    # shell sets (with CI=true Sphinx redraws one progress line with control sequences).
    env["NO_COLOR"] = "1"
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                                encoding="utf-8", errors="replace")
        assert proc.stdout is not None
        run = SphinxRun()
        _follow(proc.stdout, progress, run)
        run.code = proc.wait()
        err.seek(0)
        run.stderr = err.read()
        return run


def _follow(stream: IO[str], progress: BuildProgress | None, run: SphinxRun) -> None:
    for raw in stream:
        line = _ANSI_RE.sub("", raw)
        match = _PROGRESS_RE.match(line)
        if match:
            reading = match.group(1).startswith("reading")
            if reading:
                run.read += 1
            else:
                run.written += 1
            if progress:
                progress("reading" if reading else "writing", int(match.group(2)))
        elif line.startswith(NOTE_PREFIX):
            run.notes.append(line.strip())


def _count_pages(out_dir: Path) -> int:
    return sum(1 for p in out_dir.rglob("*.html") if not p.relative_to(out_dir).parts[0].startswith("_"))


# -- search --------------------------------------------------------------------------------

def resolve_search(search: str) -> str:
    if search == "sphinx":
        return "sphinx"
    if pagefind_available():
        return "pagefind"
    if search == "pagefind":
        raise EnvironmentProblem("the Pagefind binary does not run here",
                                 hint="pip install pagefind-bin, or use --search sphinx")
    return "sphinx"


# -- the build -----------------------------------------------------------------------------

def build_site(options: Options, *, clean: bool = False, strict: bool = False, jobs: str = DEFAULT_JOBS,
               quiet: bool = True, search: SearchMode | None = None,
               progress: BuildProgress | None = None) -> BuildResult:
    """Build the HTML site from the docs folder (sync first: see ``kbgen build``).

    Incremental unless ``clean``; skips Sphinx entirely when no input changed since the last
    successful build, the site was not rebuilt by another tool since, and the search index is in
    place. ``search`` overrides the project's ``search`` setting for this build.
    """
    if not (options.docs_path / "conf.py").exists():
        raise EnvironmentProblem(f"no Sphinx conf.py in {options.docs_path}", hint="run 'kbgen init' first")
    if jobs != "auto" and not (jobs.isdigit() and int(jobs) > 0):
        raise UsageError(f"--jobs must be a positive number or 'auto', not {jobs!r}")
    started = time.perf_counter()
    wanted = search or options.search
    engine = resolve_search(wanted)
    # Sphinx's own index serves the search page when Pagefind cannot (a site opened from disk:
    # file:// pages cannot fetch Pagefind's chunks). Asking for Pagefind explicitly drops it.
    sphinx_index = wanted != "pagefind"
    doctrees = doctrees_path(options)
    if clean:
        shutil.rmtree(options.build_path, ignore_errors=True)
        shutil.rmtree(doctrees, ignore_errors=True)
    stamp = read_stamp(options)
    tools = tools_fingerprint()
    index = options.build_path / "index.html"
    has_cache = (doctrees / "environment.pickle").exists() and index.exists()
    inputs = scan_inputs(options, _known_inputs(stamp), restore_mtimes=has_cache)
    fingerprint = _fingerprint(tools, inputs)
    others = stamp is not None and stamp.get("outputs") != _output_marks(options)  # e.g. a plain sphinx-build
    clean_before = stamp is not None and stamp.get("warnings") == 0 and not others
    bundle_ok = engine == "sphinx" or pagefind.index_ready(options.build_path, doctrees)
    if has_cache and stamp and stamp.get("fingerprint") == fingerprint and stamp.get("search") == engine \
            and stamp.get("sphinx_index") == sphinx_index and bundle_ok and not others \
            and (clean_before or not strict):
        update = None
        if engine == "pagefind":  # a page rewritten by hand or by another tool is noticed here
            update = pagefind.update_index(options.build_path, doctrees)
        pages = stamp.get("pages")
        return BuildResult(options.build_path, time.perf_counter() - started, 0, index, "up to date", engine,
                           pages if isinstance(pages, int) else 0, search_update=update)

    # Under --strict, warnings of pages that are not re-read would go unseen: re-read everything
    # unless the last build is known to have been clean. A new kbgen or Sphinx reads everything anew.
    reread = clean or not has_cache or (strict and not clean_before) or (stamp or {}).get("tools") != tools
    mode = "fresh" if reread else "incremental"
    cmd = sphinx_command(options, clean=reread, strict=strict, jobs=jobs, sphinx_search_index=sphinx_index)
    stamp_path(options).unlink(missing_ok=True)  # a failed build must not look like a clean one
    run = _run_sphinx(cmd, options.project_dir, progress)
    code, stderr = run.code, run.stderr
    warning_lines = tuple(line for line in stderr.splitlines() if "WARNING" in line or "ERROR" in line)
    if code != 0:
        detail = "\n".join(stderr.strip().splitlines()[-20:])
        raise BuildFailed(f"sphinx-build failed (exit {code}):\n{detail}")
    if not quiet and stderr.strip():
        sys.stderr.write(stderr)
    update = None
    if engine == "pagefind":
        if progress:
            progress("indexing", 0)
        update = pagefind.update_index(options.build_path, doctrees, fold=clean)
        if progress:
            progress("indexing", 100)
    else:  # a previous build's index would now be stale: fall back to Sphinx's search
        pagefind.clear(options.build_path, doctrees)
    pages = _count_pages(options.build_path)
    _write_stamp(options, fingerprint=fingerprint, tools=tools, inputs=inputs, search=engine,
                 sphinx_index=sphinx_index, pages=pages, warnings=len(warning_lines))
    counted = jobs == "1"  # a parallel build reports chunks of documents, not documents
    return BuildResult(options.build_path, time.perf_counter() - started, len(warning_lines), index, mode,
                       engine, pages, warning_lines, update, read=run.read if counted else None,
                       written=run.written if counted else None, notes=tuple(run.notes))
