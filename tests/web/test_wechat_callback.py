"""The WeChat callback lets nothing forged or stale in (issue 18, finding 6).

A signed event must be fresh (timestamp window), never replayed (nonce cache in
the database), encrypted where the account has an EncodingAESKey, carry an
explicit status, and even then only make the delivery due for a poll:
``freepublish/get`` decides.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from web_helpers import TestClient

from hub.store.db import session_scope
from hub.store.models import DeliveryRow
from hub.timeutil import utcnow

TOKEN = "cb-token"
URL = "/callbacks/wechat/wechat-county"


def event(publish_id: str = "2247483999", status: str | None = "0") -> str:
    st = f"<publish_status>{status}</publish_status>" if status is not None else ""
    return ("<xml><ToUserName>gh_1</ToUserName><FromUserName>mphelper</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event><PublishEventInfo>"
            f"<publish_id>{publish_id}</publish_id>{st}</PublishEventInfo></xml>")


def signed(ts: int | None = None, nonce: str = "n1") -> str:
    t = str(int(time.time()) if ts is None else ts)
    sig = hashlib.sha1("".join(sorted([TOKEN, t, nonce])).encode()).hexdigest()  # noqa: S324 - WeChat's scheme
    return f"{URL}?signature={sig}&timestamp={t}&nonce={nonce}"


@pytest.fixture
def hinted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    from hub.queue import actors

    monkeypatch.setenv("HUB_WECHAT_CALLBACK_TOKEN", TOKEN)
    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(actors, "hint", lambda name, did, delay: seen.append((name, did)))
    return seen


def submitted(publish_id: str = "2247483999") -> int:
    now = utcnow()
    with session_scope() as s:
        row = DeliveryRow(record_id="r1", version="0" * 64, channel="wechat", target="wechat-county",
                          idempotency_key=hashlib.sha256(publish_id.encode()).hexdigest(), state="submitted",
                          attempts=1, redeliveries=0, provider_ref=publish_id, needs_attention=False,
                          created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        return int(row.id)


def test_a_stale_timestamp_is_refused(client: TestClient, hinted: list[Any]) -> None:
    submitted()
    r = client.post(signed(int(time.time()) - 3600), content=event())
    assert r.status_code == 403 and hinted == []


def test_a_replayed_nonce_is_refused_even_by_another_process(client: TestClient, app: Any,
                                                              hinted: list[Any]) -> None:
    did = submitted()
    url = signed(nonce="once")
    assert client.post(url, content=event()).status_code == 200
    assert hinted == [("confirm", did)]
    with TestClient(app, base_url="http://127.0.0.1") as other:  # the cache is in the database, not the process
        assert other.post(url, content=event()).status_code == 403
    assert hinted == [("confirm", did)]


def test_an_event_without_a_status_is_not_success(client: TestClient, hinted: list[Any]) -> None:
    from hub.channels.wechat import publish_event

    assert publish_event(event(status=None)) is None
    assert publish_event(event(status="0")) is not None


@pytest.fixture
def safe_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from hub.settings import PROJECT_ROOT
    from hub.testing.caches import clear_caches

    dst = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", dst)
    toml = dst / "channels.toml"
    toml.write_text(re.sub(r'(?m)^(\[accounts\.wechat-county\])$', r'\1\nencoding_aes_key_env = "HUB_WECHAT_AES_KEY"',
                           toml.read_text("utf-8")), "utf-8")
    key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    monkeypatch.setenv("HUB_CONFIG_DIR", str(dst))
    monkeypatch.setenv("HUB_WECHAT_AES_KEY", key)
    clear_caches()
    return key


def test_safe_mode_accepts_only_the_encrypted_envelope_whose_signature_covers_the_body(
        safe_mode: str, client: TestClient, hinted: list[Any]) -> None:
    from wechatpy.crypto import WeChatCrypto

    did = submitted()
    assert client.post(signed(nonce="plain"), content=event()).status_code == 403  # plaintext refused
    ts = str(int(time.time()))
    envelope = WeChatCrypto(TOKEN, safe_mode, "wxhanyincounty0001").encrypt_message(event(), "enc1", ts)
    msg_sig = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", envelope).group(1)  # type: ignore[union-attr]
    forged = re.sub(r"<Encrypt><!\[CDATA\[(.)", lambda m: m.group(0)[:-1] + ("A" if m.group(1) != "A" else "B"),
                    envelope)
    bad = client.post(signed(int(ts), "enc1") + f"&encrypt_type=aes&msg_signature={msg_sig}", content=forged)
    assert bad.status_code == 403 and hinted == []
    ok = client.post(signed(int(ts), "enc1") + f"&encrypt_type=aes&msg_signature={msg_sig}", content=envelope)
    assert ok.status_code == 200 and hinted == [("confirm", did)]
