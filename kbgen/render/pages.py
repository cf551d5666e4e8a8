"""One pure function per page kind: snapshot in, MyST text out.

Pages are rendered from Jinja2 templates (``templates/``) whose ``finalize``
hook escapes every value that is not already MyST (:class:`~kbgen.render.myst.Md`),
so database text cannot reach a page unescaped by accident.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from jinja2 import Environment, PackageLoader, StrictUndefined

from kbgen import analysis, vocab
from kbgen.model import File, Finding, PlanRecord, Question, Session, Snapshot, file_sort_key, strongest
from kbgen.outcomes import expected_vs_actual
from kbgen.plan.model import ClusterQuestion, Results
from kbgen.progress import session_progress
from kbgen.render import escape, graphs
from kbgen.render.myst import (
    Md,
    bullet_list,
    code_block,
    doc_link,
    finalize,
    fmt_int,
    heading,
    joined,
    need,
    need_link,
    pct,
    table,
)
from kbgen.render.view import SESSIONS_PER_GROUP, SiteView
from kbgen.wording import count, verb

_ENV = Environment(loader=PackageLoader("kbgen.render", "templates"), autoescape=False, finalize=finalize,
                   undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)

def _render(template: str, **context: Any) -> str:
    text = _ENV.get_template(template).render(**context)
    text = re.sub(r"(?<!\n)\n(#{1,6} )", r"\n\n\1", text)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


def unique_slugs(names: Iterable[str], fallback: str) -> dict[str, str]:
    """Name → slug for page names: distinct (``-2``, ``-3`` on a clash, in the given order),
    never a reserved Windows device name nor ``index``."""
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = escape.slug(name, fallback)
        slug, n = base, 1
        while slug in used or slug in escape.RESERVED_FILE_NAMES or slug == "index":
            n += 1
            slug = f"{base}-{n}"
        used.add(slug)
        slugs[name] = slug
    return slugs


# -- needs ------------------------------------------------------------------------

Links = dict[str, list[str]]


def finding_links(view: SiteView, f: Finding) -> Links:
    """A finding need's links (kbgen.needs_model.LINKS), from the snapshot."""
    snap = view.snap
    session = view.session_of(f)
    return {
        "on_file": [f"FILE{f.file_id}"] if f.file_id in view.need_file_ids else [],
        "in_session": [session.need_id] if session else [],
        "answers": [a.question_id for a in snap.questions_of_finding.get(f.id, ())],
        "supersedes": [f"F{i}" for i in snap.superseded_by_me.get(f.id, ()) if i in snap.finding_by_id],
        "in_domain": [view.domain_need_ids[d] for d in snap.domains_of_finding.get(f.id, ())],
    }


def question_links(view: SiteView, q: Question) -> Links:
    session = view.snap.session_by_number.get(q.session)
    return {"on_file": [f"FILE{i}" for i in q.file_ids if i in view.need_file_ids],
            "in_session": [session.need_id] if session else []}


def file_links(view: SiteView, f: File) -> Links:
    snap = view.snap
    targets = sorted({d.target_file_id for d in snap.deps_out.get(f.id, ()) if d.target_file_id in view.need_file_ids})
    return {"depends_on": [f"FILE{t}" for t in targets if t != f.id],
            "in_domain": [view.domain_need_ids[d] for d in snap.domains_of_file.get(f.id, ())]}


def finding_need(view: SiteView, f: Finding) -> Md:
    snap = view.snap
    links = finding_links(view, f)
    answers = links["answers"]
    content = [escape.block(f.description) or "(no description)"]
    status_text = snap.finding_status_text(f.id)
    if status_text != "Open":
        content.append(f"**Status:** {escape.inline(status_text)}")
    if answers:
        marks = [f"{view.question_ref(a.question_id)}{' (partial)' if a.partial else ''}"
                 for a in snap.questions_of_finding[f.id]]
        content.append("**Answers:** " + ", ".join(marks))
    return need(
        "finding", f.need_id, f.description or f.need_id,
        options={
            "severity": f.severity, "severity_raw": f.severity_raw, "category": f.category,
            "category_raw": f.category_raw, "lines": f.lines, "label": view.labels_text(f.id),
            "status": view.status(f.id), "status_detail": status_text,
            "followed_up": "yes" if f.followed_up else "no",
        },
        links=links,
        content="\n\n".join(content))


#: What each kind of answer means, shown with the answering findings.
ANSWER_KINDS: dict[str | None, str] = {
    None: "explicit",
    "file": "inferred from the file: findings on the question's file from its session",
    "cluster": "inferred from the cluster: the question names no file; findings from its session on "
               "the files of its cluster",
}


