-- =============================================================================
-- kbgen example research database: "The quillc audit"
-- =============================================================================
--
-- A fictional four-person team audits quillc, an open-source static-site
-- compiler whose README promises three things:
--
--   1. "Incremental builds: only what changed is rebuilt."
--   2. "Sandboxed WASM plugins: a plugin cannot touch your machine."
--   3. "Safe live preview in your editor."
--
-- quillc ships as three pieces, each one a row of `packages`:
--
--   quillc-core          the Rust compiler (build graph, cache, plugin host,
--                        preview server)
--   quill-editor-bridge  the TypeScript VS Code extension that streams editor
--                        buffers to `quillc serve` and shows the preview
--   pyquill              the PyO3 Python binding used from notebooks and CI
--
-- Four sessions so far:
--
--   R1         (2025-09-08)  inventory; first reads of the build pipeline
--   R2-verify  (2025-09-08)  same day: re-check R1's cache claims
--   R3         (2025-09-15)  planned by plans/R3-plan.md: plugin sandbox and
--                            preview bridge; recorded with kbgen, through its
--                            worksheet (worksheets/R3.yaml), not by this file
--   R4         (2025-09-22)  Python binding, editor telemetry, follow-ups
--
-- Verdict so far: claim 1 is mostly real but has a stale-cache bug; claims 2
-- and 3 do not hold (the sandbox preopens `/`, permissions fail open, the
-- preview server listens on every interface without a token).
--
-- Quirks kept on purpose, because real ledgers have them and kbgen must
-- survive them:
--   * severities and categories in mixed case and free-form spelling;
--   * quill-editor-bridge has total_files = 0 although 12 files exist (its
--     inventory script never ran to completion);
--   * one file with NULL loc (a generated file nobody counted);
--   * `src/lib.rs` exists in quillc-core AND in pyquill;
--   * R1 and R2-verify share a date; session 2 is named `R2-verify`;
--   * two findings have no session (imported from older notes);
--   * one EXCLUDED file (a vendored fork) that nonetheless has a finding;
--   * finding text with backticks, pipes, <angle brackets>, **stars** and
--     non-ASCII, all of which must render literally.
--
-- File IDs are grouped by package (1xxx core, 2xxx bridge, 3xxx pyquill) so
-- the plan and the pages are easy to cross-check by eye.
--
-- This file holds the INSERT (and one UPDATE) statements the team's own scripts
-- wrote. The loader creates the schema (kbgen/db/research.py) first, then runs
-- it in order, one transaction per part: where a line reads
--
--   -- kbgen:record worksheets/R3.yaml
--
-- it records that session worksheet with `kbgen record` (the way the team
-- records sessions since they adopted kbgen), then runs the rest. Ids of the
-- rows the worksheet writes follow on from this part's, as they would have.
-- =============================================================================


-- -----------------------------------------------------------------------------
-- Packages
-- -----------------------------------------------------------------------------
-- total_files / total_loc are what the team's inventory script recorded. For
-- quill-editor-bridge it crashed on the generated schema file and left 0.

INSERT INTO packages (id, name, base_path, repo_url, description, total_files, total_loc, populated_at) VALUES
  (1, 'quillc-core', '~/repos/quillc/crates/quillc-core', 'https://code.example.org/quill/quillc',
   'Rust core of the quillc static-site compiler: dependency graph, fingerprint cache, WASM plugin host and the `quillc serve` preview server.',
   21, 12852, '2025-09-08'),
  (2, 'quill-editor-bridge', '~/repos/quill-editor-bridge', 'https://code.example.org/quill/quill-editor-bridge',
   'TypeScript VS Code extension (npm `@quill/editor-bridge`) that streams editor buffers to the preview server over a WebSocket.',
   0, 0, NULL),
  (3, 'pyquill', '~/repos/quillc/bindings/python', 'https://code.example.org/quill/quillc',
   'PyO3 binding and thin Python wrapper (`import pyquill`) used from notebooks and CI pipelines.',
   8, 1697, '2025-09-08');


-- -----------------------------------------------------------------------------
-- Files
-- -----------------------------------------------------------------------------
-- depth is the strongest read any session made (see file_reads below);
-- lines_read counts the union of all line ranges read; last_read_date is the
-- date of the latest session that read the file at all. The eight files R3
-- read are listed as they were before it: recording R3's worksheet upgrades
-- them (kbgen keeps these three columns true), and R4's script updates
-- host.rs once more.

