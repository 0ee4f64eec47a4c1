"""The channel contract: ``send`` / ``lookup`` / ``status`` and what they return.

Adapters raise only the typed errors of ``hub.errors`` (Retryable, RateLimited,
AuthExpired, Permanent, Ambiguous, DuplicateRejected), mapped in one table per
channel. They never retry internally: the delivery engine owns retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from hub.renderers.base import Rendition


class DeliveryStatus(StrEnum):
    """What ``status(receipt)`` learned about a submitted delivery."""

    PENDING = "pending"  # submitted, outcome not known yet (WeChat publishing, SMS receipts not in, TV not collected)
    DELIVERED = "delivered"  # confirmed by the platform / recipient
    FAILED = "failed"  # the platform gave up after accepting (publish_status 2-4, every SMS undelivered)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery goes: a configured account or audience of a channel.

    ``name`` is the opaque target id stored on the delivery row (never a phone
    number); ``account`` names the ``[accounts.*]`` entry whose credentials are used;
    ``params`` are the target's settings from config (region, topics, email address...).
    """

    channel: str
    name: str
    account: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof that the platform accepted a send.

    ``provider_ref`` is the platform's id (WeChat publish_id, Weibo idstr, SMS
    batch/session ref, file path); ``confirmed`` is True when acceptance is already
    final (web upsert, SMTP accepted by the desk's server) so no ``status`` poll is needed.
    """

    provider_ref: str
    accepted_at: datetime
    confirmed: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """One channel adapter (one module per channel in ``hub.channels``)."""

    name: ClassVar[str]
    #: True when resending after an ambiguous outcome cannot duplicate (web upsert, TV replace-by-id).
    idempotent_upsert: ClassVar[bool]
    #: True when ``lookup`` can tell whether an earlier attempt landed.
    can_lookup: ClassVar[bool]
    #: The rendition kind this channel sends.
    rendition_kind: ClassVar[str]

    def send(self, rendition: Rendition, target: Target, key: str) -> Receipt: ...

    def lookup(self, target: Target, key: str) -> Receipt | None: ...

    def status(self, receipt: Receipt, target: Target) -> DeliveryStatus: ...
