"""The drafted plan as markdown, in the seed's format (``templates/plan.md.j2``).

Everything here is about writing: the picks, clusters and figures are
computed elsewhere. The plan is read twice, by people on GitHub and by
kbgen's own plan parser, so every database string goes through one of
three doors:

* identifiers (paths, packages, domains) become code spans whose fence is
  longer than any backtick run inside (:func:`kbgen.render.escape.code`),
  and inside a table cell their pipes are escaped (``\\|``, which GFM
  tables unescape before the code span is read, so ``a|b`` survives);
* free text (a relationship name) is escaped where markdown would read it as
  syntax, and inside a table cell its pipes are escaped too;
* the template's ``finalize`` escapes anything else that reaches it as a
  plain string, so nothing from the database can land in the plan raw.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from kbgen import analysis
from kbgen.analysis import TIER_MEANING, TIERS, Gap
from kbgen.config import Options
from kbgen.draft import evidence
from kbgen.draft.clusters import DraftCluster
from kbgen.draft.expected import DomainChange, Expected
from kbgen.draft.phrase import CODE, DATA, Phrase, code, join, text
from kbgen.draft.select import Selection
from kbgen.model import Snapshot
from kbgen.plan.model import PLACEHOLDER_MARK
from kbgen.render import escape
from kbgen.render.myst import Md, finalize, pct
from kbgen.wording import count

_ENV = Environment(loader=PackageLoader("kbgen.draft", "templates"), autoescape=False, finalize=finalize,
                   undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)

#: The mark a researcher replaces: plain words, so it reads the same raw and parsed; the plan parser
#: notes every key question still carrying it (plan.placeholder-question).
TODO = PLACEHOLDER_MARK
#: What each tier suggests asking; no file names (a name in a question bullet would bind to it).
QUESTION_HINTS: dict[str, str] = {
    "CONNECTED": "how does it serve the DEEP code it is linked to (see Context), and is that path real?",
    "OWN_CODE": "is the team's own code here real and complete, or scaffolding?",
    "PROXIMATE": "does it confirm or contradict what its DEEP neighbours showed?",
    "NEARBY": "does it confirm or contradict what its DEEP neighbours showed?",
    "DOMAIN_ONLY": "what does it contribute to its domain, if anything?",
}


def md_code(value: str, *, cell: bool = False) -> str:
    """A database identifier as a code span (pipes escaped in a table cell)."""
    span = escape.code(value) or escape.code("(empty)")
    return span.replace("|", "\\|") if cell else span


def md(phrase: Phrase, *, cell: bool = False) -> Md:
    """A phrase as markdown: kbgen's words as they are, database strings escaped for where they land."""
    out: list[str] = []
    for kind, value in phrase.pieces:
        if kind == CODE:
            out.append(md_code(value, cell=cell))
        elif kind == DATA:
            out.append(escape.cell(value).replace("|", "\\|") if cell else escape.inline(value))
        else:
            out.append(value)
    return Md("".join(out))


def _tier_counts(picks: Sequence[Gap]) -> list[tuple[str, int]]:
    counts = Counter(g.tier for g in picks)
    return [(t, counts[t]) for t in TIERS if counts[t]]


def _tiers_text(picks: Sequence[Gap]) -> str:
    parts = [f"{n:,} {t}" for t, n in _tier_counts(picks)]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _gap_domains(picks: Sequence[Gap]) -> list[str]:
    """Domains that made the picks gaps, most picks first, then by name."""
    counts = Counter(d for g in picks for d in g.domains)
    return sorted(counts, key=lambda d: (-counts[d], d))


def _names(values: Sequence[str], limit: int, noun: str) -> Phrase:
    shown = [code(v) for v in values[:limit]]
    more = len(values) - limit
    if more > 0:
        shown.append(text(count(more, "more " + noun, "more " + noun + "s")))
    return join(shown, ", ", " and ")


