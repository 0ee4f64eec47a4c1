"""The portal rendition: the record's page, and the site around it (listings by stage, domain, level; Atom feed).

The page is one rendition per version (``records/<id>/index.html``); listings and
the feed depend on many records, so ``build_site(entries)`` makes them from the
``entry`` fact every web rendition carries. The web channel adapter writes both
into ``var/site``. Semantic HTML, the metadata table as county portals print it
(索引号/公开目录, 公开责任部门/公开形式, 文号/成文日期, 有效性/公开日期), the QR of the
web short link inline, and 解读 links both ways from ``ctx.related``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from hub.deliverables import Rendition
from hub.record import LEVEL_NAMES, Level, Record, Stage
from hub.renderers.base import ArtifactStore, RenderContext
from hub.renderers.context import not_after
from hub.renderers.qr import qr_svg
from hub.renderers.summary import summarize
from hub.renderers.templating import render_template
from hub.renderers.text import clean, heading_base
from hub.timeutil import to_local

#: The rendition kind this module renders (its key in ``hub.renderers.RENDERERS``).
KIND = "web"

#: URL slugs of the five stages (file names stay ASCII).
STAGE_SLUGS = {Stage.DECISION: "decision", Stage.EXECUTION: "execution", Stage.MANAGEMENT: "management",
               Stage.SERVICE: "service", Stage.RESULT: "result"}
_SAFE_HREF = re.compile(r"^(https?://[^\s<>\"']+|/[^/\s<>\"'][^\s<>\"']*)$", re.I)
FEED_SIZE = 50


def safe_href(url: str | None) -> str | None:
    """An attachment link only if it is http(s) or site-relative (never ``javascript:`` or ``data:``)."""
    if url and _SAFE_HREF.match(url.strip()):
        return url.strip()
    return None


@dataclass(frozen=True, slots=True)
class SiteEntry:
    """What the listings and the feed need of one record (the ``entry`` fact of a web rendition)."""

    record_id: str
    version: str
    title: str
    url: str
    published: str
    stage: str | None
    domain: str | None
    level: str
    department: str | None
    summary: str

    @property
    def published_date(self) -> str:
        return self.published[:10]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SiteEntry:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


def _inline_svg(svg: str) -> Markup:
    """Our own QR SVG (built from a URL we made), without its XML declaration, labelled for screen readers."""
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="本页二维码" ', 1))  # noqa: S704


def _base_values(ctx: RenderContext) -> dict[str, Any]:
    return {"site_name": ctx.settings.get("site_name", ""),
            "stages": [(STAGE_SLUGS[s], s.value) for s in Stage]}


def entry_of(record: Record, ctx: RenderContext) -> SiteEntry:
    return SiteEntry(
        record_id=record.id, version=ctx.version, title=clean(record.title), url=ctx.page_url,
        published=to_local(ctx.rendered_at).isoformat(), stage=record.stage.value if record.stage else None,
        domain=record.domain, level=record.level.value, department=record.department,
        summary=summarize(record).text)


def page_html(record: Record, ctx: RenderContext) -> str:
    logo = str(ctx.settings.get("render", {}).get("logo") or "")
    attachments = [{"name": a.name, "href": safe_href(a.url)} for a in record.attachments]
    return render_template(
        "web/record.html", record=record, page_url=ctx.page_url, version=ctx.version,
        summary=summarize(record).text, stage_slug=STAGE_SLUGS.get(record.stage) if record.stage else None,
        published_iso=to_local(record.published_at).isoformat() if record.published_at else "",
        attachments=attachments, related=ctx.related, heading_base=heading_base(record), short_url=ctx.short_url("web"),
        qr_svg=_inline_svg(qr_svg(ctx.short_url("web"), logo)), level_name=LEVEL_NAMES[record.level],
        **_base_values(ctx))


def render_web(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """The record's portal page (main) and its ``entry`` for listings and the feed."""
    html = page_html(record, ctx)
    main = store.put(html.encode("utf-8"), ".html", "text/html")
    entry = entry_of(record, ctx)
    return Rendition(KIND, record.id, ctx.version, main,
                     facts={"site_path": f"records/{record.id}/index.html", "page_url": ctx.page_url,
                            "entry": entry.to_json()}, not_after=not_after(record, ctx, "web"))


