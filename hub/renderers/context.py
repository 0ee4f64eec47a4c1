"""The render context of a version: URLs, per-channel short codes, the render instant, settings.

Computed once per version, outside the renderers, so that renderers stay pure.
Short codes are a function of (version, channel) only, so the worker that renders,
the portal that resolves ``/s/<code>`` and a test can all compute the same code
without asking the database.

Code shapes (docs/decisions/2026-11-25-short-codes.md):
- 7 characters of ``23456789abcdefghjkmnpqrstuvwxyz`` (31 symbols, no 0/o/1/l/i) for every
  channel a person may have to *type* from print or TV: 31⁷ ≈ 2.8·10¹⁰ codes.
- 6 characters of base58 for SMS, because the code is a Tencent template parameter
  and parameters are limited to 6 characters (``param_max_chars``); 58⁶ ≈ 3.8·10¹⁰.
A collision with another version's code is detected when the link row is stored
(``hub.renderers.service``) and fails loudly rather than misdirecting a reader.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.config import get_config

# imported here, not inside the functions: renderers run in worker threads, and two threads importing
# the hub.ingest package at once can see it half-initialised (ImportError: partially initialized module)
from hub.ingest.issuer import ISSUER_KEY, is_office, record_issuer
from hub.record import Record
from hub.renderers.base import RenderContext
from hub.settings import get_settings

TYPED_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
SMS_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CODE_LEN = 7
SMS_CODE_LEN = 6
#: The render instant of a version that has no publication time: a fixed epoch plus an
#: offset taken from the version hash (so it is stable, and never "now").
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _encode(digest: bytes, alphabet: str, length: int) -> str:
    n = int.from_bytes(digest, "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def short_code(version: str, channel: str) -> str:
    """The short code of ``channel``'s link to ``version`` (deterministic, no database)."""
    digest = hashlib.sha256(f"hub-short-link\x00{version}\x00{channel}".encode()).digest()
    from hub.channels.base import LinkUse
    from hub.channels.registry import link_use  # renderers sit below channels: the registry only at call time

    if link_use(channel) is LinkUse.TEMPLATE:  # the code is a template parameter (≤ 6 characters)
        return _encode(digest, SMS_ALPHABET, SMS_CODE_LEN)
    return _encode(digest, TYPED_ALPHABET, CODE_LEN)


def render_instant(record: Record, version: str) -> datetime:
    """The record's publication time, or a fixed instant derived from the version."""
    if record.published_at is not None:
        return record.published_at
    return _EPOCH + timedelta(seconds=int(version[:7], 16))


def not_after(record: Record, ctx: RenderContext, channel: str) -> datetime | None:
    """Until when ``channel`` may still deliver this version (F11): publication + ``not_after_hours``.

    None when the record has no publication time (the derived render instant is not a real
    date) or the channel has no window; the delivery engine then applies its own bound.
    """
    hours = ctx.settings.get("render", {}).get("not_after_hours", {}).get(channel)
    if record.published_at is None or hours is None:
        return None
    return record.published_at + timedelta(hours=int(hours))


def issuer(record: Record) -> str | None:
    """The office that issued ``record``, as the record names it; None when it names none.

    Never the site owner (``site_name``): a notice of another county, of a 防汛指挥部 or of the
    State Council re-posted on our portal is not ours (issue 11). A record without an office
    carries the blocking finding ``issuer_missing`` and is not published; renderers that need a
    name fail with a RenderError that says so instead of inventing one.
    """
    return record_issuer(record)


def issuer_line(record: Record) -> str | None:
    """How renditions name the issuer: ``国务院`` or, for a re-posted document, ``某县政府办公室转发国务院``.

    The re-poster is the responsible hub department (``department``) when the issuer is kept
    apart (``extra[文件发布机构]``, see ``hub.departments``), else the portal header's
    ``extra[发布机构]``; saying "转发" keeps the renditions from presenting the State Council's
    decision as the county's own.
    """
    name = issuer(record)
    if name is None:
        return None
    publisher = ((record.department if record.extra.get(ISSUER_KEY) else None)
                 or record.extra.get("发布机构") or "").strip()
    if publisher and publisher not in name and name not in publisher and _is_office_name(publisher):
        return f"{publisher}转发{name}"
    return name


def _is_office_name(name: str) -> bool:
    return is_office(name)


def render_settings() -> dict[str, Any]:
    """What of the configuration renderers may read: the ``[render]`` table and the site name."""
    config = get_config()
    return {"render": config.render.model_dump(mode="json"), "site_name": config.portal.site_name}


def build_context(record: Record, version: str, *, related: dict[str, Any] | None = None) -> RenderContext:
    """The render context of ``version`` of ``record``.

    Parameters:
      record(Record): the content.
      version(str): its full version hash.
      related(dict|None): 解读 links found by the caller (``service`` reads them from the store):
        ``{"interprets": {"id", "title", "url"} | None, "interpreted_by": [{"id", "title", "url"}]}``.
        Without it, only the record's own ``interprets`` id is known (title = the id).
    """
    from hub.channels.registry import link_channels  # every channel declaring a link or QR code

    public_url = get_settings().public_url
    if related is None:
        related = {"interprets": None, "interpreted_by": []}
        if record.interprets:
            related["interprets"] = {"id": record.interprets, "title": record.interprets,
                                     "url": f"{public_url}/records/{record.interprets}"}
    return RenderContext(
        record_id=record.id,
        version=version,
        public_url=public_url,
        page_url=f"{public_url}/records/{record.id}",
        short_codes={channel: short_code(version, channel) for channel in link_channels()},
        rendered_at=render_instant(record, version),
        settings=render_settings(),
        related=related,
    )