def _share(here: int, gaps: int) -> str:
    """How many of a domain's priority gaps the plan takes, in words."""
    if here == gaps:
        return "its one priority gap is in this plan." if gaps == 1 else f"all {gaps:,} of its gaps are in this plan."
    return f"{count(gaps, 'priority gap')}, {here:,} of them in this plan."


def _closing(top: str) -> str:
    """The last sentence of the strategic value: what the best tier of the plan means for the session."""
    if top in ("CONNECTED", "PROXIMATE", "NEARBY"):
        return (f"These are the highest-ranked gaps left ({top} first): they sit next to code already read DEEP, "
                "so each read builds on verified ground.")
    if top == "OWN_CODE":
        return ("No gap of this selection has a dependency edge to a DEEP file; the team's own code comes next, "
                "as the tiers rank it.")
    return ("No gap of this selection is linked to or near a file read DEEP: this session opens new ground "
            "in its domains.")


@dataclass(frozen=True)
class PlanDraft:
    """What a plan is drafted from: the picks, their clusters and figures, and what the user asked for."""

    session: int
    date: str
    selection: Selection
    clusters: tuple[DraftCluster, ...]
    expected: Expected
    isolation: tuple[evidence.Isolation, ...]
    loc_budget: int
    file_limit: int
    limits: Phrase
    """What the request narrowed the gaps to (`` in `pyquill`, tier CONNECTED``), empty for none."""


def _cluster_title(c: DraftCluster, one_package: bool) -> Phrase:
    if c.package is None:
        packages = sorted({g.file.package for g in c.picks})
        return (join((code(d) if d else text("package root") for d in c.directories), ", ") + " ("
                + join(map(code, packages), ", ") + ")")
    where = code(c.directories[0]) if c.directories[0] else text("package root")
    return where if one_package else where + " in " + code(c.package)


def _full_paths(snap: Snapshot, c: DraftCluster, first_number: int) -> tuple[Md, list[tuple[int, Md]]]:
    """``(all under `base`)`` when one base covers the cluster, and the numbered entries.

    An entry is written whole (``~/repos/x/src/a.rs``) when the ``all under``
    form would not read back: several bases, a ``)`` in the base (it would
    end the parenthesis), a path the parser would not join. A file whose
    package has no usable base path gets no entry (the parser allows that).
    """
    bases: list[str | None] = []
    for g in c.picks:
        p = snap.package_by_id.get(g.file.package_id) if g.file.package_id is not None else None
        bases.append(_usable_base(p.base_path if p is not None else None))
    common = bases[0] if len(set(bases)) == 1 else None
    if common is not None and ")" not in common and all(_relative_ok(g.file.path) for g in c.picks):
        entries = [(first_number + i, Md(md_code(g.file.path))) for i, g in enumerate(c.picks)]
        return Md(f" (all under {md_code(common.rstrip('/') + '/')})"), entries
    return Md(""), [(first_number + i, Md(md_code(base.rstrip("/") + "/" + g.file.path)))
                    for i, (g, base) in enumerate(zip(c.picks, bases, strict=True)) if base is not None]


def _usable_base(base: str | None) -> str | None:
    """A package base path the plan parser reads as a repository root (``~/…``, ``/…``, ``…repos/…``)."""
    base = (base or "").strip()
    if not base or "\n" in base or "\r" in base:
        return None
    return base if base.startswith(("~", "/")) or "repos/" in base else None


def _relative_ok(path: str) -> bool:
    """A path the parser joins with the ``all under`` base (it leaves absolute-looking ones alone)."""
    return bool(path) and not path.startswith(("~", "/", "./")) and "repos/" not in path and "\n" not in path


def _percent(part: int, whole: int) -> str:
    """A coverage to one decimal: one session moves a large domain by less than a point."""
    return "—" if not whole else f"{100.0 * part / whole:.1f}%"


