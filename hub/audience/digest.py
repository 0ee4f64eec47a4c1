"""汇总短信: records going to the same subscribers within a window go out as ONE SMS (issue 18, point 5).

Why: Tencent refuses an 11th SMS a day to a number (``PhoneNumberDailyLimit``), so every
delivery after the 10th of a day waits for midnight, and ten texts a day is too many anyway.

How, on the engine's own machinery (decision: docs/decisions/2026-12-03-sms-digest.md):

1. **Hold.** ``held_until`` (called by ``hub.queue.publish`` for each new row): a non-urgent
   SMS publication is not due before ``start + digest_window`` (account key, default 30 min),
   so records published meanwhile can join it. A person's "send now" or retry is not held.
2. **Form.** When a held row's window is over its ``send`` (the engine claimed it) calls
   ``hand_off``: in one transaction it records, for this row and every other pending SMS
   publication of the same audience (same target; same region for ``same_region`` targets)
   due within the next window, the decision ``sms-digest-of:<id>`` (``channel_state``, one
   row per delivery, written once: two workers cannot both decide). Alone → ``None``: the
   row goes out with its own template. Otherwise a digest delivery row is created
   (``purpose="digest"``, ``record_id = version = "digest:<code>"``, like the one-recipient
   notices of ``hub.audience.direct``) and each member is handed over to it: its own ledger
   goes ``sending → submitted`` ("并入汇总短信 <code>"), with ``provider_ref`` = the digest's key.
3. **Send.** The engine delivers the digest row like any other (claim, lease, sweep,
   reconcile, confirm: nothing twinned); its send (``send``) freezes the members whose record
   is still published and not cancelled, and runs ``SmsChannel.send`` with the digest template
   (``[render.sms.templates.digest]``: the count and the list code), so the per-number ledger,
   quiet hours, reports and lookups are the channel's own.
4. **Mirror.** A member's status poll (``member_status``) follows the digest: confirmed when
   the digest is confirmed; failed when it failed, or when the member's record was withdrawn
   before the digest went (left out of it). A member whose worker died asks ``member_lookup``:
   it is in the digest, never sent again on its own.

The list page ``/d/<code>`` (``hub.web.digest_page``) shows exactly the frozen members.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.config import HubConfig, get_config
from hub.deliverables import DeliveryStatus, Receipt, Rendition, Target
from hub.errors import ConfigError
from hub.store.models import ChannelStateRow, DeliveryRow, VersionRow

if TYPE_CHECKING:
    from hub.channels.sms import SmsChannel

#: ``deliveries.purpose`` of a digest row
DIGEST = "digest"
#: ``channel_state``: one decision per eligible SMS publication (``{"digest": id}`` or ``{"alone": true}``)
MEMBER_PREFIX = "sms-digest-of:"
#: ``channel_state``: a digest's members (``members``) and, once it went out, those it covered (``included``)
STATE_PREFIX = "sms-digest:"
#: the template purpose in ``[render.sms.templates]``
TEMPLATE = "digest"
#: the account key, and its default when absent
WINDOW_KEY, DEFAULT_WINDOW = "digest_window", "30m"
#: at most this many records in one digest (the list page and the count stay readable)
MAX_MEMBERS = 200
#: ``digest_window`` values: ``0``/``off``, or a number with ``s``/``m``/``h`` (seconds without a unit)
WINDOW_RE = re.compile(r"^\s*(?:off|0|(\d+(?:\.\d+)?)\s*([smh]?))\s*$", re.I)
_UNSENT = ("queued", "retry_wait")
_GONE = ("cancelled", "failed", "expired")
CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CODE_LEN = 6


def parse_window(value: object, *, key: str = WINDOW_KEY) -> float:
    """``"30m"`` → 1800.0 seconds; ``0``/``"off"``/``""`` → 0 (no digest)."""
    text = "0" if value is None or str(value).strip() == "" else str(value)
    m = WINDOW_RE.match(text)
    if m is None:
        raise ConfigError(f"channels.toml: {key} must look like \"30m\", \"1h\", \"90s\" or 0 (off), not {text!r}")
    if m.group(1) is None:
        return 0.0
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2).lower()]


def window_of(config: HubConfig, account_name: str) -> float:
    """The digest window (seconds) of an SMS account; 0 = every record its own SMS."""
    account = config.accounts.get(account_name)
    if account is None:
        return 0.0
    return parse_window(account.get(WINDOW_KEY, DEFAULT_WINDOW), key=f"accounts.{account_name}.{WINDOW_KEY}")


def configured_minutes() -> int:
    """The longest digest window of the SMS accounts, in whole minutes (the version page says it before publishing)."""
    from hub.channels.sms import SmsChannel

    config = get_config()
    windows = [window_of(config, name) for name, a in config.accounts.items() if a.channel == SmsChannel.name]
    return int(-(-max(windows, default=0.0) // 60))


def _truthy(value: Any) -> bool:
    return value is not None and str(value).strip().lower() in ("true", "1", "yes", "是")


def _urgent(config: HubConfig, target_name: str, extra: dict[str, Any]) -> bool:
    """The SMS adapter's urgency rule (target audience or the record's ``extra.urgent``): urgent SMS never wait."""
    target = config.targets.get(target_name)
    audience = target.audience if target is not None else {}
    return _truthy(audience.get("urgent")) or _truthy(extra.get("urgent"))


def _same_region(config: HubConfig, target_name: str) -> bool:
    target = config.targets.get(target_name)
    return target is not None and _truthy(target.audience.get("same_region"))


def held_until(*, channel: str, target_name: str, purpose: str, extra: dict[str, Any], start: datetime) -> datetime:
    """When a new delivery row is first due: ``start``, or ``start + window`` for a non-urgent SMS publication."""
    from hub.channels.sms import SmsChannel

    if channel != SmsChannel.name or purpose != "publish":
        return start
    config = get_config()
    target = config.targets.get(target_name)
    if target is None or _urgent(config, target_name, extra):
        return start
    window = window_of(config, target.account)
    return start + timedelta(seconds=window) if window > 0 else start


# --- forming a digest (the members' send) ------------------------------------------------------------


def _decision(s: Session, delivery_id: int) -> dict[str, Any] | None:
    row = s.get(ChannelStateRow, f"{MEMBER_PREFIX}{delivery_id}")
    return dict(row.value or {}) if row is not None else None


def _decide(s: Session, delivery_id: int, value: dict[str, Any], now: datetime) -> None:
    s.add(ChannelStateRow(key=f"{MEMBER_PREFIX}{delivery_id}", value=value, expires_at=None, updated_at=now))


def member_receipt(digest: DeliveryRow, member_id: int, now: datetime) -> Receipt:
    """What a member's ledger keeps: handed over to the digest (its key is the provider ref the polls follow)."""
    return Receipt(provider_ref=digest.idempotency_key, accepted_at=now, confirmed=False,
                   raw={DIGEST: digest.id, "code": code_of(digest), "member": member_id})