-- quillc-core (package 1) --------------------------------------------------------
INSERT INTO files (id, package_id, relative_path, loc, depth, lines_read, last_read_date, notes) VALUES
  (1001, 1, 'src/lib.rs',                 180, 'DEEP',        180, '2025-09-08', 'Crate root; re-exports only.'),
  (1002, 1, 'src/cli.rs',                 240, 'MEDIUM',      110, '2025-09-08', NULL),
  (1003, 1, 'src/build/mod.rs',           120, 'SURFACE',      40, '2025-09-08', NULL),
  (1004, 1, 'src/build/graph.rs',         812, 'DEEP',        641, '2025-09-08', 'Dependency graph; layout edges incomplete.'),
  (1005, 1, 'src/build/cache.rs',         655, 'DEEP',        616, '2025-09-08', 'MEDIUM in R1, DEEP after R2-verify.'),
  (1006, 1, 'src/build/fingerprint.rs',   298, 'DEEP',        298, '2025-09-08', NULL),
  (1007, 1, 'src/build/scheduler.rs',     530, 'MEDIUM',      260, '2025-09-08', NULL),
  (1008, 1, 'src/parse/markdown.rs',     1140, 'MEDIUM',      380, '2025-09-08', NULL),
  (1009, 1, 'src/parse/frontmatter.rs',   260, 'SURFACE',      30, '2025-09-08', NULL),
  (1010, 1, 'src/render/templates.rs',    740, 'MENTIONED',     0, '2025-09-08', 'Owns layout resolution; never opened.'),
  (1011, 1, 'src/render/html.rs',         590, 'NOT_TOUCHED', NULL, NULL,        NULL),
  (1012, 1, 'src/plugin/host.rs',         702, 'NOT_TOUCHED', NULL, NULL,        'DEEP in R3; R4 re-read the tail at MEDIUM.'),
  (1013, 1, 'src/plugin/sandbox.rs',      488, 'NOT_TOUCHED', NULL, NULL,        NULL),
  (1014, 1, 'src/plugin/permissions.rs',  315, 'NOT_TOUCHED', NULL, NULL,        NULL),
  (1015, 1, 'src/plugin/abi.rs',          226, 'NOT_TOUCHED', NULL, NULL,        'Planned for R3, not reached.'),
  (1016, 1, 'src/plugin/registry.rs',     190, 'NOT_TOUCHED', NULL, NULL,        'Read in R3 although not planned.'),
  (1017, 1, 'src/preview/server.rs',      604, 'NOT_TOUCHED', NULL, NULL,        NULL),
  (1018, 1, 'src/preview/watch.rs',       344, 'MENTIONED',     0, '2025-09-08', NULL),
  (1019, 1, 'src/util/hash.rs',            88, 'DEEP',         88, '2025-09-08', NULL),
  (1020, 1, 'src/plugin/tests/sandbox_escape.rs', 410, 'NOT_TOUCHED', NULL, NULL, 'Test suite; excluded by pattern.'),
  (1021, 1, 'vendor/pulldown-cmark-fork/src/parse.rs', 3920, 'EXCLUDED', NULL, NULL, 'Vendored fork of pulldown-cmark; out of scope.');

-- quill-editor-bridge (package 2) ------------------------------------------------
INSERT INTO files (id, package_id, relative_path, loc, depth, lines_read, last_read_date, notes) VALUES
  (2001, 2, 'src/index.ts',               95, 'SURFACE',      30, '2025-09-08', NULL),
  (2002, 2, 'src/bridge.ts',             530, 'NOT_TOUCHED', NULL, NULL,        NULL),
  (2003, 2, 'src/ws-client.ts',          377, 'NOT_TOUCHED', NULL, NULL,        'Read in R3; nothing recorded yet.'),
  (2004, 2, 'src/protocol.ts',           264, 'SURFACE',      40, '2025-09-08', NULL),
  (2005, 2, 'src/messages.ts',           150, 'NOT_TOUCHED', NULL, NULL,        'Read in R3 although not planned.'),
  (2006, 2, 'src/vscode/extension.ts',   610, 'MEDIUM',      200, '2025-09-22', NULL),
  (2007, 2, 'src/vscode/decorations.ts', 230, 'NOT_TOUCHED', NULL, NULL,        NULL),
  (2008, 2, 'src/lsp/diagnostics.ts',    402, 'MENTIONED',     0, '2025-09-22', NULL),
  (2009, 2, 'src/telemetry.ts',          118, 'DEEP',        118, '2025-09-22', 'Status-bar numbers are constants.'),
  (2010, 2, 'src/util/debounce.ts',       42, 'NOT_TOUCHED', NULL, NULL,        NULL),
  (2011, 2, 'types/quill-bridge.d.ts',   180, 'NOT_TOUCHED', NULL, NULL,        'Type declarations; excluded by pattern.'),
  (2012, 2, 'src/generated/schema.ts',  NULL, 'MENTIONED',     0, '2025-09-22', 'Generated; the inventory script could not count it.');