def question_need(view: SiteView, q: Question) -> Md:
    snap = view.snap
    status = snap.question_status(q.id)
    inferred_from = snap.question_inference(q.id)
    answers = snap.answers_of_question.get(q.id, ())
    # The title already shows a short question exactly; repeat it in the body only when the
    # title had to shorten or alter it.
    body = [] if escape.title(q.text, 160) == q.text else [escape.block(q.text)]
    text_answer = snap.text_answer_of.get(q.id)
    if text_answer is not None:
        verdict = escape.inline(text_answer.verdict) if text_answer.verdict else "(no verdict written)"
        body.append(f"**Answer ({'partial' if text_answer.partial else 'full'}):** {verdict}")
    if answers:
        kind = ANSWER_KINDS.get(inferred_from, ANSWER_KINDS[None])
        if inferred_from == "cluster" and q.cluster:
            kind = kind.replace("of its cluster", f"of cluster {q.cluster}")
        body.append(f"**Answered by** ({escape.inline(kind)}): " + ", ".join(
            f"{view.finding_ref(a.finding_id)}{' (partial)' if a.partial else ''}" for a in answers))
    elif text_answer is None:
        body.append("**Open:** no finding answers this question yet.")
    return need(
        "question", q.id, q.text,
        options={"status": status, "inferred": "yes" if status == "inferred" else "no",
                 "inferred_from": inferred_from or "",
                 # "partial" also for findings all linked --partial: the page calls it partly answered
                 "answer": text_answer.answer if text_answer else "partial" if snap.question_partly(q.id) else "",
                 "verdict": text_answer.verdict if text_answer else ""},
        links=question_links(view, q),
        content="\n\n".join(body))


def file_need(view: SiteView, f: File) -> Md:
    return need(
        "file", f.need_id, f.path,
        options={"package": f.package, "path": f.path, "loc": str(f.loc) if f.loc is not None else "",
                 "depth": f.depth},
        links=file_links(view, f),
        content=escape.block(f.notes) if f.notes and f.notes.strip() else "")


def session_need(view: SiteView, s: Session) -> Md:
    has_plan = s.number in view.snap.plan_by_session and view.snap.session_by_number.get(s.number) == s
    return need("session", s.need_id, f"{s.label}: {s.focus or 'session'}",
                options={"date": s.date, "focus": s.focus, "plan": "yes" if has_plan else "no",
                         "session_name": s.name},
                content=escape.block(s.notes) if s.notes else "")


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in the order pages list them: strongest severity first, then by ID."""
    return sorted(findings, key=lambda x: (vocab.severity_rank(x.severity), x.id))


def _findings_by_severity(view: SiteView, findings: Iterable[Finding]) -> list[dict[str, Any]]:
    groups: dict[str, list[Finding]] = {}
    for f in by_severity(findings):
        groups.setdefault(f.severity, []).append(f)
    return [{"title": f"{sev.title()} ({len(items)})",
             "needs": Md("\n".join(finding_need(view, f) for f in items))}
            for sev, items in groups.items()]


# -- pages ------------------------------------------------------------------------

def session_plan(view: SiteView, s: Session) -> PlanRecord | None:
    """The plan a session page shows: the one of its number, when this is that number's session."""
    snap = view.snap
    return snap.plan_by_session.get(s.number) if snap.session_by_number.get(s.number) == s else None


def session_questions(view: SiteView, s: Session) -> tuple[Question, ...]:
    """The questions a session page defines: its plan's, when it has one."""
    return view.snap.questions_of_session.get(s.number, ()) if session_plan(view, s) else ()


def unsessioned_findings(view: SiteView) -> list[Finding]:
    """Findings whose session is empty or unknown: they get a page of their own."""
    return [f for f in view.snap.findings if view.session_of(f) is None]


def session_page(view: SiteView, s: Session) -> str:
    return render_session_page(view, s, session_context(view, s))


def render_session_page(view: SiteView, s: Session, context: dict[str, Any]) -> str:
    """The session page from :func:`session_context` and the session's findings (the costly part)."""
    return _render("session.md.j2", **context,
                   finding_groups=_findings_by_severity(view, view.snap.findings_of_session.get(s.id, ())))


def finding_need_inputs(view: SiteView, f: Finding) -> tuple[object, ...]:
    """Everything :func:`finding_need` reads for ``f``: the finding, its links, status, answers and labels."""
    snap = view.snap
    return (f, finding_links(view, f), snap.finding_status_text(f.id), view.labels_text(f.id), view.status(f.id),
            [(a, snap.question_label(a.question_id)) for a in snap.questions_of_finding.get(f.id, ())])


def session_page_inputs(view: SiteView, s: Session, context: dict[str, Any]) -> str:
    """What a session page shows, as one text: its context (every part but the findings, already
    rendered) and the inputs of each finding's need; equal texts give equal pages
    (:mod:`kbgen.render.page_cache`)."""
    parts: list[object] = [view.layout.session(s), sorted(context.items())]
    parts += [finding_need_inputs(view, f) for f in view.snap.findings_of_session.get(s.id, ())]
    return "\n".join(map(repr, parts))


