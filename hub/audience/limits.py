"""Per-number daily limits: how many subscribers a new message would find already at their limit today.

Why the hub counts this itself: the operator refuses the 11th SMS a number gets
in a day (Tencent's default limit is 10) and the number then waits for midnight;
the office should see that before publishing, not after. Counted from the
recipient ledger (numbers sent, delivered, undelivered or unknown since Beijing
midnight), so a one-recipient notice counts too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audience.recipients import DELIVERED, SENT, UNDELIVERED, UNKNOWN
from hub.store.models import SmsRecipientRow
from hub.timeutil import SHANGHAI, utcnow

#: the operator's default per-number daily limit
DEFAULT_DAILY_LIMIT = 10


def configured_daily_limit(channel: str) -> int:
    """The smallest ``daily_limit_per_phone`` of the configured accounts of ``channel`` (default 10)."""
    from hub.config import get_config

    limits = [int(a.get("daily_limit_per_phone", DEFAULT_DAILY_LIMIT)) for a in get_config().accounts.values()
              if a.channel == channel]
    return min(limits) if limits else DEFAULT_DAILY_LIMIT


def numbers_at_daily_limit(session: Session, *, limit: int = DEFAULT_DAILY_LIMIT, now: datetime | None = None) -> int:
    """How many subscribers already got ``limit`` messages today (Beijing day): a new one waits for midnight for them."""
    now = now or utcnow()
    midnight = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    per = (select(SmsRecipientRow.subscriber_id)
           .where(SmsRecipientRow.state.in_((SENT, DELIVERED, UNDELIVERED, UNKNOWN)),
                  SmsRecipientRow.updated_at >= midnight)
           .group_by(SmsRecipientRow.subscriber_id).having(func.count() >= limit).subquery())
    return int(session.scalar(select(func.count()).select_from(per)) or 0)
