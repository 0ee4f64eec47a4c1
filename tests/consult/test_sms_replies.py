"""Upstream SMS through the sandbox: "R" opts a subscriber out at once; a question lands on the right list."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from datetime import datetime
from typing import Any

import pytest

from hub.audience.subscribers import describe, find, upsert
from hub.channels.base import Target
from hub.channels.sms import SmsChannel
from hub.config import get_config
from hub.record import Record
from hub.renderers.base import ArtifactStore, Rendition
from hub.settings import get_settings
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import DeliveryRow
from hub.timeutil import SHANGHAI

pytestmark = pytest.mark.usefixtures("phone_key")
DAYTIME = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
A, B, C = "+8613800000001", "+8613800000002", "+8613800000003"
FIN = "汉阴县财政局"


def push(record_id: str, short: str) -> None:
    """One bulk SMS delivery of a record of the finance bureau to every county subscriber (the real channel)."""
    record = Record(id=record_id, title="关于发放耕地地力保护补贴的公示", department=FIN)  # type: ignore[call-arg]
    with session_scope() as s:
        version = repo.save_version(s, record, findings=[], warnings=[], actor="test").version
    key = hashlib.sha256(f"{record_id}|{version}".encode()).hexdigest()
    with session_scope() as s:
        s.add(DeliveryRow(record_id=record_id, version=version, channel=SmsChannel.name, target="sms-county",
                          idempotency_key=key, state="sending", attempts=1, redeliveries=0,
                          created_at=DAYTIME, updated_at=DAYTIME))
    text = f"【汉阴县人民政府】县财政局发布新公开信息，详见hanyin.gov.cn/s/{short} 拒收请回复R"
    main = ArtifactStore(get_settings().artifacts_dir).put(text.encode(), ".txt", "text/plain")
    rendition = Rendition(kind="sms", record_id=record_id, version=version, main=main,
                          facts={"text": text, "params": ["县财政局", short]})
    cfg = get_config().targets["sms-county"]
    target = Target(channel=SmsChannel.name, name="sms-county", account=cfg.account,
                    params=cfg.model_dump(exclude={"channel", "account"}, exclude_none=True))
    SmsChannel(get_config(), get_settings(), clock=lambda: DAYTIME).send(rendition, target, key)


def received(sandbox: Any, phone: str) -> int:
    return sum(1 for m in sandbox.messages("sms", "sms") if m["content"]["phone"] == phone)


def reply(sandbox: Any, phone: str, text: str) -> None:
    req = urllib.request.Request(f"{sandbox.url}/_sandbox/sms/reply", method="POST",
                                 data=json.dumps({"phone": phone, "text": text}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - the loopback sandbox
        assert resp.status == 200


def test_r_opts_a_subscriber_out_at_once_and_a_question_reaches_the_department_of_the_sms(
        sandbox: Any, as_staff: Any) -> None:
    from hub.audience.replies import pull

    with session_scope() as s:
        for p in (A, B):
            upsert(s, p)
    push("fin-1", "ab12")
    assert received(sandbox, A) == 1 and received(sandbox, B) == 1
    reply(sandbox, A, " r ")
    reply(sandbox, B, "请问耕地地力保护补贴什么时候发放到户？")
    assert pull() == {"opted_out": 1, "question": 1}
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/", timeout=5) as resp:  # noqa: S310 - the loopback sandbox
        assert '<div class="bubble up">请问耕地地力保护补贴' in resp.read().decode()  # the handset's side of the thread
    assert pull() == {}  # the operator's queue hands each reply out once
    with session_scope() as s:
        row = find(s, A)
        assert row is not None and row.opted_out_at is not None
        assert describe(row)["opted_out_at"]
    from typer.testing import CliRunner

    from hub.cli import _register, app

    _register()
    listed = CliRunner().invoke(app, ["subscribers", "list"]).output
    assert "+86*******0001" in listed and "opted out 20" in listed  # the subscriber list shows it, with the time
    push("fin-2", "cd34")
    assert received(sandbox, A) == 1 and received(sandbox, B) == 2  # A gets nothing further

    listing = as_staff("fin-author").get("/console/consult").text
    assert "短信咨询：请问耕地地力保护补贴什么时候发放到户" in listing
    assert "短信咨询" not in as_staff("author").get("/console/consult").text  # not the office's department


def test_the_reply_callback_opts_out_and_a_reply_seen_twice_is_handled_once(
        sandbox: Any, citizen: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.audience.replies import Reply, handle

    monkeypatch.setenv("HUB_SMS_CALLBACK_SECRET", "s3cret-path")
    with session_scope() as s:
        upsert(s, C)
    body = {"extend": "", "mobile": C[3:], "nationcode": "86", "sign": "汉阴县人民政府", "text": "退订",
            "time": int(DAYTIME.timestamp())}
    assert citizen.post("/callbacks/sms-reply/wrong", json=body).status_code == 404
    assert citizen.post("/callbacks/sms-reply/s3cret-path", json=body).json() == {"result": 0, "errmsg": "OK"}
    with session_scope() as s:
        row = find(s, C)
        assert row is not None and row.opted_out_at == DAYTIME
    # the same reply pulled later is recognised and does nothing more
    assert handle(Reply(phone=C, text="退订", replied_at=DAYTIME)) == "duplicate"


def test_the_answer_notice_is_not_sent_to_a_number_that_opted_out(sandbox: Any, citizen: Any, as_staff: Any) -> None:
    import re

    from consultkit import ask, csrf_of

    from hub.audience.replies import Reply, handle

    ask(citizen, mobile=A[3:])
    assert handle(Reply(phone=A, text="TD", replied_at=DAYTIME)) == "opted_out"
    author = as_staff("author")
    qid = re.search(r'/console/consult/(\d+)"', author.get("/console/consult").text).group(1)  # type: ignore[union-attr]
    r = author.post(f"/console/consult/{qid}/answer", data={"csrf_token": csrf_of(author, f"/console/consult/{qid}"),
                                                            "text": "已答复"}, follow_redirects=False)
    assert "err=" not in r.headers["location"]
    assert received(sandbox, A) == 0
    assert "答复短信：未发送（该号码已退订短信，不发送）" in author.get(f"/console/consult/{qid}").text
