"""Delivery rows for channel tests (the engine's job; here only the key and the row matter)."""

from __future__ import annotations

import hashlib

from hub.store.db import session_scope
from hub.store.models import DeliveryRow
from hub.timeutil import utcnow


def key_for(record_id: str, version: str, channel: str, target: str) -> str:
    """Create the delivery row of (version, channel, target) and return its idempotency key."""
    key = hashlib.sha256(f"{record_id}|{version}|{channel}|{target}".encode()).hexdigest()
    now = utcnow()
    with session_scope() as s:
        s.add(DeliveryRow(record_id=record_id, version=version, channel=channel, target=target,
                          idempotency_key=key, state="sending", attempts=1, redeliveries=0,
                          created_at=now, updated_at=now))
    return key
