"""Deterministic synthetic research databases at the scale of a real campaign.

Why this exists: kbgen must be benchmarked and tested against databases as
large and as messy as the ones research teams really keep (13k files, ~100
sessions, ~10k findings, free-form vocabularies, broken views, hostile
text), and no real ledger can be shipped with the project. This module
builds such a database from nothing but a seed:

* **Deterministic.** Every choice comes from ``random.Random(seed)`` (and a
  second generator derived from the seed for the hostile corpus, so that
  ``hostile=False`` leaves every other value untouched). Nothing depends on
  the clock, the hash seed or the output location: the same arguments give
  the same rows, byte for byte, and the same plan files.
* **Coherent.** It simulates the campaign session by session: a session
  plans files (its execution plan), reads most of them DEEP, wanders into
  neighbours, records findings on what it read. So a file's depth is the
  strongest depth of its reads, findings sit in lines that were read, plan
  questions have findings of the same session to be matched with, and a
  few planned files stay unread (open questions).
* **Messy on purpose.** Everything listed in the "Quirks" section of
  ``docs/reference/research-database.md`` is present (see :data:`QUIRKS`).

Backends: SQLite and PostgreSQL (``postgresql+psycopg://``). Only portable
SQL is used. The one exception is the broken ``domain_coverage`` view: SQLite
accepts a view over a missing column (and fails when it is queried, as real
databases do); PostgreSQL refuses to create it, so on PostgreSQL it is
skipped. On PostgreSQL the ``id`` sequences are moved past the inserted ids
so that the team's scripts can keep inserting.

The target database must hold no research rows yet (``generate`` refuses to
mix synthetic rows into real ones); :func:`drop_generated` empties one.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, Table, Text, event, inspect, select, text
from sqlalchemy import func as sqlfunc
from sqlalchemy.engine import make_url

from kbgen.db import kbtables, research
from kbgen.db.engine import open_engine
from kbgen.db.migrate import init_research_db
from kbgen.errors import DatabaseError, UsageError

__all__ = [
    "BASE_COUNTS",
    "QUIRKS",
    "GenerationSummary",
    "content_digest",
    "drop_generated",
    "generate",
]

Row = dict[str, object]

#: Counts at scale 1.0 — one real campaign (docs/reference/research-database.md).
BASE_COUNTS: dict[str, int] = {
    "packages": 11, "files": 13_400, "domains": 16, "sessions": 100, "findings": 10_000,
}
#: Floors that keep a tiny scale (x0.01) meaningful: every entity kind present.
MIN_COUNTS: dict[str, int] = {
    "packages": 3, "files": 90, "domains": 3, "sessions": 4, "findings": 60,
}
MAX_SCALE = 10.0

#: What the generated database deliberately gets wrong, for reports and tests.
QUIRKS: tuple[str, ...] = (
    "severities in mixed case and variants (HIGH/High/high, Critical, info, SEVERE, unclear)",
    "hundreds of free-form categories (ARCHITECTURE, Integration Point, fabricated-data, ...)",
    "findings with NULL session_id; findings with NULL line numbers",
    "files with NULL loc",
    "a package with total_files 0 although files exist; a package with stale totals",
    "the same relative path in several packages (README.md, package.json, vendored copies)",
    "session names that are not R{n} before session 25 (R3-verify, R10-swarm-coverage, R22b)",
    "several sessions on the same date",
    "an extra unknown column findings.reviewer",
    "a view (domain_coverage) over a missing column that fails when queried (SQLite only)",
    "modules taken out of scope after sessions read them: EXCLUDED files with LOC, domain tags, reads, "
    "findings and dependency edges",
    "hostile text (markdown, pipes, backticks, <script>, {eval-rst}/{raw} fences, ::: fences, "
    "5-10 kB tokens, non-ASCII) in ~1% of descriptions and a few other text cells and paths",
)

# Depth ranks: DEEP > MEDIUM > SURFACE > MENTIONED > NOT_TOUCHED > EXCLUDED.
DEEP, MEDIUM, SURFACE, MENTIONED, NOT_TOUCHED, EXCLUDED = 5, 4, 3, 2, 1, 0
DEPTH_NAMES = {DEEP: "DEEP", MEDIUM: "MEDIUM", SURFACE: "SURFACE", MENTIONED: "MENTIONED",
               NOT_TOUCHED: "NOT_TOUCHED", EXCLUDED: "EXCLUDED"}
_READ_WEIGHT = {DEEP: 3.0, MEDIUM: 1.5, SURFACE: 0.25, MENTIONED: 0.0}

FIRST_DAY = date(2025, 11, 3)
DB_TEMPLATE_PATH = "/home/researcher/campaign/db/research.db"

# --------------------------------------------------------------------------- vocabulary


def _words(text_: str) -> tuple[str, ...]:
    return tuple(text_.split())


_STEMS = _words("""
pretrain dataset huggingface_hub templates factory metrics napi_simple instant router scheduler
queue worker pool cache lexer token_stream attention embedding hnsw quantizer ewc lora federated
consensus raft gossip crdt vector_clock snapshot wal compaction search filter rerank tokenizer
encoder decoder optimizer checkpoint loader settings errors utils logger telemetry tracing health
registry plugin hooks lifecycle spawn agent swarm topology mesh hierarchical memory store session
transport stdio http websocket grpc auth sandbox policy validator schema codec serializer bridge
ffi bindings simd distance kmeans product_quant graph traversal cypher planner executor stats
daemon commands status doctor migrate exporter importer sync diff merge patch retry backoff
circuit_breaker rate_limiter pubsub event_bus dispatcher reducer trainer loss gradient adam sgd
ppo dqn reward policy_net replay_buffer learner reasoning_bank trajectory pattern distill verdict
judge coordinator leader election heartbeat membership shard partition replica quorum ledger
journal manifest bundle compat shim adapter provider middleware handler controller service
repository entity query cursor pager batch stream buffer arena allocator mmap persistence backup
restore encryption signing hasher merkle bloom lru ttl scorer ranker classifier detector anomaly
drift benchmark profiler sampler
""")

_MODULES = _words("""
export training loops core engine runtime storage index query network transport coordination
consensus memory learning neural agents swarm hooks plugins cli commands api server client utils
config metrics telemetry security sandbox wasm napi bindings graph vector search cache pipeline
scheduler workers tools mcp providers adapters integrations persistence sync crypto codecs models
policies rewards replay attention quantization distributed cluster gossip routing
""")

_CRATES = _words("""
sona core graph router attention gnn cluster raft server cli bench wasm node tiny-dancer hnsw
quant collections metrics replication snapshot filter tokenizer learning mincut dag delta-index
""")

_NPM_DEPS = _words("lodash zod commander chalk ws yaml uuid debug semver express undici picocolors")

# name, kind, weight (files at x1), description
_PACKAGES: tuple[tuple[str, str, int, str], ...] = (
    ("tensorforge", "rust", 3200, "Rust workspace: vector index, attention, graph and learning crates"),
    ("agentmesh", "ts", 2100, "The team's own orchestration layer (TypeScript)"),
    ("flowctl", "ts", 1500, "Workflow runner and CLI for agent swarms"),
    ("memvault", "rust", 1300, "Persistent memory store with WAL, snapshots and replication"),
    ("swarm-cli", "js", 1100, "Legacy JavaScript CLI with hooks and daemon"),
    ("vecdb-node", "ts", 900, "NAPI bindings exposing the vector index to Node"),
    ("neuralkit-py", "py", 1000, "Python training utilities and reinforcement-learning loops"),
    ("orchestra-core", "ts", 900, "Task routing, topology and consensus for agent teams"),
    ("wasmtide", "rust", 700, "WASM runtime and browser bindings"),
    ("mcp-bridge", "ts", 500, "Model Context Protocol server exposing the tools"),
    ("agentmesh-docs", "docs", 200, "Documentation site of agentmesh"),
)
_EXTRA_PKG_A = _words("stream graph edge cache model token task event index query")
_EXTRA_PKG_B = _words("kit core hub forge works lab ops base link flow")
_EXTRA_KINDS = ("ts", "rust", "js", "py", "ts", "rust")

# name, priority, description
_DOMAINS: tuple[tuple[str, str, str], ...] = (
    ("memory-and-learning", "HIGH", "Persistent memory, pattern learning and the training loops behind it"),
    ("swarm-coordination", "MEDIUM", "How agents are spawned, arranged in topologies and coordinated"),
    ("cli-and-ux", "LOW", "Command-line surface, prompts, output formatting"),
    ("vector-search", "HIGH", "HNSW, quantisation, distance kernels and reranking"),
    ("neural-training", "HIGH", "Optimisers, losses, reward models, checkpoints"),
    ("agent-lifecycle", "MEDIUM", "Spawn, heartbeat, shutdown and recovery of agents"),
    ("mcp-tools", "MEDIUM", "Tools exposed over the Model Context Protocol"),
    ("security-and-sandboxing", "HIGH", "Sandboxes, secrets, input validation, signing"),
    ("wasm-runtime", "MEDIUM", "WASM builds and browser bindings"),
    ("persistence-layer", "MEDIUM", "WAL, snapshots, SQLite files and backups"),
    ("consensus-protocols", "HIGH", "Raft, gossip, CRDTs and quorum logic"),
    ("observability", "LOW", "Metrics, tracing, logs and dashboards"),
    ("plugin-system", "MEDIUM", "Plugin discovery, manifests and lifecycle"),
    ("build-and-release", "LOW", "Build scripts, bundling, packaging and release"),
    ("hooks-and-automation", "MEDIUM", "Pre/post hooks, daemons and background automation"),
    ("release-blockers", "LOW", "Cross-cutting items that gate the next release"),
)
_EXTRA_DOM_A = _words("graph stream edge cache model token task event index query")
_EXTRA_DOM_B = _words("routing storage scheduling telemetry encoding recovery governance federation")

_CORE_CATEGORIES = _words("""
real-functionality stub security architecture integration-point bug quality genuine
fabricated-data inflated-metrics ARCHITECTURE positive performance Integration~Point stub-code
Real~Functionality unknown dead-code duplication test-coverage error-handling concurrency
memory-safety api-design hardcoded-values facade placeholder mock-data theatrical
partial-implementation wiring bridge ffi unsafe-code panic data-loss validation observability
dependency documentation licensing build deprecated STUB Security integration_point
""")
_CAT_ADJ = _words("""hardcoded missing silent fake partial unsafe duplicate stale hidden broken inflated
theatrical mock unbounded undocumented unverified leaky naive""")
_CAT_NOUN = _words("""metrics validation fallback consensus implementation api config data tests logging
errors cache wiring retry auth benchmarks docs types lock state""")

_REVIEWERS = ("mkr", "jdoe", "swarm-agent-3", "ana.p", "qa-bot")
_CLUSTER_NOUNS = ("Pipeline", "Internals", "Layer", "Core", "Subsystem", "Bindings", "Runtime",
                  "Handlers", "Utilities", "Engine", "Surface")
_TITLE_SUFFIXES = ("Deep Dive", "Internals", "Gap Closure", "Coverage Sweep", "Integration Audit",
                   "Verification", "Deep Read")
_CONTEXT_Q = ("real implementation or scaffold?", "wired into the runtime?", "hardcoded values?",
              "what does it coordinate?", "bridges to JS?", "error handling?", "tested at all?",
              "thread safety?", "who calls it?", "export format?", "real algorithm or facade?")
_QUESTIONS = (
    "Does it implement {concept} for real, or return hardcoded values?",
    "Real {concept} logic with tests, or a scaffold with placeholders?",
    "Is {concept} wired into the runtime, or dead code? Who calls it?",
    "Does the {concept} path handle failure (retry, timeout), or assume success?",
    "Are the reported {concept} numbers computed from real data, or fabricated constants?",
    "Is this a thin re-export, or does it hold configuration and state?",
    "Does it bridge to {other} through a stable API, or through copied code?",
    "Thread-safe under concurrent access? Where are locks taken?",
    "How does {concept} relate to the coordinator? Is ordering enforced?",
    "Does {concept} validate its inputs, or trust the caller?",
)

_VALUES = ("0.0 loss", "an empty vector", "true", "a fixed score of 0.95", "a static list of 3 agents",
           "zero latency", "the input unchanged")
_UNITS = ("entries", "tokens", "vectors", "agents", "rows", "frames", "batches", "shards")
_INPUTS = ("task names", "file paths", "user prompts", "plugin manifests", "query strings")
_MECHANISMS = ("NAPI", "a child process", "stdio JSON-RPC", "a shared SQLite file", "HTTP on localhost",
               "WASM exports", "FFI")
_ALGOS = (("HNSW insertion", "layer selection"), ("EWC++ regularisation", "Fisher information"),
          ("Raft log replication", "term checks"), ("product quantisation", "codebook training"),
          ("PPO clipping", "advantage normalisation"), ("LRU eviction", "TTL handling"),
          ("exponential backoff", "jitter"), ("CRDT merge", "tombstones"))
_CONDS = ("the queue is full", "a shard rebalances", "two agents finish together", "the WAL rotates")
_VERBS = ("run", "apply", "load", "flush", "encode", "step", "merge", "spawn", "route", "score")

_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "stub": (
        "{func}() is a stub: logs the call and returns an empty result",
        "{Concept} returns {value} instead of computing it",
        "todo!() left in the {concept} path; reachable from the public API",
        "Placeholder {concept} implementation; every branch returns Ok(())",
        "{Concept} simulates work with a fixed sleep and a random delay",
    ),
    "real": (
        "Real {concept} implementation ({n} LOC of genuine logic), unit-tested",
        "{Concept} is production-grade: bounded queues, backpressure and error propagation",
        "Correct {algo} with proper {detail}",
        "{Concept} at {a}-{b}% real; remaining paths are thin wrappers",
    ),
    "security": (
        "Shell command built from unsanitised {input} in {func}()",
        "API key read from the environment and logged at debug level in {concept}",
        "Path traversal: {input} joined to the base dir without normalisation",
        "Deserialises untrusted {input} without size limits",
        "Sandbox escape: {func}() disables the seccomp filter when a debug flag is set",
    ),
    "fabricated": (
        "Validation facade echoes test labels",
        "Benchmark reports a {n}x speedup from a hardcoded constant",
        "{Concept} metrics come from Math.random() rather than measurements",
        "Accuracy figure of {a}% is a literal in the report generator, not measured",
        "Dashboard counts {unit} that are never created",
    ),
    "architecture": (
        "{Concept} duplicates {other} from {pkg}; two parallel implementations drift",
        "Module root only re-exports; no coordination logic",
        "Circular dependency between {concept} and {other}",
        "God object: {func}() owns {n} responsibilities",
        "Layering violation: {concept} reaches into storage internals",
    ),
    "integration": (
        "Bridges to {pkg} via {mechanism}",
        "Calls {func}() in {pkg} over {mechanism}; errors are swallowed",
        "Integration point with {pkg}: shared {unit} format, versioned",
        "Entry point for {pkg} hooks; dispatches {n} event kinds",
    ),
    "bug": (
        "Off-by-one in {func}() drops the last {unit}",
        "Race between {func}() and {func2}() when {cond}",
        "Integer overflow in {concept} for inputs above {n} {unit}",
        "Error from {func}() is ignored; partial writes are left behind",
        "{Concept} never evicts entries: unbounded memory growth",
    ),
    "quality": (
        "Quadratic scan in {func}() over all {unit}",
        "No tests cover {concept}; {n} public functions untested",
        "Magic numbers in {concept} tuning ({n}, {a}) without rationale",
        "Dead code: {func}() has no callers in the workspace",
        "Clones the full {unit} vector on every {func}() call",
    ),
}
_FAMILY_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fabricated", ("fabricat", "inflat", "fake", "metric", "benchmark", "facade", "theatrical")),
    ("stub", ("stub", "placeholder", "todo", "partial", "mock")),
    ("security", ("secur", "unsafe", "auth", "leak", "secret")),
    ("integration", ("integration", "bridge", "ffi", "wiring")),
    ("architecture", ("architect", "duplicat", "design", "layer", "dependency")),
    ("bug", ("bug", "broken", "race", "panic", "data-loss", "error", "concurrency")),
    ("real", ("real", "genuine", "positive", "production")),
)

_RELATIONSHIPS = (("imports", 45), ("calls", 25), ("triggers", 6), ("reads", 6), ("writes", 5),
                  ("bridges", 5), ("generates", 4), ("bundles", 4))

_EXCLUDES: tuple[tuple[str, str], ...] = (
    ("%node_modules/%", "third-party dependencies"),
    ("dist/%", "build output"),
    ("%.min.js", "minified bundles"),
    ("%/fixtures/%", "test fixtures"),
    ("%/generated/%", "generated code"),
    ("%.lock", "lock files"),
    ("%/__pycache__/%", "bytecode caches"),
    ("docs/_build/%", "rendered documentation"),
    ("vendor/%", "vendored sources"),
    ("%package-lock.json", "lock files"),
    ("%.snap", "snapshot test data"),
    ("%/target/%", "cargo build output"),
)

# The hostile corpus: text that must stay literal data on a rendered site.
_HOSTILE_SNIPPETS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "```{eval-rst}\n.. raw:: html\n\n   <b onmouseover=alert(2)>rst</b>\n```",
    "```{raw} html\n<iframe src=\"javascript:alert(3)\"></iframe>\n```",
    ":::{warning}\nInjected admonition\n:::",
    "| a | b |\n|---|---|\n| x \\| y | z |",
    "Inline `code`, ``double `tick``, and a lone ` backtick",
    "**bold** _em_ [link](javascript:alert(4)) ![img](https://example.invalid/x.png) "
    "<https://example.invalid>",
    "{{ jinja }} {% if x %} ${HOME} $(id) %s %(name)s {0}",
    "{ref}`target` {need}`F1` :need:`Q1-1` .. directive:: here",
    "# Heading injection\n\n---\n\n> quote\n\n1. list",
    "\u00dcn\u00efc\u00f6d\u00e9 \u2014 \u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8, "
    "emoji \U0001f680\U0001f525, "
    "RTL \u05e2\u05d1\u05e8\u05d9\u05ea, zero\u200bwidth, combining e\u0301, NBSP\u00a0here",
    "C:\\path\\to\\file \\` \\* \\| trailing backslash \\",
    "&lt;script&gt; &amp; &#x3C;b&#x3E; <!-- comment --> ]]> -->",
    "Tabs\tand\r\nCRLF line endings",
    "<img src=x onerror=alert(5)> <style>body{display:none}</style>",
    "$$x^2$$ and \\(math\\) and [^1] footnote\n\n[^1]: injected",
    "@{substitution} |subst| :sub:`x` {sub-ref}`today`",
    "\0LONG",  # stands for a 5-10 kB token, drawn per use
)
_HOSTILE_PATHS = (
    "docs/notes/\u00fcn\u00efc\u00f6d\u00e9-\u6307\u5357.md",
    "src/weird|pipe`tick`name.ts",
    "examples/<img src=x onerror=alert(1)>.html",
    "docs/{eval-rst}/:::{raw} html.md",
)

# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class GenerationSummary:
    """What was generated: the numbers a benchmark report needs."""

    url: str
    scale: float
    seed: int
    hostile: bool
    counts: dict[str, int]
    """Rows per table (research tables and kbgen's tables)."""
    plans: int
    plans_dir: str | None
    facts: dict[str, int]
    """Campaign figures: total LOC, files per depth, open CRITICAL/HIGH, hotspots, ..."""
    elapsed_s: float
    dated_plans: dict[str, int] = field(default_factory=dict)
    """Plan file name → session, for the plans that state no session number (``plan import --session``)."""

    def render(self) -> str:
        """A plain-text report, one figure per line."""
        lines = [f"database : {self.url}",
                 f"scale    : x{self.scale:g}  seed {self.seed}  hostile {'yes' if self.hostile else 'no'}",
                 f"plans    : {self.plans}"
                 + (f" in {self.plans_dir}" if self.plans_dir else " (not written)"),
                 f"elapsed  : {self.elapsed_s:.2f} s", "rows:"]
        width = max(len(k) for k in self.counts)
        lines += [f"  {k:<{width}} {v:>9,}" for k, v in self.counts.items()]
        lines.append("facts:")
        width = max(len(k) for k in self.facts)
        lines += [f"  {k:<{width}} {v:>9,}" for k, v in self.facts.items()]
        return "\n".join(lines)


@dataclass
class _Package:
    id: int
    name: str
    kind: str
    weight: int
    description: str
    own: bool
    crates: list[str] = field(default_factory=list)


@dataclass
class _File:
    id: int
    pkg: int  # index into packages
    path: str
    loc: int | None
    ftype: str
    directory: str
    module: str  # two-level directory: the unit of domain tagging and PROXIMATE tiers
    excluded: bool = False
    descoped: bool = False  # excluded after sessions read it (see _descope)
    hostile: bool = False
    rank: int = NOT_TOUCHED
    lines_read: int | None = None
    last_session: int | None = None
    notes: str | None = None

    @property
    def basename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def stem(self) -> str:
        name = self.basename.split(".", 1)[0]
        return name if name not in ("mod", "index", "__init__", "lib") else self.directory.rsplit("/", 1)[-1]


@dataclass
class _Read:
    id: int
    file: int  # file id
    session: int
    rank: int
    ranges: list[tuple[int, int]]
    notes: str | None

    @property
    def lines(self) -> int:
        return sum(b - a + 1 for a, b in self.ranges)


@dataclass
class _PlanFile:
    file: int
    tier: str
    context: str
    question: str
    read: bool


@dataclass
class _Cluster:
    letter: str
    name: str
    description: str
    base: str  # directory inside the repository the table paths are relative to ("" or "crates/x/")
    files: list[_PlanFile]


@dataclass
class _Plan:
    session: int
    title: str
    focus: str
    strategic: str
    rationale: list[str]
    clusters: list[_Cluster]
    outcomes: list[str]
    package: int


@dataclass
class _Session:
    id: int
    name: str
    day: date
    agent_count: int
    notes: str | None
    planned: bool
    focus: str = ""
    plan: _Plan | None = None
    reads: list[_Read] = field(default_factory=list)


@dataclass
class _Finding:
    file: int
    session: int | None
    line_start: int | None
    line_end: int | None
    canonical: str
    severity: str
    category: str
    description: str
    followed_up: int = 0
    reviewer: str | None = None
    id: int = 0


@dataclass
class _World:
    """Everything generated, before it is written."""

    scale: float
    rng: random.Random
    seed: int = 0
    packages: list[_Package] = field(default_factory=list)
    files: list[_File] = field(default_factory=list)
    domains: list[Row] = field(default_factory=list)
    file_domains: dict[int, list[int]] = field(default_factory=dict)
    sessions: list[_Session] = field(default_factory=list)
    findings: list[_Finding] = field(default_factory=list)
    dependencies: list[Row] = field(default_factory=list)
    package_dependencies: list[Row] = field(default_factory=list)
    exclude_paths: list[Row] = field(default_factory=list)
    crates: list[Row] = field(default_factory=list)
    crate_dependencies: list[Row] = field(default_factory=list)
    artifacts: list[Row] = field(default_factory=list)
    answers: list[Row] = field(default_factory=list)
    statuses: list[Row] = field(default_factory=list)
    pending_edges: list[tuple[int, int]] = field(default_factory=list)
    copies: list[tuple[int, int]] = field(default_factory=list)  # (source pkg, target pkg)
    hostile_cells: int = 0

    def file(self, file_id: int) -> _File:
        return self.files[file_id - 1]

    def cross_deps(self) -> dict[int, int]:
        """Outgoing cross-package dependency edges per package index (the plans' isolation check)."""
        out: dict[int, int] = defaultdict(int)
        for dep in self.dependencies:
            a = self.file(int(str(dep["source_file_id"]))).pkg
            if a != self.file(int(str(dep["target_file_id"]))).pkg:
                out[a] += 1
        return out


# --------------------------------------------------------------------------- helpers


def _count(kind: str, scale: float) -> int:
    return max(MIN_COUNTS[kind], round(BASE_COUNTS[kind] * scale))


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _concept(stem: str) -> str:
    return stem.replace("_", " ").replace("-", " ")


def _title(words: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in re.split(r"[\s_-]+", words) if w)


def _camel(stem: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[_-]+", stem) if w)


def _lower_camel(stem: str) -> str:
    camel = _camel(stem)
    return camel[:1].lower() + camel[1:]


def _like_regex(pattern: str) -> re.Pattern[str]:
    """An SQL LIKE pattern as a regex (``%`` any run, ``_`` any one character)."""
    out = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{out}$", re.DOTALL)


def _ranges_text(ranges: Sequence[tuple[int, int]]) -> str | None:
    return ",".join(f"{a}-{b}" for a, b in ranges) or None


def _id_list(ids: Sequence[int]) -> str:
    """``[501, 502, 503, 610]`` → ``501-503, 610`` (the plans' domain-tag style)."""
    parts: list[str] = []
    ordered = sorted(ids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(f"{ordered[i]}-{ordered[j]}" if j - i >= 2 else
                     ", ".join(str(x) for x in ordered[i:j + 1]))
        i = j + 1
    return ", ".join(parts)


def _loc_for(rng: random.Random, ftype: str) -> int:
    median, sigma = {
        "source": (265.0, 0.95), "test": (180.0, 0.8), "docs": (110.0, 0.8), "config": (28.0, 0.6),
        "generated": (700.0, 1.0), "fixture": (60.0, 1.0), "types": (90.0, 0.7), "build": (320.0, 1.1),
        "vendor": (210.0, 1.0), "example": (120.0, 0.7), "script": (70.0, 0.7),
    }.get(ftype, (150.0, 0.8))
    return max(3, min(12_000, round(rng.lognormvariate(math.log(median), sigma))))


# --------------------------------------------------------------------------- packages and files

_Template = tuple[int, str, str, int, int, str, str]  # weight, dir, name, kmin, kmax, ftype, extra name

_TEMPLATES: dict[str, tuple[_Template, ...]] = {
    "rust": (
        (55, "crates/{crate}/src/{module}", "{stem}.rs", 3, 14, "source", "mod.rs"),
        (10, "crates/{crate}/src", "{stem}.rs", 2, 6, "source", "lib.rs"),
        (10, "crates/{crate}/tests", "{stem}.rs", 2, 8, "test", ""),
        (4, "crates/{crate}/benches", "{stem}_bench.rs", 1, 4, "test", ""),
        (5, "crates/{crate}/examples", "{stem}.rs", 1, 5, "example", ""),
        (4, "crates/{crate}/tests/fixtures", "{stem}.json", 2, 10, "fixture", ""),
        (3, "crates/{crate}/src/generated", "{stem}.rs", 1, 5, "generated", ""),
        (4, "docs", "{stem}.md", 2, 8, "docs", ""),
        (2, "scripts", "{stem}.sh", 1, 4, "script", ""),
    ),
    "ts": (
        (45, "src/{module}", "{kstem}.ts", 3, 14, "source", "index.ts"),
        (10, "tests/{module}", "{kstem}.test.ts", 2, 8, "test", ""),
        (6, "dist/{module}", "{kstem}.js", 2, 8, "build", ""),
        (4, "node_modules/{dep}/lib", "{kstem}.js", 2, 10, "vendor", ""),
        (5, "src/types", "{kstem}.d.ts", 2, 6, "types", ""),
        (4, "docs", "{kstem}.md", 2, 6, "docs", ""),
        (3, "scripts", "{kstem}.mjs", 1, 4, "script", ""),
        (3, "tests/fixtures", "{kstem}.json", 2, 6, "fixture", ""),
    ),
    "js": (
        (50, "lib/{module}", "{kstem}.js", 3, 14, "source", "index.js"),
        (8, "bin", "{kstem}.js", 1, 3, "source", ""),
        (10, "test", "{kstem}.test.js", 2, 8, "test", ""),
        (4, "dist", "{kstem}.min.js", 1, 4, "build", ""),
        (5, "node_modules/{dep}", "{kstem}.js", 2, 10, "vendor", ""),
        (4, "docs", "{kstem}.md", 2, 6, "docs", ""),
    ),
    "py": (
        (55, "{pymod}/{module}", "{stem}.py", 3, 14, "source", "__init__.py"),
        (12, "tests", "test_{stem}.py", 2, 8, "test", ""),
        (4, "{pymod}/__pycache__", "{stem}.cpython-311.pyc", 2, 6, "build", ""),
        (5, "examples", "{stem}.py", 1, 4, "example", ""),
        (4, "docs", "{stem}.md", 2, 6, "docs", ""),
        (3, "tests/fixtures", "{stem}.json", 2, 6, "fixture", ""),
    ),
    "docs": (
        (60, "docs/{module}", "{kstem}.md", 3, 12, "docs", "index.md"),
        (15, "docs/_build/html", "{kstem}.html", 2, 10, "build", ""),
        (10, "examples", "{kstem}.ts", 1, 4, "example", ""),
        (5, "src/components", "{kstem}.tsx", 2, 6, "source", ""),
    ),
}
_ALWAYS: dict[str, tuple[tuple[str, str], ...]] = {
    "rust": (("Cargo.toml", "config"), ("README.md", "docs"), ("Cargo.lock", "config")),
    "ts": (("package.json", "config"), ("tsconfig.json", "config"), ("README.md", "docs"),
           ("src/index.ts", "source"), ("package-lock.json", "config")),
    "js": (("package.json", "config"), ("README.md", "docs"), ("index.js", "source")),
    "py": (("pyproject.toml", "config"), ("README.md", "docs")),
    "docs": (("README.md", "docs"), ("package.json", "config"), ("docs/index.md", "docs")),
}


def _make_packages(world: _World) -> None:
    rng = world.rng
    n = _count("packages", world.scale)
    for i in range(n):
        if i < len(_PACKAGES):
            name, kind, weight, desc = _PACKAGES[i]
        else:
            name = f"{_EXTRA_PKG_A[i % 10]}{_EXTRA_PKG_B[(i // 10) % 10]}-{i}"
            kind = _EXTRA_KINDS[i % len(_EXTRA_KINDS)]
            weight = rng.randint(300, 1500)
            desc = f"Satellite {kind} package {name}"
        world.packages.append(_Package(i + 1, name, kind, weight, desc, own=name == "agentmesh"))


def _package_files(rng: random.Random, pkg: _Package, quota: int) -> list[tuple[str, str]]:
    """(relative path, file type) for one package: fixed files, then whole directories."""
    out: list[tuple[str, str]] = []
    used: set[str] = set()

    def add(path: str, ftype: str) -> None:
        if path not in used and len(out) < quota:
            used.add(path)
            out.append((path, ftype))

    for path, ftype in _ALWAYS[pkg.kind]:
        add(path.replace("{pymod}", pkg.name.split("-")[0]), ftype)
    if pkg.kind == "rust":
        n_crates = max(1, round(quota / 140))
        pool = list(_CRATES)
        while len(pool) < n_crates:
            pool.append(f"{rng.choice(_CRATES)}-{rng.choice(_MODULES)}")
        pkg.crates = rng.sample(pool, n_crates)
    if pkg.kind == "py":
        add(f"{pkg.name.split('-')[0]}/__init__.py", "source")
    templates = _TEMPLATES[pkg.kind]
    weights = [t[0] for t in templates]
    guard = 0
    while len(out) < quota and guard < quota * 20:
        guard += 1
        _, dir_fmt, name_fmt, kmin, kmax, ftype, extra = rng.choices(templates, weights=weights)[0]
        directory = dir_fmt.format(crate=rng.choice(pkg.crates) if pkg.crates else "core",
                                   module=rng.choice(_MODULES), dep=rng.choice(_NPM_DEPS),
                                   pymod=pkg.name.split("-")[0])
        if extra:
            add(f"{directory}/{extra}", ftype)
        for stem in rng.sample(_STEMS, rng.randint(kmin, kmax)):
            add(f"{directory}/{name_fmt.format(stem=stem, kstem=stem.replace('_', '-'))}", ftype)
    return out


def _make_files(world: _World) -> None:
    rng = world.rng
    n_files = _count("files", world.scale)
    total_weight = sum(p.weight for p in world.packages)
    quotas = [max(20, round(n_files * p.weight / total_weight)) for p in world.packages]
    per_pkg = [_package_files(rng, p, q) for p, q in zip(world.packages, quotas, strict=True)]
    # Vendored copies: the same relative path in two packages (a real-world quirk).
    for i in range(len(world.packages)):
        if i == 0 or rng.random() < 0.5:
            source = 1 if i == 0 else rng.randrange(len(world.packages))
            if source == i:
                continue
            sources = [p for p in per_pkg[source] if p[1] == "source"]
            have = {p for p, _ in per_pkg[i]}
            picked = [p for p in rng.sample(sources, min(len(sources), max(2, len(sources) // 60)))
                      if p[0] not in have]
            per_pkg[i].extend(picked)
            if picked:
                world.copies.append((source, i))
    for index, entries in enumerate(per_pkg):
        for path, ftype in entries:
            directory = path.rsplit("/", 1)[0] if "/" in path else "."
            parts = path.split("/")
            module = "/".join(parts[:2]) if len(parts) > 2 else (parts[0] if len(parts) == 2 else ".")
            world.files.append(_File(len(world.files) + 1, index, path, _loc_for(rng, ftype), ftype,
                                     directory, module))


def _make_excludes(world: _World) -> None:
    rng = world.rng
    n_sessions = _count("sessions", world.scale)
    n = min(len(_EXCLUDES), max(6, round(len(_EXCLUDES) * min(1.0, world.scale * 4))))
    patterns = list(_EXCLUDES[:n])
    if world.scale > 1:  # larger campaigns also exclude some crates' benchmarks
        rust = [p for p in world.packages if p.crates]
        for pkg in rust[: round(world.scale * 2)]:
            patterns.append((f"crates/{pkg.crates[0]}/benches/%", f"benchmarks of {pkg.name}"))
    seen: set[str] = set()
    for pattern, reason in patterns:
        if pattern in seen:
            continue
        seen.add(pattern)
        added = rng.randint(1, n_sessions) if rng.random() < 0.7 else None
        world.exclude_paths.append({"id": len(world.exclude_paths) + 1, "pattern": pattern, "reason": reason,
                                    "added_session_id": added, "added_date": None})
    regexes = [_like_regex(str(r["pattern"])) for r in world.exclude_paths]
    for f in world.files:
        if any(r.match(f.path) for r in regexes):
            f.excluded = True
            f.rank = EXCLUDED
    # NULL loc: inventory scripts that could not count lines (binary, unreadable, too big).
    candidates = [f for f in world.files if f.ftype not in ("source",)]
    for f in rng.sample(candidates, min(len(candidates), max(2, round(len(world.files) * 0.005)))):
        f.loc = None


def _make_domains(world: _World) -> None:
    rng = world.rng
    n = _count("domains", world.scale)
    used: set[str] = set()
    for i in range(n):
        if i < len(_DOMAINS):
            name, priority, desc = _DOMAINS[i]
        else:
            name = f"{rng.choice(_EXTRA_DOM_A)}-{rng.choice(_EXTRA_DOM_B)}"
            while name in used:
                name = f"{name}-{i}"
            priority, desc = rng.choice(("HIGH", "MEDIUM", "LOW")), f"Concerns of {name.replace('-', ' ')}"
        used.add(name)
        world.domains.append({"id": i + 1, "name": name, "description": desc, "priority": priority,
                              "synthesis_path": f"domains/{name}/analysis.md"})
    ids = [int(str(d["id"])) for d in world.domains]
    affinity = [rng.sample(ids, min(3, len(ids))) for _ in world.packages]
    module_domains: dict[tuple[int, str], list[int]] = {}
    for f in world.files:
        if f.excluded or f.ftype in ("config", "build", "vendor"):
            continue
        key = (f.pkg, f.module)
        if key not in module_domains:
            tags = [rng.choice(affinity[f.pkg])]
            if rng.random() < 0.35:
                extra = rng.choice(ids)
                if extra not in tags:
                    tags.append(extra)
            module_domains[key] = tags
        world.file_domains[f.id] = list(module_domains[key])
    # Integration hotspots: files tagged with 3+ domains.
    sources = [f.id for f in world.files if f.ftype == "source" and f.id in world.file_domains]
    for fid in rng.sample(sources, min(len(sources), max(3, round(len(sources) * 0.015)))):
        tags = world.file_domains[fid]
        want = rng.choice((3, 3, 4))
        for d in rng.sample(ids, len(ids)):
            if len(tags) >= min(want, len(ids)):
                break
            if d not in tags:
                tags.append(d)


# --------------------------------------------------------------------------- sessions


def _make_sessions(world: _World) -> None:
    rng = world.rng
    n = _count("sessions", world.scale)
    fixed = {1: "R1-inventory", 3: "R3-verify", 10: "R10-swarm-coverage", 22: "R22b"}
    suffixes = ("-verify", "-swarm-coverage", "-deep-dive", "-followup", "-triage", "b", "a")
    day = FIRST_DAY
    for sid in range(1, n + 1):
        if sid >= 25:
            name = f"R{sid}"
        elif sid in fixed:
            name = fixed[sid]
        else:
            name = f"R{sid}{rng.choice(suffixes)}" if rng.random() < 0.35 else f"R{sid}"
        planned = sid >= 25 or (sid > 1 and rng.random() < 0.75)
        notes = None if rng.random() < 0.5 else rng.choice((
            "Parallel swarm of {k} agents; findings inserted by the coordinator",
            "Re-ran after a DB lock; some reads recorded twice and deduplicated",
            "Follow-up of open CRITICAL items", "Verification pass, no new files",
            "Synthesis docs updated per ADR-040")).format(k=rng.randint(2, 9))
        world.sessions.append(_Session(sid, name, day, rng.randint(1, 8), notes, planned))
        day += timedelta(days=rng.choice((0, 0, 1, 1, 1, 2, 3)))
    with_plan = [s for s in world.sessions if s.planned]
    for s in reversed(world.sessions):  # tiny scales: still a few plans
        if len(with_plan) >= 2:
            break
        if not s.planned and s.id > 1:
            s.planned = True
            with_plan.append(s)


def _line_ranges(rng: random.Random, loc: int | None, rank: int) -> list[tuple[int, int]]:
    """Line ranges a read covered, e.g. [(1, 50), (170, 320)] for ``1-50,170-320``."""
    if loc is None or loc <= 0 or rank <= MENTIONED:
        return []
    if rank == SURFACE:
        return [(1, max(1, min(loc, rng.randint(10, 60))))]
    frac = rng.uniform(0.5, 1.0) if rank == DEEP else rng.uniform(0.2, 0.5)
    if rank == DEEP and rng.random() < 0.35:
        frac = 1.0
    total = max(1, round(loc * frac))
    if total >= loc:
        return [(1, loc)]
    m = min(rng.choice((1, 2, 2, 3)), total)
    cuts = sorted(rng.sample(range(1, total), m - 1)) if m > 1 else []
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    gaps_w = [rng.random() for _ in range(m + 1)]
    if rng.random() < 0.7:
        gaps_w[0] = 0.0
    scale = (loc - total) / (sum(gaps_w) or 1.0)
    gaps = [int(g * scale) for g in gaps_w]
    out: list[tuple[int, int]] = []
    pos = 1
    for part, gap in zip(parts, gaps, strict=False):
        start = pos + gap
        end = start + part - 1
        if out and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
        pos = end + 1
    return out


class _Simulator:
    """Plays the campaign forward, session by session: plan, read, learn."""

    def __init__(self, world: _World) -> None:
        self.w = world
        self.rng = world.rng
        n_sessions = len(world.sessions)
        # Files per session relative to a real campaign: below 1 at tiny scales, where the
        # floors keep more sessions than the files would justify; sessions then read less.
        ratio = BASE_COUNTS["files"] / BASE_COUNTS["sessions"]
        self.factor = min(1.0, (len(world.files) / n_sessions) / ratio)
        self.eligible_by_dir: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.eligible_by_pkg: dict[int, list[int]] = defaultdict(list)
        self.readable_by_pkg: dict[int, list[int]] = defaultdict(list)
        self.mentionable: list[int] = []
        for f in world.files:
            if f.excluded or f.hostile:
                continue
            self.mentionable.append(f.id)
            if f.loc is None:
                continue
            if f.ftype in ("source", "test", "types", "example", "docs"):
                self.readable_by_pkg[f.pkg].append(f.id)
            if f.ftype == "source" and f.loc >= 25:
                self.eligible_by_dir[(f.pkg, f.directory)].append(f.id)
                self.eligible_by_pkg[f.pkg].append(f.id)
        # Unread (below MEDIUM) planning candidates, kept current as files get read.
        self.unread_by_dir = {key: len(ids) for key, ids in self.eligible_by_dir.items()}
        self.unread_by_pkg = {key: len(ids) for key, ids in self.eligible_by_pkg.items()}
        self.eligible_set = {fid for ids in self.eligible_by_pkg.values() for fid in ids}
        self.deep_by_module: dict[tuple[int, str], int] = defaultdict(int)
        self.deep_by_pkg: dict[int, list[int]] = defaultdict(list)
        self.deep_total = 0
        self.read_ids = 0
        self.previous_pkg: int | None = None
        self.history: list[tuple[int, int]] = []  # (session, file) of planned DEEP reads

    # -- choosing files

    def _unread(self, fid: int) -> bool:
        return self.w.file(fid).rank < MEDIUM

    def _pick_package(self) -> int:
        pkgs = sorted(self.eligible_by_pkg)
        if self.previous_pkg is not None and self.rng.random() < 0.4:
            return self.previous_pkg
        weights = [1 + self.unread_by_pkg[p] for p in pkgs]
        return self.rng.choices(pkgs, weights=weights)[0]

    def _plan_files(self, pkg: int, size: int, clusters: int
                    ) -> list[tuple[str, list[int]]]:
        """Directories (clusters) and files to plan: mostly unread, unique basenames."""
        rng = self.rng
        dirs = [d for (p, d) in self.eligible_by_dir if p == pkg]
        rng.shuffle(dirs)
        dirs.sort(key=lambda d: -self.unread_by_dir[(pkg, d)])
        names: set[str] = set()
        chosen: list[tuple[str, list[int]]] = []
        remaining = size
        parts = self._split(size, clusters)
        for d in dirs[: max(8, clusters * 3)]:
            if remaining <= 0 or len(chosen) >= 4:
                break
            want = min(remaining, parts[len(chosen)] if len(chosen) < len(parts) else remaining)
            pool = [fid for fid in self.eligible_by_dir[(pkg, d)] if self._unread(fid)]
            rng.shuffle(pool)
            picked: list[int] = []
            for fid in pool:
                base = self.w.file(fid).basename
                if base in names:
                    continue
                picked.append(fid)
                names.add(base)
                if len(picked) >= want:
                    break
            if len(picked) >= 2 or (picked and remaining - len(picked) <= 0):
                chosen.append((d, picked))
                remaining -= len(picked)
            else:
                for fid in picked:
                    names.discard(self.w.file(fid).basename)
        if remaining > 0 and chosen:  # top up with re-reads from the chosen directories
            for d, picked in chosen:
                for fid in self.eligible_by_dir[(pkg, d)]:
                    base = self.w.file(fid).basename
                    if remaining > 0 and fid not in picked and base not in names:
                        picked.append(fid)
                        names.add(base)
                        remaining -= 1
        return chosen

    def _split(self, size: int, parts: int) -> list[int]:
        parts = max(1, min(parts, size // 2))
        cuts = sorted(self.rng.sample(range(2, size - 1), parts - 1)) if parts > 1 and size > 4 else []
        bounds = [0, *cuts, size]
        out = [b - a for a, b in itertools.pairwise(bounds)]
        return sorted((max(1, x) for x in out), reverse=True)

    def _tier(self, f: _File, pkg: _Package) -> str:
        deep_pkg = self.deep_by_pkg.get(f.pkg, [])
        if deep_pkg and self.rng.random() < 0.2:
            self.w.pending_edges.append((self.rng.choice(deep_pkg), f.id))
            return "CONNECTED"
        if pkg.own:
            return "OWN_CODE"
        near = self.deep_by_module[(f.pkg, f.module)]
        return "PROXIMATE" if near >= 3 else "NEARBY" if near >= 1 else "DOMAIN_ONLY"

    def _random_from(self, pool: Sequence[int], taken: dict[int, int], accept: int) -> int | None:
        """A file of ``pool`` not read in this session and below depth ``accept``."""
        for _ in range(25):
            fid = self.rng.choice(pool)
            if fid not in taken and self.w.file(fid).rank < accept:
                return fid
        return None

    # -- one session

    def run(self) -> None:
        for session in self.w.sessions:
            self._session(session)

    def _session(self, s: _Session) -> None:
        rng, w = self.rng, self.w
        f_ = self.factor
        pkg_index = self._pick_package()
        self.previous_pkg = pkg_index
        pkg = w.packages[pkg_index]
        size = min(25, max(9, round(rng.gauss(13, 3.5)))) if f_ >= 0.5 else rng.randint(9, 10)
        n_clusters = rng.choice((2, 3)) if size <= 11 else rng.choice((2, 3, 3, 4)) if size <= 18 else \
            rng.choice((3, 4))
        chosen = self._plan_files(pkg_index, size, n_clusters)
        if sum(len(fids) for _, fids in chosen) < min(size, 9):
            # The package is read out (tiny scales): plan in the package with most unread files.
            others = sorted((p for p in self.unread_by_pkg if p != pkg_index),
                            key=lambda p: (-self.unread_by_pkg[p], p))
            for other in others[:3]:
                attempt = self._plan_files(other, size, n_clusters)
                if sum(len(f) for _, f in attempt) > sum(len(f) for _, f in chosen):
                    chosen, pkg_index = attempt, other
                if sum(len(f) for _, f in chosen) >= min(size, 9):
                    break
            pkg = w.packages[pkg_index]
            self.previous_pkg = pkg_index
        planned = [fid for _, fids in chosen for fid in fids]
        tiers = {fid: self._tier(w.file(fid), pkg) for fid in planned}
        n_unread = min(rng.choice((0, 1, 1, 2, 2, 3)), len(planned) // 4)
        unread = set(rng.sample(planned, n_unread))
        deep_before = self.deep_total
        taken: dict[int, int] = {}
        for fid in planned:
            if fid not in unread:
                taken[fid] = DEEP if rng.random() < 0.85 else MEDIUM
        # Wandering: neighbours and other packages, plus re-reads.
        wander = ((DEEP, rng.gauss(5, 1.5)), (MEDIUM, rng.gauss(7, 2)), (SURFACE, rng.gauss(13, 4)),
                  (MENTIONED, rng.gauss(9, 3)))
        for rank, mean in wander:
            for _ in range(max(0, round(mean * f_))):
                if rank == MENTIONED:
                    pool = self.mentionable
                else:
                    other = pkg_index if rng.random() < 0.6 else rng.randrange(len(w.packages))
                    pool = self.readable_by_pkg.get(other) or self.readable_by_pkg[pkg_index]
                if not pool:
                    continue
                pick = self._random_from(pool, taken, rank)
                if pick is not None and pick not in unread:
                    taken[pick] = rank
        read_before = [fid for (_, fid) in self.history]
        for _ in range(max(0, round(rng.gauss(4, 2) * f_))):
            if read_before:
                fid = rng.choice(read_before)
                if fid not in taken and fid not in unread:
                    taken[fid] = rng.choice((DEEP, DEEP, MEDIUM, MEDIUM, SURFACE))
        for fid, rank in taken.items():
            f = w.file(fid)
            self.read_ids += 1
            notes = None
            if rank >= MEDIUM and rng.random() < 0.4:
                notes = rng.choice(("Traced {c} end to end", "Skimmed tests for {c}",
                                    "Algorithm verified for {c}",
                                    "Re-read after R{p} contradiction", "Only the public API of {c}")).format(
                    c=_concept(f.stem), p=max(1, s.id - rng.randint(1, 9)))
            read = _Read(self.read_ids, fid, s.id, rank, _line_ranges(rng, f.loc, rank), notes)
            s.reads.append(read)
        for read in s.reads:
            f = w.file(read.file)
            if read.rank == DEEP and f.rank < DEEP:
                if rng.random() < 0.25:
                    a = rng.randint(20, 95)
                    f.notes = rng.choice(("{a}-{b}% real; see R{s}", "Facade over {c}; tests echo fixtures",
                                          "Genuine {c}, {a}% covered by tests", "Read in full by R{s}")).format(
                        a=a, b=min(100, a + rng.randint(3, 8)), s=s.id, c=_concept(f.stem))
                self.deep_total += 1
                self.deep_by_module[(f.pkg, f.module)] += 1
                self.deep_by_pkg[f.pkg].append(f.id)
            if read.rank >= MEDIUM > f.rank and (f.pkg, f.directory) in self.unread_by_dir \
                    and f.id in self.eligible_set:
                self.unread_by_dir[(f.pkg, f.directory)] -= 1
                self.unread_by_pkg[f.pkg] -= 1
            if read.rank > f.rank:
                f.rank = read.rank
            if read.ranges:
                f.lines_read = max(f.lines_read or 0, read.lines)
                f.last_session = s.id
            elif f.lines_read is None:
                f.lines_read = 0
            if read.rank >= MEDIUM and read.file in tiers:
                self.history.append((s.id, read.file))
        if s.planned and len(planned) >= 3:
            s.plan = self._plan(s, pkg_index, chosen, tiers, unread, deep_before)
            s.focus = s.plan.focus
        else:
            s.focus = rng.choice((
                "Inventory of {pkg}", "Swarm coverage sweep of {pkg} {mod}",
                "Verification of open findings in {pkg}",
                "Follow-up reads in {pkg} {mod}", "Triage of CRITICAL items in {pkg}")).format(
                pkg=pkg.name, mod=rng.choice(_MODULES))

    # -- the plan text (all wording drawn now, rendered later)

    def _plan(self, s: _Session, pkg_index: int, chosen: list[tuple[str, list[int]]], tiers: dict[int, str],
              unread: set[int], deep_before: int) -> _Plan:
        rng, w = self.rng, self.w
        pkg = w.packages[pkg_index]
        others = [p.name for p in w.packages if p.id != pkg.id and p.kind != "docs"]
        clusters: list[_Cluster] = []
        used_names: set[str] = set()
        for i, (directory, fids) in enumerate(chosen):
            last = directory.rsplit("/", 1)[-1]
            crate = re.match(r"^(crates/[^/]+/)", directory)
            base = crate.group(1) if crate else ""
            word = last if last not in ("src", "lib", "bin") else \
                (directory.split("/")[1] if crate else pkg.name)
            name = f"{_title(word)} {rng.choice(_CLUSTER_NOUNS)}"
            while name in used_names:
                name = f"{_title(word)} {rng.choice(_CLUSTER_NOUNS)}"
            used_names.add(name)
            deep_here = self.deep_by_module[(pkg_index, w.file(fids[0]).module)]
            description = rng.choice((
                "{n} files under {d}/; {k} neighbours already DEEP.",
                "The biggest gap in {d}: {n} files, none characterised yet.",
                "Connected to the DEEP core through recorded call edges; {n} files.",
                "{n} files that decide whether {c} is real or a facade.")).format(
                n=len(fids), d=directory, k=deep_here, c=_concept(word))
            pfiles = []
            for fid in fids:
                f = w.file(fid)
                concept = _concept(f.stem)
                if tiers[fid] == "CONNECTED":
                    context = f"CONNECTED \u2014 called from a DEEP {pkg.name} file"
                else:
                    context = f"{_title(concept)} \u2014 {rng.choice(_CONTEXT_Q)}"
                q = [rng.choice(_QUESTIONS)]
                if rng.random() < 0.4:
                    q.append(rng.choice(_QUESTIONS))
                other = others or [pkg.name]
                question = " ".join(dict.fromkeys(
                    x.format(concept=concept, other=rng.choice(other)) for x in q))
                pfiles.append(_PlanFile(fid, tiers[fid], context, question, fid not in unread))
            clusters.append(_Cluster("ABCD"[i], name, description, base, pfiles))
        all_files = [pf.file for c in clusters for pf in c.files]
        loc = sum(w.file(fid).loc or 0 for fid in all_files)
        pkg_total = sum(1 for f in w.files if f.pkg == pkg_index)
        pkg_deep = len(self.deep_by_pkg.get(pkg_index, []))
        names = ", ".join(c.name.lower() for c in clusters)
        focus = f"Deep-read {len(all_files)} {pkg.name} files (~{loc:,} LOC) \u2014 {names}."
        strategic = (f"{pkg.name} has {pkg_deep}/{pkg_total} files DEEP. {clusters[0].name} is the biggest "
                     f"remaining gap; these files decide whether {clusters[0].name.split()[0].lower()} "
                     f"is production code or scaffolding.")
        earlier = [(sid, fid) for sid, fid in self.history if w.file(fid).pkg == pkg_index and sid < s.id]
        if earlier:
            sid, fid = rng.choice(earlier)
            a = rng.randint(40, 90)
            strategic += f" R{sid} found {w.file(fid).basename} at {a}-{a + rng.randint(3, 8)}% real."
        rationale = [
            f"{pkg.description}. Only {pkg_deep} of {pkg_total} files have DEEP reads; the clusters below "
            f"are the densest unread directories ({', '.join(d for d, _ in chosen)}).",
            rng.choice((
                "The template and factory files decide whether the subsystem is configurable or hardcoded.",
                "Earlier sessions found facades next to genuine code; these files settle which side wins.",
                "The bindings decide interop quality; the internals decide whether the numbers are real.",
                "Recorded dependency edges point into these files from DEEP code: they are load-bearing.")),
        ]
        verdicts = ("real or scaffold", "quality assessed", "gaps listed", "integration mapped")
        outcomes = [f"{c.name} characterised \u2014 {rng.choice(verdicts)}" for c in clusters]
        outcomes.append(f"DEEP count: ~{deep_before:,} \u2192 ~{deep_before + len(all_files):,}")
        lo = max(5, round(len(all_files) * 4.5))
        outcomes.append(f"New findings: ~{lo}-{lo + round(len(all_files) * 2)} expected across {loc:,} LOC")
        word = clusters[0].name.split()[0]
        title = f"{word} {rng.choice(_TITLE_SUFFIXES)}" if rng.random() < 0.6 else \
            f"{_title(pkg.name)} {word} {rng.choice(_TITLE_SUFFIXES)}"
        return _Plan(s.id, title, focus, strategic, rationale, clusters, outcomes, pkg_index)


# --------------------------------------------------------------------------- findings


def _category_vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    combos = [f"{a}-{b}" for a in _CAT_ADJ for b in _CAT_NOUN]
    rng.shuffle(combos)
    vocab = [c.replace("~", " ") for c in _CORE_CATEGORIES] + combos[:270]
    weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(vocab))]
    return vocab, weights


def _family(category: str) -> str:
    low = category.lower()
    for family, keys in _FAMILY_KEYS:
        if any(k in low for k in keys):
            return family
    return "quality"


_SEVERITY_WEIGHTS = (("CRITICAL", 11), ("HIGH", 29), ("MEDIUM", 33), ("LOW", 7), ("INFO", 20))
_SEVERITY_ODD = {"CRITICAL": ("SEVERE", "Crit"), "HIGH": ("Hi", "Major"), "MEDIUM": ("Med", "Moderate"),
                 "LOW": ("minor", "Lo"), "INFO": ("note", "Informational")}
#: Spellings present at every scale (some findings of every severity and variant).
REQUIRED_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "High", "high", "Critical", "info",
                       "Medium", "SEVERE", "unclear")
_REQUIRED_CANONICAL = {"SEVERE": "CRITICAL", "unclear": "UNKNOWN"}


def _severity(rng: random.Random) -> tuple[str, str]:
    canonical = _weighted(rng, _SEVERITY_WEIGHTS)
    r = rng.random()
    if r < 0.86:
        return canonical, canonical
    if r < 0.93:
        return canonical, canonical.title()
    if r < 0.985:
        return canonical, canonical.lower()
    if r < 0.998:
        return canonical, rng.choice(_SEVERITY_ODD[canonical])
    return "UNKNOWN", rng.choice(("unclear", "P2", "?"))


def _description(rng: random.Random, world: _World, f: _File, category: str) -> str:
    algo, detail = rng.choice(_ALGOS)
    stem = f.stem
    others = [p.name for p in world.packages if p.id - 1 != f.pkg] or [world.packages[0].name]
    a = rng.randint(30, 90)
    fields = {
        "concept": _concept(stem), "Concept": _concept(stem)[:1].upper() + _concept(stem)[1:],
        "func": f"{rng.choice(_VERBS)}_{stem}" if rng.random() < 0.5 else _lower_camel(stem),
        "func2": f"{rng.choice(_VERBS)}_{rng.choice(_STEMS)}", "value": rng.choice(_VALUES),
        "unit": rng.choice(_UNITS), "input": rng.choice(_INPUTS), "mechanism": rng.choice(_MECHANISMS),
        "algo": algo, "detail": detail, "cond": rng.choice(_CONDS), "pkg": rng.choice(others),
        "other": _concept(rng.choice(_STEMS)), "n": rng.choice((3, 4, 7, 12, 40, 120, 250, 1024)),
        "a": a, "b": a + rng.randint(3, 8),
    }
    text_ = rng.choice(_DESCRIPTIONS[_family(category)]).format(**fields)
    if rng.random() < 0.3:
        text_ = f"{f.basename}: {text_}"
    if rng.random() < 0.25:
        text_ += rng.choice((". Confirmed by reading the tests.", ". Contradicts the README claims.",
                             f" (lines read in full, {rng.randint(2, 9)} call sites).",
                             ". Same pattern as the sibling module."))
    return text_


def _finding_lines(rng: random.Random, f: _File,
                   ranges: Sequence[tuple[int, int]]) -> tuple[int | None, int | None]:
    if rng.random() < 0.04 or f.loc is None:
        return None, None
    a, b = rng.choice(ranges) if ranges else (1, max(1, min(f.loc, 60)))
    start = rng.randint(a, b)
    return start, min(b, start + rng.choice((0, 0, 2, 5, 10, 20, 40)))


def _make_findings(world: _World) -> None:
    rng = world.rng
    vocab, weights = _category_vocabulary(rng)
    n_total = _count("findings", world.scale)
    n_null = max(1, round(0.004 * n_total))
    sessions = world.sessions
    mass = [sum(_READ_WEIGHT[r.rank] for r in s.reads) for s in sessions]
    total_mass = sum(mass) or 1.0
    raw = [(n_total - n_null) * m / total_mass for m in mass]
    quotas = [int(x) for x in raw]
    short = (n_total - n_null) - sum(quotas)  # largest remainders get the rounding leftovers
    for i in sorted(range(len(raw)), key=lambda i: (quotas[i] - raw[i], i))[:short]:
        quotas[i] += 1

    def make(f: _File, session: int | None, ranges: Sequence[tuple[int, int]]) -> _Finding:
        canonical, spelled = _severity(rng)
        category = rng.choices(vocab, weights=weights)[0]
        start, end = _finding_lines(rng, f, ranges)
        return _Finding(f.id, session, start, end, canonical, spelled, category,
                        _description(rng, world, f, category))

    out: list[_Finding] = []
    carry = 0
    for s, quota in zip(sessions, quotas, strict=True):
        quota += carry
        reads = [r for r in s.reads if _READ_WEIGHT[r.rank] > 0]
        if not reads:
            carry = quota
            continue
        carry = 0
        planned_read = {pf.file for c in s.plan.clusters for pf in c.files if pf.read} if s.plan else set()
        chosen = [r for r in reads if r.file in planned_read][:quota]
        extra = quota - len(chosen)
        if extra > 0:
            chosen += rng.choices(reads, weights=[_READ_WEIGHT[r.rank] for r in reads], k=extra)
        order = {r.id: i for i, r in enumerate(s.reads)}
        batch = [(order[r.id], make(world.file(r.file), s.id, r.ranges)) for r in chosen]
        batch.sort(key=lambda x: (x[0], x[1].line_start or 0))
        out.extend(fd for _, fd in batch)
    read_files = [f for f in world.files if f.rank >= MEDIUM] or [f for f in world.files if not f.excluded]
    for _ in range(n_null + carry):
        f = rng.choice(read_files)
        out.insert(rng.randint(0, len(out)), make(f, None, [(1, f.loc)] if f.loc else []))
    for spelled, index in zip(REQUIRED_SEVERITIES, rng.sample(range(len(out)), len(REQUIRED_SEVERITIES)),
                              strict=True):
        out[index].severity = spelled
        out[index].canonical = _REQUIRED_CANONICAL.get(spelled, spelled.upper())
    for fd in out:
        p = 0.4 if fd.canonical in ("CRITICAL", "HIGH") else 0.3 if fd.canonical == "MEDIUM" else 0.2
        fd.followed_up = 1 if rng.random() < p else 0
        fd.reviewer = rng.choice(_REVIEWERS) if rng.random() < 0.3 else None
    for i, fd in enumerate(out, start=1):
        fd.id = i
    world.findings = out


# --------------------------------------------------------------------------- edges, crates


def _evidence(rng: random.Random, relationship: str, src: _File, dst: _File, world: _World) -> str:
    typ = _camel(dst.stem)
    return {
        "imports": rng.choice((f"use crate::{dst.stem}::{typ};", f"import {{ {typ} }} from './{dst.stem}'",
                               f"from {dst.stem} import {typ}")),
        "calls": f"{_lower_camel(src.stem)}() calls {dst.stem}() (line {rng.randint(5, 900)})",
        "triggers": f"emits '{dst.stem}:ready' consumed by the {_concept(dst.stem)} handler",
        "reads": f"opens {dst.basename} read-only at startup",
        "writes": f"writes snapshots through {dst.basename}",
        "bridges": f"NAPI export wraps {_concept(dst.stem)} from {world.packages[dst.pkg].name}",
        "generates": f"build step regenerates {dst.basename}",
        "bundles": f"copied into {world.packages[src.pkg].name}/dist at build time",
    }[relationship]


def _make_dependencies(world: _World) -> None:
    rng = world.rng
    by_dir: dict[tuple[int, str], list[int]] = defaultdict(list)
    by_pkg: dict[int, list[int]] = defaultdict(list)
    for f in world.files:
        if not f.excluded and not f.hostile:
            by_dir[(f.pkg, f.directory)].append(f.id)
            by_pkg[f.pkg].append(f.id)
    pkgs = sorted(by_pkg)
    seen: set[tuple[int, int, str]] = set()

    def add(src: int, dst: int, relationship: str, verified: int) -> None:
        key = (src, dst, relationship)
        if src == dst or key in seen:
            return
        seen.add(key)
        world.dependencies.append({
            "id": len(world.dependencies) + 1, "source_file_id": src, "target_file_id": dst,
            "relationship": relationship,
            "evidence": _evidence(rng, relationship, world.file(src), world.file(dst), world),
            "verified": verified})

    for f in world.files:
        if f.rank < SURFACE or f.excluded:
            continue
        degree = rng.randint(1, 4) if f.rank == DEEP else rng.randint(0, 3) if f.rank == MEDIUM else \
            (1 if rng.random() < 0.3 else 0)
        for _ in range(degree):
            r = rng.random()
            if r < 0.68:
                pool = by_dir[(f.pkg, f.directory)]
            elif r < 0.94:
                pool = by_pkg[f.pkg]
            else:
                pool = by_pkg[rng.choice(pkgs)]
            dst = rng.choice(pool)
            cross = world.file(dst).pkg != f.pkg
            relationship = rng.choice(("bridges", "calls", "bundles")) if cross else \
                _weighted(rng, _RELATIONSHIPS)
            add(f.id, dst, relationship, 1 if rng.random() < (0.65 if f.rank == DEEP else 0.35) else 0)
    for src, dst in world.pending_edges:
        add(src, dst, "calls", 1)


_PKG_EDGE_NOTES: dict[str, tuple[str | None, ...]] = {
    "bundles-copy": (None, "vendored copy, drifted", "copied at build time"),
    "npm-dependency": (None, "declared in package.json", "runtime require() only"),
    "bridges-to": (None, "optional native addon", "NAPI bindings"),
    "patches": (None, "monkey-patches at import time", "postinstall patch"),
    "optional": (None, "peer dependency", "feature-gated"),
}


def _make_package_edges(world: _World) -> None:
    rng = world.rng
    pairs: dict[tuple[int, int], str] = {}
    for src, dst in world.copies:
        pairs[(src, dst)] = "bundles-copy"
    cross: dict[tuple[int, int], int] = defaultdict(int)
    for d in world.dependencies:
        a = world.file(int(str(d["source_file_id"]))).pkg
        b = world.file(int(str(d["target_file_id"]))).pkg
        if a != b:
            cross[(a, b)] += 1
    for (a, b), _ in sorted(cross.items(), key=lambda kv: (-kv[1], kv[0])):
        if (a, b) in pairs:
            continue
        ka, kb = world.packages[a].kind, world.packages[b].kind
        pairs[(a, b)] = "bridges-to" if kb == "rust" and ka != "rust" else \
            "npm-dependency" if ka in ("ts", "js") and kb in ("ts", "js") else \
            rng.choice(("patches", "optional"))
        if len(pairs) >= len(world.packages) * 2:
            break
    for (a, b), relationship in pairs.items():
        world.package_dependencies.append({
            "id": len(world.package_dependencies) + 1, "source_package_id": a + 1, "target_package_id": b + 1,
            "relationship": relationship, "notes": rng.choice(_PKG_EDGE_NOTES[relationship])})


def _make_crates(world: _World) -> None:
    rng = world.rng
    for pkg in world.packages:
        ids: list[int] = []
        for name in pkg.crates:
            cid = len(world.crates) + 1
            ids.append(cid)
            world.crates.append({"id": cid, "name": name, "package_id": pkg.id, "path": f"crates/{name}",
                                 "version": f"0.{rng.randint(1, 9)}.{rng.randint(0, 20)}"})
            for dep in rng.sample(ids[:-1], min(len(ids) - 1, rng.randint(0, 3))):
                world.crate_dependencies.append({
                    "id": len(world.crate_dependencies) + 1, "source_crate_id": cid, "target_crate_id": dep,
                    "kind": rng.choice(("normal", "normal", "normal", "dev", "build"))})
            if name in ("wasm", "node") or rng.random() < 0.2:
                kind = "wasm" if name == "wasm" or rng.random() < 0.5 else "napi"
                path = f"crates/{name}/pkg/{name.replace('-', '_')}_bg.wasm" if kind == "wasm" else \
                    f"crates/{name}/{name}.linux-x64-gnu.node"
                world.artifacts.append({"id": len(world.artifacts) + 1, "crate_id": cid, "path": path,
                                        "kind": kind})


# --------------------------------------------------------------------------- kbgen's own rows


def _stamp(day: date, rng: random.Random) -> str:
    return f"{day.isoformat()}T{rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}:00+00:00"


def _make_answers(world: _World) -> None:
    """Explicit answer links: ~2% of same-session pairs, plus later sessions answering open questions."""
    rng = world.rng
    by_file_session: dict[tuple[int, int | None], list[_Finding]] = defaultdict(list)
    by_file: dict[int, list[_Finding]] = defaultdict(list)
    for fd in world.findings:
        by_file_session[(fd.file, fd.session)].append(fd)
        by_file[fd.file].append(fd)
    days = {s.id: s.day for s in world.sessions}
    pairs: list[tuple[str, _Finding, bool]] = []
    candidates: list[tuple[str, _Finding]] = []
    for s in world.sessions:
        if s.plan is None:
            continue
        for c in s.plan.clusters:
            for pf in c.files:
                qid = f"Q{s.id}-{pf.file}"
                if pf.read:
                    candidates += [(qid, fd) for fd in by_file_session.get((pf.file, s.id), [])]
                else:
                    later = [fd for fd in by_file.get(pf.file, [])
                             if fd.session is not None and fd.session > s.id]
                    if later and rng.random() < 0.5:
                        pairs.append((qid, later[0], True))
    picked = [c for c in candidates if rng.random() < 0.02]
    if len(picked) < 3 and candidates:
        picked = rng.sample(candidates, min(3, len(candidates)))
    pairs += [(q, fd, False) for q, fd in picked]
    seen: set[tuple[str, int]] = set()
    for qid, fd, cross in sorted(pairs, key=lambda p: (p[0], p[1].id)):
        if (qid, fd.id) in seen:
            continue
        seen.add((qid, fd.id))
        note = (f"Answered later by R{fd.session}" if cross else
                rng.choice((None, None, "Direct answer", "Partly: covers the main path only",
                            "Confirmed by the tests")))
        world.answers.append({"question_id": qid, "finding_id": fd.id,
                              "partial": 1 if rng.random() < 0.25 else 0, "note": note,
                              "created_at": _stamp(days[fd.session or 1], rng)})


def _make_statuses(world: _World) -> None:
    """Supersessions (a later finding on the same file corrects an earlier one) and resolutions."""
    rng = world.rng
    days = {s.id: s.day for s in world.sessions}
    last = world.sessions[-1].id
    by_file: dict[int, list[_Finding]] = defaultdict(list)
    for fd in world.findings:
        by_file[fd.file].append(fd)
    superseded: list[Row] = []
    resolved: list[Row] = []
    for fd in world.findings:
        later = [x for x in by_file[fd.file]
                 if x.id > fd.id and x.session is not None and (fd.session is None or x.session > fd.session)]
        if later and rng.random() < 0.06:
            by = later[0] if rng.random() < 0.7 else rng.choice(later)
            assert by.session is not None
            superseded.append({
                "finding_id": fd.id, "status": "superseded", "session_id": by.session, "superseded_by": by.id,
                "reason": rng.choice((f"R{by.session} re-read corrects the line range",
                                      "Re-assessed after reading the tests: not a facade",
                                      f"Severity revised by R{by.session}",
                                      "Duplicate of a later, fuller finding")),
                "updated_at": _stamp(days[by.session], rng)})
        elif (fd.session or 0) < last and rng.random() < 0.025:
            sid = rng.randint((fd.session or 0) + 1, last)
            resolved.append({
                "finding_id": fd.id, "status": "resolved", "session_id": sid, "superseded_by": None,
                "reason": rng.choice((None, f"Fixed upstream in v{rng.randint(1, 3)}.{rng.randint(0, 9)}.1",
                                      f"Verified fixed in R{sid}", "Code path removed")),
                "updated_at": _stamp(days[sid], rng)})
    if not superseded or not resolved:  # tiny scales: at least one of each when possible
        done = {int(str(r["finding_id"])) for r in superseded + resolved}
        for fd in world.findings:
            later = [x for x in by_file[fd.file] if x.id > fd.id and x.session is not None
                     and (fd.session is None or x.session > fd.session)]
            if fd.id in done:
                continue
            if not superseded and later:
                by = later[0]
                assert by.session is not None
                superseded.append({"finding_id": fd.id, "status": "superseded", "session_id": by.session,
                                   "superseded_by": by.id, "reason": "Duplicate of a later, fuller finding",
                                   "updated_at": _stamp(days[by.session], rng)})
                done.add(fd.id)
            elif not resolved and fd.session is not None and fd.session < last:
                resolved.append({"finding_id": fd.id, "status": "resolved", "session_id": last,
                                 "superseded_by": None, "reason": f"Verified fixed in R{last}",
                                 "updated_at": _stamp(days[last], rng)})
                done.add(fd.id)
    world.statuses = sorted(superseded + resolved, key=lambda r: int(str(r["finding_id"])))


# --------------------------------------------------------------------------- scope changes


def _descope(world: _World, seed: int) -> None:
    """Take a few modules out of scope after sessions read them: their files' depth becomes EXCLUDED.

    Real campaigns exclude subtrees they had already started on (a vendored
    copy, a deprecated package): the files keep their LOC, domain tags,
    reads, findings and dependency edges; only ``files.depth`` says
    ``EXCLUDED``. kbgen must leave all of that out of its figures and still
    show the pages, so the generated database has to carry it. Drawn from its
    own generator, like the hostile corpus, so no other value changes.
    """
    rng = random.Random(seed * 1_000_003 + 29)
    found = {fd.file for fd in world.findings}  # modules with a read, a finding, a tag and an edge
    modules: dict[tuple[int, str], list[_File]] = defaultdict(list)
    for f in world.files:
        if not f.excluded and not f.hostile:
            modules[(f.pkg, f.module)].append(f)
    linked = {int(str(d[end])) for d in world.dependencies for end in ("source_file_id", "target_file_id")}
    candidates = sorted(key for key, files in modules.items()
                        if any(f.rank >= MEDIUM and f.id in found and f.id in world.file_domains for f in files)
                        and any(f.id in linked for f in files))
    rng.shuffle(candidates)
    wanted = max(2, round(len(candidates) * 0.02))
    budget = max(8, round(len(world.files) * 0.015))  # small modules at tiny scales are still big shares
    chosen = [key for key in candidates if len(modules[key]) <= budget][:wanted]
    while sum(len(modules[k]) for k in chosen) > budget and len(chosen) > 1:
        chosen.pop()
    if not chosen and candidates:
        chosen = [min(candidates, key=lambda k: (len(modules[k]), k))]
    for key in chosen:
        for f in modules[key]:
            f.rank = EXCLUDED
            f.excluded = True
            f.descoped = True


# --------------------------------------------------------------------------- the hostile corpus


def _long_token(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "sha512-" + "".join(rng.choice(alphabet) for _ in range(rng.randint(5_000, 10_000)))


def _hostile_text(rng: random.Random, snippets: Iterable[str]) -> str:
    return "\n".join(_long_token(rng) if s == "\0LONG" else s for s in snippets)


def _apply_hostile(world: _World, seed: int) -> None:
    """~1% of descriptions and a few cells of every text kind get hostile text; a few paths too.

    Drawn from its own generator and applied last (new rows get the highest
    ids), so ``hostile=False`` changes nothing else in the database.
    """
    rng = random.Random(seed * 1_000_003 + 17)
    count = 0
    # Paths that are hostile themselves (never planned, never read).
    for i, path in enumerate(_HOSTILE_PATHS):
        pkg = i % len(world.packages)
        f = _File(len(world.files) + 1, pkg, path, rng.randint(10, 400), "docs", path.rsplit("/", 1)[0],
                  "/".join(path.split("/")[:2]), hostile=True)
        world.files.append(f)
        world.file_domains[f.id] = [int(str(world.domains[0]["id"]))]
        count += 1
    target = world.files[-2]
    world.findings.append(_Finding(target.id, None, 1, 3, "HIGH", "HIGH", "<b>Integration Point</b>",
                                   _hostile_text(rng, ["Hostile file name", _HOSTILE_SNIPPETS[0], "\0LONG"]),
                                   0, None, len(world.findings) + 1))
    # Finding descriptions: every snippet kind at least once, ~1% of findings.
    k = max(4, round(0.01 * len(world.findings)))
    chosen = rng.sample(world.findings[:-1], min(k, len(world.findings) - 1))
    buckets: list[list[str]] = [[] for _ in chosen]
    order = list(_HOSTILE_SNIPPETS)
    rng.shuffle(order)
    for i in range(max(len(order), len(chosen))):
        buckets[i % len(chosen)].append(order[i % len(order)])
    for fd, snippets in zip(chosen, buckets, strict=True):
        fd.description = fd.description + " " + _hostile_text(rng, snippets)
        count += 1

    def pick(n: int, seq: Sequence[object]) -> list[int]:
        return rng.sample(range(len(seq)), min(n, len(seq)))

    read_files = [f for f in world.files if f.rank >= SURFACE]
    for i in pick(3, read_files):
        read_files[i].notes = _hostile_text(rng, rng.sample(_HOSTILE_SNIPPETS[:-1], 2))
        count += 1
    for i in pick(2, world.sessions):
        world.sessions[i].notes = _hostile_text(rng, rng.sample(_HOSTILE_SNIPPETS, 2))
        count += 1
    reads = [r for s in world.sessions for r in s.reads]
    for i in pick(3, reads):
        reads[i].notes = _hostile_text(rng, rng.sample(_HOSTILE_SNIPPETS[:-1], 2))
        count += 1
    for i in pick(2, world.dependencies):
        world.dependencies[i]["evidence"] = _hostile_text(rng, rng.sample(_HOSTILE_SNIPPETS[:-1], 2))
        count += 1
    world.packages[min(1, len(world.packages) - 1)].description += " " + _HOSTILE_SNIPPETS[0] + " | pipe"
    world.domains[min(1, len(world.domains) - 1)]["description"] = (
        str(world.domains[min(1, len(world.domains) - 1)]["description"]) + " " + _HOSTILE_SNIPPETS[3])
    world.exclude_paths[0]["reason"] = str(world.exclude_paths[0]["reason"]) + " `{eval-rst}` | <i>x</i>"
    count += 3
    for rows in (world.answers, world.statuses):
        if rows:
            rows[rng.randrange(len(rows))]["note" if rows is world.answers else "reason"] = \
                _hostile_text(rng, rng.sample(_HOSTILE_SNIPPETS[:-1], 2))
            count += 1
    world.hostile_cells = count


# --------------------------------------------------------------------------- plans (markdown)


def _repo(world: _World, f: _File) -> str:
    return f"~/repos/{world.packages[f.pkg].name}/"


_CLUSTER_LEVEL_QUESTIONS = (
    "Taken together, is the {name} real code or a facade over fixtures?",
    "Does anything in the {name} get called from production paths?",
    "Which of these files decides the {name}'s error handling?",
    "Is the {name} covered by tests that exercise real data?",
    "Do the {name} files agree on one data format, or convert back and forth?",
)
_REALNESS = ("85-90%", "70-80%", "60-70%", "40-50%", "20-30%", "5-10%")
_VERDICT_NOTES = ("Genuine logic, unit-tested", "Facade: returns fixtures", "Real, but unreachable from the API",
                  "Half implemented; TODOs on the error paths", "Thin re-export", "Real algorithm, no tests")


@dataclass(frozen=True)
class _Drift:
    """How one plan departs from the template, as real campaigns' plans do (decided per plan).

    Drawn from a generator of its own (seed + session), so the database rows never depend on it.
    """

    dashed: dict[int, str]
    """File id → the "not yet known" mark written in its File ID cell (new since the inventory)."""
    new_file: tuple[str, int] | None
    """A planned file the inventory does not have at all: (path in the last cluster's table, LOC)."""
    shortened: dict[int, str]
    """File id → the shortened path its question names it by (a middle folder or the src/ dropped)."""
    cluster_questions: dict[str, tuple[str, ...]]
    """Cluster letter → questions about the cluster as a whole (they name no file)."""
    outside: str | None
    """A question naming a file outside the plan (it stays unbound, with a warning)."""
    results: bool
    """Written after the session: a Results section with verdict tables (no File ID column)."""
    files_read: bool
    """The outcomes also state how many files will be read."""
    dated: bool
    """No session number anywhere: imported with ``plan import --session``."""


def _shorten(rng: random.Random, table_path: str, base: str) -> str | None:
    """A shortened way to name a file: a middle folder left out, or the crate folder plus the file name."""
    parts = table_path.split("/")
    crate = base.rstrip("/").rsplit("/", 1)[-1] if base else ""
    options = []
    if len(parts) >= 3:
        drop = rng.randrange(1, len(parts) - 1)  # never the first folder alone: that would be a plain suffix
        options.append("/".join(parts[:drop] + parts[drop + 1:]))
    if crate and len(parts) >= 2:
        options.append(f"{crate}/{parts[-1]}")
    return rng.choice(options) if options else None


def _drift(world: _World, plan: _Plan, answered: set[int], dated: bool) -> _Drift:
    rng = random.Random(f"plan-drift:{world.seed}:{plan.session}")
    files = [(c, pf) for c in plan.clusters for pf in c.files]
    dashed: dict[int, str] = {}
    if rng.random() < 0.12:
        free = [pf.file for _, pf in files if pf.file not in answered]
        for fid in rng.sample(free, min(len(free), rng.choice((1, 1, 2)))):
            dashed[fid] = rng.choice(("\u2014", "\u2014", "-", "?", "TBD", ""))
    new_file = None
    if rng.random() < 0.06:
        last = plan.clusters[-1]
        sample = world.file(last.files[-1].file)
        table_path = sample.path[len(last.base):]
        folder, _, name = table_path.rpartition("/")
        stem, dot, ext = name.partition(".")
        new_file = ((folder + "/" if folder else "") + f"{stem}_v2{dot}{ext}", rng.randint(80, 400))
    shortened: dict[int, str] = {}
    for c, pf in files:
        if rng.random() < 0.14:
            short = _shorten(rng, world.file(pf.file).path[len(c.base):], c.base)
            if short is not None:
                shortened[pf.file] = short
    cluster_questions: dict[str, tuple[str, ...]] = {}
    for c in plan.clusters:
        count = (rng.random() < 0.7) + (rng.random() < 0.35)
        picked = rng.sample(_CLUSTER_LEVEL_QUESTIONS, count)
        if picked:
            cluster_questions[c.letter] = tuple(q.format(name=c.name.lower()) for q in picked)
    outside = None
    if rng.random() < 0.1:
        planned = {pf.file for _, pf in files}
        same = [f for f in world.files if f.pkg == plan.package and f.id not in planned and f.loc]
        if same:
            other = rng.choice(same)
            outside = (f"Does the {plan.clusters[0].name.lower()} report to `{other.path}` "
                       f"({other.loc} LOC, not in this session)?")
    return _Drift(dashed=dashed, new_file=new_file, shortened=shortened, cluster_questions=cluster_questions,
                  outside=outside, results=rng.random() < 0.07, files_read=rng.random() < 0.3, dated=dated)


def plan_file_name(plan: _Plan, day: date, drift: _Drift) -> str:
    """``R57-plan.md``; a plan without a session number is named by its date, as such plans are."""
    return f"plan-{day.isoformat()}-{plan.title.lower().replace(' ', '-')}.md" if drift.dated \
        else f"R{plan.session}-plan.md"


def _render_plan(world: _World, plan: _Plan, day: date, cross_deps: dict[int, int],
                 drift: _Drift | None = None) -> str:
    """One execution plan in the canonical layout of docs/reference/plans.md (the R95 seed plan), with the
    drift real plans show."""
    drift = drift or _Drift({}, None, {}, {}, None, False, False, False)
    pkg = world.packages[plan.package]
    files = [(c, pf, world.file(pf.file)) for c in plan.clusters for pf in c.files]
    extra_loc = drift.new_file[1] if drift.new_file else 0
    total_loc = sum(f.loc or 0 for _, _, f in files) + extra_loc
    total_files = len(files) + (1 if drift.new_file else 0)
    if drift.dated:
        out = [f"# Execution Plan: {plan.title}", "", f"**Date**: {day.isoformat()}"]
    else:
        out = [f"# R{plan.session} Execution Plan: {plan.title}", "",
               f"**Date**: {day.isoformat()}", f"**Session ID**: {plan.session}"]
    out += [f"**Focus**: {plan.focus}", f"**Strategic value**: {plan.strategic}", "", "## Rationale", ""]
    for para in plan.rationale:
        out += [para, ""]
    out += [f"## Target: {total_files} files, ~{total_loc:,} LOC", "", "---", ""]
    number = 0
    for c in plan.clusters:
        rows = [(pf, world.file(pf.file)) for pf in c.files]
        new_here = drift.new_file if drift.new_file and c is plan.clusters[-1] else None
        loc = sum(f.loc or 0 for _, f in rows) + (new_here[1] if new_here else 0)
        count = len(rows) + (1 if new_here else 0)
        out += [f"### Cluster {c.letter}: {c.name} ({count} files, ~{loc:,} LOC)", "", c.description, "",
                "| # | File ID | File | LOC | Context |", "|---|---------|------|-----|---------|"]
        first = number + 1
        for pf, f in rows:
            number += 1
            shown_id = drift.dashed.get(f.id, str(f.id))
            out.append(f"| {number} | {shown_id} | `{f.path[len(c.base):]}` | {f.loc} | {pf.context} |")
        paths = [f.path[len(c.base):] for _, f in rows]
        if new_here:
            number += 1
            out.append(f"| {number} | \u2014 | `{new_here[0]}` | {new_here[1]} | New since the inventory |")
            paths.append(new_here[0])
        out += ["", f"**Full paths** (all under `{_repo(world, rows[0][1])}{c.base}`):"]
        out += [f"{first + i}. `{path}`" for i, path in enumerate(paths)]
        out += ["", "**Key questions**:"]
        for pf, f in rows:
            name = drift.shortened.get(f.id, f.basename)
            out.append(f"- `{name}` ({f.loc} LOC): {pf.question}")
        if new_here:
            out.append(f"- `{new_here[0].rsplit('/', 1)[-1]}` ({new_here[1]} LOC): Does the rewrite keep the "
                       "old file's behaviour?")
        out += [f"- {question}" for question in drift.cluster_questions.get(c.letter, ())]
        if drift.outside and c is plan.clusters[0]:
            out.append(f"- {drift.outside}")
        out += ["", "---", ""]
    outcomes = list(plan.outcomes)
    if drift.files_read:
        outcomes.append(f"Files read: {len(files)}")
    out += ["## Expected Outcomes", ""]
    out += [f"{i}. {text_}" for i, text_ in enumerate(outcomes, start=1)]
    session_line = ("const sessionId = null; // assigned when the session starts" if drift.dated
                    else f"const sessionId = {plan.session};")
    out += ["", "## DB Update Template", "", "```javascript",
            f"const db = require('better-sqlite3')('{DB_TEMPLATE_PATH}');", session_line,
            "const today = new Date().toISOString().slice(0, 10);", "",
            "// File IDs for this session:"]
    out += [f"// {f.id}: {f.basename} ({f.loc} LOC) \u2014 {world.packages[f.pkg].name}, {pf.tier}"
            for _, pf, f in files if f.id not in drift.dashed]
    out += ["```", "", "## Domain Tags", ""]
    names = {int(str(d["id"])): str(d["name"]) for d in world.domains}
    tagged: dict[int, list[int]] = defaultdict(list)
    for _, _, f in files:
        if f.id in drift.dashed:
            continue
        for d in world.file_domains.get(f.id, []):
            tagged[d].append(f.id)
    tagged_files = len(files) - len(drift.dashed)
    shared = [d for d, ids in tagged.items() if len(ids) == tagged_files]
    if shared and not drift.dashed:
        out.append("- All files \u2192 " + ", ".join(f"`{names[d]}`" for d in sorted(shared)))
    else:
        shared = []
    for d, ids in sorted(tagged.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if d not in shared:
            out.append(f"- Files {_id_list(ids)} \u2192 `{names[d]}`")
    cross = cross_deps.get(plan.package, 0)
    tiers = sorted({pf.tier for _, pf, _ in files})
    primary = names[max(tagged, key=lambda d: (len(tagged[d]), -d))] if tagged else pkg.name
    out += ["", "## Isolation Check", "",
            f"All files are in {pkg.name} ({cross} total cross-deps, {', '.join(tiers)}). "
            "No isolation concerns.", "", "---", "",
            "## Synthesis Doc Update Protocol (ADR-040)", "",
            "**MANDATORY**: After all files are read and findings inserted into the DB, update the relevant "
            f"`domains/*/analysis.md` files following the ADR-040 in-place protocol. Reference: "
            f"`domains/{primary}/analysis.md` for canonical structure.", ""]
    if drift.results:
        out += _results_section(world, plan)
    return "\n".join(out)


def _results_section(world: _World, plan: _Plan) -> list[str]:
    """What a plan written after its session reports: a verdict table per cluster (no File ID column)."""
    rng = random.Random(f"plan-results:{world.seed}:{plan.session}")
    out = ["---", "", "## Results (retroactive: this plan was written after the session)", ""]
    for c in plan.clusters:
        read = [(pf, world.file(pf.file)) for pf in c.files if pf.read]
        if not read:
            continue
        out += [f"### Cluster {c.letter} Verdict: {rng.choice(('Mostly real', 'Mixed', 'Mostly facade'))}", "",
                "| File | LOC | Realness | Key Finding |", "|------|-----|----------|-------------|"]
        out += [f"| `{f.basename}` | {f.loc} | {rng.choice(_REALNESS)} | {rng.choice(_VERDICT_NOTES)} |"
                for _, f in read]
        out.append("")
    out += [f"{sum(len(c.files) for c in plan.clusters)} files planned; "
            f"{sum(1 for c in plan.clusters for pf in c.files if pf.read)} read.", ""]
    return out


# --------------------------------------------------------------------------- writing

_VIEWS_PORTABLE: tuple[tuple[str, str], ...] = (
    ("integration_hotspots", """
CREATE VIEW integration_hotspots AS
SELECT f.id AS file_id, p.name AS package, f.relative_path, f.depth, COUNT(fd.domain_id) AS domain_count
FROM files f
JOIN packages p ON p.id = f.package_id
JOIN file_domains fd ON fd.file_id = f.id
GROUP BY f.id, p.name, f.relative_path, f.depth
HAVING COUNT(fd.domain_id) >= 3"""),
    ("open_findings", """
CREATE VIEW open_findings AS
SELECT fi.id, fi.file_id, fi.session_id, fi.severity, fi.category, fi.description
FROM findings fi
WHERE UPPER(fi.severity) IN ('CRITICAL', 'HIGH') AND fi.followed_up = 0"""),
)
#: Written for a newer schema (``files.knowability_tier``): fails when queried. SQLite only.
BROKEN_VIEW = ("domain_coverage", """
CREATE VIEW domain_coverage AS
SELECT d.name AS domain, d.priority, f.file_type, f.knowability_tier, COUNT(f.id) AS files,
       SUM(CASE WHEN f.depth = 'DEEP' THEN 1 ELSE 0 END) AS deep_files
FROM domains d
JOIN file_domains fd ON fd.domain_id = d.id
JOIN files f ON f.id = fd.file_id
GROUP BY d.name, d.priority, f.file_type, f.knowability_tier""")
VIEW_NAMES = (*(name for name, _ in _VIEWS_PORTABLE), BROKEN_VIEW[0])
EXTRA_FINDINGS_COLUMN = "reviewer"


def _rows(world: _World) -> dict[str, list[Row]]:
    """Every table's rows, in id order, as dictionaries for executemany."""
    days = {s.id: s.day.isoformat() for s in world.sessions}
    pkg_files: dict[int, list[_File]] = defaultdict(list)
    for f in world.files:
        pkg_files[f.pkg].append(f)
    packages: list[Row] = []
    stale = len(world.packages) - 1
    for i, p in enumerate(world.packages):
        n, loc = len(pkg_files[i]), sum(f.loc or 0 for f in pkg_files[i])
        if i == stale:  # populated before the inventory script ran: zero totals
            n, loc = 0, 0
        elif i == 0:  # counted once, never updated
            n, loc = n - len(pkg_files[i]) // 10, loc - loc // 10
        packages.append({"id": p.id, "name": p.name, "base_path": f"~/repos/{p.name}",
                         "repo_url": f"https://git.example.invalid/research/{p.name}",
                         "description": p.description,
                         "total_files": n, "total_loc": loc,
                         "populated_at": None if i == stale else f"{FIRST_DAY.isoformat()}T09:{i:02d}:00"})
    files: list[Row] = [{"id": f.id, "package_id": f.pkg + 1, "relative_path": f.path, "loc": f.loc,
              "depth": DEPTH_NAMES[f.rank], "lines_read": f.lines_read,
              "last_read_date": days.get(f.last_session or 0), "notes": f.notes, "file_type": f.ftype,
              "knowability": None} for f in world.files]
    file_domains: list[Row] = [{"file_id": fid, "domain_id": d} for fid in sorted(world.file_domains)
                    for d in sorted(world.file_domains[fid])]
    sessions: list[Row] = [{"id": s.id, "name": s.name, "date": s.day.isoformat(), "focus": s.focus,
                 "agent_count": s.agent_count, "notes": s.notes} for s in world.sessions]
    reads: list[Row] = [{"id": r.id, "file_id": r.file, "session_id": r.session, "depth": DEPTH_NAMES[r.rank],
              "lines_read": r.lines, "line_ranges": _ranges_text(r.ranges), "notes": r.notes}
             for s in world.sessions for r in s.reads]
    findings: list[Row] = [{
                 "id": fd.id, "file_id": fd.file, "session_id": fd.session, "line_start": fd.line_start,
                 "line_end": fd.line_end, "severity": fd.severity, "category": fd.category,
                 "description": fd.description, "followed_up": fd.followed_up,
                 EXTRA_FINDINGS_COLUMN: fd.reviewer}
                for fd in world.findings]
    for row in world.exclude_paths:
        sid = row["added_session_id"]
        row["added_date"] = days.get(int(str(sid))) if sid is not None else None
    return {
        "packages": packages, "files": files, "domains": world.domains, "file_domains": file_domains,
        "sessions": sessions, "file_reads": reads, "findings": findings, "dependencies": world.dependencies,
        "package_dependencies": world.package_dependencies, "exclude_paths": world.exclude_paths,
        "crates": world.crates, "crate_dependencies": world.crate_dependencies, "artifacts": world.artifacts,
        "kbgen_answers": world.answers, "kbgen_finding_status": world.statuses,
    }


def _findings_table() -> Table:
    """``findings`` as the generated database has it: plus the unknown ``reviewer`` column."""
    table = research.findings.to_metadata(MetaData())
    table.append_column(Column(EXTRA_FINDINGS_COLUMN, Text))
    return table


def _tables() -> dict[str, Table]:
    out = {name: table for name, table in research.research_metadata.tables.items()}
    out["findings"] = _findings_table()
    out["kbgen_answers"] = kbtables.answers
    out["kbgen_finding_status"] = kbtables.finding_status
    return out


def _ensure_empty(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in ("packages", "files", "findings", "sessions"):
            count = select(sqlfunc.count()).select_from(research.research_metadata.tables[table])
            if table in names and conn.execute(count).scalar():
                raise DatabaseError(
                    f"the database already holds research rows (table {table})",
                    hint="generate into a new database; bench/generate.py --force replaces it")


def _write(engine: Engine, rows: dict[str, list[Row]]) -> None:
    init_research_db(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("findings")}
    tables = _tables()
    with engine.begin() as conn:
        if EXTRA_FINDINGS_COLUMN not in columns:
            conn.execute(text(f"ALTER TABLE findings ADD COLUMN {EXTRA_FINDINGS_COLUMN} TEXT"))
        for name, table_rows in rows.items():
            for start in range(0, len(table_rows), 20_000):
                conn.execute(tables[name].insert(), table_rows[start:start + 20_000])
        _create_views(conn)
        if conn.dialect.name == "postgresql":
            _advance_sequences(conn, [name for name, t in tables.items()
                                      if "id" in t.c and t.c.id.primary_key])


def _skip_fsync(engine: Engine) -> None:
    """``PRAGMA synchronous = OFF`` while generating: every DDL statement would fsync otherwise.

    A synthetic database that a crash interrupts is simply generated again, so
    durability buys nothing here, and the ~20 table and index creations cost
    more than all the rows of a small scale.
    """
    engine.dispose()  # connections opened before the listener would keep fsyncing

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous = OFF")
        cur.close()


def _create_views(conn: Connection) -> None:
    views = list(_VIEWS_PORTABLE)
    if conn.dialect.name == "sqlite":
        views.append(BROKEN_VIEW)  # PostgreSQL refuses a view over a missing column
    for name, sql in views:
        conn.execute(text(f"DROP VIEW IF EXISTS {name}"))
        conn.execute(text(sql.strip()))


def _advance_sequences(conn: Connection, tables: Sequence[str]) -> None:
    """Explicit ids do not move PostgreSQL sequences; move them so later inserts do not collide."""
    for name in tables:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"))


def drop_generated(url: str) -> None:
    """Remove what :func:`generate` creates (views, research and kbgen tables): ``--force`` on servers."""
    engine = open_engine(url, must_exist=False)
    try:
        with engine.begin() as conn:
            for name in VIEW_NAMES:
                conn.execute(text(f"DROP VIEW IF EXISTS {name}"))
        kbtables.kb_metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {kbtables.VERSION_TABLE}"))
        research.research_metadata.drop_all(engine)
    finally:
        engine.dispose()


def content_digest(url: str) -> str:
    """SHA-256 over every table's rows in a fixed order: equal digests, equal content.

    Views are left out on purpose (one of them cannot be queried).
    """
    engine = open_engine(url, readonly=url.startswith("sqlite"), must_exist=True)
    digest = hashlib.sha256()
    try:
        insp = inspect(engine)
        with engine.connect() as conn:
            for name in sorted(insp.get_table_names()):
                cols = [c["name"] for c in insp.get_columns(name)]
                digest.update(f"{name}({','.join(cols)})\n".encode())
                order = ", ".join(str(i) for i in range(1, len(cols) + 1))
                for row in conn.execute(text(f'SELECT * FROM "{name}" ORDER BY {order}')):
                    digest.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
                    digest.update(b"\n")
    finally:
        engine.dispose()
    return digest.hexdigest()


# --------------------------------------------------------------------------- entry point


def build_world(*, scale: float = 1.0, seed: int = 42, hostile: bool = True) -> _World:
    """Generate everything in memory (no I/O): the deterministic core of :func:`generate`."""
    if not (0 < scale <= MAX_SCALE) or math.isnan(scale):
        raise UsageError(f"scale must be in (0, {MAX_SCALE:g}], got {scale!r}")
    world = _World(scale=scale, rng=random.Random(seed), seed=seed)
    _make_packages(world)
    _make_files(world)
    _make_excludes(world)
    _make_domains(world)
    _make_sessions(world)
    _Simulator(world).run()
    _make_findings(world)
    _make_dependencies(world)
    _make_package_edges(world)
    _make_crates(world)
    _make_answers(world)
    _make_statuses(world)
    _descope(world, seed)
    if hostile:
        _apply_hostile(world, seed)
    return world


def _facts(world: _World, rows: dict[str, list[Row]]) -> dict[str, int]:
    facts = {"total_loc": sum(f.loc or 0 for f in world.files)}
    for rank in (DEEP, MEDIUM, SURFACE, MENTIONED, NOT_TOUCHED, EXCLUDED):
        facts[f"files_{DEPTH_NAMES[rank]}"] = sum(1 for f in world.files if f.rank == rank)
    facts["files_null_loc"] = sum(1 for f in world.files if f.loc is None)
    facts["files_excluded_after_reads"] = sum(1 for f in world.files if f.descoped)
    descoped = {f.id for f in world.files if f.descoped}
    facts["findings_on_excluded_files"] = sum(1 for fd in world.findings if fd.file in descoped)
    crit = [fd for fd in world.findings if fd.canonical in ("CRITICAL", "HIGH")]
    facts["findings_critical_high"] = len(crit)
    facts["findings_open_critical_high"] = sum(1 for fd in crit if not fd.followed_up)
    facts["findings_null_session"] = sum(1 for fd in world.findings if fd.session is None)
    facts["distinct_severities"] = len({fd.severity for fd in world.findings})
    facts["distinct_categories"] = len({fd.category for fd in world.findings})
    facts["integration_hotspots"] = sum(1 for ds in world.file_domains.values() if len(ds) >= 3)
    paths: dict[str, int] = defaultdict(int)
    for f in world.files:
        paths[f.path] += 1
    facts["paths_in_several_packages"] = sum(1 for n in paths.values() if n > 1)
    facts["planned_files"] = sum(len(c.files) for s in world.sessions if s.plan for c in s.plan.clusters)
    facts["hostile_cells"] = world.hostile_cells
    return facts


def generate(url: str, *, scale: float = 1.0, seed: int = 42, plans_dir: Path | None = None,
             hostile: bool = True) -> GenerationSummary:
    """Create a synthetic research database at ``url`` (and its plans in ``plans_dir``).

    ``scale`` multiplies every count (1.0 = one real campaign); tiny scales
    keep a few of everything. The same arguments always give the same rows
    and plan files. The database must not hold research rows yet.

    The plans exist whether or not they are written: ``kbgen_answers`` links
    findings to their questions (``Q<session>-<file id>``) either way, so the
    database content does not depend on ``plans_dir``. Files in ``plans_dir``
    are named ``R<n>-plan.md``; other files there are left alone.
    """
    started = time.perf_counter()
    world = build_world(scale=scale, seed=seed, hostile=hostile)
    rows = _rows(world)
    engine = open_engine(url, must_exist=False)
    if engine.dialect.name == "sqlite":
        _skip_fsync(engine)
    try:
        _ensure_empty(engine)
        _write(engine, rows)
    finally:
        engine.dispose()
    plans = [s for s in world.sessions if s.plan is not None]
    dated: dict[str, int] = {}
    if plans_dir is not None:
        plans_dir = Path(plans_dir)
        plans_dir.mkdir(parents=True, exist_ok=True)
        cross = world.cross_deps()
        for s, drift in plan_drifts(world):
            assert s.plan is not None
            content = _render_plan(world, s.plan, s.day, cross, drift)
            name = plan_file_name(s.plan, s.day, drift)
            if drift.dated:
                dated[name] = s.id
            (plans_dir / name).write_text(content, encoding="utf-8", newline="\n")
    counts = {name: len(table_rows) for name, table_rows in rows.items()}
    shown = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    return GenerationSummary(url=shown, scale=scale, seed=seed, hostile=hostile, counts=counts,
                             plans=len(plans),
                             plans_dir=str(plans_dir) if plans_dir is not None else None,
                             facts=_facts(world, rows), elapsed_s=round(time.perf_counter() - started, 3),
                             dated_plans=dated)


def plan_drifts(world: _World) -> list[tuple[_Session, _Drift]]:
    """Every planned session with its plan's drift; the middle plan of the campaign states no session number."""
    planned = [s for s in world.sessions if s.plan is not None]
    answered: dict[int, set[int]] = defaultdict(set)
    for row in world.answers:
        match = re.fullmatch(r"Q(\d+)-(\d+)", str(row["question_id"]))
        if match:
            answered[int(match.group(1))].add(int(match.group(2)))
    dated = planned[len(planned) // 2].id if len(planned) >= 4 else None
    out = []
    for s in planned:
        assert s.plan is not None
        out.append((s, _drift(world, s.plan, answered[s.id], s.id == dated)))
    return out
