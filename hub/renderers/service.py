"""Render a stored version: reuse what exists, store what is new (renditions and short links).

This is the one place renderers meet the database. Renderers stay pure; here we
load the version, compute its context once, and keep one ``renditions`` row per
(version, kind) plus one ``short_links`` row per (version, channel).

A stored rendition is reused when the context it was rendered with is the same
(public URL, render settings, 解读 links) and its main artifact is still on disk;
otherwise it is rendered again and the row updated, so a 解读 published after its
policy makes the policy's portal page link to it on the next render.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.artifacts import get_store
from hub.deliverables import Rendition
from hub.errors import NotFound, RenderError
from hub.record import Record
from hub.renderers.base import RenderContext
from hub.renderers.context import build_context
from hub.settings import get_settings
from hub.store.models import RecordRow, RenditionRow, ShortLinkRow, VersionRow
from hub.timeutil import utcnow


def context_key(ctx: RenderContext) -> str:
    """A fingerprint of everything besides the version that a rendition depends on."""
    data = {"public_url": ctx.public_url, "settings": ctx.settings, "related": ctx.related}
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _link(session: Session, row: VersionRow | None, public_url: str) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row.record_id, "title": row.title, "url": f"{public_url}/records/{row.record_id}"}


def related_for(session: Session, record: Record) -> dict[str, Any]:
    """The 解读 links both ways, from the records' current versions."""
    public_url = get_settings().public_url
    out: dict[str, Any] = {"interprets": None, "interpreted_by": []}
    if record.interprets:
        target = session.get(RecordRow, record.interprets)
        row = session.get(VersionRow, target.current_version) if target and target.current_version else None
        out["interprets"] = _link(session, row, public_url) or {
            "id": record.interprets, "title": record.interprets,
            "url": f"{public_url}/records/{record.interprets}"}
    rows = session.scalars(
        select(VersionRow).join(RecordRow, RecordRow.current_version == VersionRow.version)
        .where(VersionRow.interprets == record.id).order_by(VersionRow.record_id)
    ).all()
    out["interpreted_by"] = [_link(session, r, public_url) for r in rows]
    return out


def correction_of(session: Session, vrow: VersionRow) -> dict[str, Any] | None:
    """The 更正说明 of a version that replaces an earlier published one (None for a first publication).

    ``{"short", "url", "at"}``: the earlier version's short hash and its page on the live portal (where
    earlier versions stay readable), and when this one was published (None before it is). The live
    portal prints the same note (``hub.web.portal.corrections``); the static copy needs it in the page.
    """
    from hub.store.models import WorkflowEventRow
    from hub.timeutil import to_local

    older = session.scalars(select(VersionRow).where(VersionRow.record_id == vrow.record_id,
                                                     VersionRow.state == "published",
                                                     VersionRow.version != vrow.version,
                                                     VersionRow.created_at < vrow.created_at)
                            .order_by(VersionRow.created_at.desc()).limit(1)).first()
    if older is None:
        return None
    at = session.scalar(select(WorkflowEventRow.at).where(WorkflowEventRow.version == vrow.version,
                                                          WorkflowEventRow.to_state == "published")
                        .order_by(WorkflowEventRow.id.desc()).limit(1))
    short = older.version[:12]
    return {"short": short, "url": f"{get_settings().public_url}/records/{vrow.record_id}?v={short}",
            "at": to_local(at).strftime("%Y-%m-%d %H:%M") if at is not None else None}


def _store_links(session: Session, ctx: RenderContext) -> None:
    codes = list(ctx.short_codes.values())
    existing = {r.code: r for r in session.scalars(select(ShortLinkRow).where(ShortLinkRow.code.in_(codes)))}
    for channel, code in ctx.short_codes.items():
        row = existing.get(code)
        if row is None:
            session.add(ShortLinkRow(code=code, record_id=ctx.record_id, version=ctx.version, channel=channel,
                                     target_url=ctx.page_url, scans=0, created_at=utcnow()))
        elif (row.version, row.channel) != (ctx.version, channel):
            raise RenderError(f"short link /s/{code} of {channel} collides with {row.record_id} "
                              f"{row.version[:12]} {row.channel}; the link would misdirect readers")


def _reusable(row: RenditionRow, key: str) -> Rendition | None:
    data = row.data
    if data.get("context_key") != key:
        return None
    rendition = Rendition.from_json(data)
    if not get_store().exists(rendition.main):  # checked where it is kept: this node, or the shared store
        return None
    return rendition


@dataclass
class _Plan:
    """What a render needs, read from the store: the record, its context, what can be reused."""

    record: Record
    version: str
    ctx: RenderContext
    key: str
    wanted: list[str]
    reused: dict[str, Rendition] = field(default_factory=dict)


def _plan(session: Session, ref: str, kinds: list[str] | None) -> _Plan:
    from hub.renderers import RENDERERS
    from hub.store import repo

    vrow, record = repo.get_version(session, ref)
    wanted = list(RENDERERS) if kinds is None else list(kinds)
    for kind in wanted:
        if kind not in RENDERERS:
            raise NotFound(f"no rendition kind {kind!r} (kinds: {', '.join(RENDERERS)})")
    related = related_for(session, record)
    correction = correction_of(session, vrow)
    if correction is not None:  # only then: a first publication's context (and its renditions) stay as they were
        related["corrects"] = correction
    ctx = build_context(record, vrow.version, related=related)
    key = context_key(ctx)
    if _unresolved_personal_data(session, vrow):
        # never write ID/card/phone numbers in clear while a blocking finding stands (issue 11):
        # render a masked copy, under its own context key so it is not reused once they are waived
        from hub.checks import masked_record

        record = masked_record(record)
        key += ":masked"
    plan = _Plan(record, vrow.version, ctx, key, wanted)
    rows = session.scalars(select(RenditionRow).where(RenditionRow.version == vrow.version,
                                                      RenditionRow.kind.in_(wanted)))
    for row in rows:
        rendition = _reusable(row, plan.key)
        if rendition is not None:
            plan.reused[row.kind] = rendition
    return plan


