"""Collection against the sandbox with the real adapters: the stored figures are the platforms' counts.

The sandbox's counters grow with the post's age (``hub.sandbox.engagement``); the tests move
the sandbox clock (``metrics_clock_offset``) and give the collector the same ``now``, so the
expected figures are computed from the post id and its age, never hard-coded.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.metrics import store
from hub.metrics.collect import collect, failures
from hub.sandbox import engagement
from hub.store.db import session_scope
from hub.store.models import DeliveryRow, EngagementRow, ShortLinkRow

pytestmark = pytest.mark.slow

OFFSET = 2 * 86400 + 1800  # two days and a half hour later: whole hours are stable during the test


def _later(sandbox: Any, seconds: float) -> datetime:
    sandbox.options["metrics_clock_offset"] = seconds
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _expected_weibo(sandbox: Any, now: datetime) -> dict[str, int]:
    entry = next(iter(sandbox.vendor("weibo")["statuses"].items()))
    idstr, st = entry
    hours = (now.timestamp() - float(st["at"])) / 3600
    return {"shares": engagement.count(idstr, "reposts", hours), "comments": engagement.count(idstr, "comments", hours),
            "likes": engagement.count(idstr, "attitudes", hours)}


def _expected_wechat(sandbox: Any, now: datetime) -> dict[str, int]:
    from hub.sandbox.wechat import DATACUBE_FIELDS, _day, _day_end

    pub = next(iter(sandbox.vendor("wechat")["publishes"].values()))
    msgid = f"{pub['msg_data_id']}_1"
    yesterday = _day(now.timestamp() - 86400)
    hours = (_day_end(yesterday) - float(pub["final_at"])) / 3600
    got = {m: engagement.count(msgid, m, hours) for m in DATACUBE_FIELDS.values()}
    return {"reads": got["reads"], "read_users": got["read_users"], "shares": got["shares"],
            "favorites": got["favorites"]}


def _totals(record_id: str) -> dict[str, dict[str, int]]:
    with session_scope() as s:
        return store.totals(s, record_id)


def _record_id(version: str) -> str:
    with session_scope() as s:
        return str(s.scalars(select(DeliveryRow.record_id).where(DeliveryRow.version == version)).first())


def test_after_publishing_and_scanning_the_figures_equal_the_sandbox_counts_and_the_scans(
        published: str, sandbox: Any) -> None:
    from hub.web.app import create_app

    with warnings.catch_warnings():  # starlette warns its TestClient moves to httpx2 (as tests/web/web_helpers.py)
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    record_id = _record_id(published)
    with session_scope() as s:
        codes = {r.channel: r.code for r in s.scalars(select(ShortLinkRow).where(ShortLinkRow.version == published))}
    with TestClient(create_app(warm_search=False), base_url="http://127.0.0.1") as client:
        for _ in range(3):
            assert client.get(f"/s/{codes['wechat']}", follow_redirects=False).status_code == 302
        assert client.get(f"/s/{codes['sms']}", follow_redirects=False).status_code == 302
        ua = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Mobile"}
        assert client.get(f"/records/{record_id}", headers=ua).status_code == 200
        assert client.get(f"/records/{record_id}", headers=ua).status_code == 200  # same visitor, same day
        bot = {"User-Agent": "Mozilla/5.0 (compatible; Baiduspider/2.0)"}
        assert client.get(f"/records/{record_id}", headers=bot).status_code == 200

    now = _later(sandbox, OFFSET)
    report = collect(now=now, days=None)
    assert not any(t.failures for t in report.channels.values()), report.to_json()
    totals = _totals(record_id)
    assert totals["weibo"] == _expected_weibo(sandbox, now)
    assert {k: totals["wechat"][k] for k in ("reads", "read_users", "shares", "favorites")} \
        == _expected_wechat(sandbox, now)
    assert totals["wechat"]["reads"] > 0 and totals["weibo"]["likes"] > 0
    assert totals["wechat"]["scans"] == 3 and totals["sms"]["scans"] == 1
    assert totals["web"]["views"] == 1  # one visitor, once a day; the crawler is not counted
    assert totals["sms"]["delivered"] == 5 and totals["sms"]["failed"] == 0
    assert report.channels["weibo"].calls == 1 and report.channels["wechat"].calls == 1


def test_a_second_collection_a_day_later_adds_the_days_increase_so_sums_are_totals(
        published: str, sandbox: Any) -> None:
    record_id = _record_id(published)
    first = _later(sandbox, OFFSET)
    collect(now=first)
    later = _later(sandbox, OFFSET + 86400)
    collect(now=later)
    collect(now=later)  # collecting twice on a day overwrites that day's row
    with session_scope() as s:
        days = s.execute(select(EngagementRow.day, EngagementRow.value).where(
            EngagementRow.record_id == record_id, EngagementRow.channel == "weibo",
            EngagementRow.metric == "likes").order_by(EngagementRow.day)).all()
    assert [d for d, _ in days] == [store.day_of(first), store.day_of(later)]
    assert days[1][1] > 0
    assert _totals(record_id)["weibo"] == _expected_weibo(sandbox, later)


def test_a_datacube_quota_error_keeps_the_last_figures_with_their_date(published: str, sandbox: Any) -> None:
    record_id = _record_id(published)
    first = _later(sandbox, OFFSET)
    collect(now=first)
    before = _totals(record_id)["wechat"]
    with session_scope() as s:
        stamp = store.as_of(s, record_id)["wechat"]

    sandbox.set_faults("wechat", error_code=45009, only_on="getarticletotal")
    later = _later(sandbox, OFFSET + 86400)
    report = collect(now=later)
    failed = report.channels["wechat"].failures
    assert failed and failed[0]["error"] == "RateLimited" and failed[0]["code"] == 45009
    assert _totals(record_id)["wechat"] == before  # the last figures, never zeros
    with session_scope() as s:
        assert store.as_of(s, record_id)["wechat"] == stamp  # ... marked with the date they were collected
        assert "wechat:wechat-county" in failures(s) or any(k.startswith("wechat:") for k in failures(s))
    assert _totals(record_id)["weibo"] == _expected_weibo(sandbox, later)  # other platforms carry on

    sandbox.clear_faults()
    collect(now=later)
    assert _totals(record_id)["wechat"]["reads"] > before["reads"]
    with session_scope() as s:
        assert not any(k.startswith("wechat:") for k in failures(s))
