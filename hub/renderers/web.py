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
from datetime import datetime
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


def withdrawn_page(title: str, at: datetime, *, site_name: str) -> bytes:
    """The static page left at a withdrawn record's address: 该信息已撤回 (title, when), never the old text."""
    html = render_template("web/withdrawn.html", title=title, at=at, **_site(site_name))
    return html.encode("utf-8")


# --- the site: listings and feed ---------------------------------------------------------


def newest_first(entries: list[SiteEntry]) -> list[SiteEntry]:
    """One entry per record (its newest publication), newest first."""
    latest: dict[str, SiteEntry] = {}
    for e in entries:  # one entry per record: the newest publication wins
        if e.record_id not in latest or (e.published, e.version) > (latest[e.record_id].published,
                                                                    latest[e.record_id].version):
            latest[e.record_id] = e
    return sorted(latest.values(), key=lambda e: (e.published, e.record_id), reverse=True)


#: Entries per listing page. The first page of a listing shows the newest ``PAGE_SIZE``; older entries sit on
#: archive pages numbered from the oldest (page k = the k-th full block of ``PAGE_SIZE`` in publication order),
#: so a new publication writes the first page and at most one archive page, never the older ones.
PAGE_SIZE = 20

#: field → value → number of published records (the home page's facet counts).
Counts = dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class Listing:
    """One listing of the static site: its first page's path, heading and which entries it holds."""

    path: str
    heading: str
    field: str | None = None  # the SiteEntry (and VersionRow) field it filters on; None = every record
    value: str | None = None

    @property
    def archive_dir(self) -> str:
        return self.path.removesuffix(".html") if self.field else "archive"

    def archive_page(self, k: int) -> str:
        """The path of archive page ``k`` (1 = the oldest ``PAGE_SIZE`` entries)."""
        return f"{self.archive_dir}/{k}.html"

    def holds(self, entry: SiteEntry) -> bool:
        return self.field is None or getattr(entry, self.field) == self.value


INDEX = Listing("index.html", "最新公开信息")


def stage_listing(stage: Stage) -> Listing:
    return Listing(f"stage/{STAGE_SLUGS[stage]}.html", f"{stage.value}公开", "stage", stage.value)


def domain_listing(domain: str) -> Listing:
    return Listing(f"domain/{domain.replace('/', '／')}.html", domain, "domain", domain)


def level_listing(level: Level) -> Listing:
    return Listing(f"level/{level.value}.html", LEVEL_NAMES[level], "level", level.value)


def listings_of(entry: SiteEntry) -> list[Listing]:
    """The listings ``entry`` appears in: the index, its stage, its domain, its level."""
    out = [INDEX]
    if entry.stage:
        out += [stage_listing(s) for s in Stage if s.value == entry.stage]
    if entry.domain:
        out.append(domain_listing(entry.domain))
    out += [level_listing(lv) for lv in Level if lv.value == entry.level]
    return out


def all_listings(domains: list[str]) -> list[Listing]:
    """Every listing of the site: the index, the five stages, these domains, every level."""
    return [INDEX, *(stage_listing(s) for s in Stage), *(domain_listing(d) for d in sorted(domains)),
            *(level_listing(lv) for lv in Level)]


def count_entries(entries: list[SiteEntry]) -> Counts:
    counts: Counts = {"stage": {}, "domain": {}, "level": {}}
    for e in entries:
        for field in counts:
            value = getattr(e, field)
            if value:
                counts[field][value] = counts[field].get(value, 0) + 1
    return counts


def _facets(counts: Counts) -> list[tuple[str, list[tuple[str, str, int]]]]:
    stages = [(f"/stage/{STAGE_SLUGS[s]}.html", f"{s.value}公开", counts["stage"].get(s.value, 0)) for s in Stage]
    domains = sorted(counts["domain"])
    levels = [(f"/level/{lv.value}.html", LEVEL_NAMES[lv], counts["level"].get(lv.value, 0)) for lv in Level]
    return [("五公开", stages),
            ("公开领域", [(f"/domain/{quote(d)}.html", d, counts["domain"][d]) for d in domains]),
            ("公开层级", levels)]


def _site(site_name: str) -> dict[str, Any]:
    return {"site_name": site_name, "stages": [(STAGE_SLUGS[s], s.value) for s in Stage]}