def code_of(digest: DeliveryRow) -> str:
    return digest.record_id.removeprefix(f"{DIGEST}:")


def _peers(s: Session, config: HubConfig, me: DeliveryRow, window: float, now: datetime) -> list[DeliveryRow]:
    """Other SMS publications to the same audience, undecided, not started alone, due within the next window.

    ``sending`` peers are claimed by another worker that has not decided yet: they are
    included (their own ``hand_off`` then finds the decision) rather than sent twice.
    """
    from hub.store import repo

    horizon = now + timedelta(seconds=window)
    rows = list(s.scalars(select(DeliveryRow).where(
        DeliveryRow.channel == me.channel, DeliveryRow.target == me.target, DeliveryRow.purpose == "publish",
        DeliveryRow.id != me.id, DeliveryRow.state.in_([*_UNSENT, "sending"]),
        DeliveryRow.needs_attention.is_(False),
        or_(DeliveryRow.scheduled_at.is_(None), DeliveryRow.scheduled_at <= now),
        or_(DeliveryRow.next_attempt_at.is_(None), DeliveryRow.next_attempt_at <= horizon),
        or_(DeliveryRow.not_after.is_(None), DeliveryRow.not_after > now),
    ).order_by(DeliveryRow.id).limit(MAX_MEMBERS - 1)))
    if not rows:
        return []
    ids = [r.id for r in rows]
    taken = set(s.scalars(select(ChannelStateRow.key).where(ChannelStateRow.key.in_(
        [f"{MEMBER_PREFIX}{i}" for i in ids] + [f"sms-audience:{i}" for i in ids]))))
    mine = s.get(VersionRow, me.version)
    region = mine.region if mine is not None else None
    same_region = _same_region(config, me.target)
    out = []
    for r in rows:
        if f"{MEMBER_PREFIX}{r.id}" in taken or f"sms-audience:{r.id}" in taken:
            continue
        version = s.get(VersionRow, r.version)
        if version is None or version.state != "published":
            continue
        if same_region and version.region != region:
            continue
        if _urgent(config, r.target, dict(repo.record_of(version).extra)):
            continue
        out.append(r)
    return out