def _coverage_line(change: DomainChange) -> Md:
    before, after = _percent(change.loc_read, change.loc), _percent(change.loc_read_after, change.loc)
    files = f"its {change.picks:,} planned files reach" if change.picks != 1 else "its planned file reaches"
    return Md(f"{md_code(change.name)} coverage: {before} → {after} of its {change.loc:,} LOC read MEDIUM or "
              f"deeper, if {files} DEEP")


def _doc_paths(snap: Snapshot, options: Options, names: Sequence[str]) -> list[str]:
    from kbgen.domain_paths import domain_doc_paths  # the one rule for where a domain's document lives

    paths = domain_doc_paths(snap, options, [])
    shown = []
    for name in names:
        path = paths.get(name)
        if path is None:
            continue
        try:
            shown.append(path.relative_to(options.project_dir).as_posix())
        except ValueError:
            shown.append(path.as_posix())
    return shown


def _header(snap: Snapshot, options: Options, draft: PlanDraft, one_package: bool) -> dict[str, Md]:
    """Title, focus and strategic value, drafted from the domains and tiers of the picks."""
    sel = draft.selection
    picks = sel.picks
    domains = _gap_domains(picks)
    gaps_of_domain = Counter(d for g in analysis.priority_gaps(snap, options, high_only=sel.high_only)
                             for d in g.domains)
    coverage = {c.name: c for c in draft.expected.domains}
    titles = [_cluster_title(c, one_package) for c in draft.clusters]
    # "1 CONNECTED and 1 OWN_CODE priority gaps" reads wrong in either number: the tiers go after a colon.
    tiers = (f"{'an' if picks[0].tier[0] in 'AEIOU' else 'a'} {picks[0].tier} priority gap" if len(picks) == 1
             else "priority gaps: " + ", ".join(f"{n:,} {t}" for t, n in _tier_counts(picks)))
    focus = (text(f"Deep-read {count(len(picks), 'file')} (~{sel.loc:,} LOC) in ")
             + join(titles[:3] + ([text(count(len(titles) - 3, "more cluster"))] if len(titles) > 3 else []),
                    ", ", " and ")
             + text(f" — {tiers}."))
    strategic: list[Phrase] = []
    for name in domains[:3]:
        c = coverage[name]
        gaps = gaps_of_domain[name]
        here = sum(1 for g in picks if name in g.domains)
        strategic.append(
            code(name) + text(f" ({c.priority}) has {c.deep:,} of {count(c.files, 'file')} DEEP "
                              f"and {pct(c.loc_read, c.loc)} of its LOC read MEDIUM or deeper; "
                              + _share(here, gaps)))
    if len(domains) > 3:
        more = len(domains) - 3
        strategic.append(text(f"{count(more, 'more domain')} {'gains' if more == 1 else 'gain'} files too (see "
                              "Expected Outcomes)."))
    strategic.append(text(_closing(picks[0].tier)))
    return {"title": md(text("Priority gaps in ") + _names(domains, 2, "domain")), "focus": md(focus),
            "strategic": Md(" ".join(md(p) for p in strategic))}


