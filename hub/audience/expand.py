"""Expanding a delivery into its recipients: once per delivery, with one ``INSERT … SELECT``.

Why once: the audience of a delivery is who subscribed when it first went out.
A subscriber added later waits for the next delivery, and an ``unknown`` or
``rejected`` number is never put back by a second expansion. The marker
``sms-audience:<delivery id>`` in ``channel_state`` records that (and when) the
expansion happened; the by-number report query reads its time.

Who is in the audience: subscribers not opted out, filtered by the target's
``audience`` (``region`` or ``same_region`` = the record's region, including its
sub-regions; ``level = "village"``; ``topics``, where a subscriber without topics
gets every topic). A withdrawal notice goes to exactly the numbers that got (or
may have got) the publication.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from hub.audience.quiet import truthy
from hub.audience.recipients import DELIVERED, PENDING, SENT, UNKNOWN, marker_key
from hub.config import HubConfig
from hub.deliverables import Target
from hub.errors import Permanent
from hub.store.models import ChannelStateRow, SmsRecipientRow, SubscriberRow, UtcDateTime

_COLUMNS = ["delivery_id", "subscriber_id", "state", "updated_at"]


def audience_of(config: HubConfig, target: Target) -> dict[str, Any]:
    """The target's ``audience`` table (from the delivery's target params, else the configured target)."""
    audience = target.params.get("audience")
    if audience is None and target.name in config.targets:
        audience = config.targets[target.name].audience
    return dict(audience or {})


def record_facts(s: Session, version: str) -> tuple[str | None, bool]:
    """The record's region (for ``same_region`` audiences) and its urgent flag (``extra.urgent``)."""
    from hub.store import repo

    row, record = repo.get_version(s, version)
    return (record.region or row.region), truthy(record.extra.get("urgent"))


def _mark(s: Session, delivery_id: int, target: str, now: datetime, **extra: Any) -> None:
    count = s.scalar(select(func.count()).select_from(SmsRecipientRow)
                     .where(SmsRecipientRow.delivery_id == delivery_id)) or 0
    s.add(ChannelStateRow(key=marker_key(delivery_id),
                          value={"recipients": int(count), "target": target, **extra, "at": now.isoformat()},
                          expires_at=None, updated_at=now))


def expand(s: Session, delivery_id: int, target: Target, audience: dict[str, Any], region: str | None,
           now: datetime) -> None:
    """Turn the audience into pending recipient rows, once per delivery (later subscribers wait for the next)."""
    if s.get(ChannelStateRow, marker_key(delivery_id)) is not None:
        return
    cond: list[ColumnElement[bool]] = [SubscriberRow.opted_out_at.is_(None), SubscriberRow.listed.is_(True)]
    wanted = audience.get("region")
    if truthy(audience.get("same_region")):
        if not region:
            raise Permanent(f"{target.channel}: target {target.name} sends to the record's region, "
                            "but the record has none")
        wanted = region
    if wanted:
        cond.append(or_(SubscriberRow.region == wanted, SubscriberRow.region.like(f"{wanted}/%")))
    if audience.get("level") == "village":
        cond.append(SubscriberRow.level == "village")
    topics = {str(t) for t in audience.get("topics", [])}
    if not topics:
        s.execute(insert(SmsRecipientRow).from_select(_COLUMNS, select(
            literal(delivery_id), SubscriberRow.id, literal(PENDING),
            literal(now, type_=UtcDateTime())).where(*cond).order_by(SubscriberRow.id)))
    else:
        last = 0
        while True:
            chunk = s.execute(select(SubscriberRow.id, SubscriberRow.topics).where(*cond, SubscriberRow.id > last)
                              .order_by(SubscriberRow.id).limit(5000)).all()
            if not chunk:
                break
            last = chunk[-1][0]
            ids = [sid for sid, subs in chunk if not subs or topics & set(subs)]
            if ids:
                s.execute(insert(SmsRecipientRow), [
                    {"delivery_id": delivery_id, "subscriber_id": sid, "state": PENDING, "updated_at": now}
                    for sid in ids])
    _mark(s, delivery_id, target.name, now)


def expand_from(s: Session, delivery_id: int, origin_id: int | None, target: Target, now: datetime,
                states: Sequence[str] = (SENT, DELIVERED, UNKNOWN)) -> None:
    """Recipients of a follow-up (a withdrawal notice): the numbers of ``origin_id`` in ``states``, once."""
    from hub.audience.digest import recipients_of

    if s.get(ChannelStateRow, marker_key(delivery_id)) is not None or origin_id is None:
        return
    got = select(literal(delivery_id), SmsRecipientRow.subscriber_id, literal(PENDING),
                 literal(now, type_=UtcDateTime())).where(
        SmsRecipientRow.delivery_id == recipients_of(s, origin_id),  # a record that went out in a digest
        SmsRecipientRow.state.in_(list(states))).order_by(SmsRecipientRow.subscriber_id)
    s.execute(insert(SmsRecipientRow).from_select(_COLUMNS, got))
    _mark(s, delivery_id, target.name, now, withdraws=origin_id)


def expand_one(s: Session, delivery_id: int, subscriber_id: int, target: Target, now: datetime) -> None:
    """The one recipient of a one-recipient notice (``hub.audience.direct``), once."""
    if s.get(ChannelStateRow, marker_key(delivery_id)) is not None:
        return
    s.add(SmsRecipientRow(delivery_id=delivery_id, subscriber_id=subscriber_id, state=PENDING, updated_at=now))
    s.flush()
    _mark(s, delivery_id, target.name, now)