-- pyquill (package 3); note `src/lib.rs` again, a different file from 1001 -------
INSERT INTO files (id, package_id, relative_path, loc, depth, lines_read, last_read_date, notes) VALUES
  (3001, 3, 'src/lib.rs',                 410, 'DEEP',        410, '2025-09-22', 'PyO3 module root (not quillc-core''s lib.rs).'),
  (3002, 3, 'src/convert.rs',             275, 'MEDIUM',      120, '2025-09-22', NULL),
  (3003, 3, 'pyquill/__init__.py',         64, 'SURFACE',      20, '2025-09-22', NULL),
  (3004, 3, 'pyquill/build.py',           318, 'DEEP',        318, '2025-09-22', NULL),
  (3005, 3, 'pyquill/cli.py',             150, 'NOT_TOUCHED', NULL, NULL,        NULL),
  (3006, 3, 'pyquill/_quill.pyi',         120, 'MENTIONED',     0, '2025-09-22', NULL),
  (3007, 3, 'pyquill/watch.py',           140, 'MEDIUM',       60, '2025-09-22', NULL),
  (3008, 3, 'pyquill/tests/test_build.py', 220, 'NOT_TOUCHED', NULL, NULL,       'Test suite; excluded by pattern.');


-- -----------------------------------------------------------------------------
-- Domains
-- -----------------------------------------------------------------------------
-- One per README promise, plus the binding. The two HIGH domains carry the
-- security claims.

INSERT INTO domains (id, name, description, priority, synthesis_path) VALUES
  (1, 'incremental-build', 'Dependency graph, fingerprint cache and rebuild scheduling: does quillc really rebuild only what changed?',
   'HIGH', 'domains/incremental-build/analysis.md'),
  (2, 'plugin-sandbox', 'WASM plugin host, capability permissions, plugin ABI and registry: is the advertised sandbox real?',
   'HIGH', 'domains/plugin-sandbox/analysis.md'),
  (3, 'live-preview', 'Preview server, file watcher and the editor bridge that streams buffers to it over a WebSocket.',
   'MEDIUM', 'domains/live-preview/analysis.md'),
  (4, 'python-bindings', 'The PyO3 extension and the pyquill wrapper around it.',
   'LOW', 'domains/python-bindings/analysis.md');


-- -----------------------------------------------------------------------------
-- File ↔ domain tags
-- -----------------------------------------------------------------------------
-- Integration hotspots (3+ domains): quillc-core src/lib.rs (all four) and
-- src/preview/server.rs (preview, build, plugins: it triggers rebuilds and
-- re-runs plugins on every change).

INSERT INTO file_domains (file_id, domain_id) VALUES
  -- quillc-core
  (1001, 1), (1001, 2), (1001, 3), (1001, 4),
  (1002, 1),
  (1003, 1), (1004, 1), (1005, 1), (1006, 1), (1007, 1),
  (1008, 1), (1009, 1), (1010, 1), (1011, 1),
  (1012, 2), (1013, 2), (1014, 2), (1015, 2), (1016, 2),
  (1017, 3), (1017, 1), (1017, 2),
  (1018, 3), (1018, 1),
  (1019, 1),
  (1020, 2),
  (1021, 1),
  -- quill-editor-bridge
  (2001, 3), (2002, 3), (2003, 3), (2004, 3), (2005, 3), (2006, 3),
  (2007, 3), (2008, 3), (2009, 3), (2009, 1), (2010, 3), (2011, 3), (2012, 3),
  -- pyquill
  (3001, 4), (3001, 1),
  (3002, 4), (3003, 4), (3004, 4), (3005, 4), (3006, 4),
  (3007, 4), (3007, 3),
  (3008, 4);


-- -----------------------------------------------------------------------------
-- Sessions
-- -----------------------------------------------------------------------------

