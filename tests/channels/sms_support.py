"""Helpers for the SMS tests: a phone key, saved versions, delivery rows, renditions, subscribers, a clock."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.audience.subscribers import get_vault, upsert
from hub.channels.sms import SmsChannel
from hub.config import Account, HubConfig, get_config
from hub.deliverables import Rendition, Target
from hub.record import Record
from hub.renderers.base import ArtifactStore
from hub.settings import get_settings
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import DeliveryRow, SmsRecipientRow, SubscriberRow
from hub.timeutil import SHANGHAI, utcnow

#: 10:00 in Shanghai: outside quiet hours
DAYTIME = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
#: 23:00 in Shanghai: inside quiet hours
NIGHT = datetime(2026, 11, 25, 23, 0, tzinfo=SHANGHAI)


def numbers(n: int, start: int = 1) -> list[str]:
    """Valid mainland mobile numbers in a test range (138 0000 xxxx)."""
    return [f"+86138{start + i:08d}" for i in range(n)]


def save_version(record_id: str = "hanyin-test-1", *, level: str = "county", region: str | None = None,
                 extra: dict[str, str] | None = None) -> str:
    record = Record(id=record_id, title="关于公开测试事项的通知", department="汉阴县人民政府办公室",
                    level=level, region=region, extra=extra or {})  # type: ignore[arg-type]
    with session_scope() as s:
        row = repo.save_version(s, record, findings=[], warnings=[], actor="test")
        return row.version


def make_delivery(version: str, record_id: str, target: str, channel: str = "sms") -> str:
    key = hashlib.sha256(f"{record_id}|{version}|{channel}|{target}".encode()).hexdigest()
    now = utcnow()
    with session_scope() as s:
        s.add(DeliveryRow(record_id=record_id, version=version, channel=channel, target=target,
                          idempotency_key=key, state="sending", attempts=1, redeliveries=0,
                          created_at=now, updated_at=now))
    return key


def sms_rendition(record_id: str, version: str, params: list[str] | None = None) -> Rendition:
    params = params or ["县政府办", "ab12"]
    store = ArtifactStore(get_settings().artifacts_dir)
    text = "【汉阴县人民政府】" + f"{params[0]}发布新公开信息，详见hanyin.gov.cn/s/{params[-1]} 拒收请回复R"
    main = store.put(text.encode(), ".txt", "text/plain")
    return Rendition(kind="sms", record_id=record_id, version=version, main=main,
                     facts={"text": text, "params": params, "template_id": "2017168", "sign_name": "汉阴县人民政府"})


def subscribe(phones: list[str], *, level: str = "county", region: str | None = None,
              topics: tuple[str, ...] = ()) -> None:
    with session_scope() as s:
        for p in phones:
            upsert(s, p, level=level, region=region, topics=topics)


def target(name: str = "sms-county") -> Target:
    cfg = get_config().targets[name]
    return Target(channel="sms", name=name, account=cfg.account,
                  params=cfg.model_dump(exclude={"channel", "account"}, exclude_none=True))


def config_with(account: str = "tencent", **changes: Any) -> HubConfig:
    """The configuration with some keys of one account changed (e.g. a short timeout)."""
    config = get_config()
    acc = config.accounts[account]
    new = Account.model_validate({"channel": acc.channel, **(acc.model_extra or {}), **changes})
    return config.model_copy(update={"accounts": {**config.accounts, account: new}})


def channel(clock: datetime = DAYTIME, config: HubConfig | None = None) -> SmsChannel:
    return SmsChannel(config or get_config(), get_settings(), clock=lambda: clock)


def states(key: str) -> dict[str, str]:
    """E.164 → recipient state for the delivery ``key`` (decrypting in the test only)."""
    vault = get_vault()
    with session_scope() as s:
        did = s.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key))
        rows = s.execute(select(SubscriberRow.phone_enc, SmsRecipientRow.state)
                         .join(SubscriberRow, SubscriberRow.id == SmsRecipientRow.subscriber_id)
                         .where(SmsRecipientRow.delivery_id == did)).all()
    return {vault.decrypt(enc): state for enc, state in rows}


def sms_inbox(sb: Any) -> list[dict[str, Any]]:
    return list(sb.messages("sms"))


def count_calls(sb: Any, action: str) -> Callable[[], int]:
    """Count every HTTP request of ``action`` the sandbox receives (before faults apply); returns a reader."""
    seen = {"n": 0}
    dispatch = sb._dispatch

    def counting(h: Any) -> None:
        if h.headers.get("X-TC-Action") == action:
            seen["n"] += 1
        dispatch(h)

    sb._dispatch = counting
    return lambda: seen["n"]


def write_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
