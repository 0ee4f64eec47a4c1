"""The console shows the figures: the record's 发布情况 tab, the county overview, the assessment report."""

from __future__ import annotations

import re
import sys
import warnings
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.metrics import store
from hub.metrics.collect import collect
from hub.store.db import session_scope
from hub.store.models import VersionRow
from hub.timeutil import SHANGHAI

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

pytestmark = pytest.mark.slow


def test_the_deliveries_tab_the_county_overview_and_the_report_show_the_collected_figures(
        published: str, sandbox: Any) -> None:
    from openpyxl import load_workbook
    from sandbox_world import DEMO_PASSWORD as DEMO_PASSWORD_DEFAULT
    from web_helpers import sign_in

    from hub.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    sandbox.options["metrics_clock_offset"] = 2 * 86400 + 1800
    collect(now=datetime.now(UTC) + timedelta(seconds=2 * 86400 + 1800))
    with session_scope() as s:
        row = s.scalars(select(VersionRow).where(VersionRow.version == published)).one()
        totals = store.totals(s, row.record_id)
        title, month = row.title, (row.published_at or datetime.now(UTC)).astimezone(SHANGHAI).strftime("%Y-%m")

    with TestClient(create_app(warm_search=False), base_url="http://127.0.0.1") as client:
        assert sign_in(client, "office", DEMO_PASSWORD_DEFAULT).status_code == 303
        page = client.get(f"/console/v/{published}/deliveries").text
        table = re.search(r'<table class="grid" id="engagement">(.*?)</table>', page, re.S)
        assert table, page[-2000:]
        wechat = re.search(r'data-channel="wechat">(.*?)</tr>', table.group(1), re.S)
        assert wechat and f'data-metric="reads">{totals["wechat"]["reads"]}<' in wechat.group(1)
        weibo = re.search(r'data-channel="weibo">(.*?)</tr>', table.group(1), re.S)
        assert weibo and f'data-metric="likes">{totals["weibo"]["likes"]}<' in weibo.group(1)
        assert "data:image/svg+xml;base64," in page  # the chart over time

        county = client.get("/console/county").text
        assert 'id="engagement-county"' in county and title in county

        report = client.get(f"/console/report/assessment?period={month}")
        assert report.status_code == 200 and 'class="ranking"' in report.text
        xlsx = client.get(f"/console/report/assessment.xlsx?period={month}")
        assert xlsx.status_code == 200
        sheet = load_workbook(BytesIO(xlsx.content))["考核排名"]
        assert sheet["B3"].value == row.department
