"""The version workflow on SQLite and PostgreSQL: the transition table, history, waivers and the people rules."""

from __future__ import annotations

import threading

import pytest
from workflowkit import ID_NUMBER, OTHER, PHONE, WORD, Draft, make_record

from hub import workflow
from hub.errors import NotFound, PermissionDenied, WorkflowError
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import FindingRow, UserRow, VersionRow

#: transition → (the account that may take it, a comment)
ACTOR = {
    "submit": ("author", None),
    "approve": ("reviewer", "同意"),
    "reject": ("reviewer", "请补充依据"),
    "publish": ("office", None),
    "withdraw": ("office", "信息有误"),
}

#: how to bring a fresh draft into each state
PATH = {
    "draft": [],
    "in_review": ["submit"],
    "approved": ["submit", "approve"],
    "rejected": ["submit", "reject"],
    "published": ["submit", "approve", "publish"],
    "withdrawn": ["submit", "approve", "publish", "withdraw"],
}


def step(url: str, name: str, version: str, actor: str | None = None, comment: str | None = None) -> VersionRow:
    default_actor, default_comment = ACTOR[name]
    with session_scope(url) as s:
        return workflow.transition(s, name, version, actor or default_actor, comment or default_comment)


def bring_to(url: str, version: str, state: str) -> None:
    for name in PATH[state]:
        step(url, name, version)


def state_of(url: str, version: str) -> str:
    with session_scope(url) as s:
        row = s.get(VersionRow, version)
        assert row is not None
        return row.state


def test_a_version_walks_draft_review_approved_published_withdrawn_with_who_when_and_comment(
    staff: str, draft: Draft
) -> None:
    v = draft()
    bring_to(staff, v, "withdrawn")
    with session_scope(staff) as s:
        events = workflow.history(s, v)
        assert [(e.from_state, e.to_state, e.actor, e.comment) for e in events] == [
            (None, "draft", "author", None),
            ("draft", "in_review", "author", None),
            ("in_review", "approved", "reviewer", "同意"),
            ("approved", "published", "office", None),
            ("published", "withdrawn", "office", "信息有误"),
        ]
        assert all(e.at.tzinfo is not None for e in events)
        assert [e.at for e in events] == sorted(e.at for e in events)
        actions = [(a.actor, a.action) for a in repo.audit_rows(s, subject="rec-1")]
        assert actions == [
            ("author", "record.save"),
            ("author", "record.submit"),
            ("reviewer", "record.approve"),
            ("office", "record.publish"),
            ("office", "record.withdraw"),
        ]
        assert s.get(VersionRow, v).state == "withdrawn"  # type: ignore[union-attr]


@pytest.mark.parametrize("state", list(PATH))
def test_a_transition_not_in_the_table_is_refused_and_changes_nothing(staff: str, draft: Draft, state: str) -> None:
    illegal = [
        name
        for name, t in workflow.TRANSITIONS.items()
        if workflow.State(state) not in t.sources and not (state == "published" and name == "publish")
    ]  # publishing a published version is an idempotent no-op, not an error
    assert illegal
    v = draft()
    bring_to(staff, v, state)
    for name in illegal:
        with pytest.raises(WorkflowError, match=f"cannot {name} .*it is {state}") as caught:
            step(staff, name, v)
        assert not isinstance(caught.value, PermissionDenied), name
        assert state_of(staff, v) == state
    with session_scope(staff) as s:
        assert len(workflow.history(s, v)) == 1 + len(PATH[state])


def test_the_table_has_exactly_the_edges_of_the_issue() -> None:
    edges = {(s.value, t.name, t.target.value) for t in workflow.TRANSITIONS.values() for s in t.sources}
    assert edges == {
        ("draft", "submit", "in_review"),
        ("in_review", "approve", "approved"),
        ("in_review", "reject", "rejected"),
        ("approved", "publish", "published"),
        ("approved", "withdraw", "withdrawn"),
        ("published", "withdraw", "withdrawn"),
    }


def test_publishing_twice_is_one_publication(staff: str, draft: Draft) -> None:
    v = draft()
    bring_to(staff, v, "published")
    with session_scope(staff) as s:
        assert workflow.publish(s, v, "office").state == "published"
        assert workflow.publish(s, v, "system").state == "published"
        assert [e.to_state for e in workflow.history(s, v)].count("published") == 1
        with pytest.raises(PermissionDenied):
            workflow.publish(s, v, "author")


def test_a_rejection_needs_a_comment(staff: str, draft: Draft) -> None:
    v = draft()
    step(staff, "submit", v)
    for comment in ("", "   "):
        with pytest.raises(WorkflowError, match="comment"), session_scope(staff) as s:
            workflow.reject(s, v, "reviewer", comment)
    assert state_of(staff, v) == "in_review"