def _new_code(s: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LEN))
        if s.scalar(select(DeliveryRow.id).where(DeliveryRow.record_id == f"{DIGEST}:{code}")) is None:
            return code


def hand_off(sessions: Any, delivery_id: int, *, account: str, now: datetime) -> Receipt | None:
    """For a claimed SMS publication: the receipt of the digest that covers it, or None to send it alone.

    Idempotent: a delivery is decided once (``sms-digest-of:<id>``); asking again returns the
    same answer. Two deciders racing on PostgreSQL meet on that key's primary key: the loser
    rolls back and reads the winner's decision.
    """
    for _ in range(3):
        try:
            return _hand_off(sessions, delivery_id, account=account, now=now)
        except IntegrityError:
            continue
    return _hand_off(sessions, delivery_id, account=account, now=now)


def _hand_off(sessions: Any, delivery_id: int, *, account: str, now: datetime) -> Receipt | None:
    from hub.channels.sessions import scope

    config = get_config()
    formed: int | None = None
    with scope(sessions) as s:
        decided = _decision(s, delivery_id)
        if decided is not None:
            digest = s.get(DeliveryRow, int(decided[DIGEST])) if DIGEST in decided else None
            return member_receipt(digest, delivery_id, now) if digest is not None else None
        me = s.get(DeliveryRow, delivery_id)
        window = window_of(config, account)
        if me is None or me.purpose != "publish" or window <= 0:
            return None
        if s.get(ChannelStateRow, f"sms-audience:{delivery_id}") is not None:
            return None  # it started alone before (its numbers are expanded): it finishes alone
        peers = _peers(s, config, me, window, now)
        if not peers:
            _decide(s, delivery_id, {"alone": True, "at": now.isoformat()}, now)
            return None
        digest = _create(s, me, peers, now)
        formed = digest.id
        receipt = member_receipt(digest, delivery_id, now)
    if formed is not None:
        _hint(formed)
    return receipt