INSERT INTO sessions (id, name, date, focus, agent_count, notes) VALUES
  (1, 'R1', '2025-09-08',
   'Inventory of all three packages; first reads of the incremental build pipeline (graph, cache, scheduler).',
   3, 'Inventory script crashed on quill-editor-bridge; totals left at 0.'),
  (2, 'R2-verify', '2025-09-08',
   'Same-day verification of R1''s cache claims: fingerprints, cache invalidation, hashing.',
   1, 'Confirmed the stale-layout bug with a reproduction.');
-- R3 (session 3) is created by its worksheet; R4 follows it, further down.

-- -----------------------------------------------------------------------------
-- File reads
-- -----------------------------------------------------------------------------
-- What each session read of each file. MENTIONED reads name a file without
-- opening it (lines_read 0, no ranges).

-- R1: inventory and the build pipeline
INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) VALUES
  (1,  1001, 1, 'DEEP',      180, '1-180',          NULL),
  (2,  1002, 1, 'MEDIUM',    110, '1-110',          NULL),
  (3,  1003, 1, 'SURFACE',    40, '1-40',           NULL),
  (4,  1004, 1, 'DEEP',      641, '1-420,520-740',  'Skipped the DOT export helpers.'),
  (5,  1005, 1, 'MEDIUM',    300, '1-300',          'Ran out of time; R2-verify finishes it.'),
  (6,  1007, 1, 'MEDIUM',    260, '1-260',          NULL),
  (7,  1008, 1, 'MEDIUM',    380, '1-380',          NULL),
  (8,  1009, 1, 'SURFACE',    30, '1-30',           NULL),
  (9,  1010, 1, 'MENTIONED',   0, NULL,             'Named by graph.rs.'),
  (10, 1019, 1, 'SURFACE',    20, '1-20',           NULL),
  (11, 2001, 1, 'SURFACE',    30, '1-30',           NULL),
  (12, 2004, 1, 'SURFACE',    40, '1-40',           NULL),
  (13, 3001, 1, 'SURFACE',    60, '1-60',           NULL);

-- R2-verify: the cache, properly
INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) VALUES
  (14, 1005, 2, 'DEEP',      616, '1-430,470-655',  NULL),
  (15, 1006, 2, 'DEEP',      298, '1-298',          NULL),
  (16, 1019, 2, 'DEEP',       88, '1-88',           NULL),
  (17, 1018, 2, 'MENTIONED',   0, NULL,             'Named in cache.rs comments.');

-- -----------------------------------------------------------------------------
-- Findings
-- -----------------------------------------------------------------------------
-- Severity and category spellings are deliberately inconsistent, as they are
-- in ledgers written by several people and scripts.

