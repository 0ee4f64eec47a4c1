"""The console's edit form shows the reader's 未识别标题 / 未识别发布机构 where the author types them (issue 11)."""

from __future__ import annotations

from typing import Any

from hub.ingest import ingest_text
from hub.store import repo
from hub.store.db import session_scope


def test_the_edit_form_of_a_page_without_title_or_issuer_says_where_to_type_them(as_role: Any) -> None:
    [item] = ingest_text("各乡镇人民政府：\n为做好防汛工作，现通知如下。\n一、加强值守\n汛期实行24小时值班。\n", file="p.txt")
    with session_scope() as s:
        version = repo.save_version(s, item.record, findings=[], warnings=item.warnings, actor="office").version
    page = as_role("office").get(f"/console/v/{version}/edit")
    assert page.status_code == 200
    assert 'id="f-title-warn"' in page.text and "未识别标题" in page.text
    assert 'id="f-department-warn"' in page.text and "未识别发布机构" in page.text
