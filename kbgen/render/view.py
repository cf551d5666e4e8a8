"""What every page renderer shares: the docnames of generated pages and the facts derived once per sync.

A module of its own so that the page renderers (:mod:`kbgen.render.pages`,
:mod:`kbgen.render.graphs`, :mod:`kbgen.render.dashboard`) can all depend on
it without depending on one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from kbgen import analysis, vocab
from kbgen.model import File, Finding, Session, Snapshot, file_sort_key
from kbgen.needs_model import domain_need_id
from kbgen.render import escape
from kbgen.render.myst import Md, need_link

if TYPE_CHECKING:
    from kbgen.render.page_cache import PageCache

#: Session pages are grouped by hundreds in the sidebar.
SESSIONS_PER_GROUP = 100
#: Nodes in a dependency graph unless ``graph_max_nodes`` says otherwise.
DEFAULT_GRAPH_MAX_NODES = 40


@dataclass(frozen=True)
class SiteLayout:
    """Docnames of generated pages, relative to the Sphinx source folder."""

    root: str = "kb"

    def session(self, s: Session) -> str:
        return f"{self.root}/sessions/S{s.id}"

    def session_group(self, number: int) -> str:
        lo = (number // SESSIONS_PER_GROUP) * SESSIONS_PER_GROUP
        return f"{self.root}/sessions/group-{lo:04d}"

    def file(self, f: File) -> str:
        return f"{self.root}/files/FILE{f.id}"

    def domain(self, slug: str) -> str:
        return f"{self.root}/domains/{slug}"


class SiteView:
    """Derived facts shared by several pages (computed once per sync)."""

    def __init__(self, snap: Snapshot, layout: SiteLayout, *, graph_max_nodes: int = DEFAULT_GRAPH_MAX_NODES) -> None:
        self.snap = snap
        self.layout = layout
        self.graph_max_nodes = graph_max_nodes
        #: Each graph's SVG file (relative to the generated folder) → its DOT, filled as pages are
        #: rendered (:func:`kbgen.render.graphs.directive`); ``kbgen sync`` draws or reuses the files.
        self.graph_sources: dict[str, str] = {}
        #: The sync's cache of pages kept when their inputs did not change (None: render everything).
        self.page_cache: PageCache | None = None

    @cached_property
    def page_files(self) -> tuple[File, ...]:
        """Files read at SURFACE or deeper: each gets a page.

        An EXCLUDED file keeps its page when a recorded read reached SURFACE
        or deeper before it was taken out of scope: what was learnt about it
        stays reachable, though no figure counts it.
        """
        reads = self.snap.reads_of_file
        return tuple(f for f in self.snap.files if vocab.is_read(f.depth) or (
            analysis.is_excluded(f) and any(vocab.is_read(r.depth) for r in reads.get(f.id, ()))))

    @cached_property
    def page_file_ids(self) -> frozenset[int]:
        return frozenset(f.id for f in self.page_files)

    @cached_property
    def need_file_ids(self) -> frozenset[int]:
        """Files with a ``file`` need: read ones, plus those a plan or a finding names."""
        ids = {f.id for f in self.page_files}
        ids |= {f.file_id for f in self.snap.findings if f.file_id in self.snap.file_by_id}
        for q in self.snap.questions:
            ids |= {fid for fid in q.file_ids if fid in self.snap.file_by_id}
        for plan in self.snap.plans:
            ids |= {pf.file_id for pf in plan.plan.files
                    if pf.file_id is not None and pf.file_id in self.snap.file_by_id}
        return frozenset(i for i in ids if i is not None)

    @cached_property
    def other_need_files(self) -> tuple[File, ...]:
        page_ids = {f.id for f in self.page_files}
        return tuple(sorted((self.snap.file_by_id[i] for i in self.need_file_ids if i not in page_ids),
                            key=file_sort_key))

    @cached_property
    def domain_slugs(self) -> dict[str, str]:
        slugs: dict[str, str] = {}
        used: set[str] = set()
        for d in self.snap.domains:
            base = escape.slug(d.name, f"domain-{d.id}")
            clash = base in used or base in escape.RESERVED_FILE_NAMES or base == "index"
            slug = f"{base}-{d.id}" if clash else base
            used.add(slug)
            slugs[d.name] = slug
        return slugs

    @cached_property
    def domain_need_ids(self) -> dict[str, str]:
        """Domain name → need ID; names that fold to the same ID (``a<b``, ``a>b``) get the row id."""
        ids: dict[str, str] = {}
        used: set[str] = set()
        for d in sorted(self.snap.domains, key=lambda d: d.id):
            base = domain_need_id(d.name)
            need_id = base if base not in used else f"{base}-{d.id}"
            used.add(need_id)
            ids[d.name] = need_id
        return ids

    def session_of(self, finding: Finding) -> Session | None:
        return self.snap.session_by_id.get(finding.session_id) if finding.session_id is not None else None

    def finding_ref(self, finding_id: int) -> Md | str:
        """``F25 (CRITICAL)``, linked; the severity is part of what the linking page shows."""
        f = self.snap.finding_by_id.get(finding_id)
        return need_link(f"F{finding_id}", f"F{finding_id} ({f.severity})") if f else f"F{finding_id}"

    def question_ref(self, question_id: str) -> Md:
        """``Q3-N1 (inferred from the cluster)``, linked: the kind of answer is part of every mention."""
        return need_link(question_id, f"{question_id} ({self.snap.question_label(question_id)})")

    def session_ref(self, session: Session) -> Md:
        return need_link(session.need_id, session.label)

    def file_role(self, file_id: int | None) -> Md | str:
        if file_id is None:
            return "—"
        f = self.snap.file_by_id.get(file_id)
        if f is not None and file_id in self.need_file_ids:
            return need_link(f.need_id, f.path)
        return f.path if f else f"file {file_id} (not in the files table)"

    def labels_text(self, finding_id: int) -> str:
        return ", ".join(f"{lab.domain}:{lab.text}" for lab in self.snap.labels_of_finding.get(finding_id, ()))

    def status(self, finding_id: int) -> str:
        s = self.snap.status_of_finding.get(finding_id)
        return s.status if s else "open"