def _rationale(snap: Snapshot, draft: PlanDraft, one_package: bool) -> dict[str, object]:
    """The tiers the picks come from, each pick's evidence, and what is left."""
    sel = draft.selection
    picks = sel.picks
    scope = "the HIGH-priority domains" if sel.high_only else "the domains asked for"
    intro = md(text(f"Drafted from the priority gaps of {scope}") + draft.limits
               + text(f": {count(sel.candidates, 'candidate')}, ranked by tier, then by links to DEEP files, then "
                      f"by size. This plan takes {_tiers_text(picks)}:"))
    meaning = dict(TIER_MEANING)
    if not sel.high_only:
        meaning["DOMAIN_ONLY"] = "tagged with the domain only, no DEEP file linked or nearby"
    tier_lines = [Md(f"{n:,} {t}: {meaning[t]}") for t, n in _tier_counts(picks)]
    why_lines = [md(evidence.file_label(g.file, g.file.package if one_package else None) + text(" — ")
                    + text(f"{g.tier}: ") + evidence.why(snap, g, links=evidence.RATIONALE_LINKS)) for g in picks]
    left = [f"{n:,} {t}" for t, n in sel.remaining_by_tier.items() if n]
    after = ("Gaps left after this session: " + ", ".join(left) + "." if left
             else "No gap of this selection is left after this session.")
    if sel.over_budget:
        shown = sel.over_budget[:5]
        passed = join([code(g.file.path) + text(f" ({g.file.loc or 0:,} LOC, {g.tier})") for g in shown],
                      ", ", " and ")
        more = len(sel.over_budget) - len(shown)
        after += (f" Passed over for the {draft.loc_budget:,} LOC budget: " + md(passed)
                  + (f" and {more:,} more" if more > 0 else "") + " — each worth a session of its own.")
    return {"intro": intro, "tier_lines": tier_lines, "why_lines": why_lines, "after": Md(after)}


def _clusters(snap: Snapshot, draft: PlanDraft, one_package: bool) -> list[dict[str, object]]:
    """Per cluster: heading, table rows, full paths and one placeholder question per file."""
    number = 1
    blocks: list[dict[str, object]] = []
    for cluster in draft.clusters:
        rows = []
        for g in cluster.picks:
            f = g.file
            rows.append({
                "number": number, "file_id": f.id, "path": Md(md_code(f.path, cell=True)),
                "loc": f"{f.loc:,}" if f.loc is not None else "—",
                "context": md(evidence.context(snap, g), cell=True),
                # Named as the parser reads the table cell (white space collapsed), so the bullet binds to it.
                "question": Md(md_code(" ".join(f.path.split())) + (f" ({f.loc:,} LOC)" if f.loc is not None else "")
                               + f": **{TODO}** {QUESTION_HINTS[g.tier]}"),
            })
            number += 1
        base, entries = _full_paths(snap, cluster, number - len(rows))
        blocks.append({
            "letter": cluster.letter, "title": md(_cluster_title(cluster, one_package)),
            "files": count(len(cluster.picks), "file"), "loc": f"{cluster.loc:,}",
            "intro": md(text(f"{_tiers_text(cluster.picks)}, in ")
                        + join(map(code, _gap_domains(cluster.picks)), ", ", " and ") + text(".")),
            "rows": rows, "base": base, "full_paths": entries,
        })
    return blocks


def _outcomes(draft: PlanDraft, one_package: bool) -> list[Md]:
    """Figures the plan parser reads back (files read, DEEP count, new findings), coverage, one TODO per cluster."""
    picks = draft.selection.picks
    loc = draft.selection.loc
    exp = draft.expected
    n = len(picks)
    reach = (f"if all {n:,} planned files reach DEEP" if n > 2 else "if both planned files reach DEEP" if n == 2
             else "if the planned file reaches DEEP")
    lines = [Md(f"Files read: {n:,} (every planned file, read DEEP)"),
             Md(f"DEEP count: {exp.deep_now:,} → {exp.deep_after:,} ({reach})")]
    if exp.rate is not None and loc > 0:
        low, high = exp.rate.expected(loc)
        figure = f"{low:,}" if low == high else f"{low:,}-{high:,}"
        lines.append(Md(f"New findings: ~{figure} expected across {loc:,} LOC (the middle half of "
                        f"{exp.rate.sessions:,} sessions recorded {exp.rate.low:.1f}-{exp.rate.high:.1f} "
                        "findings per 1,000 LOC they read MEDIUM or deeper)"))
    lines.extend(_coverage_line(ch) for ch in sorted(exp.domains, key=lambda ch: (-ch.picks, ch.name)))
    lines.extend(Md(f"Cluster {c.letter} ({md(_cluster_title(c, one_package))}): **{TODO}** the verdict this "
                    "cluster should reach") for c in draft.clusters)
    return lines