def _create(s: Session, me: DeliveryRow, peers: list[DeliveryRow], now: datetime) -> DeliveryRow:
    """The digest row, every member's decision, and the hand-over of the members not claimed by a worker."""
    from hub.queue import ledger
    from hub.queue.deliver import record_receipt
    from hub.queue.policy import engine_settings
    from hub.queue.states import State

    code = _new_code(s)
    subject = f"{DIGEST}:{code}"
    members = [me, *peers]
    afters = [m.not_after for m in members if m.not_after is not None]
    digest = DeliveryRow(record_id=subject, version=subject, channel=me.channel, target=me.target,
                         idempotency_key=ledger.idempotency_key(subject, subject, me.channel, me.target, DIGEST),
                         state=State.QUEUED, attempts=0, redeliveries=0, next_attempt_at=now,
                         not_after=min(afters) if afters else None, needs_attention=False, created_at=now,
                         updated_at=now, hinted_at=None, purpose=DIGEST)
    s.add(digest)
    s.flush()
    ledger.created_event(s, digest, actor=DIGEST, now=now,
                         message=f"汇总短信 {code}：{len(members)} 条记录（投递 {', '.join(str(m.id) for m in members)}）")
    s.add(ChannelStateRow(key=f"{STATE_PREFIX}{digest.id}", value={
        "code": code, "members": [m.id for m in members], "at": now.isoformat()}, expires_at=None, updated_at=now))
    settings = engine_settings()
    note = f"并入汇总短信 {code}（共 {len(members)} 条记录），随其发出"
    for m in members:
        _decide(s, m.id, {DIGEST: digest.id}, now)
        if m.id == me.id or m.state not in _UNSENT:
            continue  # the caller's own row (and a peer claimed by another worker) is recorded by its engine step
        attempt = m.attempts + 1
        if ledger.move(s, m.id, m.state, State.SENDING, actor=DIGEST, now=now, attempts=m.attempts, message=note,
                       values={"attempts": attempt, "lease_expires_at": None}):
            record_receipt(s, m.id, attempt, member_receipt(digest, m.id, now), actor=DIGEST, now=now,
                           settings=settings, note=note)
    return digest


def _hint(digest_id: int) -> None:
    """Tell the engine the digest is due (best effort: ``requeue_due`` finds it anyway)."""
    from hub.queue.actors import hint

    hint("deliver", digest_id, None)  # logs a broker that is down; never raises


# --- the digest's own send ---------------------------------------------------------------------------


def _state(s: Session, digest_id: int) -> ChannelStateRow:
    row = s.get(ChannelStateRow, f"{STATE_PREFIX}{digest_id}")
    if row is None:
        from hub.errors import Permanent

        raise Permanent(f"sms: digest delivery {digest_id} has no member list")
    return row


def _freeze(s: Session, digest_id: int) -> list[int]:
    """The members the digest covers, fixed at its first send: records still published, rows not cancelled."""
    row = _state(s, digest_id)
    value = dict(row.value or {})
    if value.get("included") is not None:
        return [int(i) for i in value["included"]]
    included = []
    for mid in value.get("members", []):
        member = s.get(DeliveryRow, int(mid))
        if member is None or member.state in _GONE:
            continue
        version = s.get(VersionRow, member.version)
        if version is not None and version.state == "published":
            included.append(member.id)
    value["included"] = included
    row.value = value
    return included


def send(channel: SmsChannel, target: Target, key: str) -> Receipt:
    """Send digest ``key``: the digest template to the audience, through ``SmsChannel.send`` (one ledger per number)."""
    from hub.channels.sessions import scope
    from hub.renderers.base import ArtifactStore
    from hub.renderers.sms import fill

    config = channel.config
    template = config.render.sms.templates.get(TEMPLATE)
    if template is None:
        raise ConfigError(f"channels.toml: render.sms.templates.{TEMPLATE} (the approved digest SMS) is missing")
    with scope(channel._sessions) as s:
        digest = s.scalar(select(DeliveryRow).where(DeliveryRow.idempotency_key == key))
        if digest is None:
            from hub.errors import Permanent

            raise Permanent("sms: no digest row for this key")
        included = _freeze(s, digest.id)
        code, digest_id = code_of(digest), digest.id
        first = s.get(DeliveryRow, included[0]) if included else None
        version = first.version if first is not None else ""
    if not included:
        return Receipt(provider_ref=key, accepted_at=channel.clock(), confirmed=True,
                       raw={"delivery_id": digest_id, "nothing": "every covered record was withdrawn before sending"})
    _renditions(channel, included)
    values = {"count": str(len(included)), "digest_code": code}
    try:
        params = [values[name] for name in template.params]
    except KeyError as exc:
        raise ConfigError(f"channels.toml: render.sms.templates.{TEMPLATE}.params: unknown parameter {exc}") from None
    text = f"【{config.render.sms.signature}】{fill(template.template, params)}"
    main = ArtifactStore(channel.settings.artifacts_dir).put(text.encode("utf-8"), ".txt", "text/plain")
    # the region of a ``same_region`` audience is every member's (the digest groups by it)
    rendition = Rendition(kind=channel.rendition_kind, record_id=digest.record_id, version=version, main=main,
                          facts={"params": params, "template_id": template.template_id,
                                 "sign_name": config.render.sms.signature, "text": text})
    return channel.send(rendition, target, key)


