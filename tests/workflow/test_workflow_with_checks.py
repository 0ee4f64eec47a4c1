"""The real pre-publish checks feed the store and the approval rule (hub.checks → repo → workflow)."""

from __future__ import annotations

import pytest
from workflowkit import make_record

from hub import workflow
from hub.checks import run_checks
from hub.errors import PermissionDenied, WorkflowError
from hub.record import Paragraph
from hub.store import repo
from hub.store.db import session_scope


def test_a_mobile_number_found_by_the_checks_blocks_approval_until_waived(staff: str) -> None:
    record = make_record(body=[Paragraph(text="公示期间如有异议,请联系经办人张三,手机13812345678。")])
    findings = run_checks(record)
    assert any(f.kind == "mobile" and f.blocking for f in findings)
    with session_scope(staff) as s:
        row = repo.save_version(s, record, findings=findings, warnings=[], actor="author")
        stored = repo.findings_of(s, row)
        assert [(f.kind, f.excerpt, f.blocking) for f in stored] == [
            (f.kind, f.excerpt, f.blocking) for f in findings
        ]
        assert all("13812345678" not in f.excerpt for f in stored)  # masked before it is stored
        workflow.submit(s, row, "author")
    with pytest.raises(WorkflowError, match="mobile"), session_scope(staff) as s:
        workflow.approve(s, "rec-1", "reviewer")
    with session_scope(staff) as s:
        for f in workflow.unwaived_blocking(s, repo.find_version(s, "rec-1")):
            workflow.waive(s, f.id, "reviewer", "经办人同意公开工作手机")
        assert workflow.approve(s, "rec-1", "reviewer").state == "approved"


def test_a_feed_entry_without_an_office_lands_in_the_office_queue_and_reaches_a_reviewer_once_resolved(
    staff: str,
) -> None:
    """Issue 11: no department → the office sees and edits it; choosing the office clears 未识别发布机构
    and the department's reviewer can approve it."""
    from workflowkit import DEPT

    from hub.record import Source

    record = make_record("feed-1", department=None, source=Source(kind="feed", uri="http://127.0.0.1/f", guid="g"))
    findings = run_checks(record)
    assert [f.kind for f in findings] == ["issuer_missing"]
    with session_scope(staff) as s:
        v1 = workflow.save_draft(s, record, actor="office", findings=findings).version
        assert v1 in {r.version for r in repo.list_versions(s, current_only=True)}
        with pytest.raises(PermissionDenied):
            workflow.save_draft(s, record.model_copy(update={"title": "改"}), actor="author")
    fixed = record.model_copy(update={"department": DEPT})
    assert run_checks(fixed) == []
    with session_scope(staff) as s:
        v2 = workflow.save_draft(s, fixed, actor="office").version
        workflow.submit(s, v2, "office")
        assert workflow.approve(s, v2, "reviewer", "同意").state == "approved"