def session_context(view: SiteView, s: Session) -> dict[str, Any]:
    """Every part of a session page but its findings' needs."""
    from kbgen.render.changes import session_section

    snap = view.snap
    plan = session_plan(view, s)
    data = plan.plan if plan else None
    reads = snap.reads_of_session.get(s.id, ())
    read_depth: dict[int, list[str]] = {}
    read_lines: Counter[int] = Counter()
    read_ranges: dict[int, list[str]] = {}
    for r in reads:
        read_depth.setdefault(r.file_id, []).append(r.depth)
        read_lines[r.file_id] += r.lines_read or 0
        if r.line_ranges:
            read_ranges.setdefault(r.file_id, []).append(r.line_ranges)
    planned = list(data.files) if data else []
    planned_ids = {pf.file_id for pf in planned if pf.file_id is not None}
    excluded = analysis.excluded_ids(snap)

    def reached(fid: int) -> str:
        """The depth this session reached; a file taken out of scope since says so (it stays in the record)."""
        return strongest(read_depth[fid]) + (" (now EXCLUDED)" if fid in excluded else "")

    clusters = []
    for cluster in data.clusters if data else ():
        members = [p for p in planned if p.cluster == cluster.letter] if cluster.letter else \
            [p for p in planned if p.file_id in cluster.file_ids]
        rows = []
        for pf in members:
            fid = pf.file_id
            if fid is None:
                rows.append([Md(f"{escape.code(pf.path)} (no File ID; not in the database)"),
                             pf.loc, "not read", "—", "—", "no"])
                continue
            shown = view.file_role(fid) if fid in snap.file_by_id else f"{pf.path} (ID {fid})"
            if pf.resolved_by == "path":
                # The plan gave no ID: say so, the reader may look for the file under another ID.
                shown = Md(f"{shown if isinstance(shown, Md) else escape.inline(shown)} (no ID in the plan; "
                           "found by path)")
            rows.append([shown, pf.loc, reached(fid) if fid in read_depth else "not read",
                         read_lines.get(fid) or "—", joined(read_ranges.get(fid, [])) or "—",
                         "yes" if fid in read_depth else "no"])
        n_files = int(cluster.stated_files or len(members))
        stated = f" ({count(n_files, 'file')}, ~{fmt_int(cluster.stated_loc)} LOC)"
        # "Cluster B: ..." as the plan heads it: a cluster question's answer names its cluster by letter.
        name = f"Cluster {cluster.letter}" + (f": {cluster.name}" if cluster.name else "") if cluster.letter \
            else cluster.name or "Cluster"
        clusters.append({"title": name + stated,
                         "table": table(["File", "Planned LOC", "Depth reached", "Lines read", "Ranges", "Read"],
                                        rows)})

    def read_rows(file_ids: Iterable[int]) -> list[list[object]]:
        return [[view.file_role(fid), reached(fid), read_lines.get(fid) or "—",
                 joined(read_ranges.get(fid, [])) or "—"]
                for fid in sorted(file_ids, key=lambda i: file_sort_key(snap.file_by_id[i])
                                  if i in snap.file_by_id else ("~", "", i))]
    read_headers = ["File", "Depth", "Lines read", "Ranges"]
    unplanned = table(read_headers, read_rows(set(read_depth) - planned_ids)) if plan else Md("")
    reads_table = table(read_headers, read_rows(read_depth)) if not plan else Md("")

    progress = session_progress(snap, s)
    sev = progress.findings
    planned_loc = sum(pf.loc or 0 for pf in planned)
    read_loc = sum((snap.file_by_id[fid].loc or 0) for fid in read_depth if fid in snap.file_by_id)
    summary_rows: list[list[object]] = [
        ["Files", len(planned) if plan else "—", len(read_depth)],
        ["LOC", planned_loc if plan else "—", read_loc],
        ["Planned files read", len(planned) if plan else "—",
         f"{len(progress.planned_read)}/{len(planned)}" if plan else "—"],
    ]
    n_questions = len(progress.questions)
    if n_questions:
        summary_rows.append(["Questions answered explicitly", n_questions, progress.explicit_actual])
        if progress.inferred:
            summary_rows.append(["Questions answered by inference", "—", f"{len(progress.inferred)}/{n_questions}"])
        summary_rows.append(["Open questions", "—", len(progress.open)])
    summary_rows += [[f"{name.title()} findings", "—", sev.get(name, 0)] for name in vocab.SEVERITIES
                     if sev.get(name, 0) or name in ("CRITICAL", "HIGH", "MEDIUM")]
    questions = session_questions(view, s)
    fields = []
    if plan and data:
        for label, value in (("Plan", data.title), ("Date", data.date), ("Focus", data.focus),
                             ("Strategic value", data.strategic_value)):
            if value:
                fields.append(f"**{label}:** {escape.inline(value)}")
        fields.append(f"**Source:** {escape.code(plan.source_path)}")
        if data.session_given:
            fields.append("**Session:** the plan states no session number; it was imported with "
                          f"`--session {s.number}`")
    outcomes = data.outcomes if data else ()
    cluster_questions = data.cluster_questions if data else ()
    outcome_rows = expected_vs_actual(snap, s.number) if plan else []
    return dict(
        anchor=f"session-{s.id}", heading=_joined(s.label, s.focus, sep=" — "),
        session_need=session_need(view, s), plan=bool(plan),
        plan_fields=Md("\\\n".join(fields)),
        rationale=rationale_md((data.rationale if data else None) or ""),
        summary_table=table(["", "Planned", "Actual"], summary_rows),
        changes=session_section(view, s),
        clusters=clusters, unplanned=unplanned, reads_table=reads_table,
        questions=Md("\n".join(question_need(view, q) for q in questions)),
        cluster_questions=bullet_list([_cluster_question(view, s, c) for c in cluster_questions])
        if cluster_questions else "",
        outcomes=bullet_list(list(outcomes)) if outcomes else "",
        outcome_table=table(["Outcome", "Expected", "Actual", "Result"],
                            [[r.label, r.expected, r.actual, r.result] for r in outcome_rows]),
        results=_results_section(data.results if data else None),
    )