def _unresolved_personal_data(session: Session, vrow: VersionRow) -> bool:
    from hub.checks import PERSONAL_DATA
    from hub.store import repo

    return any(f.blocking and f.waived_by is None and f.kind in PERSONAL_DATA for f in repo.findings_of(session, vrow))


def _render(plan: _Plan, failed: dict[str, str] | None = None) -> dict[str, Rendition]:
    """The missing renditions (pure: no database here).

    With ``failed`` given, a kind whose renderer raises RenderError is recorded there (kind →
    message) and the other kinds are still rendered; without it the first error propagates.
    """
    from hub.renderers import RENDERERS

    store = get_store()
    out: dict[str, Rendition] = {}
    for kind in plan.wanted:
        if kind in plan.reused:
            continue
        try:
            out[kind] = RENDERERS[kind](plan.record, plan.ctx, store)
        except RenderError as exc:
            if failed is None:
                raise
            failed[kind] = str(exc)
    return out


def _write(session: Session, plan: _Plan, rendered: dict[str, Rendition]) -> None:
    _store_links(session, plan.ctx)
    rows = {r.kind: r for r in session.scalars(select(RenditionRow).where(RenditionRow.version == plan.version))}
    for kind, rendition in rendered.items():
        data = {**rendition.to_json(), "context_key": plan.key}
        row = rows.get(kind)
        if row is None:
            session.add(RenditionRow(version=plan.version, kind=kind, sha256=rendition.main.sha256,
                                     path=str(rendition.main.path), bytes=rendition.main.bytes,
                                     data=data, created_at=utcnow()))
        else:
            row.sha256, row.path, row.bytes, row.data = (rendition.main.sha256, str(rendition.main.path),
                                                         rendition.main.bytes, data)
    session.flush()


def _store(session: Session, plan: _Plan, rendered: dict[str, Rendition]) -> None:
    """Store rows in a savepoint; a concurrent render of the same version that stored first wins.

    Renders are deterministic, so the other worker's rows hold the same bytes; only the
    short links are checked again (a real collision must still fail loudly).
    """
    try:
        with session.begin_nested():
            _write(session, plan, rendered)
    except IntegrityError:
        _store_links(session, plan.ctx)


def render_version(session: Session, ref: str, kinds: list[str] | None = None) -> list[Rendition]:
    """Render (or reuse) the renditions of version ``ref`` and store them, in the caller's transaction.

    Parameters:
      session: an open session; the caller commits (``session_scope``).
      ref(str): record id (its current version), full version hash or a unique prefix of ≥ 8 hex.
      kinds(list[str]|None): kinds to render, in RENDERERS order by default (all of them).
    Returns: the renditions in the order asked.
    Raises: NotFound (no such version or kind), RenderError (a channel's rule is broken).

    The caller's transaction stays open while rendering (on SQLite that holds the write lock);
    ``render_ref`` is the variant that renders between two short transactions.
    """
    plan = _plan(session, ref, kinds)
    rendered = _render(plan)
    _store(session, plan, rendered)
    return [plan.reused.get(k) or rendered[k] for k in plan.wanted]


def render_ref(ref: str, kinds: list[str] | None = None) -> list[Rendition]:
    """``render_version`` in short transactions (F14): read, render with no transaction open, store.

    Use it wherever no transaction is already open (CLI, workers): a video render takes
    seconds, and SQLite's write lock must not be held that long.
    """
    from hub.store.db import session_scope

    with session_scope() as session:
        plan = _plan(session, ref, kinds)
    rendered = _render(plan)
    with session_scope() as session:
        _store(session, plan, rendered)
    return [plan.reused.get(k) or rendered[k] for k in plan.wanted]


def render_ref_all(ref: str, kinds: list[str] | None = None) -> tuple[list[Rendition], dict[str, str]]:
    """``render_ref`` that renders every kind it can: (renditions made or reused, {kind: why not}).

    ``hub render`` uses it so that one broken channel (a WeChat title over 32 characters) does
    not stop the others (issue 11); the renditions that succeeded are stored.
    """
    from hub.store.db import session_scope

    with session_scope() as session:
        plan = _plan(session, ref, kinds)
    failed: dict[str, str] = {}
    rendered = _render(plan, failed)
    with session_scope() as session:
        _store(session, plan, rendered)
    return [plan.reused.get(k) or rendered[k] for k in plan.wanted if k not in failed], failed


def get_rendition(session: Session | Connection, version: str, kind: str) -> Rendition:
    """The stored rendition of ``kind`` for ``version`` (full hash or unique prefix ≥ 8); NotFound if none.

    Reads the JSON column alone, so a bare connection will do (the delivery engine's read scope).
    """
    query = select(RenditionRow.data).where(RenditionRow.kind == kind)
    if len(version) == 64:
        query = query.where(RenditionRow.version == version)
    elif len(version) >= 8:
        query = query.where(RenditionRow.version.startswith(version))
    else:
        raise NotFound(f"version {version!r}: give the full hash or a prefix of at least 8 characters")
    rows = session.scalars(query).all()
    if len(rows) != 1:
        raise NotFound(f"no single {kind} rendition for version {version[:12]} (found {len(rows)})")
    return Rendition.from_json(rows[0])