def test_editing_a_rejected_record_makes_a_new_draft_that_goes_through_review_again(
    staff: str, draft: Draft
) -> None:
    v1 = draft()
    bring_to(staff, v1, "rejected")
    with session_scope(staff) as s:
        v2 = workflow.save_draft(s, make_record(title="关于2026年度城乡低保对象名单的公示(更正)"), actor="author")
        assert v2.state == "draft" and v2.version != v1
    assert state_of(staff, v1) == "rejected"
    with pytest.raises(WorkflowError, match="it is rejected"):
        step(staff, "submit", v1)
    bring_to(staff, v2.version, "published")
    with session_scope(staff) as s:
        assert repo.get_version(s, "rec-1")[0].state == "published"


def test_a_superseded_version_can_be_neither_submitted_nor_approved(staff: str, draft: Draft) -> None:
    v1 = draft()
    step(staff, "submit", v1)
    v2 = draft(title="新标题")
    with pytest.raises(WorkflowError, match="superseded"):
        step(staff, "approve", v1)
    v3 = draft(title="再改")
    with pytest.raises(WorkflowError, match="superseded"):
        step(staff, "submit", v2)
    step(staff, "submit", v3)
    step(staff, "approve", v3)


def test_blocking_findings_stop_approval_and_the_error_names_each_one(staff: str, draft: Draft) -> None:
    v = draft(findings=[ID_NUMBER, WORD, PHONE])
    step(staff, "submit", v)
    with session_scope(staff) as s:
        ids = {f.kind: f.id for f in repo.findings_of(s, v)}
    with pytest.raises(WorkflowError) as caught:
        step(staff, "approve", v)
    message = str(caught.value)
    assert "2 blocking" in message
    assert f"#{ids['id_number']} id_number line 8:5 6109**********2515" in message
    assert f"#{ids['mobile']} mobile line 9:3" in message
    assert "word" not in message  # not blocking

    with session_scope(staff) as s:
        workflow.waive(s, ids["id_number"], "reviewer", "公示名单依法需要身份证号(已脱敏)")
    with pytest.raises(WorkflowError, match="1 blocking") as caught:
        step(staff, "approve", v)
    assert "id_number" not in str(caught.value)

    with session_scope(staff) as s:
        waived = workflow.waive(s, ids["mobile"], "reviewer2", "联系电话为公开的工作电话")
        assert waived.waived_by == "reviewer2" and waived.waiver_reason == "联系电话为公开的工作电话"
        assert waived.waived_at is not None and waived.waived_at.tzinfo is not None
    step(staff, "approve", v)
    assert state_of(staff, v) == "approved"
    with session_scope(staff) as s:
        waivers = repo.audit_rows(s, action="finding.waive")
        assert [(a.actor, a.detail["finding"], a.detail["kind"]) for a in waivers] == [
            ("reviewer", ids["id_number"], "id_number"),
            ("reviewer2", ids["mobile"], "mobile"),
        ]


def test_a_waiver_needs_a_reason_a_reviewer_and_happens_once_before_approval(staff: str, draft: Draft) -> None:
    v = draft(findings=[ID_NUMBER])
    with session_scope(staff) as s:
        [finding] = repo.findings_of(s, v)
        fid = finding.id
    with pytest.raises(WorkflowError, match="reason"), session_scope(staff) as s:
        workflow.waive(s, fid, "reviewer", "  ")
    for who in ("author", "office", "admin", "station", "reviewer_b"):
        with pytest.raises(PermissionDenied), session_scope(staff) as s:
            workflow.waive(s, fid, who, "理由")
    with pytest.raises(NotFound), session_scope(staff) as s:
        workflow.waive(s, fid + 1000, "reviewer", "理由")
    with session_scope(staff) as s:
        workflow.waive(s, fid, "reviewer", "理由")
    with pytest.raises(WorkflowError, match="already waived by reviewer"), session_scope(staff) as s:
        workflow.waive(s, fid, "reviewer2", "另一个理由")
    with session_scope(staff) as s:
        assert s.get(FindingRow, fid).waiver_reason == "理由"  # type: ignore[union-attr]

    v2 = draft(findings=[PHONE], title="另一版")
    bring_to(staff, v2, "rejected")
    with session_scope(staff) as s:
        [phone] = repo.findings_of(s, v2)
    with pytest.raises(WorkflowError, match="is rejected"), session_scope(staff) as s:
        workflow.waive(s, phone.id, "reviewer", "理由")


def test_a_reviewer_never_approves_or_waives_their_own_record(staff: str, draft: Draft) -> None:
    v = draft(findings=[PHONE], actor="reviewer")  # e.g. the reviewer imported it
    step(staff, "submit", v, actor="author")
    with session_scope(staff) as s:
        [finding] = repo.findings_of(s, v)
    with pytest.raises(WorkflowError, match="their own record"), session_scope(staff) as s:
        workflow.waive(s, finding.id, "reviewer", "理由")
    with session_scope(staff) as s:
        workflow.waive(s, finding.id, "reviewer2", "理由")
    with pytest.raises(WorkflowError, match="their own record"):
        step(staff, "approve", v, actor="reviewer")
    step(staff, "approve", v, actor="reviewer2")
    assert state_of(staff, v) == "approved"