def _joined(*fields: str | None, sep: str = ": ") -> Md:
    """Several database fields on one line, each escaped on its own.

    Escaping the joined text instead would let a backtick of one field pair
    with a backtick of the next into a code span that runs across the
    separator, showing both fields as one piece of code (table cells:
    :func:`kbgen.render.myst.joined`).
    """
    return Md(sep.join(escape.inline(f) for f in fields if f))


def _cluster_question(view: SiteView, s: Session, item: ClusterQuestion) -> Md:
    """A cluster's ``**Question:**`` line, with the session's findings on the cluster's files."""
    text = _joined(str(item.cluster) if item.cluster is not None else None, item.text)
    if item.cluster is None:
        return Md(text)
    file_ids = set(view.snap.cluster_files.get((s.number, str(item.cluster)), ()))
    answers = sorted(f.id for f in view.snap.findings_of_session.get(s.id, ()) if f.file_id in file_ids)
    if not answers:
        return Md(f"{text} — open")
    return Md(f"{text} — {escape.inline('answered (inferred from the cluster): ')}"
              + ", ".join(view.finding_ref(fid) for fid in answers))


_LIST_LINE = re.compile(r"(?:- |(\d{1,9})\. )(.*)")


def rationale_md(text: str) -> Md:
    """A plan's rationale as the plan wrote it: paragraphs, and lists (a paragraph whose every line is
    ``- item`` or ``1. item``, as the plan parser keeps them) as lists. Every paragraph and item is
    escaped as data (:mod:`kbgen.render.escape`), so its code spans show as code and nothing else is markup.
    """
    parts = []
    for chunk in (c.strip("\n") for c in escape.clean(text).split("\n\n")):
        lines = chunk.split("\n")
        matches = [_LIST_LINE.fullmatch(line) for line in lines]
        if chunk and all(matches):
            ordered = all(m.group(1) for m in matches if m)
            if ordered:
                parts.append("".join(f"{m.group(1)}. {escape.inline(m.group(2))}\n" for m in matches if m))
            else:
                parts.append(bullet_list([m.group(2) for m in matches if m]))
        elif chunk.strip():
            parts.append(escape.block(chunk) + "\n")
    return Md("\n".join(parts))


def _results_section(results: Results | None) -> Md:
    """A retroactive plan's Results section: the plan's own words, every piece escaped as data."""
    if results is None:
        return Md("")
    title = results.title or "Results"
    parts: list[str] = [f"This plan was written after its session; its section "
                        f"“{escape.inline(title)}” is shown as written.\n"]
    for block in results.blocks:
        if block.kind == "heading":
            parts.append(f"**{escape.inline(block.text)}**\n")
        elif block.kind == "paragraph":
            parts.append(escape.block(block.text) + "\n")
        elif block.kind == "table" and block.rows:
            head, *rows = block.rows
            width = len(head)
            parts.append(table(list(head), [(list(r) + [""] * width)[:width] for r in rows]))
        elif block.kind == "list":
            if block.ordered:
                parts.append("".join(f"{n}. {escape.inline(i)}\n" for n, i in enumerate(block.items, start=1)))
            else:
                parts.append(bullet_list(list(block.items)))
        elif block.kind == "code":
            parts.append(code_block(block.text))
    return Md("\n".join(parts)) if len(parts) > 1 else Md("")


def file_page(view: SiteView, f: File) -> str:
    snap = view.snap
    facts = table(["Package", "Path", "LOC", "Depth", "Lines read", "Last read", "Domains"],
                  [[f.package, Md(escape.code(f.path)), f.loc, f.depth_shown, f.lines_read, f.last_read_date,
                    joined(snap.domains_of_file.get(f.id, ())) or "—"]])
    reads = table(["Session", "Depth", "Lines read", "Ranges"], [
        [view.session_ref(snap.session_by_id[r.session_id]) if r.session_id in snap.session_by_id else "—",
         r.depth_shown, r.lines_read, r.line_ranges or "—"]
        for r in snap.reads_of_file.get(f.id, ())])
    findings = table(["Finding", "Severity", "Description", "Category", "Lines", "Session", "Status"], [
        [need_link(x.need_id, x.need_id), x.severity_shown, x.description or "—",
         x.category_shown, x.lines or "—",
         snap.session_by_id[x.session_id].label if x.session_id in snap.session_by_id else "—",
         snap.finding_status_text(x.id)]
        for x in sorted(snap.findings_of_file.get(f.id, ()), key=lambda x: (vocab.severity_rank(x.severity), x.id))])
    questions = table(["Question", "Status"], [[view.question_ref(q.id), snap.question_label(q.id)]
                                               for q in snap.questions_of_file.get(f.id, ())])

    def dep_rows(edges: Iterable[Any], other: str) -> list[list[object]]:
        return [[view.file_role(getattr(d, other)), d.relationship, "yes" if d.verified else "no", d.evidence or "—"]
                for d in edges]
    deps_out = table(["Depends on", "Relationship", "Verified", "Evidence"], dep_rows(snap.deps_out.get(f.id, ()),
                                                                                   "target_file_id"))
    deps_in = table(["Depended on by", "Relationship", "Verified", "Evidence"], dep_rows(snap.deps_in.get(f.id, ()),
                                                                                       "source_file_id"))
    return _render("file.md.j2", heading=_joined(f.package, f.path), file_need=file_need(view, f), facts=facts,
                   reads=reads, findings=findings, questions=questions, deps_out=deps_out, deps_in=deps_in,
                   graph=graphs.file_graph(view, f, view.graph_max_nodes))


