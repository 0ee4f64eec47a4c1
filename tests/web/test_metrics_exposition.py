"""``/metrics`` is rendered by prometheus_client from a collector that reads the ledger at scrape time."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from web_helpers import TestClient


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_metrics_text_parses_with_prometheus_client_and_escapes_label_values(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.store.db import session_scope
    from hub.store.models import ShortLinkRow
    from hub.timeutil import utcnow

    awkward = 'we"ird\nch\\an'  # a quote, a newline and a backslash in a label value
    with session_scope() as s:
        s.add(ShortLinkRow(code="m1", record_id="r-1", version="v1", channel=awkward, target_url="/records/r-1",
                           scans=5, created_at=utcnow()))
        s.add(ShortLinkRow(code="m2", record_id="r-1", version="v1", channel="sms", target_url="/records/r-1",
                           scans=2, created_at=utcnow()))
        s.add(ShortLinkRow(code="m3", record_id="r-2", version="v1", channel="sms", target_url="/records/r-2",
                           scans=1, created_at=utcnow()))
    monkeypatch.setenv("HUB_METRICS_TOKEN", "m-token-2")
    response = client.get("/metrics", headers={"Authorization": "Bearer m-token-2"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'channel="we\\"ird\\nch\\\\an"' in response.text  # escaped, so the line stays one sample
    samples = _samples(response.text)
    assert samples[("hub_short_link_scans", (("channel", awkward),))] == 5
    assert samples[("hub_short_link_scans", (("channel", "sms"),))] == 3
    assert samples[("hub_published_records", ())] == 0
    assert samples[("hub_deliveries_stuck", ())] == 0 and ("hub_engine_healthy", ()) in samples
    types = {f.name: f.type for f in text_string_to_metric_families(response.text)}
    assert types["hub_deliveries"] == "gauge" and types["hub_channel_flags"] == "gauge"


def test_each_scrape_reads_the_database_again(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.store.db import session_scope
    from hub.store.models import ShortLinkRow
    from hub.timeutil import utcnow

    monkeypatch.setenv("HUB_METRICS_TOKEN", "m-token-3")
    auth = {"Authorization": "Bearer m-token-3"}
    assert ("hub_short_link_scans", (("channel", "tv"),)) not in _samples(client.get("/metrics", headers=auth).text)
    with session_scope() as s:
        s.add(ShortLinkRow(code="m9", record_id="r-9", version="v1", channel="tv", target_url="/records/r-9",
                           scans=7, created_at=utcnow()))
    assert _samples(client.get("/metrics", headers=auth).text)[("hub_short_link_scans", (("channel", "tv"),))] == 7