def first_page(listing: Listing, newest: list[SiteEntry], total: int, *, site_name: str,
               counts: Counts | None = None) -> bytes:
    """A listing's first page: its newest ``PAGE_SIZE`` entries of ``total``, a link to the archive if older ones."""
    older = f"/{listing.archive_page(total // PAGE_SIZE)}" if total > PAGE_SIZE else None
    html = render_template("web/listing.html", heading=listing.heading, entries=newest[:PAGE_SIZE],
                           facets=_facets(counts) if counts is not None else [], older=older, newest=None,
                           **_site(site_name))
    return html.encode("utf-8")


def archive_page(listing: Listing, k: int, block: list[SiteEntry], *, site_name: str) -> bytes:
    """Archive page ``k`` of a listing (``block``: its ``PAGE_SIZE`` entries, oldest first), newest shown first.

    It links only to the older page and to the first page, so it never changes when newer records arrive.
    """
    html = render_template("web/listing.html", heading=f"{listing.heading}（第{k}页）", entries=block[::-1],
                           facets=[], older=f"/{listing.archive_page(k - 1)}" if k > 1 else None,
                           newest=f"/{listing.path}", **_site(site_name))
    return html.encode("utf-8")


def feed_xml(entries: list[SiteEntry], *, public_url: str, site_name: str, ordered: bool = False) -> bytes:
    """The Atom feed of the newest ``FEED_SIZE`` entries (``updated`` = the newest entry, never now).

    ``ordered``: the entries are already one per record, newest first (the database's order).
    """
    newest = (entries if ordered else newest_first(entries))[:FEED_SIZE]
    updated = max((e.published for e in newest), default="2000-01-01T00:00:00+00:00")
    xml = render_template("web/feed.xml", entries=newest, base=public_url, site_name=site_name, updated=updated)
    return xml.encode("utf-8")


def listing_files(listing: Listing, ordered: list[SiteEntry], *, site_name: str,
                  counts: Counts | None = None) -> dict[str, bytes]:
    """Every page of one listing over ``ordered`` (newest first, already filtered to the listing)."""
    out = {listing.path: first_page(listing, ordered, len(ordered), site_name=site_name, counts=counts)}
    oldest_first = ordered[::-1]
    for k in range(1, len(ordered) // PAGE_SIZE + 1):
        out[listing.archive_page(k)] = archive_page(listing, k, oldest_first[(k - 1) * PAGE_SIZE:k * PAGE_SIZE],
                                                    site_name=site_name)
    return out


def site_pages(ordered: list[SiteEntry], *, public_url: str, site_name: str,
               counts: Counts | None = None) -> dict[str, bytes]:
    """Every listing page and the feed over ``ordered`` (one entry per record, newest first)."""
    counts = counts if counts is not None else count_entries(ordered)
    out: dict[str, bytes] = {}
    for listing in all_listings(list(counts["domain"])):
        out.update(listing_files(listing, [e for e in ordered if listing.holds(e)], site_name=site_name,
                                 counts=counts if listing is INDEX else None))
    out["feed.xml"] = feed_xml(ordered, public_url=public_url, site_name=site_name, ordered=True)
    return out


def build_site(entries: list[SiteEntry], *, public_url: str, site_name: str) -> dict[str, bytes]:
    """Every listing page and the feed for these entries (newest publication first): relative path → bytes.

    Paths: ``index.html`` (+ ``archive/<k>.html``), ``stage/<slug>.html`` (+ ``stage/<slug>/<k>.html``),
    ``domain/<领域>.html``, ``level/<level>.html`` (same archive scheme), ``feed.xml``. The web channel
    builds the same pages from the database's order: after each publication, correction or withdrawal only
    the pages it changes (``first_page``, ``archive_page`` of each of ``listings_of(entry)``; ``WebChannel.changed_files``).
    """
    return site_pages(newest_first(entries), public_url=public_url, site_name=site_name)


def entries_from_renditions(renditions: list[Rendition]) -> list[SiteEntry]:
    """The site entries of stored web renditions (what the web channel passes to ``build_site``)."""
    return [SiteEntry.from_json(r.facts["entry"]) for r in renditions if r.kind == "web"]


def site_json(entries: list[SiteEntry]) -> str:
    return json.dumps([e.to_json() for e in newest_first(entries)], ensure_ascii=False, sort_keys=True)