-- R1 (session 1): the build pipeline looks real, with holes
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up) VALUES
  (1, 1001, 1, 12, 40, 'INFO', 'ARCHITECTURE',
   '`lib.rs` is a thin façade: it re-exports `Site`, `BuildOptions`, `PluginHost` and `PreviewServer` and holds no logic of its own.', 0),
  (2, 1004, 1, 88, 240, 'info', 'genuine',
   'The dependency graph is real: `DepGraph::dirty_closure` walks reverse edges breadth-first and guards include cycles with a visited set.', 0),
  (3, 1004, 1, 512, 530, 'High', 'bug',
   'Layout edges are added only when a page names its layout explicitly; pages that inherit `default.html` get no edge, so editing the default layout rebuilds nothing.', 1),
  (4, 1005, 1, 140, 188, 'HIGH', 'bug',
   'Cache keys hash the source file only (`key = fingerprint(src)`): template and `quill.toml` changes never invalidate an entry.', 1),
  (5, 1007, 1, 60, 118, 'Medium', 'real-functionality',
   'Rebuild jobs run on a rayon pool sized by `--jobs`; the default is `num_cpus::get()`, not the fixed 4 workers the README describes.', 0),
  (6, 1007, 1, 200, 240, 'MEDIUM', 'quality',
   'Errors from worker threads are collected into a `Vec<String>` and only the first is printed; the rest are dropped silently.', 0),
  (7, 1008, 1, 1, 120, 'INFO', 'genuine',
   'Markdown parsing delegates to the vendored pulldown-cmark fork; quillc adds only the heading-anchor and shortcode passes.', 0),
  (8, 1008, 1, 300, 365, 'Medium', 'bug',
   'Shortcode expansion uses a naïve regex `\{\{<\s*(\w+)` that stops at the first `>`, so `{{< note title="a > b" >}}` is cut short.', 0),
  (9, 1002, 1, 40, 96, 'info', 'ARCHITECTURE',
   'CLI subcommands map one to one onto library calls: `build` → `Site::build`, `serve` → `PreviewServer::run`, `plugin add` → `PluginHost::install`.', 0),
  (10, 1003, 1, 1, 40, 'medium', 'stub',
   '`build::profile` is declared but every function body is `todo!()`; the `--profile` flag is accepted and ignored.', 0),
  (11, 1009, 1, 1, 30, 'LOW', 'quality',
   'Front matter accepts TOML (`+++`) as well as YAML (`---`), but the TOML branch is undocumented and untested.', 0),
  (12, 1010, 1, NULL, NULL, 'Medium', 'Integration Point',
   'Named by `graph.rs` as the owner of layout resolution (`resolve_layout`); not opened yet, but it decides which layout edges should exist.', 0),
  (13, 2001, 1, 1, 30, 'INFO', 'architecture',
   'The editor bridge exports `activate()` and `QuillBridge`; everything else is internal.', 0),
  (14, 2004, 1, 1, 40, 'MEDIUM', 'Integration Point',
   'The message union `Rebuild | Diagnostics | Reload` mirrors the Rust `PreviewMsg` enum by hand; there is no shared schema, so the two can drift.', 0),
  (15, 3001, 1, 1, 60, 'info', 'ARCHITECTURE',
   'pyquill''s own `src/lib.rs` (not quillc-core''s) is a PyO3 `#[pymodule]` exposing `build_site` and a `Site` class.', 0),
  (16, 1001, 1, 150, 180, 'HIGH', 'inflated-metrics',
   'Crate docs claim "10× faster than Hugo | Jekyll | Eleventy" with no benchmark in the repository; `benches/` holds a single three-page site.', 1);

-- R2-verify (session 2): the stale-cache bug, confirmed
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up) VALUES
  (17, 1005, 2, 140, 190, 'CRITICAL', 'bug',
   'Verified: a cache hit skips rendering entirely even when the layout changed, so stale HTML is published. Repro: edit `layouts/default.html`, run `quillc build` → "0 pages rebuilt".', 0),
  (18, 1005, 2, 402, 430, 'Medium', 'quality',
   'The cache manifest is written with `fs::write` (no temp file + rename); a crash mid-write leaves a truncated `manifest.json` that the next run treats as an empty cache.', 0),
  (19, 1006, 2, 20, 75, 'INFO', 'genuine',
   'Fingerprints are real BLAKE3 hashes of file contents plus mtime; no shortcuts.', 0),
  (20, 1006, 2, 210, 260, 'High', 'bug',
   '`of_dir()` hashes `to_string_lossy()` file names, so two files whose names differ only in non-UTF-8 bytes share a fingerprint.', 0),
  (21, 1019, 2, 1, 88, 'info', 'real-functionality',
   '`hash.rs` wraps `blake3::Hasher` correctly; the `fast_hash` → `xxh3` alias mentioned in the docs does not exist.', 0),
  (22, 1005, 2, 500, 560, 'medium', 'fabricated-data',
   '`Cache::stats()` returns `hit_rate: 0.97` when the cache is empty: the division by zero is "guarded" with a hard-coded default.', 0),
  (23, 1004, 2, 512, 530, 'HIGH', 'bug',
   'Confirms R1: default-layout inheritance adds no edge (`if let Some(layout) = page.layout` only). The fix is one fallback to `site.default_layout`.', 0),
  (24, 1018, 2, NULL, NULL, 'INFO', 'Integration Point',
   'Named in `cache.rs` comments as the invalidation trigger for `quillc serve`; not opened.', 0);

-- -----------------------------------------------------------------------------
-- Dependencies between files
-- -----------------------------------------------------------------------------
-- verified = 1: traced in the code; 0: inferred from names or comments.

INSERT INTO dependencies (id, source_file_id, target_file_id, relationship, evidence, verified) VALUES
  (1,  1007, 1004, 'calls',   '`Scheduler::plan()` calls `DepGraph::dirty_closure(changed)`.', 1),
  (2,  1005, 1006, 'calls',   '`Cache::lookup` keys entries with `fingerprint::of_source`.', 1),
  (3,  1007, 1005, 'writes',  '`Scheduler::finish` persists fingerprints via `Cache::commit`.', 1),
  (4,  1001, 1012, 'imports', '`pub use plugin::host::PluginHost;`', 1);