def file_page_inputs(view: SiteView, f: File) -> str:
    """Everything :func:`file_page` reads for ``f``, as one text: equal texts give equal pages.

    The sync keeps a file page whose inputs did not change instead of rendering it again
    (:mod:`kbgen.render.page_cache`), so this must name every fact the page shows, and it errs
    on the side of more: the file, its reads and their sessions, its findings with their status
    text and session, its questions with their label, its domains, and for each file its edges
    join (the table rows and the graph's nodes) that file, whether it has a need and a page, and
    its degree (the graph keeps the best-connected neighbours). What the whole site shares (the
    code, the options, the layout) is the cache's salt, not part of this text.
    """
    snap = view.snap
    parts: list[object] = [f, view.layout.file(f)]
    domains = snap.domains_of_file.get(f.id, ())
    parts.append([(d, view.domain_need_ids.get(d)) for d in domains])
    for r in snap.reads_of_file.get(f.id, ()):
        parts += [r, snap.session_by_id.get(r.session_id) if r.session_id is not None else None]
    for x in snap.findings_of_file.get(f.id, ()):
        parts += [x, snap.finding_status_text(x.id),
                  snap.session_by_id.get(x.session_id) if x.session_id is not None else None]
    parts += [(q.id, snap.question_label(q.id)) for q in snap.questions_of_file.get(f.id, ())]
    edges = [*snap.deps_out.get(f.id, ()), *snap.deps_in.get(f.id, ())]
    parts += edges
    for other in sorted({i for d in edges for i in (d.source_file_id, d.target_file_id)}):
        g = snap.file_by_id.get(other)
        parts.append((other, g, g is not None and view.layout.file(g), other in view.need_file_ids,
                      other in view.page_file_ids,
                      len(snap.deps_out.get(other, ())) + len(snap.deps_in.get(other, ()))))
    return "\n".join(map(repr, parts))


def other_files_page(view: SiteView) -> str:
    parts = [ORPHAN, "# Files named but not read\n",
             "Files that a plan or a finding names but no session read at SURFACE or deeper. "
             "They have no page of their own; their need objects live here.\n"]
    parts += [file_need(view, f) for f in view.other_need_files]
    return "\n".join(parts)


def unsessioned_findings_page(view: SiteView) -> str | None:
    orphans = unsessioned_findings(view)
    if not orphans:
        return None
    parts = ["# Findings without a session\n",
             "Findings whose `session_id` is empty or names no recorded session.\n"]
    parts += [g["needs"] for g in _findings_by_severity(view, orphans)]
    return "\n".join(parts)