def _renditions(channel: SmsChannel, included: list[int]) -> None:
    """Each covered record's own SMS rendition, stored (made now when missing; no transaction open).

    A member handed over without ever being claimed was never rendered, yet its withdrawal
    notice names its office from that rendition (``SmsChannel.withdraw``).
    """
    from hub.channels.sessions import scope
    from hub.errors import NotFound
    from hub.renderers.service import get_rendition, render_ref

    with scope(channel._sessions) as s:
        versions = [row.version for row in s.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(included)))]
    for version in versions:
        try:
            with scope(channel._sessions) as s:
                get_rendition(s, version, channel.rendition_kind)
        except NotFound:
            render_ref(version, [channel.rendition_kind])


# --- the members' polls --------------------------------------------------------------------------------


def is_member_receipt(receipt: Receipt) -> bool:
    return DIGEST in (receipt.raw or {}) and "member" in (receipt.raw or {})


def member_status(channel: SmsChannel, receipt: Receipt, target: Target) -> DeliveryStatus:
    """A covered delivery follows its digest: confirmed with it, failed with it, or failed when left out."""
    from hub.channels.sessions import scope
    from hub.queue.deliver import receipt_from_json

    raw = receipt.raw or {}
    with scope(channel._sessions) as s:
        digest = s.get(DeliveryRow, int(raw[DIGEST]))
        if digest is None:
            return DeliveryStatus.FAILED
        state_row = s.get(ChannelStateRow, f"{STATE_PREFIX}{digest.id}")
        included = (state_row.value or {}).get("included") if state_row is not None else None
        state, data = digest.state, dict(digest.receipt or {})
    left_out = included is not None and int(raw["member"]) not in {int(i) for i in included}
    if state in _GONE or (left_out and state != "queued"):
        return DeliveryStatus.FAILED
    if state == "confirmed":
        return DeliveryStatus.DELIVERED
    if state == "submitted" and data.get("provider_ref"):
        # the same evidence the digest's own poll reads (its numbers' reports), at the same time
        return channel.status(receipt_from_json(data), target)
    return DeliveryStatus.PENDING


def member_lookup(sessions: Any, key: str, now: datetime) -> Receipt | None:
    """After a lost worker: a member already handed to a digest is found there (never sent on its own)."""
    from hub.channels.sessions import scope

    with scope(sessions) as s:
        delivery_id = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key))
        decided = _decision(s, delivery_id) if delivery_id is not None else None
        if delivery_id is None or decided is None or DIGEST not in decided:
            return None
        digest = s.get(DeliveryRow, int(decided[DIGEST]))
        return member_receipt(digest, delivery_id, now) if digest is not None else None


def recipients_of(s: Session, delivery_id: int) -> int:
    """Whose numbers a delivery reached: the digest's for a member it covered, else its own (withdrawal notices)."""
    decided = _decision(s, delivery_id)
    if decided is None or DIGEST not in decided:
        return delivery_id
    digest_id = int(decided[DIGEST])
    row = s.get(ChannelStateRow, f"{STATE_PREFIX}{digest_id}")
    included = (row.value or {}).get("included") if row is not None else None
    return digest_id if included is not None and delivery_id in {int(i) for i in included} else delivery_id


# --- what people read: the board and the list page -----------------------------------------------------


def _covered_ids(value: dict[str, Any]) -> list[int]:
    """The digest's covered members once it went out (``included``), its members before that."""
    ids = value.get("included")
    if ids is None:
        ids = value.get("members") or []
    return [int(i) for i in ids]