# --- the site: listings and feed ---------------------------------------------------------


def _sorted(entries: list[SiteEntry]) -> list[SiteEntry]:
    latest: dict[str, SiteEntry] = {}
    for e in entries:  # one entry per record: the newest publication wins
        if e.record_id not in latest or (e.published, e.version) > (latest[e.record_id].published,
                                                                    latest[e.record_id].version):
            latest[e.record_id] = e
    return sorted(latest.values(), key=lambda e: (e.published, e.record_id), reverse=True)


def _facets(entries: list[SiteEntry]) -> list[tuple[str, list[tuple[str, str, int]]]]:
    def count(key: str, value: str) -> int:
        return sum(1 for e in entries if getattr(e, key) == value)

    stages = [(f"/stage/{STAGE_SLUGS[s]}.html", f"{s.value}公开", count("stage", s.value)) for s in Stage]
    domains = sorted({e.domain for e in entries if e.domain})
    levels = [(f"/level/{lv.value}.html", LEVEL_NAMES[lv], count("level", lv.value)) for lv in Level]
    return [("五公开", stages),
            ("公开领域", [(f"/domain/{quote(d)}.html", d, count("domain", d)) for d in domains]),
            ("公开层级", levels)]


def _listing(heading: str, entries: list[SiteEntry], site: dict[str, Any], facets: bool = False) -> bytes:
    html = render_template("web/listing.html", heading=heading, entries=entries,
                           facets=_facets(entries) if facets else [], **site)
    return html.encode("utf-8")


def feed_xml(entries: list[SiteEntry], *, public_url: str, site_name: str) -> bytes:
    """The Atom feed of the newest ``FEED_SIZE`` entries (``updated`` = the newest entry, never now)."""
    newest = _sorted(entries)[:FEED_SIZE]
    updated = newest[0].published if newest else "2000-01-01T00:00:00+00:00"
    xml = render_template("web/feed.xml", entries=newest, base=public_url, site_name=site_name, updated=updated)
    return xml.encode("utf-8")


def build_site(entries: list[SiteEntry], *, public_url: str, site_name: str) -> dict[str, bytes]:
    """Listing pages and the feed for these entries: relative path → bytes (the web channel writes them).

    Paths: ``index.html``, ``stage/<slug>.html``, ``domain/<领域>.html``, ``level/<level>.html``, ``feed.xml``.
    """
    ordered = _sorted(entries)
    site = {"site_name": site_name, "stages": [(STAGE_SLUGS[s], s.value) for s in Stage]}
    out = {"index.html": _listing("最新公开信息", ordered, site, facets=True)}
    for stage in Stage:
        out[f"stage/{STAGE_SLUGS[stage]}.html"] = _listing(
            f"{stage.value}公开", [e for e in ordered if e.stage == stage.value], site)
    for domain in sorted({e.domain for e in ordered if e.domain}):
        out[f"domain/{domain.replace('/', '／')}.html"] = _listing(domain, [e for e in ordered if e.domain == domain], site)
    for level in Level:
        out[f"level/{level.value}.html"] = _listing(LEVEL_NAMES[level], [e for e in ordered if e.level == level.value], site)
    out["feed.xml"] = feed_xml(ordered, public_url=public_url, site_name=site_name)
    return out


def entries_from_renditions(renditions: list[Rendition]) -> list[SiteEntry]:
    """The site entries of stored web renditions (what the web channel passes to ``build_site``)."""
    return [SiteEntry.from_json(r.facts["entry"]) for r in renditions if r.kind == "web"]


def site_json(entries: list[SiteEntry]) -> str:
    return json.dumps([e.to_json() for e in _sorted(entries)], ensure_ascii=False, sort_keys=True)
