"""The console's after-publish actions: 撤回 behind a confirmation page (reason and tick required, not next
to 一键发布), 人工确认送达 with a note, and a delivery's 处理记录 page."""

from __future__ import annotations

from typing import Any

from web_helpers import csrf_of, make_record, publish_directly


def _add_delivery(version: str, state: str, channel: str = "newspaper") -> int:
    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow
    from hub.timeutil import utcnow

    now = utcnow()
    with session_scope() as s:
        row = DeliveryRow(record_id="rec-2026-001", version=version, channel=channel, target="newspaper-ankang",
                          idempotency_key=f"k-{state}-{version[:8]}", state=state, attempts=1, redeliveries=0,
                          needs_attention=state == "unknown", created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        return row.id


def test_withdrawal_needs_its_own_page_a_reason_and_a_tick(as_role: Any, users: list[str]) -> None:
    from hub.store.db import session_scope
    from hub.store.models import VersionRow

    version = publish_directly(make_record())
    office = as_role("office")
    page = office.get(f"/console/v/{version}").text
    assert f'action="/console/v/{version}/withdraw"' not in page  # no withdraw form beside the publish button
    assert f'href="/console/v/{version}/withdraw"' in page
    form = office.get(f"/console/v/{version}/withdraw")
    assert form.status_code == 200 and "确认撤回" in form.text
    token = csrf_of(office, f"/console/v/{version}/withdraw")
    unticked = office.post(f"/console/v/{version}/withdraw", data={"comment": "数据有误", "csrf_token": token},
                           follow_redirects=False)
    assert unticked.status_code == 303 and "/withdraw" in unticked.headers["location"]
    with session_scope() as s:
        assert s.get(VersionRow, version).state == "published"  # type: ignore[union-attr]
    done = office.post(f"/console/v/{version}/withdraw",
                       data={"comment": "数据有误", "confirm": "yes", "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and "/deliveries" in done.headers["location"]
    with session_scope() as s:
        assert s.get(VersionRow, version).state == "withdrawn"  # type: ignore[union-attr]
    assert as_role("author").get(f"/console/v/{version}/withdraw").status_code == 403


def test_the_office_marks_a_mail_delivered_with_a_note_and_reads_its_history(as_role: Any, users: list[str]) -> None:
    version = publish_directly(make_record())
    d = _add_delivery(version, "unknown")
    office = as_role("office")
    board = office.get(f"/console/v/{version}/deliveries").text
    assert "标记已送达" in board and f"/console/deliveries/{d}/events" in board
    token = csrf_of(office, f"/console/v/{version}/deliveries")
    r = office.post(f"/console/deliveries/{d}/mark-delivered", data={"note": "报社编辑部电话确认", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    history = office.get(f"/console/deliveries/{d}/events")
    assert history.status_code == 200 and "报社编辑部电话确认" in history.text and "已送达" in history.text


def test_a_retry_the_content_cannot_fix_is_refused_in_chinese_on_the_board(as_role: Any, users: list[str]) -> None:
    from hub.store.db import session_scope
    from hub.store.models import DeliveryRow

    version = publish_directly(make_record())
    d = _add_delivery(version, "failed")
    with session_scope() as s:
        row = s.get(DeliveryRow, d)
        assert row is not None
        row.last_error_class = "Permanent"
    board = as_role("office").get(f"/console/v/{version}/deliveries").text
    assert "不能重试：平台拒绝了这条内容" in board
