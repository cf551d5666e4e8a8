"""``kbgen report``'s figures read straight from the database, without a snapshot.

The master index shows a few dozen figures and about two hundred rows; loading the whole
snapshot (every read, finding text, plan and question as objects, through SQLAlchemy) to
compute them cost the command most of its time. This reader selects only the columns the
figures need, as plain tuples, lets the database count what it can (reads per depth), and
computes the rest with the same rules as :mod:`kbgen.analysis`: the normalisations
(:mod:`kbgen.vocab`), the scope (EXCLUDED files and what hangs on them), the coverage rows
(:func:`kbgen.analysis.coverage_row`), the source-file filters
(:func:`kbgen.analysis.is_source_path`), the tiers and every sort order. Values are read with
the loader's own conversions (:mod:`kbgen.db.values`), so a quirky column reads the same
here. tests/test_report.py holds the two paths to the same bytes on the example database
and on a generated one with the research-database quirks.

SQLite is read with the standard library's ``sqlite3`` (read-only); PostgreSQL through
SQLAlchemy Core with the same SQL. Anything this reader does not handle itself (no
database file, a missing research table, kbgen tables at another revision than this
kbgen's, a driver error) returns None, and :func:`kbgen.report.make_report` falls back to
the snapshot, which reports the problem exactly as every other command does.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from kbgen import analysis, vocab
from kbgen.analysis import Coverage, Excluded, Overall, PackageLink
from kbgen.config import Options
from kbgen.db.revision import HEAD_REVISION, VERSION_TABLE
from kbgen.db.values import int_value, text_value
from kbgen.report import HOTSPOT_ROWS, OPEN_ROWS, OpenRow, ReportFigures, ReportFile, ReportGap
from kbgen.vocab import Vocabulary


class Domain(NamedTuple):
    """A domain as the report needs it (:class:`kbgen.model.Domain`'s fields, without the raw priority)."""

    id: Any
    name: str
    description: str | None
    priority: str
    synthesis_path: str | None

#: Runs one SQL statement (named ``:param`` parameters) and returns its rows as tuples.
Query = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]
#: A file as read: id, package_id, path, LOC, normalised depth.
FileRow = tuple[Any, Any, str, int | None, str]

#: The research columns read, per table (the tables :mod:`kbgen.db.research` requires first).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "packages": ("id", "name"),
    "files": ("id", "package_id", "relative_path", "loc", "depth"),
    "domains": ("id", "name", "description", "priority", "synthesis_path"),
    "file_domains": ("file_id", "domain_id"),
    "sessions": ("id", "name", "date"),
    "file_reads": ("file_id",),
    "findings": ("id", "file_id", "session_id", "severity", "category", "followed_up"),
    "dependencies": ("source_file_id", "target_file_id", "verified"),
    "package_dependencies": ("source_package_id", "target_package_id", "relationship"),
    "exclude_paths": ("pattern",),
}
_REQUIRED = ("packages", "files", "domains", "file_domains", "sessions", "file_reads", "findings")


