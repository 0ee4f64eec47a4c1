"""The channel contract: one declaration per channel, and what its adapter does.

A channel is one class in ``hub.channels`` that subclasses ``ChannelBase`` and
declares, in class attributes, everything the rest of the hub needs to know
about it: its ``name``, Chinese ``label``, the ``rendition_kind`` it sends, its
use of short links and QR codes (``links``), the typed ``account_model`` its
``[accounts.*]`` tables are validated against, its sandbox fake (``sandbox``),
and whether the console lets an editor rewrite its text (``overridable``).
Its capabilities are derived from what the class implements: ``send`` and
``status`` (every channel), ``withdraw`` / ``correct`` / ``metrics`` (the
optional protocols below), ``callbacks`` (declared). Every list that used to
repeat channel names (catalog, board labels, link/QR lists, rendition kinds,
sandbox vendors, console forms) is derived from ``hub.channels.registry``.

Adapters raise only the typed errors of ``hub.errors`` (Retryable, RateLimited,
AuthExpired, Permanent, Ambiguous, DuplicateRejected), mapped in one table per
channel. They never retry internally: the delivery engine owns retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

# The types a channel speaks live below renderers and channels; re-exported here because they are
# the channel contract's vocabulary (``from hub.channels.base import Receipt`` keeps working).
from hub.deliverables import DeliveryStatus, Receipt, Rendition, Target

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = [
    "AccountConfig", "Capability", "Channel", "ChannelBase", "Correctable", "DeliveryStatus", "LinkUse",
    "Measurable", "Receipt", "Rendition", "Target", "Withdrawable", "capabilities",
]


class LinkUse(StrEnum):
    """How a channel carries the record's short link (each channel has its own code: scan attribution)."""

    NONE = "none"  # no link (the page itself, or a channel that shows none)
    LINK = "link"  # a typed or clickable link (7 characters)
    TEMPLATE = "template"  # a link whose code is an approved template parameter (6 characters of base58)
    QR = "qr"  # printed or shown as a QR code (and a link)


class Capability(StrEnum):
    """What a channel can do after rendering; the application layer asks before it offers an action."""

    PUBLISH = "publish"
    STATUS = "status"
    WITHDRAW = "withdraw"
    CORRECT = "correct"
    METRICS = "metrics"
    CALLBACKS = "callbacks"


class AccountConfig(BaseModel):
    """The typed form of one ``[accounts.NAME]`` table of a channel (or vendor).

    Subclasses list the keys the adapter reads; an unknown key is a problem
    (a misspelling would otherwise be ignored until a send fails). Values are
    validated after ``${VAR:-default}`` expansion. ``required_env`` names the
    fields that hold the *name* of an environment variable which must be set
    for the account to send (its secret); ``optional_env`` those that may be
    empty, but when they name a variable it must be set.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    required_env: ClassVar[tuple[str, ...]] = ()
    optional_env: ClassVar[tuple[str, ...]] = ()


class Channel(Protocol):
    """What the delivery engine calls on every adapter."""

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


@runtime_checkable
class Withdrawable(Protocol):
    """A channel that can take a delivered item back (撤回).

    ``receipt`` and ``target`` are the original delivery's; ``key`` is the
    withdrawal's own idempotency key (a retry after ``Ambiguous`` must not
    withdraw twice, or send a second notice). The returned receipt is the
    withdrawal's: ``confirmed`` when the item is already gone, else polled
    with ``status`` like a send.
    """

    def withdraw(self, receipt: Receipt, target: Target, key: str) -> Receipt: ...


@runtime_checkable
class Correctable(Protocol):
    """A channel that can replace a delivered item with a corrected rendition (更正).

    ``previous`` is the receipt of the delivery being corrected; ``rendition``
    the corrected version's; ``key`` the correction's own idempotency key.
    """

    def correct(self, rendition: Rendition, previous: Receipt, target: Target, key: str) -> Receipt: ...


@runtime_checkable
class Measurable(Protocol):
    """A channel that reports engagement of delivered items (reads, shares, likes, deliveries...).

    Batched, because platforms count calls: ``receipts`` are confirmed deliveries of one
    ``target`` (at most the declaration's ``metrics_batch``); the answer maps each
    receipt's ``provider_ref`` to its **cumulative** figures as of ``now`` (metric →
    count; names in ``hub.metrics.METRICS``). A ref the platform does not know is left
    out. A refused call raises the typed error (``RateLimited`` for a quota): the
    collector then keeps the last figures, never zeros. ``now`` is the collector's
    clock (platform statistics end "yesterday" relative to it).
    """

    def metrics(self, receipts: Sequence[Receipt], target: Target, *, now: datetime) -> dict[str, dict[str, int]]: ...


class ChannelBase:
    """The declaration every channel adapter subclasses; defaults are the common case.

    Class attributes (declare them on the subclass):
      name: the channel's name (targets' and accounts' ``channel``, delivery rows, short links).
      label: what a clerk reads (微信公众号…).
      rendition_kind: the rendition kind ``send`` takes.
      links: how the channel carries the short link (``LinkUse``).
      account_model: the typed ``[accounts.*]`` table of this channel.
      sandbox: the module of its sandbox fake (``register(sandbox)``), None when it needs none.
      overridable: an editor may rewrite this channel's text in the console (``record.overrides``).
      callbacks: the platform pushes outcomes to the hub (the web mounts a callback route).
      new_media: a 政务新媒体 account, watched for staleness at the office's new-media window.
      web_router(): routes the hub serves for the channel's devices (mounted by the web app).
      idempotent_upsert / can_lookup: see ``Channel``.
      metrics_batch: how many receipts one ``metrics`` call takes (``Measurable``).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    rendition_kind: ClassVar[str]
    links: ClassVar[LinkUse] = LinkUse.NONE
    account_model: ClassVar[type[AccountConfig]] = AccountConfig
    sandbox: ClassVar[str | None] = None
    overridable: ClassVar[bool] = False
    callbacks: ClassVar[bool] = False
    #: a 政务新媒体 account (WeChat, Weibo…): inspections flag it after two weeks without an update
    new_media: ClassVar[bool] = False
    idempotent_upsert: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = False
    metrics_batch: ClassVar[int] = 100

    @classmethod
    def web_router(cls) -> APIRouter | None:
        """Routes the hub serves for this channel (e.g. a playlist its devices pull), or None.

        The web app mounts every channel's router (``registry.web_routers()``), so a
        channel whose devices come to the hub needs no edit of ``hub.web``.
        """
        return None

    @classmethod
    def capabilities(cls) -> frozenset[Capability]:
        """What this channel can do, read from what the class implements (and ``callbacks``)."""
        return capabilities(cls)


def capabilities(cls: type[Any]) -> frozenset[Capability]:
    """The capabilities of adapter class ``cls``: a method it defines is a capability it has."""
    caps = set()
    for cap, method in ((Capability.PUBLISH, "send"), (Capability.STATUS, "status"),
                        (Capability.WITHDRAW, "withdraw"), (Capability.CORRECT, "correct"),
                        (Capability.METRICS, "metrics")):
        if callable(getattr(cls, method, None)):
            caps.add(cap)
    if getattr(cls, "callbacks", False):
        caps.add(Capability.CALLBACKS)
    return frozenset(caps)
