"""The public 政务公开 portal: home, browse, record page, search, Atom feed and short links.

No log-in, no JavaScript needed, nothing here writes except the scan counter
of ``/s/<code>``. Every page shows only published versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.channels.notices import with_tombstones, withdrawal_of, withdrawn_records
from hub.channels.web import WebChannel
from hub.errors import NotFound
from hub.record import Stage
from hub.settings import get_settings
from hub.store.db import read_session, session_scope
from hub.store.models import ScanRow, ShortLinkRow, VersionRow, WorkflowEventRow
from hub.timeutil import utcnow
from hub.web import queries, search
from hub.web.pages import render
from hub.web.security import client_address

router = APIRouter()

PAGE_SIZE = 20
#: Search shows the best matches only (each hit parses its record for the snippet).
SEARCH_LIMIT = 30


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    def build() -> dict[str, Any]:
        return {"latest": queries.published(s, limit=12), "facets": queries.facets(s),
                "by_stage": {st.value: queries.published(s, stage=st.value, limit=5) for st in Stage}}

    with read_session() as s:  # no write lock: page views run side by side
        context = queries.cached(s, "home", (), build)
    return render(request, "portal/home.html", context)


@router.get("/browse", response_class=HTMLResponse)
def browse(request: Request, stage: str | None = None, domain: str | None = None, item: str | None = None,
           level: str | None = None, region: str | None = None, department: str | None = None,
           page: int = Query(1, ge=1, le=10_000)) -> HTMLResponse:
    filters = {"stage": stage, "domain": domain, "item": item, "level": level, "region": region,
               "department": department}
    with read_session() as s:
        rows = queries.cached(s, "browse", (*filters.values(), page), lambda: queries.published(
            s, **filters, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE))
        facets = queries.cached(s, "facets", (), lambda: queries.facets(s))
    more = len(rows) > PAGE_SIZE
    active = {k: v for k, v in filters.items() if v}
    return render(request, "portal/browse.html", {"rows": rows[:PAGE_SIZE], "facets": facets, "active": active,
                                                  "page": page, "more": more})


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(request: Request, record_id: str,
                v: str | None = Query(None, max_length=64, pattern="^[0-9a-f]{8,64}$")) -> HTMLResponse:
    from hub.metrics.pageviews import count_view
    from hub.store.repo import record_of

    with session_scope() as s:
        row = queries.published_version(s, record_id)
        versions = corrections(s, record_id) if row is not None else []
    earlier = None
    if row is not None and v and not row.version.startswith(v):  # 更正前的版本, linked from the 更正说明
        earlier = next((p for p in versions if p["version"].startswith(v)), None)
        if earlier is None:
            raise NotFound(f"{record_id}@{v}")
        latest = row
        with session_scope() as s:
            found = s.get(VersionRow, earlier["version"])
            assert found is not None
            row = found
        earlier = {**earlier, "latest": latest.version}
    if row is None:
        gone = withdrawal_of(None, record_id)
        if gone is not None:  # 已撤回: 410 Gone with a notice, never the old text
            return render(request, "portal/withdrawn.html", {"gone": gone}, status_code=410)
        raise NotFound(record_id)
    with session_scope() as s:
        s.add(row)
        record = record_of(row)
        interprets = None
        if record.interprets:
            title = queries.related_title(s, record.interprets)
            interprets = {"id": record.interprets, "title": title} if title else None
        explained_by = [{"id": r.record_id, "title": r.title} for r in queries.interpretations(s, record_id)]
        link = queries.short_link(s, row.version, WebChannel.name)
        short_url = f"{get_settings().public_url}/s/{link.code}" if link else None
        if earlier is None:  # issue 15: one count per visitor per day, no cookie, no address kept
            count_view(s, record_id=record_id, version=row.version, now=utcnow(),
                       address=client_address(request), user_agent=request.headers.get("user-agent"))
    correction = versions[0] if versions and earlier is None else None
    return render(request, "portal/record.html", {
        "row": row, "record": record, "interprets": interprets, "explained_by": explained_by,
        "short_url": short_url, "correction": correction, "earlier": earlier})


def corrections(s: Session, record_id: str) -> list[dict[str, Any]]:
    """The record's earlier published versions, newest first, each with when it was corrected (更正说明).

    A correction publishes a new version and leaves the old one published (it is the public
    record of what was said); the page shows the newest and links the earlier ones.
    """
    rows = list(s.scalars(select(VersionRow).where(VersionRow.record_id == record_id,
                                                   VersionRow.state == "published")
                          .order_by(VersionRow.created_at.desc())))
    out = []
    for newer, older in zip(rows, rows[1:], strict=False):
        at = s.scalar(select(WorkflowEventRow.at).where(WorkflowEventRow.version == newer.version,
                                                        WorkflowEventRow.to_state == "published")
                      .order_by(WorkflowEventRow.id.desc()).limit(1))
        out.append({"version": older.version, "short": older.version[:12], "corrected_at": at or newer.created_at})
    return out


@router.get("/records/{record_id}/qr.svg")
def record_qr(record_id: str) -> Response:
    """The page's QR code (SVG), pointing at its web short link so scans are counted (the renderers' encoder)."""
    from hub.renderers.qr import qr_svg

    with session_scope() as s:
        row = queries.published_version(s, record_id)
        if row is None:
            raise NotFound(record_id)
        link = queries.short_link(s, row.version, WebChannel.name)
    base = get_settings().public_url
    data = f"{base}/s/{link.code}" if link else f"{base}/records/{record_id}"
    return Response(qr_svg(data), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = Query("", max_length=200)) -> HTMLResponse:
    from hub.consult.publication import search as search_answers

    hits: list[search.Hit] = []
    answers: list[object] = []
    query = q.strip()
    if query:
        with read_session() as s:  # search never writes (the index is kept by the workflow)
            hits = search.search(s, query, limit=SEARCH_LIMIT)
            answers = list(search_answers(s, query))  # published 群众咨询 answers (hub.consult)
            s.expunge_all()
    return render(request, "portal/search.html", {"q": query, "hits": hits, "answers": answers})


@router.get("/feed.xml")
def feed(request: Request) -> Response:
    """The Atom feed of the latest published records (RFC 4287)."""
    with read_session() as s:
        rows = queries.published(s, limit=50)
    base = get_settings().public_url
    updated: datetime = max((r.published_at or r.created_at for r in rows), default=utcnow())
    from hub.web.pages import environment, site_name

    xml = environment().get_template("portal/feed.xml").render(rows=rows, base=base, updated=updated,
                                                               site_name=site_name())
    # withdrawn records: RFC 6721 deleted-entry tombstones naming the entry ids the feed gave them
    gone = [(f"{base}/records/{w.record_id}#{w.version[:12]}", w.at) for w in withdrawn_records(None)]
    return Response(with_tombstones(xml.encode("utf-8"), gone), media_type="application/atom+xml; charset=utf-8")


@router.get("/s/{code}")
def short_link(code: str, request: Request) -> Response:
    """Count one scan/open for the code's channel, then 302 to the record page.

    Only for a published version: a draft's code (rendered for a preview) neither
    redirects nor counts, so nothing unpublished can be reached or measured.
    """
    from hub.store.models import VersionRow

    if not code.isalnum() or len(code) > 16:
        raise NotFound(code)
    with session_scope() as s:
        link = s.get(ShortLinkRow, code)
        version = s.get(VersionRow, link.version) if link is not None else None
        if link is None or version is None or version.state != "published":
            raise NotFound(code)
        # one conditional increment in the database: concurrent scans are never lost
        s.execute(update(ShortLinkRow).where(ShortLinkRow.code == code).values(scans=ShortLinkRow.scans + 1))
        s.add(ScanRow(code=code, at=utcnow()))
        target = link.target_url
        record_id = link.record_id
    parts = urlsplit(target)
    # redirect within this portal even when the link was minted under another public URL
    location = (parts.path or f"/records/{record_id}") + (f"?{parts.query}" if parts.query else "")
    return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})


@router.get("/healthz")
def healthz() -> dict[str, str]:
    with session_scope() as s:
        s.execute(__import__("sqlalchemy").text("SELECT 1"))
    return {"status": "ok"}