def read_report(options: Options) -> tuple[ReportFigures, list[Domain]] | None:
    """The report's figures and the domains (for their documents' paths), or None: use the snapshot."""
    from kbgen.db.urls import LOCKED_HINT, default_busy_timeout, resolve_url, sqlite_path

    url = resolve_url(options.database, options.project_dir)
    if url.startswith("postgresql"):
        return _read_postgresql(url, options)
    path = sqlite_path(url)
    if path is None or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=default_busy_timeout())
    except sqlite3.Error:
        return None
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {t: frozenset(row[1] for row in conn.execute(f'PRAGMA table_info("{t}")'))
                   for t in _COLUMNS if t in tables}

        def query(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        return _read(query, tables, columns, options)
    except sqlite3.Error as exc:
        if "locked" in str(exc) or "busy" in str(exc):  # after the busy timeout: say so now, not after another
            from kbgen.errors import DatabaseError

            raise DatabaseError(f"database is locked: {url}", hint=LOCKED_HINT) from exc
        return None  # the snapshot path meets the same error and explains it
    finally:
        conn.close()


def _read_postgresql(url: str, options: Options) -> tuple[ReportFigures, list[Domain]] | None:
    """The same queries through SQLAlchemy Core (read-only transactions)."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    from kbgen.db.engine import open_engine

    engine = open_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            tables = set(insp.get_table_names())
            columns = {t: frozenset(c["name"] for c in insp.get_columns(t)) for t in _COLUMNS if t in tables}

            def query(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in conn.execute(text(sql), params)]

            return _read(query, tables, columns, options)
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _select(table: str, columns: dict[str, frozenset[str]], *, order: str = "") -> str:
    """``SELECT`` of the columns read from ``table``; a column the live table lacks reads as NULL."""
    have = columns.get(table, frozenset())
    cols = ", ".join(c if c in have else f"NULL AS {c}" for c in _COLUMNS[table])
    return f"SELECT {cols} FROM {table}{f' ORDER BY {order}' if order else ''}"


def _read(query: Query, tables: set[str], columns: dict[str, frozenset[str]],
          options: Options) -> tuple[ReportFigures, list[Domain]] | None:
    if any(t not in tables for t in _REQUIRED):
        return None
    has_kb = VERSION_TABLE in tables
    if has_kb:
        revisions = [r for (r,) in query(f"SELECT version_num FROM {VERSION_TABLE}", {})]
        if revisions != [HEAD_REVISION]:
            return None  # older (or newer) kbgen tables: the snapshot path knows each revision

    def rows(table: str, order: str = "") -> list[tuple[Any, ...]]:
        return query(_select(table, columns, order=order), {}) if table in columns else []

    return _Reader(options, rows, query, has_kb and "kbgen_finding_status" in tables,
                   has_kb and "kbgen_category_aliases" in tables, has_kb).figures()


class _Reader:
    """Rows read once, figures computed as :mod:`kbgen.analysis` computes them from a snapshot."""

    def __init__(self, options: Options, rows: Callable[..., list[tuple[Any, ...]]], query: Query,
                 has_status: bool, has_aliases: bool, has_kb: bool) -> None:
        self.options = options
        self.query = query
        text, num = text_value, int_value
        self.package_names = {pid: text(name) or f"package-{pid}" for pid, name in rows("packages", "id")}
        depth_of: dict[Any, str] = {}
        self.files: list[FileRow] = []  # id, package_id, path, loc, depth
        append = self.files.append
        for fid, pid, path, loc, raw in rows("files", "id"):
            depth = depth_of.get(raw)
            if depth is None:
                depth = depth_of[raw] = vocab.depth(text(raw))
            # text(path) or "" and num(loc), short-cut for the types SQLite and PostgreSQL return
            append((fid, pid, path if type(path) is str else text(path) or "",
                    loc if type(loc) is int else num(loc), depth))
        self.raw_depths = depth_of
        self.domains = [Domain(did, text(name) or f"domain-{did}", text(desc), vocab.priority(text(prio)),
                               text(synthesis))
                        for did, name, desc, prio, synthesis in rows("domains", "id")]
        self.file_domains = rows("file_domains")
        self.sessions = [(sid, text(name) or f"R{sid}", vocab.session_number(text(name), sid), text(date))
                         for sid, name, date in rows("sessions", "id")]
        self.findings = rows("findings", "id")
        self.dependencies = rows("dependencies")  # counted and collected: their order matters nowhere
        self.package_dependencies = rows("package_dependencies", "id")
        self.exclude_paths = tuple(text(p) or "" for (p,) in rows("exclude_paths", "id") if p)
        self.statuses = {fid for (fid,) in query("SELECT finding_id FROM kbgen_finding_status", {})} \
            if has_status else set()
        aliases = {a: c for a, c in query("SELECT alias, canonical FROM kbgen_category_aliases ORDER BY alias", {})} \
            if has_aliases else {}
        self.categories = Vocabulary.from_options(options, aliases if has_kb else None)
        self.reads_by_depth = query(
            "SELECT f.depth, count(*) FROM file_reads r JOIN files f ON f.id = r.file_id GROUP BY f.depth", {})
        self.read_count = query("SELECT count(*) FROM file_reads", {})[0][0]

    def figures(self) -> tuple[ReportFigures, list[Domain]]:
        files = self.files
        file_by_id = {f[0]: f for f in files}
        out = {f[0] for f in files if f[4] == analysis.EXCLUDED}
        scoped = [f for f in files if f[0] not in out]
        scoped_by_id = {f[0]: f for f in scoped}
        domain_by_id = {d.id: d for d in self.domains}
        domain_by_name = {d.name: d for d in self.domains}

        names_of: dict[Any, set[str]] = defaultdict(set)
        for fid, did in self.file_domains:
            d = domain_by_id.get(did)
            if d is not None:
                names_of[fid].add(d.name)
        domains_of_file = {fid: tuple(sorted(names)) for fid, names in names_of.items()}

        # Coverage by domain (every file of the domain; its EXCLUDED ones counted apart) and by package.
        members: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
        for fid, names in domains_of_file.items():
            f = file_by_id.get(fid)
            if f is not None:
                for name in names:
                    members[name].append((f[4], f[3]))
        rows_by_name: dict[str, Coverage] = {}
        for name in domain_by_name:
            rows_by_name[name] = analysis.coverage_row(name, members.get(name, ()), domain_by_name[name].priority)
        domain_rows = [rows_by_name[d.name] for d in sorted(self.domains, key=lambda d: (d.name, d.id))]
        groups: dict[Any, list[tuple[str, int | None]]] = defaultdict(list)
        for f in files:
            groups[f[1] if f[1] in self.package_names else None].append((f[4], f[3]))
        package_rows = [analysis.coverage_row(name, groups.get(pid, ()))
                        for pid, name in sorted(self.package_names.items(), key=lambda p: (p[1], p[0]))]
        if groups.get(None):
            package_rows.append(analysis.coverage_row(analysis.NO_PACKAGE, groups[None]))

        # Findings: scope, open ones, categories.
        severity_of: dict[Any, str] = {}
        followed: dict[Any, bool] = {}
        category_of: dict[Any, tuple[str, str]] = {}
        open_sev = set(analysis.OPEN_SEVERITIES)
        in_scope_findings = 0
        open_rows: list[tuple[int, Any, Any, Any, str]] = []  # rank, id, file_id, session_id, severity
        excluded_findings = excluded_open = 0
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        spellings: dict[str, Counter[str]] = defaultdict(Counter)
        opened: Counter[str] = Counter()
        for xid, file_id, session_id, raw_sev, raw_cat, raw_followed in self.findings:
            sev = severity_of.get(raw_sev)
            if sev is None:
                sev = severity_of[raw_sev] = vocab.severity(text_value(raw_sev))
            done = followed.get(raw_followed)
            if done is None:
                done = followed[raw_followed] = bool(int_value(raw_followed))
            is_open = sev in open_sev and not done and xid not in self.statuses
            if file_id in out:
                excluded_findings += 1
                excluded_open += is_open
                continue
            in_scope_findings += 1
            cat = category_of.get(raw_cat)
            if cat is None:
                spelled = text_value(raw_cat)
                cat = category_of[raw_cat] = (self.categories.normalise(spelled), "" if spelled is None else spelled)
            counts[cat[0]][sev] += 1
            spellings[cat[0]][cat[1]] += 1
            if is_open:
                opened[cat[0]] += 1
                open_rows.append((vocab.severity_rank(sev), xid, file_id, session_id, sev))
        open_rows.sort(key=lambda r: (r[0], r[1]))
        positive = frozenset(self.categories.normalise(c) for c in self.options.positive_categories)
        categories = sorted(
            (analysis.CategoryRow(c, tuple(counts[c].get(v, 0) for v in vocab.SEVERITIES), opened[c],
                                  tuple(sorted(spellings[c].items(), key=lambda kv: (-kv[1], kv[0]))), c in positive)
             for c in counts), key=lambda r: (-r.total, r.category))
        open_by_package: dict[str, dict[str, int]] = {}
        for _, _, file_id, _, sev in open_rows:
            f = file_by_id.get(file_id) if file_id is not None else None
            by_sev = open_by_package.setdefault(self.package_names.get(f[1], analysis.NO_PACKAGE)
                                                if f else analysis.NO_PACKAGE, {})
            by_sev[sev] = by_sev.get(sev, 0) + 1
        open_sev_counts = Counter(r[4] for r in open_rows)

        # Dependencies: scope, unverified, package map.
        scoped_deps = [d for d in self.dependencies if d[0] not in out and d[1] not in out]
        unverified = sum(1 for d in scoped_deps if not bool(int_value(d[2])))
        excluded_deps = len(self.dependencies) - len(scoped_deps)

        # Reads on EXCLUDED files (counted apart).
        excluded_reads = sum(n for raw, n in self.reads_by_depth
                             if self.raw_depths.get(raw, vocab.depth(text_value(raw))) == analysis.EXCLUDED)

        by_depth_files: Counter[str] = Counter()
        by_depth_loc: Counter[str] = Counter()
        for f in scoped:
            by_depth_files[f[4]] += 1
            by_depth_loc[f[4]] += f[3] or 0
        overall = Overall(
            packages=len(self.package_names), files=len(scoped), loc=sum(by_depth_loc.values()),
            files_null_loc=sum(1 for f in scoped if f[3] is None), domains=len(self.domains),
            sessions=len(self.sessions), reads=self.read_count - excluded_reads, findings=in_scope_findings,
            dependencies=len(scoped_deps), package_dependencies=len(self.package_dependencies),
            by_depth=tuple((d, by_depth_files.get(d, 0), by_depth_loc.get(d, 0)) for d in vocab.DEPTHS))
        threshold = vocab.depth_rank(analysis.COVERAGE_DEPTH)
        read = [f for f in scoped if vocab.depth_rank(f[4]) >= threshold]
        excluded_files = [f for f in files if f[0] in out]
        excluded = Excluded(files=len(excluded_files), loc=sum(f[3] or 0 for f in excluded_files),
                            findings=excluded_findings, open_findings=excluded_open, reads=excluded_reads,
                            dependencies=excluded_deps)

        hot = sorted(((scoped_by_id[fid], names) for fid, names in domains_of_file.items()
                      if len(names) >= self.options.hotspot_min_domains and fid in scoped_by_id),
                     key=lambda item: (-len(item[1]), -(item[0][3] or 0), self._package(item[0]), item[0][2],
                                       item[0][0]))

        gaps = self._gaps(scoped, scoped_deps, domains_of_file)
        tiers: dict[str, tuple[int, int]] = {}
        for t in analysis.TIERS:
            in_tier = [g for g in gaps if g[0] == t]
            tiers[t] = (len(in_tier), sum(g[1][3] or 0 for g in in_tier))

        sessions = sorted(self.sessions, key=lambda s: (s[2], s[0]))
        label = {s[0]: s[1] for s in self.sessions}
        shown = open_rows[:OPEN_ROWS]
        descriptions = self._descriptions([r[1] for r in shown])
        figs = ReportFigures(
            overall=overall, files_read=len(read), loc_read=sum(f[3] or 0 for f in read),
            latest=(sessions[-1][1], sessions[-1][3]) if sessions else None, excluded=excluded,
            domains=domain_rows, domain_descriptions={d.name: d.description for d in self.domains},
            packages=package_rows, hotspot_count=len(hot),
            hotspots=[(self._file(f), names) for f, names in hot[:HOTSPOT_ROWS]],
            gap_tiers=tiers,
            gaps=[ReportGap(tier, self._file(f), names, reason)
                  for tier, f, names, reason, _ in gaps[:self.options.report_gap_limit]],
            open_count=len(open_rows), open_severities={s: open_sev_counts[s] for s in analysis.OPEN_SEVERITIES},
            open_by_package=open_by_package,
            open_rows=[self._open_row(r, file_by_id, label, descriptions) for r in shown],
            unverified=unverified, categories=categories,
            package_links=self._package_links(scoped_by_id, scoped_deps))
        return figs, self.domains

    def _package(self, f: FileRow) -> str:
        """The ``package`` a :class:`kbgen.model.File` of this row would have."""
        return self.package_names.get(f[1], "(no package)")

    def _file(self, f: FileRow) -> ReportFile:
        return ReportFile(f[2], self._package(f), f[4], f[3])

    def _gaps(self, scoped: Sequence[FileRow], deps: Iterable[tuple[Any, ...]],
              domains_of_file: dict[Any, tuple[str, ...]]) -> list[tuple[str, Any, tuple[str, ...], str, int]]:
        """:func:`kbgen.analysis.priority_gaps` (HIGH domains) as (tier, file row, domains, reason, DEEP nearby)."""
        deep = [f for f in scoped if f[4] == "DEEP"]
        deep_ids = {f[0] for f in deep}
        deep_dirs: Counter[tuple[Any, str]] = Counter((f[1], analysis.dir2(f[2])) for f in deep)
        connected: set[Any] = set()
        for source, target, _ in deps:
            if target in deep_ids:
                connected.add(source)
            if source in deep_ids and target != source:
                connected.add(target)
        wanted = {d.name for d in self.domains if d.priority == "HIGH"}
        own = set(self.options.own_packages)
        source_excludes = self.options.source_excludes
        gaps: list[tuple[str, Any, tuple[str, ...], str, int]] = []
        for f in scoped:
            if f[4] != "NOT_TOUCHED":
                continue
            domains = tuple(n for n in domains_of_file.get(f[0], ()) if n in wanted)
            package = self._package(f)
            if not domains or not analysis.is_source_path(f[2], package, source_excludes, self.exclude_paths):
                continue
            neighbours = deep_dirs.get((f[1], analysis.dir2(f[2])), 0)
            tier, reason = analysis.gap_tier(f[0] in connected, package in own, neighbours, analysis.dir2(f[2]))
            gaps.append((tier, f, domains, reason, neighbours))
        gaps.sort(key=lambda g: (analysis.TIERS.index(g[0]), -(g[1][3] or 0), self._package(g[1]), g[1][2], g[1][0]))
        return gaps

    def _package_name(self, package_id: Any) -> str:
        """:func:`kbgen.analysis.package_name`."""
        name = self.package_names.get(package_id) if package_id is not None else None
        return name if name is not None else (f"package {package_id}" if package_id is not None
                                              else analysis.NO_PACKAGE)

    def _package_links(self, scoped_by_id: dict[Any, FileRow],
                       deps: Iterable[tuple[Any, ...]]) -> list[PackageLink]:
        """:func:`kbgen.analysis.package_map`."""
        declared: dict[tuple[str, str], set[str]] = defaultdict(set)
        for source, target, relationship in self.package_dependencies:
            declared[(self._package_name(source), self._package_name(target))].add(
                text_value(relationship) or "depends")
        file_edges: Counter[tuple[str, str]] = Counter()
        for source, target, _ in deps:
            src, dst = scoped_by_id.get(source), scoped_by_id.get(target)
            if src is None or dst is None or src[1] == dst[1]:
                continue
            file_edges[(self._package_name(src[1]), self._package_name(dst[1]))] += 1
        keys = sorted(set(declared) | set(file_edges))
        return [PackageLink(s, t, tuple(sorted(declared.get((s, t), ()))), file_edges.get((s, t), 0))
                for s, t in keys]

    def _descriptions(self, ids: list[Any]) -> dict[Any, str]:
        """The descriptions of the findings listed (the only finding text the report shows)."""
        if not ids:
            return {}
        params = {f"i{n}": v for n, v in enumerate(ids)}
        sql = f"SELECT id, description FROM findings WHERE id IN ({', '.join(':' + k for k in params)})"
        return {xid: text_value(desc) or "" for xid, desc in self.query(sql, params)}

    def _open_row(self, row: tuple[int, Any, Any, Any, str], file_by_id: dict[Any, FileRow],
                  label: dict[Any, str], descriptions: dict[Any, str]) -> OpenRow:
        _, xid, file_id, session_id, sev = row
        f = file_by_id.get(file_id) if file_id is not None else None
        return OpenRow(f"F{xid}", sev, self._file(f) if f else None, label.get(session_id, "—"),
                       descriptions.get(xid, ""))