@dataclass(frozen=True, slots=True)
class Cover:
    """How a delivery relates to a digest, in words for the board."""

    code: str
    words: str
    link: str


def covers(s: Session, rows: list[DeliveryRow]) -> dict[int, Cover]:
    """Board words for SMS rows that wait for a digest window, were covered by a digest, or are one."""
    from hub.channels.sms import SmsChannel
    from hub.timeutil import to_local, utcnow

    sms = [r for r in rows if r.channel == SmsChannel.name]
    if not sms:
        return {}
    now = utcnow()
    keys = [f"{MEMBER_PREFIX}{r.id}" for r in sms] + [f"{STATE_PREFIX}{r.id}" for r in sms if r.purpose == DIGEST]
    found = {k: dict(v or {}) for k, v in s.execute(select(ChannelStateRow.key, ChannelStateRow.value)
                                                     .where(ChannelStateRow.key.in_(keys))).all()}
    digests = {int(v[DIGEST]) for k, v in found.items() if k.startswith(MEMBER_PREFIX) and DIGEST in v}
    dig_rows = {d.id: d for d in s.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(digests)))} if digests else {}
    states = {int(k.removeprefix(STATE_PREFIX)): v for k, v in s.execute(
        select(ChannelStateRow.key, ChannelStateRow.value).where(
            ChannelStateRow.key.in_([f"{STATE_PREFIX}{i}" for i in digests]))).all()} if digests else {}
    from hub.web.board import STATE_NAMES

    out: dict[int, Cover] = {}
    for r in sms:
        if r.purpose == DIGEST:
            value = found.get(f"{STATE_PREFIX}{r.id}", {})
            n = len(_covered_ids(value))
            code = code_of(r)
            out[r.id] = Cover(code, f"汇总短信 {code}：{n} 条记录合并为一条短信发给同一批订阅者", f"/d/{code}")
            continue
        decided = found.get(f"{MEMBER_PREFIX}{r.id}")
        if decided and DIGEST in decided and int(decided[DIGEST]) in dig_rows:
            d = dig_rows[int(decided[DIGEST])]
            code = code_of(d)
            value = dict(states.get(d.id) or {})
            included = value.get("included")
            if included is not None and r.id not in {int(i) for i in included}:
                words = f"记录已撤回或取消，未随汇总短信 {code} 发出"
            else:
                n = len(_covered_ids(value))
                words = (f"已并入汇总短信 {code}（共 {n} 条记录合并为一条短信，订阅者只收到一条）；"
                         f"汇总短信状态：{STATE_NAMES.get(d.state, d.state)}")
            out[r.id] = Cover(code, words, f"/d/{code}")
        elif (r.purpose == "publish" and r.state == "queued" and not decided and r.scheduled_at is None
              and r.next_attempt_at is not None and r.next_attempt_at > now):
            out[r.id] = Cover("", f"等待汇总：{to_local(r.next_attempt_at):%H:%M} 前发往同一批订阅者的记录"
                                  "将合并为一条短信发出（避免一天收到多条、超过每号每天条数上限）", "")
    return out


@dataclass(frozen=True, slots=True)
class ListedRecord:
    record_id: str
    title: str
    department: str | None
    published: bool


def listed(s: Session, code: str) -> list[ListedRecord] | None:
    """The records digest ``code`` covers (its frozen members; before it went out, its members), or None."""
    if not re.fullmatch(r"[0-9A-Za-z]{1,16}", code):
        return None
    digest = s.scalar(select(DeliveryRow).where(DeliveryRow.record_id == f"{DIGEST}:{code}",
                                                DeliveryRow.purpose == DIGEST))
    if digest is None:
        return None
    out = []
    for mid in _covered_ids(dict(_state(s, digest.id).value or {})):
        member = s.get(DeliveryRow, int(mid))
        version = s.get(VersionRow, member.version) if member is not None else None
        if member is None or version is None:
            continue
        out.append(ListedRecord(member.record_id, version.title or member.record_id, version.department,
                                version.state == "published"))
    return out
