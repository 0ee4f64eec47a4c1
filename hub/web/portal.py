"""The public 政务公开 portal: home, browse, record page, search, Atom feed and short links.

No log-in, no JavaScript needed, nothing here writes except the scan counter
of ``/s/<code>``. Every page shows only published versions.
"""

from __future__ import annotations

import io
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import update

from hub.channels.web import WebChannel
from hub.errors import NotFound
from hub.record import Stage
from hub.settings import get_settings
from hub.store.db import session_scope
from hub.store.models import ScanRow, ShortLinkRow
from hub.timeutil import utcnow
from hub.web import queries, search
from hub.web.pages import render

router = APIRouter()

PAGE_SIZE = 20
#: Search shows the best matches only (each hit parses its record for the snippet).
SEARCH_LIMIT = 30


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    with session_scope() as s:
        latest = queries.published(s, limit=12)
        facets = queries.facets(s)
        by_stage = {st.value: queries.published(s, stage=st.value, limit=5) for st in Stage}
    return render(request, "portal/home.html", {"latest": latest, "facets": facets, "by_stage": by_stage})


@router.get("/browse", response_class=HTMLResponse)
def browse(request: Request, stage: str | None = None, domain: str | None = None, item: str | None = None,
           level: str | None = None, region: str | None = None, department: str | None = None,
           page: int = Query(1, ge=1, le=10_000)) -> HTMLResponse:
    filters = {"stage": stage, "domain": domain, "item": item, "level": level, "region": region,
               "department": department}
    with session_scope() as s:
        rows = queries.published(s, **filters, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        facets = queries.facets(s)
    more = len(rows) > PAGE_SIZE
    active = {k: v for k, v in filters.items() if v}
    return render(request, "portal/browse.html", {"rows": rows[:PAGE_SIZE], "facets": facets, "active": active,
                                                  "page": page, "more": more})


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(request: Request, record_id: str) -> HTMLResponse:
    from hub.metrics.pageviews import count_view
    from hub.store.repo import record_of

    with session_scope() as s:
        row = queries.published_version(s, record_id)
        if row is None:
            raise NotFound(record_id)
        record = record_of(row)
        interprets = None
        if record.interprets:
            title = queries.related_title(s, record.interprets)
            interprets = {"id": record.interprets, "title": title} if title else None
        explained_by = [{"id": r.record_id, "title": r.title} for r in queries.interpretations(s, record_id)]
        link = queries.short_link(s, row.version, WebChannel.name)
        short_url = f"{get_settings().public_url}/s/{link.code}" if link else None
        count_view(s, record_id=record_id, version=row.version, now=utcnow(),  # issue 15: no cookie, no address kept
                   address=request.client.host if request.client else None,
                   user_agent=request.headers.get("user-agent"))
    return render(request, "portal/record.html", {
        "row": row, "record": record, "interprets": interprets, "explained_by": explained_by,
        "short_url": short_url})


@router.get("/records/{record_id}/qr.svg")
def record_qr(record_id: str) -> Response:
    """The page's QR code (SVG), pointing at its web short link so scans are counted."""
    import qrcode
    import qrcode.image.svg

    with session_scope() as s:
        row = queries.published_version(s, record_id)
        if row is None:
            raise NotFound(record_id)
        link = queries.short_link(s, row.version, WebChannel.name)
    base = get_settings().public_url
    data = f"{base}/s/{link.code}" if link else f"{base}/records/{record_id}"
    img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return Response(buf.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = Query("", max_length=200)) -> HTMLResponse:
    hits: list[search.Hit] = []
    query = q.strip()
    if query:
        with session_scope() as s:
            hits = search.search(s, query, limit=SEARCH_LIMIT)
    return render(request, "portal/search.html", {"q": query, "hits": hits})


@router.get("/feed.xml")
def feed(request: Request) -> Response:
    """The Atom feed of the latest published records (RFC 4287)."""
    with session_scope() as s:
        rows = queries.published(s, limit=50)
    base = get_settings().public_url
    updated: datetime = max((r.published_at or r.created_at for r in rows), default=utcnow())
    from hub.web.pages import environment, site_name

    xml = environment().get_template("portal/feed.xml").render(rows=rows, base=base, updated=updated,
                                                               site_name=site_name())
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


@router.get("/s/{code}")
def short_link(code: str, request: Request) -> Response:
    """Count one scan/open for the code's channel, then 302 to the record page."""
    if not code.isalnum() or len(code) > 16:
        raise NotFound(code)
    with session_scope() as s:
        link = s.get(ShortLinkRow, code)
        if link is None:
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
