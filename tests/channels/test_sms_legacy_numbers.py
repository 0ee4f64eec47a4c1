"""Numbers stored as Fernet tokens (before AES-GCM, issue 16) still get their SMS, before and after rotation."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from sms_support import (
    channel,
    make_delivery,
    numbers,
    save_version,
    sms_inbox,
    sms_rendition,
    states,
    target,
)

from hub.audience import phones as phone_keys
from hub.store.db import session_scope
from hub.store.models import SubscriberRow
from hub.timeutil import utcnow


def _subscribe_the_old_way(phone_key: str, e164s: list[str]) -> None:
    """Rows as ``PhoneVault.encrypt`` wrote them before: a Fernet token under the (only) key."""
    old, vault = Fernet(phone_key.encode()), phone_keys.get_vault()
    with session_scope() as s:
        for e164 in e164s:
            s.add(SubscriberRow(phone_enc=old.encrypt(e164.encode()), phone_hash=vault.hash(e164),
                                phone_tail=e164[-4:], level="county", region=None, topics=[], opted_out_at=None,
                                created_at=utcnow()))


def test_a_fan_out_reaches_numbers_stored_the_old_way_and_again_after_rotation(
        sandbox: Any, phone_key: str, monkeypatch: Any) -> None:
    phones = numbers(30)
    _subscribe_the_old_way(phone_key, phones)
    version = save_version("hanyin-legacy-1")
    key = make_delivery(version, "hanyin-legacy-1", "sms-county")
    channel().send(sms_rendition("hanyin-legacy-1", version), target(), key)
    assert set(states(key).values()) == {"sent"} and sorted(states(key)) == sorted(phones)
    # rotation: a new key first, every number re-encrypted under it, the next notice still reaches everyone
    monkeypatch.setenv("HUB_PHONE_KEY", f"{phone_keys.new_key()},{phone_key}")
    phone_keys.rotate_stored(session_scope, batch=7)
    with session_scope() as s:
        assert phone_keys.key_usage(s).tables["subscribers"] == {"current": 30, "older": 0, "fernet": 0,
                                                                  "unknown": 0}
    version2 = save_version("hanyin-legacy-2")
    key2 = make_delivery(version2, "hanyin-legacy-2", "sms-county")
    # other content: the platform refuses the same text to one number within 30 s
    channel().send(sms_rendition("hanyin-legacy-2", version2, ["县政府办", "cd34"]), target(), key2)
    assert sorted(states(key2)) == sorted(phones) and set(states(key2).values()) == {"sent"}
    inbox = [m["content"]["phone"] for m in sms_inbox(sandbox)]
    assert sorted(inbox) == sorted(phones * 2)
