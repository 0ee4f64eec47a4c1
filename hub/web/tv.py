"""The TV station's pickup page (/tv): ready video packages, preview, QC facts, download.

The station signs in with its ``station`` account, or presents the pickup
token (``HUB_TV_PICKUP_TOKEN``) as ``Authorization: Bearer …`` or ``?token=``
(for a scripted download). A download goes through
``hub.channels.tv.collect``, which records who collected which package and
when, so the TV delivery turns confirmed.

Only packages of **live** versions are offered (issue 17): a package whose version was
withdrawn (撤回: the version's workflow state ``withdrawn``) or superseded (a newer
published version of the same record exists) is listed apart, marked as such, and can
neither be previewed as current nor downloaded.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select

from hub import auth
from hub.artifacts import content_name, get_store
from hub.auth import Action
from hub.channels.tv import TvChannel
from hub.errors import HubError, NotFound, Retryable, StorageUnavailable
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import DeliveryRow
from hub.web.media import artifact_response
from hub.web.pages import LoginRequired, load_user, render
from hub.web.security import ARTIFACT_CSP, session

#: the channel this page serves (and the session key of a token login)
CHANNEL = TvChannel.name

router = APIRouter(prefix="/tv")

_ROLE = re.compile(r"^[a-z0-9_-]{1,32}(\.[a-z0-9]{1,5})?$")


def _token_ok(request: Request) -> bool:
    expected = os.environ.get("HUB_TV_PICKUP_TOKEN")
    if not expected:
        return False
    given = request.query_params.get("token") or ""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def station(request: Request) -> str:
    """Who is collecting: the signed-in station account, or ``tv-token`` for the pickup token.

    A valid token is remembered in the signed session, so the page's own links
    (preview, download) never carry it and it never reaches an access log twice.
    """
    from hub.web.security import token_fingerprint

    data = session(request)
    if _token_ok(request):
        fingerprint = token_fingerprint(os.environ["HUB_TV_PICKUP_TOKEN"])
        if data.get(CHANNEL) != "tv-token" or data.get("pickup_fp") != fingerprint:
            data[CHANNEL], data["pickup_fp"] = "tv-token", fingerprint
            request.state.session_dirty = True
        return "tv-token"
    current = os.environ.get("HUB_TV_PICKUP_TOKEN")
    if data.get(CHANNEL) == "tv-token" and current and hmac.compare_digest(
            str(data.get("pickup_fp") or ""), token_fingerprint(current)):  # a changed token ends old sessions
        return "tv-token"
    user = load_user(request)
    if user is None:
        raise LoginRequired()
    auth.require(user, Action.TV_COLLECT)
    return user.name


#: What the station reads for a package that must not go on air.
RETIRED_WORDS = {"withdrawn": "该文件已撤回，请勿播出；已下载的视频包请删除。",
                 "superseded": "该文件已发布新版本，请改用新版本的视频包。"}


@dataclass(frozen=True, slots=True)
class Package:
    delivery: DeliveryRow
    title: str
    files: dict[str, Any]
    facts: dict[str, Any]
    qc: dict[str, Any] | None
    collected: dict[str, Any] | None
    #: live | withdrawn | superseded
    status: str = "live"

    @property
    def status_words(self) -> str:
        return RETIRED_WORDS.get(self.status, "")


def liveness(session: Any, version: str) -> str:
    """``live``, ``withdrawn`` (the version's workflow state is withdrawn: 撤回) or ``superseded`` (another
    version of the same record is published and was published later: the workflow's own history says
    when; ``published_at`` is the document's date, not the publication's)."""
    from sqlalchemy import func

    from hub.store.models import VersionRow, WorkflowEventRow

    v = session.get(VersionRow, version)
    if v is None or v.state == "withdrawn":
        return "withdrawn"
    published = (select(WorkflowEventRow.version, func.max(WorkflowEventRow.id).label("last"))
                 .where(WorkflowEventRow.to_state == "published").group_by(WorkflowEventRow.version).subquery())
    rows = session.execute(select(VersionRow.version, published.c.last)
                           .join(published, published.c.version == VersionRow.version)
                           .where(VersionRow.record_id == v.record_id, VersionRow.state == "published")).all()
    mine = next((last for ver, last in rows if ver == version), 0)
    return "superseded" if any(last > mine for ver, last in rows if ver != version) else "live"


def _packages(limit: int = 50) -> list[Package]:
    from hub.channels.tv import collected
    from hub.renderers.service import get_rendition
    from hub.store.models import VersionRow

    out: list[Package] = []
    with session_scope() as s:
        rows = list(s.scalars(select(DeliveryRow).where(DeliveryRow.channel == CHANNEL,
                                                        DeliveryRow.purpose != "withdraw",
                                                        DeliveryRow.state.in_(("submitted", "confirmed")))
                              .order_by(DeliveryRow.updated_at.desc()).limit(limit)))
        for d in rows:
            v = s.get(VersionRow, d.version)
            files: dict[str, Any] = {}
            facts: dict[str, Any] = {}
            qc = None
            try:
                r = get_rendition(s, d.version, "video")
                files = {"main": r.main, **r.files}
                facts = dict(r.facts)
                qc_file = r.files.get("qc.json")
                if qc_file is not None and get_store().exists(qc_file):
                    qc = json.loads(get_store().read_text(qc_file))
                elif isinstance(facts.get("qc"), dict):
                    qc = facts["qc"]
            except (NotFound, StorageUnavailable, OSError, ValueError):
                pass
            done = collected(s, d.provider_ref) if d.provider_ref else None
            out.append(Package(d, v.title if v else d.record_id, files, facts, qc, done, liveness(s, d.version)))
    return out


def notices(limit: int = 20) -> list[dict[str, Any]]:
    """The withdrawal and recall (停播) notices the TV channel left for the station, newest first.

    Written by ``TvChannel.withdraw`` in ``channel_state`` (and as a text file in the pickup folder):
    the page is where the station reads them, so a package it already took is not aired.
    """
    from hub.channels.tv import NOTICE_PREFIX
    from hub.store.models import ChannelStateRow
    from hub.timeutil import to_local

    out: list[dict[str, Any]] = []
    with session_scope() as s:
        rows = s.scalars(select(ChannelStateRow).where(ChannelStateRow.key.like(NOTICE_PREFIX + "%"))
                         .order_by(ChannelStateRow.updated_at.desc()).limit(limit))
        for row in rows:
            value = dict(row.value or {})
            try:
                at = to_local(datetime.fromisoformat(str(value.get("at")))).strftime("%Y-%m-%d %H:%M")
            except ValueError:
                at = ""
            out.append({"package": row.key[len(NOTICE_PREFIX):], "title": str(value.get("title") or ""),
                        "recall": value.get("kind") == "recall", "reason": str(value.get("reason") or "（未注明）"),
                        "at": at})
    return out


@router.get("", response_class=HTMLResponse)
def pickup(request: Request) -> HTMLResponse:
    who = station(request)
    packages = _packages()
    return render(request, "tv/pickup.html", {"packages": [p for p in packages if p.status == "live"],
                                              "retired": [p for p in packages if p.status != "live"], "who": who,
                                              "notices": notices()})


def _live_or_refuse(session: Any, d: DeliveryRow) -> None:
    status = liveness(session, d.version)
    if status != "live":
        raise NotFound(f"tv delivery {d.id}: {RETIRED_WORDS[status]}")


def _video_files(delivery_id: int) -> dict[str, Any]:
    from hub.renderers.service import get_rendition

    with session_scope() as s:
        d = s.get(DeliveryRow, delivery_id)
        if d is None or d.channel != CHANNEL:
            raise NotFound(f"tv delivery {delivery_id}")
        _live_or_refuse(s, d)
        r = get_rendition(s, d.version, "video")
    return {"main": r.main, **r.files}


@router.get("/{delivery_id}/media/{role}")
def media(request: Request, delivery_id: int, role: str) -> Response:
    """A file of the package for preview (the MP4, its subtitles, the poster)."""
    station(request)
    if not _ROLE.match(role):
        raise NotFound(role)
    files = _video_files(delivery_id)
    if role == "subtitles.vtt":  # the package's SRT, as WebVTT for the browser's <track>
        from hub.web.media import srt_to_vtt

        srt = files.get("subtitles.srt")
        if srt is None:
            raise NotFound(role)
        return Response(srt_to_vtt(get_store().read_text(srt)), media_type="text/vtt; charset=utf-8")
    art = files.get(role)
    name = content_name(art) if art is not None else None
    if art is None or name is None:
        raise NotFound(role)
    # from this node's files or streamed from the object store; a Range (the player seeking) is honoured
    resp = artifact_response(request, name, art.media_type)
    resp.headers["Content-Security-Policy"] = ARTIFACT_CSP
    return resp


@router.get("/{delivery_id}/download")
def download(request: Request, delivery_id: int) -> Response:
    """Download the package zip; recorded as collected (time, checksum, who) by the TV channel, then confirmed."""
    from hub.channels.tv import assemble, collect, ready
    from hub.queue.actors import hint
    from hub.queue.confirm import poll_now
    from hub.renderers.service import get_rendition

    who = station(request)
    with session_scope() as s:
        d = s.get(DeliveryRow, delivery_id)
        if d is None or d.channel != CHANNEL or not d.provider_ref:
            raise NotFound(f"tv delivery {delivery_id}")
        _live_or_refuse(s, d)
        try:
            if not ready(d.provider_ref):  # delivered by a worker on another machine: assemble it here
                assemble(get_rendition(s, d.version, "video"))
            path = collect(s, d.provider_ref, by=who)
        except Retryable as exc:  # the artifact store cannot be reached: the station tries again later
            raise HTTPException(503, "视频包暂时无法读取，请稍后再试。") from exc
        except HubError as exc:
            raise NotFound(str(exc)) from None
        repo.audit(s, who, "tv.collect", d.record_id, delivery=delivery_id, package=d.provider_ref)
        # the collection is what confirms a TV delivery: poll it now, not at the next backoff (docs/engine.md)
        due = poll_now(s, delivery_id=delivery_id)
    for did in due:
        hint("confirm", did, None)
    return FileResponse(path, media_type="application/zip", filename=path.name)
