"""The stale-column watchdog: a portal, column or new-media account with no update in its window.

Inspectors fail a site whose columns stop updating (栏目不更新) and flag a
government account with no post in the two weeks before a check (国办秘函〔2019〕19号
and the circulars since). The hub knows both from what it stores: the
publication times of versions (portal and its columns, the catalog's domains)
and the ledger's confirmed deliveries per target (WeChat and Weibo accounts).
Windows are in ``office.toml: [stale]``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.catalog import Catalog, get_catalog
from hub.office.settings import OfficeSettings, get_office_settings
from hub.store.models import DeliveryEventRow, DeliveryRow, VersionRow
from hub.timeutil import to_local, utcnow


def new_media() -> frozenset[str]:
    """Channels that are 政务新媒体 accounts (watched at ``new_media_days``), as the channels declare."""
    from hub.channels.registry import CHANNELS

    return frozenset(name for name, cls in CHANNELS.items() if cls.new_media)


@dataclass(frozen=True, slots=True)
class Watch:
    """One watched place: when it last changed, its window, and whether it is stale."""

    kind: str  # portal | column | account
    name: str
    last: dt.datetime | None
    window_days: int
    stale: bool
    channel: str | None = None
    #: whole days since the last update, at the time of the check
    idle_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["last"] = None if self.last is None else to_local(self.last).isoformat()
        return out


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def watch(
    session: Session, *, now: dt.datetime | None = None, catalog: Catalog | None = None,
    settings: OfficeSettings | None = None, targets: dict[str, str] | None = None,
) -> list[Watch]:
    """Every watched place, stale ones first. ``targets`` (name → channel) defaults to channels.toml's."""

    now = now or utcnow()
    catalog = catalog or get_catalog()
    st = (settings or get_office_settings()).stale
    if targets is None:
        from hub.config import get_config

        targets = {name: t.channel for name, t in get_config().targets.items()}
    watched = {n: c for n, c in targets.items() if c in new_media()}
    out: list[Watch] = []

    def add(kind: str, name: str, last: dt.datetime | None, days: int, channel: str | None = None) -> None:
        last = _aware(last)
        idle = None if last is None else (now - last).days
        out.append(Watch(kind, name, last, days, last is None or now - last > dt.timedelta(days=days), channel, idle))

    published = VersionRow.state == "published"
    add("portal", "政府网站", session.scalar(select(func.max(VersionRow.published_at)).where(published)),
        st.portal_days)
    latest = dict(session.execute(select(VersionRow.domain, func.max(VersionRow.published_at))
                                  .where(published).group_by(VersionRow.domain)).tuples().all())
    for domain in catalog.domains:
        add("column", domain.name, latest.get(domain.name), st.columns.get(domain.name, st.column_days))
    if watched:
        q = (select(DeliveryRow.target, func.max(DeliveryEventRow.at))
             .join(DeliveryEventRow, DeliveryEventRow.delivery_id == DeliveryRow.id)
             .where(DeliveryEventRow.to_state == "confirmed", DeliveryRow.target.in_(list(watched)))
             .group_by(DeliveryRow.target))
        last_sent = dict(session.execute(q).tuples().all())
        for name, channel in sorted(watched.items()):
            add("account", name, last_sent.get(name), st.new_media_days, channel)
    out.sort(key=lambda w: (not w.stale, w.kind, w.name))
    return out