def test_department_staff_act_only_on_their_department_and_the_office_on_all(staff: str, draft: Draft) -> None:
    v = draft(record_id="caizheng-1", department=OTHER)
    with pytest.raises(PermissionDenied, match=OTHER):
        step(staff, "submit", v, actor="author")
    step(staff, "submit", v, actor="author_b")
    with pytest.raises(PermissionDenied):
        step(staff, "approve", v, actor="reviewer")
    step(staff, "approve", v, actor="reviewer_b")
    with pytest.raises(PermissionDenied):
        step(staff, "publish", v, actor="author_b")
    step(staff, "publish", v, actor="office")  # the office's own department differs: it sees all
    assert state_of(staff, v) == "published"


def test_a_record_without_a_department_is_handled_by_the_office_only(staff: str, draft: Draft) -> None:
    v = draft(record_id="no-dept", department=None, actor="system")
    with pytest.raises(PermissionDenied, match="no department"):
        step(staff, "submit", v, actor="author")
    step(staff, "submit", v, actor="office")
    with pytest.raises(PermissionDenied):
        step(staff, "approve", v, actor="reviewer")


def test_authors_write_only_their_department_s_records(staff: str) -> None:
    with pytest.raises(PermissionDenied), session_scope(staff) as s:
        workflow.save_draft(s, make_record("x", department=OTHER), actor="author")
    with session_scope(staff) as s:
        workflow.save_draft(s, make_record("x", department=OTHER), actor="author_b")
    # moving another department's record into one's own is editing it: refused
    with pytest.raises(PermissionDenied), session_scope(staff) as s:
        workflow.save_draft(s, make_record("x"), actor="author")
    with session_scope(staff) as s:
        assert repo.get_version(s, "x")[1].department == OTHER
        with pytest.raises(PermissionDenied):
            workflow.save_draft(s, make_record("y"), actor="reviewer")


def test_unknown_and_inactive_accounts_and_the_hub_itself_get_only_what_they_may(staff: str, draft: Draft) -> None:
    v = draft(actor="system")
    with pytest.raises(PermissionDenied, match="unknown user"):
        step(staff, "submit", v, actor="mallory")
    with session_scope(staff) as s:
        workflow.submit(s, v, "system")  # an imported record handed to review by the hub
        with pytest.raises(PermissionDenied):
            workflow.approve(s, v, "system")
        reviewer = s.query(UserRow).filter_by(name="reviewer").one()
        reviewer.active = False
    with pytest.raises(PermissionDenied, match="inactive"):
        step(staff, "approve", v, actor="reviewer")
    step(staff, "approve", v, actor="reviewer2")


def test_urging_is_the_office_s_and_is_audited_without_changing_state(staff: str, draft: Draft) -> None:
    v = draft()
    step(staff, "submit", v)
    with session_scope(staff) as s:
        workflow.urge(s, v, "office", "已超过公开时限,请今日内审核")
        for who in ("author", "reviewer", "admin"):
            with pytest.raises(PermissionDenied):
                workflow.urge(s, v, who)
        [row] = repo.audit_rows(s, action="record.urge")
        assert row.actor == "office" and row.detail["comment"] == "已超过公开时限,请今日内审核"
    assert state_of(staff, v) == "in_review"


def test_two_reviewers_approving_at_once_make_one_approval(staff: str, draft: Draft) -> None:
    v = draft()
    step(staff, "submit", v)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(who: str) -> None:
        barrier.wait(timeout=10)
        try:
            with session_scope(staff) as s:
                workflow.approve(s, v, who, "同意")
            outcomes.append("ok")
        except WorkflowError as exc:
            outcomes.append(f"refused: {exc}")

    threads = [threading.Thread(target=approve, args=(who,)) for who in ("reviewer", "reviewer2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(o.split(":")[0] for o in outcomes) == ["ok", "refused"], outcomes
    with session_scope(staff) as s:
        assert [e.to_state for e in workflow.history(s, v)].count("approved") == 1
        assert len(repo.audit_rows(s, action="record.approve")) == 1


def test_a_record_without_a_title_cannot_be_submitted_until_the_author_types_one(staff: str, draft: Draft) -> None:
    """A page without a title line ingests with an empty title (issue 11); it never reaches review or a channel."""
    v = draft(title="")
    with pytest.raises(WorkflowError, match="没有标题"), session_scope(staff) as s:
        workflow.submit(s, v, "author")
    assert state_of(staff, v) == "draft"
