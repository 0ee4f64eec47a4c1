"""The time series on SQLite and PostgreSQL: a day's row is the increase, a period's sum is the total."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.metrics import store
from hub.metrics.pageviews import count_view, is_bot, views
from hub.store.db import session_scope


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_database"))
    return "sqlite"


def test_cumulative_totals_become_day_increases_that_sum_to_the_total(db: str) -> None:
    attr = store.Attribution("r1", "v1", "weibo", "扶贫政策", "县民政局", "county", None)
    day1 = datetime(2026, 11, 3, 4, tzinfo=UTC)
    day2 = day1 + timedelta(days=1)
    with session_scope() as s:
        store.put_cumulative(s, {"delivery:1": (attr, {"likes": 10, "shares": 3})}, day=store.day_of(day1), now=day1)
    with session_scope() as s:  # twice on one day: the second overwrites the first
        store.put_cumulative(s, {"delivery:1": (attr, {"likes": 25, "shares": 3})}, day=store.day_of(day2), now=day2)
        store.put_cumulative(s, {"delivery:1": (attr, {"likes": 31, "shares": 4})}, day=store.day_of(day2), now=day2)
    with session_scope() as s:
        points = {(p.day, p.metric): p.value for p in store.series(s, "r1")}
        assert points == {("2026-11-03", "likes"): 10, ("2026-11-03", "shares"): 3,
                          ("2026-11-04", "likes"): 21, ("2026-11-04", "shares"): 1}
        assert store.totals(s, "r1") == {"weibo": {"likes": 31, "shares": 4}}
        assert store.as_of(s, "r1")["weibo"] == day2


def test_a_portal_view_counts_once_per_visitor_per_day_and_never_for_a_bot(db: str) -> None:
    now = datetime(2026, 11, 3, 4, tzinfo=UTC)
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    with session_scope() as s:
        assert count_view(s, record_id="r1", version="v1", address="10.0.0.1", user_agent=phone, now=now)
        assert not count_view(s, record_id="r1", version="v1", address="10.0.0.1", user_agent=phone, now=now)
        assert count_view(s, record_id="r1", version="v1", address="10.0.0.2", user_agent=phone, now=now)
        assert count_view(s, record_id="r1", version="v1", address="10.0.0.1", user_agent=phone,
                          now=now + timedelta(days=1))
        assert not count_view(s, record_id="r1", version="v1", address="10.0.0.3",
                              user_agent="Mozilla/5.0 (compatible; bingbot/2.0)", now=now)
        assert views(s, "v1") == 3
    assert is_bot("") and is_bot("python-httpx/0.28") and not is_bot(phone)


def test_the_schedule_sends_once_per_interval_on_either_database(db: str) -> None:
    from hub.metrics.schedule import enqueue_if_due

    class Sent:
        n = 0

        def send(self) -> None:
            self.n += 1

    sent, every, now = Sent(), timedelta(hours=1), datetime(2026, 11, 3, 4, tzinfo=UTC)
    for minutes in (0, 30, 61, 62, 125):
        enqueue_if_due(sent, sessions=session_scope, now=now + timedelta(minutes=minutes), every=every)
    assert sent.n == 2  # at 61 and at 125 minutes; the first pass only starts the clock