def _tags(snap: Snapshot, picks: Sequence[Gap]) -> list[Md]:
    """``All files → `a` `` or one bullet per set of domains (the files' own tags, all priorities)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for g in picks:
        groups.setdefault(snap.domains_of_file.get(g.file.id, g.domains), []).append(g.file.id)
    lines: list[Md] = []
    for names, ids in sorted(groups.items(), key=lambda item: min(item[1])):
        names_md = ", ".join(md_code(n) for n in names)
        if len(groups) == 1:
            lines.append(Md(f"All files → {names_md}"))
        else:
            lines.append(Md(f"{'File' if len(ids) == 1 else 'Files'} {', '.join(map(str, sorted(ids)))} → "
                            f"{names_md}"))
    return lines


def _isolation(snap: Snapshot, draft: PlanDraft, one_package: bool) -> Md:
    iso = draft.isolation
    isolated = [i for i in iso if i.isolated]
    edges = sum(i.edges_to_read for i in iso)
    if not snap.dependencies:
        return Md("The database records no dependency edges: isolation cannot be checked. Confirm by hand that "
                  "the planned files are reachable from code already read.")
    if not isolated:
        return Md(f"Every planned file has a dependency edge to a file already read ({count(edges, 'edge')} in "
                  "all). No isolation concerns.")
    parts = []
    for i in isolated:
        label = evidence.file_label(i.gap.file, i.gap.file.package if one_package else None)
        parts.append(label + (text(" (linked only to other files of this plan)") if i.linked_picks else Phrase()))
    one = len(isolated) == 1
    others = len(iso) - len(isolated)
    rest = ("" if not others else f" The other file has {count(edges, 'edge')} to read files." if others == 1
            else f" The other {others:,} files have {count(edges, 'edge')} to read files.")
    it = "it" if one else "them"
    return Md(f"{len(isolated):,} of {len(iso):,} planned files {'has' if one else 'have'} no dependency edge to "
              "anything read so far: " + md(join(parts, ", ", " and ")) + f". {'It' if one else 'They'} may sit "
              f"in an isolated subtree: confirm what reaches {it} before reading {it} DEEP." + rest)


def render_plan(snap: Snapshot, options: Options, draft: PlanDraft) -> str:
    """The plan's markdown (ends with one newline)."""
    picks = draft.selection.picks
    one_package = len({g.file.package for g in picks}) == 1
    comments = [f"// {g.file.id}: {_one_line(g.file.name)} ({_loc(g.file.loc)} LOC) — "
                f"{_one_line(g.file.package)}, {g.tier}" for c in draft.clusters for g in c.picks]
    fence = "`" * max(3, 1 + max((len(m) for line in comments for m in re.findall(r"`+", line)), default=0))
    docs = _doc_paths(snap, options, sorted({d for g in picks for d in snap.domains_of_file.get(g.file.id, ())}))
    text_ = _ENV.get_template("plan.md.j2").render(
        session=draft.session, date=Md(draft.date), todo=Md(TODO), files=len(picks), loc=f"{draft.selection.loc:,}",
        **_header(snap, options, draft, one_package), **_rationale(snap, draft, one_package),
        clusters=_clusters(snap, draft, one_package), outcomes=_outcomes(draft, one_package),
        tags=_tags(snap, picks), isolation=_isolation(snap, draft, one_package), fence=Md(fence),
        comments=[Md(c) for c in comments],
        docs=md(join(map(code, docs), ", ", " and ")) if docs else Md("the domain documents"))
    return text_.rstrip("\n") + "\n"


def _loc(loc: int | None) -> str:
    """A LOC figure as plans write it; ``?`` when the database does not know it."""
    return "?" if loc is None else f"{loc:,}"


def _one_line(value: str) -> str:
    """A name inside the template's code block: one line, no control characters."""
    return " ".join(escape.clean(value).split())