-- =============================================================================
-- R3 is recorded by kbgen from its session worksheet (plan → record → sync).
-- =============================================================================
-- kbgen:record worksheets/R3.yaml


-- -----------------------------------------------------------------------------
-- R4: recorded by the team's old script, after R3
-- -----------------------------------------------------------------------------

INSERT INTO sessions (id, name, date, focus, agent_count, notes) VALUES
  (4, 'R4', '2025-09-22',
   'Python binding deep read; editor telemetry; follow-up on plugin instance caching.',
   2, NULL);

-- R4: pyquill, telemetry, and the tail of host.rs again (MEDIUM re-read:
-- files.depth stays DEEP, the strongest read, while last_read_date moves on
-- and lines_read grows to the union 1-380,420-702)
INSERT INTO file_reads (id, file_id, session_id, depth, lines_read, line_ranges, notes) VALUES
  (26, 3001, 4, 'DEEP',      410, '1-410',          NULL),
  (27, 3002, 4, 'MEDIUM',    120, '1-120',          NULL),
  (28, 3003, 4, 'SURFACE',    20, '1-20',           NULL),
  (29, 3004, 4, 'DEEP',      318, '1-318',          NULL),
  (30, 3006, 4, 'MENTIONED',   0, NULL,             NULL),
  (31, 3007, 4, 'MEDIUM',     60, '1-60',           NULL),
  (32, 2009, 4, 'DEEP',      118, '1-118',          NULL),
  (33, 2006, 4, 'MEDIUM',    200, '1-200',          NULL),
  (34, 2008, 4, 'MENTIONED',   0, NULL,             NULL),
  (35, 2012, 4, 'MENTIONED',   0, NULL,             NULL),
  (36, 1012, 4, 'MEDIUM',    143, '560-702',        'Follow-up on instance caching.');

UPDATE files SET lines_read = 663, last_read_date = '2025-09-22' WHERE id = 1012;

-- R4 (session 4): Python binding, editor telemetry, follow-ups
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up) VALUES
  (45, 3001, 4, 80, 150, 'HIGH', 'bug',
   '`build_site` holds the GIL for the whole build (no `py.allow_threads`), freezing Jupyter and every other Python thread during a multi-second build.', 0),
  (46, 3001, 4, 200, 260, 'INFO', 'genuine',
   'Rust errors map onto a Python exception hierarchy (`QuillError` → `BuildError`, `PluginError`) rather than a bare `RuntimeError`.', 0),
  (47, 3001, 4, 300, 410, 'Medium', 'stub',
   '`Site.watch()` is declared in the `.pyi` stub but implemented as `unimplemented!("watch")` in Rust.', 0),
  (48, 3002, 4, 40, 110, 'medium', 'bug',
   'Path conversion uses `to_string_lossy()`: a naïve round trip that turns non-UTF-8 bytes into U+FFFD and then fails to find the file.', 0),
  (49, 3004, 4, 100, 180, 'High', 'quality',
   '`build()` retries a failed build three times with `time.sleep(2)` and then returns `True` regardless; callers cannot detect failure.', 0),
  (50, 3004, 4, 1, 60, 'info', 'real-functionality',
   'Option handling is straightforward: keyword arguments map one to one onto `BuildOptions` fields.', 0),
  (51, 3007, 4, 1, 60, 'MEDIUM', 'stub',
   '`watch()` polls `os.stat` every second in pure Python because the Rust watcher is not exposed (see the `Site.watch` stub).', 0),
  (52, 3003, 4, 1, 20, 'INFO', 'quality',
   '`__version__` is hard-coded as "0.9.0" while the wheel is built as 0.11.2.', 0),
  (53, 2009, 4, 30, 70, 'CRITICAL', 'fabricated-data',
   'Telemetry reports `cacheHitRate: 0.97` and `avgRebuildMs: 42` as constants: the numbers in the editor status bar never come from the build.', 0),
  (54, 2009, 4, 80, 118, 'High', 'inflated-metrics',
   '"Pages/s" divides **total** pages by rebuild time, counting cache hits as built pages; on a warm cache the figure is inflated about 20×.', 0),
  (55, 2006, 4, 40, 120, 'INFO', 'Integration Point',
   '`activate()` spawns the `quillc` binary found on `PATH` or in `node_modules/.bin`; if neither exists the preview panel silently stays blank.', 0),
  (56, 2006, 4, 150, 200, 'medium', 'security',
   'The webview is created with `enableScripts: true` and a CSP of `default-src *`: preview HTML can run any <script> inside the editor.', 0),
  (57, 1012, 4, 600, 702, 'High', 'bug',
   'Follow-up of R3: plugin instances are cached in a `HashMap<String, Instance>` keyed by name only, so two versions of one plugin overwrite each other.', 0),
  (58, 2008, 4, NULL, NULL, 'info', 'Integration Point',
   'Converts server `Diagnostics` into VS Code ranges; named by `extension.ts`, not opened. It is where the 0-/1-based line mismatch would have to be fixed.', 0);

