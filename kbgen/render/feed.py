"""The Atom feed (RFC 4287): one entry per recent session, one per new CRITICAL or HIGH finding.

``kbgen sync`` writes ``feed.xml`` into the generated folder like any page
(deterministic, written only when its bytes change, tracked by the
manifest, checked by ``sync --check``); the Sphinx extension copies it to the
site's root and links it from every page's head (:mod:`kbgen.sphinxext.feed`).

Feed readers show an item once as long as its ``id`` and ``updated`` stay the
same, so neither ever comes from the clock:

* IDs are ``urn:uuid:`` name-based UUIDs (RFC 4122 version 5) of the
  knowledge base's title and the session's or finding's row id. They do not
  depend on ``site_url``, so moving the site does not repeat every item;
  renaming the knowledge base does.
* ``updated`` is the session's date (midnight UTC for a plain date). A
  session without a usable date takes the date of the closest dated session
  before it, or 1970-01-01 when none has one; the feed's own ``updated`` is
  its newest entry's.

Links are absolute when ``site_url`` is configured; without it they are
relative to the feed's own address (the site root), which RFC 4287 allows
and feed readers resolve. Database text is character data (``type="text"``),
escaped by the XML serialiser, with characters XML 1.0 cannot hold removed.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, date, datetime

from kbgen import analysis
from kbgen.changes import ALERT_SEVERITIES, Changes
from kbgen.config import FEED_FILE, Options
from kbgen.model import Finding, Session
from kbgen.render import escape
from kbgen.render.view import SiteView

ATOM_NS = "http://www.w3.org/2005/Atom"
EPOCH = "1970-01-01T00:00:00Z"
#: Characters XML 1.0 cannot carry at all (escape.clean already drops the C0/C1 controls).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
TITLE_LIMIT = 140


def xml_text(value: object) -> str:
    """Database text made safe to be XML character data (the serialiser escapes ``<&>``)."""
    return _NOT_XML.sub("", escape.clean(value))


def feed_namespace(title: str) -> uuid.UUID:
    """The UUID namespace of one knowledge base's entry IDs."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "kbgen:" + title)


def entry_id(namespace: uuid.UUID, kind: str, row_id: int) -> str:
    return f"urn:uuid:{uuid.uuid5(namespace, f'{kind}/{row_id}')}"


def atom_date(text: str | None) -> str | None:
    """An ISO date or date-time as an RFC 3339 timestamp in UTC; None when it cannot be read."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return f"{day.isoformat()}T00:00:00Z"
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_dates(sessions: Sequence[Session]) -> dict[int, str]:
    """Session id → its entry date, with the fallbacks of the module docstring (campaign order)."""
    out: dict[int, str] = {}
    last = EPOCH
    for s in sessions:
        stamp = atom_date(s.date)
        if stamp is not None:
            last = stamp
        out[s.id] = stamp or last
    return out


def one_line(text: object, limit: int = TITLE_LIMIT) -> str:
    """Text on one line, cut at ``limit`` characters with an ellipsis."""
    value = " ".join(escape.clean(text).split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = xml_text(text)
    return node


def _finding_title(f: Finding, session: Session) -> str:
    head = f"{f.severity} {f.need_id} in {session.label}: "
    return head + one_line(f.description or "(no description)")


def _session_summary(c: Changes) -> str:
    parts = []
    if c.new_findings:
        counts = ", ".join(f"{n:,} {sev.lower()}" for sev, n in c.severity_counts.items())
        parts.append(f"{len(c.new_findings):,} new finding{'s' if len(c.new_findings) != 1 else ''} ({counts})")
    if c.resolved or c.superseded:
        parts.append(f"{len(c.resolved):,} resolved, {len(c.superseded):,} superseded")
    if c.depth_rises:
        parts.append(f"{len(c.depth_rises):,} file{'s' if len(c.depth_rises) != 1 else ''} read deeper")
    if c.files_gained:
        parts.append(f"{c.loc_gained:,} more LOC read MEDIUM or deeper")
    if c.answered:
        parts.append(f"{len(c.answered):,} plan question{'s' if len(c.answered) != 1 else ''} answered")
    if c.edges:
        parts.append(f"{len(c.edges):,} dependency edge{'s' if len(c.edges) != 1 else ''}")
    return "; ".join(parts) + "." if parts else "No findings, deeper reads, statuses or answers recorded."


def feed_xml(view: SiteView, options: Options, shown: Sequence[Changes]) -> str:
    """The whole feed, newest session first, each followed by its new CRITICAL and HIGH findings."""
    snap = view.snap
    base = options.site_url or ""
    namespace = feed_namespace(options.title)
    dates = session_dates(analysis.ordered_sessions(snap))

    def href(docname: str, anchor: str = "") -> str:
        return f"{base}{docname}.html" + (f"#{anchor}" if anchor else "")

    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    _el(feed, "id", f"urn:uuid:{namespace}")
    _el(feed, "title", f"{options.title}: latest changes", type="text")
    _el(feed, "subtitle", "New research sessions and new critical or high findings.", type="text")
    stamps = [dates[c.first.id] for c in shown]
    _el(feed, "updated", max(stamps) if stamps else EPOCH)
    _el(feed, "link", rel="alternate", type="text/html", href=href(f"{view.layout.root}/changes"))
    if base:
        _el(feed, "link", rel="self", type="application/atom+xml", href=base + FEED_FILE)
    author = _el(feed, "author")
    _el(author, "name", options.title)
    _el(feed, "generator", "kbgen", uri="https://pypi.org/project/kbgen/")
    for c in shown:
        s = c.first
        stamp = dates[s.id]
        page = view.layout.session(s)
        entry = _el(feed, "entry")
        _el(entry, "id", entry_id(namespace, "session", s.id))
        _el(entry, "title", f"{s.label}: {one_line(s.focus)}" if s.focus else s.label, type="text")
        _el(entry, "updated", stamp)
        _el(entry, "published", stamp)
        _el(entry, "link", rel="alternate", type="text/html", href=href(page))
        _el(entry, "category", term="session")
        _el(entry, "summary", _session_summary(c), type="text")
        for f in c.new_findings:
            if f.severity not in ALERT_SEVERITIES:
                continue
            item = _el(feed, "entry")
            _el(item, "id", entry_id(namespace, "finding", f.id))
            _el(item, "title", _finding_title(f, s), type="text")
            _el(item, "updated", stamp)
            _el(item, "published", stamp)
            _el(item, "link", rel="alternate", type="text/html", href=href(page, f.need_id))
            _el(item, "category", term=f.severity.lower())
            where = snap.file_by_id.get(f.file_id) if f.file_id is not None else None
            lines = [f.description or "(no description)", "",
                     f"Severity: {f.severity_shown}. Category: {f.category_shown}."]
            if where is not None:
                lines.append(f"File: {where.package}/{where.path}" + (f", lines {f.lines}" if f.lines else "") + ".")
            _el(item, "summary", "\n".join(lines), type="text")
    ET.indent(feed, "  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"
