"""The TV station reads withdrawal and recall (停播) notices on /tv; a withdrawal step is never offered as a package."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from hub.store.db import session_scope
from hub.timeutil import utcnow


def test_a_recall_notice_is_on_the_pickup_page_and_the_withdrawal_step_is_not_a_package(
        app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.channels.tv import NOTICE_PREFIX
    from hub.store.models import ChannelStateRow, DeliveryRow

    monkeypatch.setenv("HUB_TV_PICKUP_TOKEN", "tv-token-notices")
    now = utcnow()
    with session_scope() as s:
        s.add(ChannelStateRow(key=NOTICE_PREFIX + "rec-9-abc", expires_at=None, updated_at=now,
                              value={"kind": "recall", "title": "关于调整低保标准的通知", "reason": "标准有误",
                                     "at": now.isoformat(), "collected": True}))
        s.add(DeliveryRow(record_id="rec-9", version="0" * 64, channel="tv", target="tv-ankang",
                          idempotency_key="w" * 64, state="confirmed", attempts=1, redeliveries=0,
                          provider_ref="recall:rec-9-abc", purpose="withdraw", needs_attention=False,
                          created_at=now, updated_at=now))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        page = c.get("/tv?token=tv-token-notices").text
    notices = page.split('id="notices"', 1)[1]
    assert "停播通知" in notices and "关于调整低保标准的通知" in notices and "标准有误" in notices
    assert "recall:rec-9-abc" not in page  # the withdrawal step itself is not a package to collect