-- No session: imported from the team's notes before the ledger existed
INSERT INTO findings (id, file_id, session_id, line_start, line_end, severity, category, description, followed_up) VALUES
  (59, 1021, NULL, NULL, NULL, 'INFO', 'ARCHITECTURE',
   'The vendored pulldown-cmark fork differs from upstream 0.9.2 by a single patch (stable footnote ids); safe to keep out of scope.', 0),
  (60, 2012, NULL, NULL, NULL, 'Medium', 'quality',
   '`schema.ts` is generated from a JSON Schema that no longer exists in the repository; nobody can regenerate it, and its LOC was never counted.', 0);


-- -----------------------------------------------------------------------------
-- Dependencies between files (continued)
-- -----------------------------------------------------------------------------
-- Edges 5-8 (host → sandbox → permissions, host → abi, server → scheduler) were
-- traced in R3 and are recorded by its worksheet.
-- The table has no session column: edge 13's evidence starts with the session
-- that found it ("R4: "), one of the two ways kbgen attributes an edge to a session
-- (the other: kbgen record notes which session's worksheet added an edge).

INSERT INTO dependencies (id, source_file_id, target_file_id, relationship, evidence, verified) VALUES
  (9,  1018, 1005, 'reads',   'Invalidates entries by reading `.quill-cache/manifest.json`; inferred from comments, not traced.', 0),
  (10, 2003, 1017, 'bridges', 'WebSocket `ws://<host>:4807/__quill/ws`, message `{"type": "rebuild"}`.', 1),
  (11, 2002, 2003, 'imports', '`import { QuillSocket } from "./ws-client";`', 1),
  (12, 3001, 1001, 'imports', '`use quillc_core::{Site, BuildOptions};`', 1),
  (13, 3004, 3001, 'calls',   'R4: `_quill.build_site(**options)`; assumed from the `.pyi` stub.', 0),
  (14, 1001, 1017, 'imports', '`pub use preview::server::PreviewServer;`', 1);


-- -----------------------------------------------------------------------------
-- Dependencies between packages
-- -----------------------------------------------------------------------------

INSERT INTO package_dependencies (id, source_package_id, target_package_id, relationship, notes) VALUES
  (1, 3, 1, 'bridges-to', 'PyO3 extension links quillc-core as a Cargo path dependency.'),
  (2, 2, 1, 'bridges-to', 'Talks to `quillc serve` over a WebSocket; no code shared.'),
  (3, 2, 1, 'optional',   'Spawns a `quillc` binary when one is found; the preview stays blank otherwise.');


-- -----------------------------------------------------------------------------
-- Paths left out of the priority queues
-- -----------------------------------------------------------------------------

INSERT INTO exclude_paths (id, pattern, reason, added_session_id, added_date) VALUES
  (1, '%/tests/%', 'Test suites: read on demand, never queued.', 1, '2025-09-08'),
  (2, '%.d.ts',    'TypeScript declaration files carry no behaviour.', 3, '2025-09-15');


-- -----------------------------------------------------------------------------
-- Finding statuses (kbgen's own table, as `kbgen finding` records them)
-- -----------------------------------------------------------------------------
-- kbgen finding supersede F4 --by F17 --reason "..."
-- kbgen finding resolve F12 --session R2-verify

INSERT INTO kbgen_finding_status (finding_id, status, session_id, superseded_by, reason, updated_at) VALUES
  (4,  'superseded', NULL, 17, 'Reproduced: a cache hit publishes stale HTML, so CRITICAL, not HIGH.', '2025-09-08T18:00:00Z'),
  (12, 'resolved',   2,    NULL, NULL, '2025-09-08T18:00:00Z');