def sessions_index(view: SiteView) -> dict[str, str]:
    """The sessions index and one page per group of 100 sessions (bounded navigation)."""
    snap = view.snap
    groups: dict[str, list[Session]] = {}
    for s in sorted(snap.sessions, key=lambda s: (s.number, s.id)):
        groups.setdefault(view.layout.session_group(s.number), []).append(s)
    root = view.layout.root
    pages: dict[str, str] = {}
    group_names = []
    held: dict[str, str] = {}  # group → how many sessions it holds, and which
    for docname, members in groups.items():
        lo, hi = members[0].number, members[-1].number
        # The title names the group's hundred, not its current members: it is shown in the
        # navigation of every session page, so a title that grew with each new session would
        # rewrite all of them on every build (kbgen/sphinxext/deps.py).
        first = (lo // SESSIONS_PER_GROUP) * SESSIONS_PER_GROUP
        title = f"Sessions R{min(lo, max(first, 1))}–R{first + SESSIONS_PER_GROUP - 1}"
        group_names.append(docname)
        rows = [[view.session_ref(s), s.date or "—", s.focus or "—",
                 len(snap.reads_of_session.get(s.id, ())), len(snap.findings_of_session.get(s.id, ())),
                 "yes" if s.number in snap.plan_by_session else "no"] for s in members]
        toc = "\n".join(f"/{view.layout.session(s)}" for s in members)
        held[docname] = count(len(members), "session") + (f": R{lo}–R{hi}" if lo != hi else f": R{lo}")
        pages[docname] = (f"# {title}\n\n{held[docname]}.\n\n"
                          + table(["Session", "Date", "Focus", "Reads", "Findings", "Plan"], rows)
                          + f"\n```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{toc}\n```\n")
    toc = "\n".join(f"/{g}" for g in group_names)
    pages[f"{root}/sessions/index"] = (
        "# Sessions\n\n" + f"{count(len(snap.sessions), 'research session')}, grouped by hundreds.\n\n"
        + bullet_list([Md(f"[{escape.link_text(pages[g].splitlines()[0][2:])}](project:/{g}.md) ({held[g]})")
                       for g in group_names])
        + f"\n```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{toc}\n```\n")
    return pages


#: A listing of more rows than this gets pages of its own, one per package; a package with more
#: rows than this is split once more, by area (the first two folders of the paths).
SPLIT_ROWS = 300
#: A split listing whose summary would have more rows (packages and areas) than this lists packages
#: only, each package of several areas with a page of its areas: a session then rewrites the short
#: summary and its packages' pages instead of the long summary (bench/README.md).
SUMMARY_ROWS = 100

T = TypeVar("T")
#: Front matter of a page that is in no toctree (Sphinx would warn about it otherwise).
ORPHAN = "---\norphan: true\n---\n"


def area_of(path: str | None) -> str:
    """The first two folders of a path (``crates/attention/src/x.rs`` → ``crates/attention``)."""
    folders = (path or "").split("/")[:-1]
    return "/".join(folders[:2]) or "(top level)"


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A long listing (files read, open findings, priority gaps, unverified edges) in groups.

    Up to :data:`SPLIT_ROWS` rows it is one page with a section per package, easiest to
    read. Past that it becomes a summary page plus one page per group: a package, or a
    package's area (the first two folders of a path) when the package alone has more rows.
    The summary names each group while that stays short (:data:`SUMMARY_ROWS`); past that it
    names packages only, and a package of several areas gets a page listing its areas. A
    session then re-renders only the groups it touched and no page grows with the campaign: a
    single table of every read file, of one big package's, or of every area of every package,
    was rebuilt by Sphinx on every change (bench/README.md).
    """

    view: SiteView
    docname: str  #: the summary page, e.g. ``kb/open-findings``
    folder: str  #: the group pages' folder under the generated root, e.g. ``open-findings``
    split: bool
    groups: dict[str, list[T]]  #: label (``pkg`` or ``pkg: area``) → its rows, in page order
    owner: dict[str, str]  #: label → its package
    #: package → its areas → their rows, for the packages split into several areas (empty unless ``split``)
    areas: dict[str, dict[str, list[T]]]

    @classmethod
    def of(cls, view: SiteView, docname: str, folder: str, items: Sequence[T],
           package: Callable[[T], str], path: Callable[[T], str | None]) -> Listing[T]:
        """Group ``items`` (already in row order) by package, and big packages by area."""
        by_package: dict[str, list[T]] = {}
        for item in items:
            by_package.setdefault(package(item), []).append(item)
        split = len(items) > SPLIT_ROWS
        groups: dict[str, list[T]] = {}
        owner: dict[str, str] = {}
        by_area: dict[str, dict[str, list[T]]] = {}
        for name in sorted(by_package):
            members = by_package[name]
            if not split or len(members) <= SPLIT_ROWS:
                groups[name] = members
                owner[name] = name
                continue
            areas: dict[str, list[T]] = {}
            for item in members:
                areas.setdefault(area_of(path(item)), []).append(item)
            if len(areas) > 1:  # one area alone needs no page of its own to list it
                by_area[name] = {area: areas[area] for area in sorted(areas)}
            for area in sorted(areas):
                groups[f"{name}: {area}"] = areas[area]
                owner[f"{name}: {area}"] = name
        if len(groups) <= SUMMARY_ROWS:
            by_area = {}
        return cls(view, docname, folder, split, groups, owner, by_area)

    @cached_property
    def _slugs(self) -> dict[str, str]:
        # The groups' slugs first, so that they stay what they were before packages had pages of areas.
        # A package's page is keyed ``pkg:``, which no group label is (``pkg`` or ``pkg: area``).
        return unique_slugs([*sorted(self.groups), *(f"{p}:" for p in sorted(self.areas))], "group")

    def group_docname(self, label: str) -> str:
        return f"{self.view.layout.root}/{self.folder}/{self._slugs[label]}"

    def package_docname(self, package: str) -> str:
        """The page of a package split by area: its areas, each linked to its own page."""
        return self.group_docname(f"{package}:")

    def cell(self, label: str) -> Md | str:
        """The group's name in the summary table: a link to its page when the listing is split."""
        return doc_link(label, "/" + self.group_docname(label)) if self.split else label

    def summary(self, columns: list[str], row: Callable[[list[T]], list[object]], empty: str = "") -> str:
        """The summary table: a row per group (``row(rows)`` gives its figures), linked to its page.

        A package with a page of areas has one row, counting all its rows; its page has the same
        columns per area.
        """
        rows: list[list[object]] = []
        done: set[str] = set()
        for label, members in self.groups.items():
            name = self.owner[label]
            if name in self.areas:
                if name not in done:
                    done.add(name)
                    everything = [x for area in self.areas[name].values() for x in area]
                    rows.append([doc_link(name, "/" + self.package_docname(name)), *row(everything)])
                continue
            rows.append([self.cell(label), *row(members)])
        return table(["Package", *columns], rows) or empty

    def pages(self, top: list[str], title: str, body: Callable[[list[T], int], list[str]],
              columns: list[str], row: Callable[[list[T]], list[object]], empty: str = "") -> dict[str, str]:
        """Docname → text: the summary page, and the group pages when split.

        ``top`` is the summary page before its table (:meth:`summary`). ``body(rows, level)`` gives a
        group's sections with their headings at ``level``.
        """
        top = [*top, self.summary(columns, row, empty)]
        if not self.split:
            parts = list(top)
            for label, rows in self.groups.items():
                parts += [heading(2, label), *body(rows, 3)]
            return {self.docname: "\n".join(parts)}
        # Group pages are orphans, reached through the summary table like file pages: in a toctree
        # they would grow the navigation tree that Sphinx resolves again for every page of the site.
        out: dict[str, str] = {}
        for label, rows in self.groups.items():
            name = self.owner[label]
            up = [f"Part of {doc_link(name, '/' + self.package_docname(name))}, which is listed by area.\n"
                  ] if name in self.areas else []
            out[self.group_docname(label)] = "\n".join([ORPHAN, heading(1, f"{title}: {label}"), *up, *body(rows, 2)])
        back = doc_link(title, "/" + self.docname)
        for name, areas in self.areas.items():
            out[self.package_docname(name)] = "\n".join([
                ORPHAN, heading(1, f"{title}: {name}"),
                f"Part of {back}. The package has too many rows for one page: they are listed per area "
                "(the first two folders of a path), each on a page of its own.\n",
                table(["Area", *columns], [[doc_link(area, "/" + self.group_docname(f"{name}: {area}")), *row(rows)]
                                           for area, rows in areas.items()])])
        return {self.docname: "\n".join(top), **out}


def files_pages(view: SiteView) -> dict[str, str]:
    """The files index: read files per package (see :class:`Listing`)."""
    snap = view.snap
    root = view.layout.root
    listing = Listing.of(view, f"{root}/files/index", "files/packages", sorted(view.page_files, key=file_sort_key),
                         lambda f: f.package, lambda f: f.path)

    def body(members: list[File], level: int) -> list[str]:
        return [table(["File", "LOC", "Depth", "Findings"], [
            [view.file_role(f.id), f.loc, f.depth, len(snap.findings_of_file.get(f.id, ()))] for f in members])]

    def figures(members: list[File]) -> list[object]:
        return [len(members), sum(1 for f in members if vocab.depth_rank(f.depth) >= vocab.depth_rank("MEDIUM")),
                sum(f.loc or 0 for f in members), sum(len(snap.findings_of_file.get(f.id, ())) for f in members)]

    excluded = sum(1 for f in view.page_files if analysis.is_excluded(f))
    since = (f" {excluded:,} of them {'was' if excluded == 1 else 'were'} read before being excluded from scope: "
             "they are listed at depth EXCLUDED and keep their pages, but no figure counts them." if excluded else "")
    top = ["# Files read\n",
           f"{count(len(view.page_files), 'file')} read at SURFACE or deeper "
           f"{verb(len(view.page_files), 'has a page', 'have a page each')}, listed per package.{since} "
           f"Files never opened appear in the coverage and gap tables of the dashboard.\n",
           f"See also [files named but not read](project:/{root}/files/other.md).\n"]
    return listing.pages(top, "Files read", body, ["Files read", "MEDIUM or deeper", "LOC", "Findings"], figures)


def domain_page(view: SiteView, name: str, body: str) -> str:
    """The site page of a domain: the domain document (``body`` includes it), its graph, its need."""
    snap = view.snap
    d = snap.domain_by_name[name]
    domain_need = need("domain", view.domain_need_ids[name], name,
                       options={"priority": d.priority,
                                "coverage": analysis.coverage_text(analysis.domain_coverage_row(snap, name))},
                       content=escape.block(d.description) if d.description else "")
    return (f"---\nkbgen-domain: {json.dumps(name)}\n---\n\n"
            f"{body}\n{graphs.domain_graph(view, name, view.graph_max_nodes)}\n## Domain record\n\n{domain_need}")


def domains_index(view: SiteView) -> str:
    snap = view.snap
    rows = []
    for d in sorted(snap.domains, key=lambda d: d.name):
        c = analysis.domain_coverage_row(snap, d.name)
        rows.append([Md(f"[{escape.link_text(d.name)}](project:/{view.layout.domain(view.domain_slugs[d.name])}.md)"),
                     d.priority, c.files, analysis.coverage_text(c)])
    toc = "\n".join(f"/{view.layout.domain(view.domain_slugs[d.name])}"
                    for d in sorted(snap.domains, key=lambda d: d.name))
    return ("# Domains\n\n" + table(["Domain", "Priority", "Files", "Coverage (LOC MEDIUM+)"], rows)
            + f"\n```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{toc}\n```\n")


def _trace_kind(snap: Snapshot, question_id: str) -> str:
    """``answered``, ``partly`` (answered explicitly, in part), ``file`` (inferred from the file),
    ``cluster`` (inferred from the cluster) or ``open``."""
    if snap.question_partly(question_id):
        return "partly"
    status = snap.question_status(question_id)
    return (snap.question_inference(question_id) or "file") if status == "inferred" else status


#: The kinds of answer the traceability page counts, each in its own column; all but ``open`` count as answered.
_TRACE_KINDS = ("answered", "partly", "file", "cluster")


def traceability_page(view: SiteView) -> str:
    snap = view.snap
    parts = ["# Traceability\n",
             "Every plan question with the findings that answer it. *Explicit* means an answer given by hand: "
             "findings linked to the question (`kbgen answer`, a worksheet's `answers:`) or a verdict in words "
             "(`kbgen record`), in full or *partly*: an answer that covers the question only in part (an answer "
             "in words marked `partial`, or findings all linked with `--partial`). *Inferred from the file* means "
             "a finding on the question's file from the question's session. *Inferred from the cluster* is for a "
             "question that names no file: a finding from its session on a file of its cluster (weaker "
             "evidence). Each kind has its own column; *Answered* and the percentage count them all.\n"]
    total = Counter[str]()
    per_session_rows = []
    sections = []
    for number in sorted(snap.questions_of_session):
        qs = snap.questions_of_session[number]
        counts = Counter(_trace_kind(snap, q.id) for q in qs)
        total.update(counts)
        session = snap.session_by_number.get(number)
        label = view.session_ref(session) if session else f"R{number}"
        answered = sum(counts[k] for k in _TRACE_KINDS)
        per_session_rows.append([label, len(qs), answered, *(counts[k] for k in _TRACE_KINDS), counts["open"],
                                 pct(answered, len(qs))])
        rows = [[view.question_ref(q.id), snap.question_label(q.id), _verdict(snap, q.id),
                 Md(", ".join(view.finding_ref(a.finding_id) for a in snap.answers_of_question.get(q.id, ())))
                 or "—"] for q in qs]
        sections.append(heading(3, f"R{number}") + "\n" + table(["Question", "Status", "Verdict", "Findings"], rows))
    n = sum(total.values())
    answered_all = sum(total[k] for k in _TRACE_KINDS)
    in_words = sum(1 for q in snap.questions if q.id in snap.text_answer_of)
    parts.append(heading(2, "Answered per session"))
    parts.append(f"Overall: **{pct(answered_all, n)}** of {count(n, 'question')} answered: "
                 f"{answered_all:,} answered ({total['answered']:,} fully and {total['partly']:,} partly by an "
                 "explicit answer, "
                 f"{total['file']:,} inferred from the file, {total['cluster']:,} inferred from the cluster) "
                 f"and {total['open']:,} open"
                 + (f"; {count(in_words, 'explicit answer')} {verb(in_words, 'carries', 'carry')} a verdict in words"
                    if in_words else "")
                 + ".\n")
    parts.append(table(["Session", "Questions", "Answered", "Explicit (full)", "Explicit (partly)", "Inferred (file)",
                        "Inferred (cluster)", "Open", "Answered %"], per_session_rows))
    parts.append(heading(2, "Open questions per session"))

    def still_open(qid: str) -> bool:  # a partly answered question is still open in part
        return snap.question_status(qid) == "open" or snap.question_partly(qid)

    open_rows = [[f"R{number}", Md(", ".join(view.question_ref(q.id) for q in qs if still_open(q.id)))]
                 for number, qs in sorted(snap.questions_of_session.items()) if any(still_open(q.id) for q in qs)]
    parts.append(table(["Session", "Open or partly answered"], open_rows) or "No open questions.\n")
    parts.append(heading(2, "All questions"))
    parts += sections
    return "\n".join(parts)


def _verdict(snap: Snapshot, question_id: str) -> str:
    """``partial: the verdict`` for a question answered in words, else a dash."""
    answer = snap.text_answer_of.get(question_id)
    if answer is None:
        return "—"
    return f"{answer.answer}: {answer.verdict}" if answer.verdict else answer.answer


def kb_index(view: SiteView, extra: Iterable[str] = ()) -> str:
    root = view.layout.root
    entries = [f"/{root}/sessions/index", f"/{root}/domains/index", f"/{root}/files/index",
               f"/{root}/traceability", *extra]
    snap = view.snap
    scoped = analysis.in_scope(snap)
    read = sum(1 for f in view.page_files if not analysis.is_excluded(f))
    return ("# Knowledge base\n\n"
            f"{count(len(snap.sessions), 'session')}, {count(read, 'file')} read, "
            f"{count(len(scoped.findings), 'finding')}, {count(len(snap.questions), 'plan question')}. "
            "Generated by kbgen from the research database — "
            "do not edit these pages; edit the database, the plans or the domain documents.\n\n"
            f"```{{toctree}}\n:maxdepth: 1\n\n" + "\n".join(entries) + "\n```\n")


def labels_json(view: SiteView) -> str:
    data: dict[str, dict[str, str]] = {}
    for lab in view.snap.labels:
        if lab.finding_id in view.snap.finding_by_id:
            data.setdefault(lab.domain, {})[lab.text] = f"F{lab.finding_id}"
    return json.dumps(data, sort_keys=True, indent=1) + "\n"


# -- the need graph ----------------------------------------------------------------

def needs_by_page(view: SiteView, domain_docnames: dict[str, str]) -> dict[str, list[tuple[str, Links]]]:
    """Docname → the needs the page defines (ID and links), in the order the page shows them.

    Where each need lives on the site, from the snapshot: the page functions above place
    them with the same helpers. ``domain_docnames`` maps each domain that has a page (one
    with a domain document) to it. :mod:`kbgen.render.deps` digests the result.
    """
    layout = view.layout
    out: dict[str, list[tuple[str, Links]]] = {}
    for s in view.snap.sessions:
        needs: list[tuple[str, Links]] = [(s.need_id, {})]
        needs += [(q.id, question_links(view, q)) for q in session_questions(view, s)]
        needs += [(f.need_id, finding_links(view, f))
                  for f in by_severity(view.snap.findings_of_session.get(s.id, ()))]
        out[layout.session(s)] = needs
    for f in view.page_files:
        out[layout.file(f)] = [(f.need_id, file_links(view, f))]
    out[f"{layout.root}/files/other"] = [(f.need_id, file_links(view, f)) for f in view.other_need_files]
    orphans = unsessioned_findings(view)
    if orphans:
        out[f"{layout.root}/findings/unsessioned"] = [(f.need_id, finding_links(view, f))
                                                      for f in by_severity(orphans)]
    for name, docname in domain_docnames.items():
        out[docname] = [(view.domain_need_ids[name], {})]
    return out
