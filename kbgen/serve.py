"""Serving a site on localhost: static (``kbgen demo --serve``) and live preview (``kbgen serve``).

Live preview watches every input of a knowledge base — the hand-written and
generated pages, domain documents, execution plans, kbgen's configuration
and a SQLite database file — and on a change runs what ``kbgen build``
runs: re-import the plans (when one changed), sync, incremental build.
Open pages reload themselves when a rebuild changed the site.

Why not sphinx-autobuild: the inputs that matter most here (database, plans,
domain documents) live outside the Sphinx source folder, and a change to any
of them needs ``kbgen sync`` before Sphinx runs. Once synced, a plain
incremental build is exact: the sync rewrites every page whose HTML must
change, including pages that only show another page's needs ("Answered by"
lists, links), because each carries a digest of what it resolves from
elsewhere (:mod:`kbgen.render.deps`). So the preview runs ``kbgen build``'s
steps itself, and a rebuild re-reads only the rewritten pages. A PostgreSQL
database cannot be watched as a file, so it is polled: every ``poll``
seconds a sync runs, which writes nothing and triggers no build unless the
data changed.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kbgen.browser import open_in_browser
from kbgen.build import DEFAULT_JOBS, BuildResult, build_site, doctrees_path
from kbgen.config import CONFIG_RELPATH, Options
from kbgen.errors import KbgenError

Log = Callable[[str], None]

#: The page script that reloads a page after a rebuild (served and injected by the live server).
RELOAD_PATH = "/__kbgen__/version"
_RELOAD_SCRIPT = """<script>
(function () {{
  var seen = "{version}";
  function poll() {{
    fetch("{path}", {{ cache: "no-store" }}).then(function (r) {{ return r.text(); }}).then(function (v) {{
      if (v !== seen) window.location.reload();
    }}).catch(function () {{}}).finally(function () {{ setTimeout(poll, 1000); }});
  }}
  setTimeout(poll, 1000);
}})();
</script>"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_static(root: Path, *, port: int = 8000, host: str = "127.0.0.1",
                 log: Callable[[str], None] = print) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        log(f"serving {root} at http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log("stopped")


# -- live server ---------------------------------------------------------------------------

class LiveSite:
    """The served folder and a version that changes after every rebuild that changed the site."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._version = 0
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        with self._lock:
            return str(self._version)

    def bump(self) -> None:
        with self._lock:
            self._version += 1


class _LiveHandler(_QuietHandler):
    site: LiveSite

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == RELOAD_PATH:
            self._send(200, "text/plain; charset=utf-8", self.site.version.encode())
            return
        target = Path(self.translate_path(self.path))
        if target.is_dir():
            if not path.endswith("/"):
                super().do_GET()  # the stdlib answers with a redirect to the folder URL
                return
            target = target / "index.html"
        if target.suffix != ".html" or not target.is_file():
            super().do_GET()
            return
        html = target.read_text(encoding="utf-8", errors="replace")
        script = _RELOAD_SCRIPT.format(version=self.site.version, path=RELOAD_PATH)
        html = html.replace("</body>", script + "</body>", 1) if "</body>" in html else html + script
        self._send(200, "text/html; charset=utf-8", html.encode("utf-8"))

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def start_live_server(site: LiveSite, *, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    """Serve ``site`` in a daemon thread; the caller stops it with ``shutdown()``."""
    handler = type("LiveHandler", (_LiveHandler,), {"site": site})
    server = http.server.ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(site.root)))
    threading.Thread(target=server.serve_forever, name="kbgen-serve", daemon=True).start()
    return server


# -- what to watch -------------------------------------------------------------------------

@dataclass
class WatchPlan:
    """Folders to watch and which of their files count as inputs."""

    options: Options
    roots: list[Path] = field(default_factory=list)
    database_files: set[Path] = field(default_factory=set)
    ignored: list[Path] = field(default_factory=list)
    #: the database's folder when it is watched only for the database file
    database_dir: Path | None = None

    @classmethod
    def for_project(cls, options: Options) -> WatchPlan:
        from kbgen.db.engine import resolve_url, sqlite_path

        plan = cls(options)
        for folder in (options.docs_path, options.domains_path, options.plans_path,
                       (options.project_dir / CONFIG_RELPATH).parent):
            if folder.is_dir() and not any(folder.resolve().is_relative_to(r) for r in plan.roots):
                plan.roots.append(folder.resolve())
        db_file = sqlite_path(resolve_url(options.database, options.project_dir))
        if db_file is not None:
            db_file = Path(db_file).resolve()
            plan.database_files = {db_file, db_file.with_name(db_file.name + "-wal")}
            if not any(db_file.is_relative_to(r) for r in plan.roots):
                plan.roots.append(db_file.parent)
                plan.database_dir = db_file.parent
        # sync's own output (generated pages) and the build never trigger a rebuild themselves
        plan.ignored = [options.generated_path.resolve(), options.build_path.resolve(),
                        doctrees_path(options).resolve()]
        return plan

    @property
    def polls_database(self) -> bool:
        return not self.database_files

    def accepts(self, path: Path) -> bool:
        """Whether a changed file is an input (watchfiles reports absolute paths)."""
        if any(path.is_relative_to(i) for i in self.ignored):
            return False
        if self.database_dir is not None and path.is_relative_to(self.database_dir):
            return path in self.database_files  # not the journal, nor other files next to the database
        name = path.name
        return not (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp"))
                    or "__pycache__" in path.parts)

    def plan_changed(self, paths: set[Path]) -> bool:
        plans = self.options.plans_path.resolve()
        return any(p.is_relative_to(plans) for p in paths)


# -- one rebuild ---------------------------------------------------------------------------

def import_plans(options: Options, log: Log) -> int:
    """Re-import the project's execution plans (unchanged ones are skipped by content hash)."""
    from kbgen.db.engine import open_engine, resolve_url
    from kbgen.db.migrate import ensure_kb_tables
    from kbgen.db.plans import import_plan, stored_plans
    from kbgen.plan import parse_plan_file

    paths = sorted(options.plans_path.glob("*.md")) if options.plans_path.is_dir() else []
    if not paths:
        return 0
    engine = open_engine(resolve_url(options.database, options.project_dir))
    changed = 0
    try:
        ensure_kb_tables(engine)
        # A plan that states no session was imported once with --session: keep that number.
        given = {p.source_path: p.session for p in stored_plans(engine) if p.data.get("session_given")}
        for path in paths:
            shown = path.relative_to(options.project_dir).as_posix() \
                if path.is_relative_to(options.project_dir) else str(path)
            try:
                plan = parse_plan_file(path, session=given.get(shown))
            except KbgenError as exc:
                log(f"plan skipped: {exc}")
                continue
            if import_plan(engine, plan, shown).action != "unchanged":
                changed += 1
    finally:
        engine.dispose()
    return changed


def rebuild(options: Options, *, plans: bool, log: Log, jobs: str = DEFAULT_JOBS) -> BuildResult | None:
    """Plans (when asked) → sync → incremental build; errors are logged, never raised.

    A preview server must survive a broken plan, a locked database or a page that fails to
    build: it keeps serving the last good site and retries on the next change.
    """
    from kbgen.sync import sync

    if plans:
        try:
            import_plans(options, log)
        except Exception as exc:  # e.g. a read-only database role: preview the stored plans instead
            log(f"plans not imported: {exc}")
    try:
        report = sync(options)
        if report.written or report.removed:
            log(f"sync: {report.summary()}")
        for warning in report.warnings:
            log(f"warning: {warning}")
        result = build_site(options, jobs=jobs)
    except KbgenError as exc:
        log(f"error: {exc}")
        return None
    except Exception as exc:  # a preview server outlives a failed rebuild; the next change retries
        log(f"error: {type(exc).__name__}: {exc}")
        return None
    if result.mode != "up to date":
        log(result.summary())
    return result


def serve_live(options: Options, *, host: str = "127.0.0.1", port: int = 8000, poll: float = 10.0,
               jobs: str = DEFAULT_JOBS, log: Log = print, open_browser: bool = False,
               stop: threading.Event | None = None, ready: Callable[[str], None] | None = None) -> None:
    """Build, serve on ``host:port`` and rebuild on every change until Ctrl-C (or ``stop`` is set)."""
    import watchfiles

    watch = WatchPlan.for_project(options)
    log("building …")
    rebuild(options, plans=True, log=log, jobs=jobs)
    options.build_path.mkdir(parents=True, exist_ok=True)
    site = LiveSite(options.build_path)
    server = start_live_server(site, host=host, port=port)
    url = f"http://{host}:{server.server_address[1]}/"
    watched = ", ".join(_shown(r, options.project_dir) for r in watch.roots)
    log(f"serving {url} — watching {watched}" + (f"; polling the database every {poll:g} s"
                                                  if watch.polls_database and poll > 0 else "") + " (Ctrl-C to stop)")
    if ready:
        ready(url)
    if open_browser and not open_in_browser(url):
        log(f"no display to show a browser on: open {url} in one")
    timeout_ms = int(poll * 1000) if watch.polls_database and poll > 0 else 5000
    try:
        for changes in watchfiles.watch(*watch.roots, watch_filter=lambda _c, p: watch.accepts(Path(p)),
                                        rust_timeout=timeout_ms, yield_on_timeout=True, stop_event=stop,
                                        debounce=400, raise_interrupt=False):
            if not changes and not (watch.polls_database and poll > 0):
                continue
            paths = {Path(p) for _c, p in changes}
            if paths:
                log("changed: " + ", ".join(sorted(_shown(p, options.project_dir) for p in paths)[:5])
                    + (" …" if len(paths) > 5 else ""))
            result = rebuild(options, plans=watch.plan_changed(paths), log=log, jobs=jobs)
            if result is not None and result.mode != "up to date":
                site.bump()
    finally:
        server.shutdown()
        server.server_close()
        log("stopped")


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix() or "."
    except ValueError:
        return str(path)
