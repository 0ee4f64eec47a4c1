"""The role × action matrix against the roles as issue 7 describes them, and its enforcement by the workflow.

``SPEC`` is written by role, in the words of the issue, independently of
``hub.auth.MATRIX`` (written by action): a change to either must be made on purpose in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from hub import auth, workflow
from hub.auth import Action, Role
from hub.errors import PermissionDenied, WorkflowError
from hub.record import Paragraph, Record
from hub.store import repo
from hub.store.db import session_scope
from hub.store.models import UserRow, VersionRow
from hub.timeutil import utcnow

DEPT = "汉阴县人民政府办公室"
OTHER = "汉阴县财政局"

SPEC: dict[str, set[str]] = {
    # business staff of a department: writes and submits records of their department
    "author": {"record.view", "record.create", "record.edit", "record.submit", "delivery.view", "account.self"},
    # the department's leader: approves or rejects with a comment, waives findings one by one
    "reviewer": {"record.view", "record.approve", "record.reject", "finding.waive", "delivery.view", "account.self"},
    # sees every department, publishes, withdraws, urges; retry and cancel on the delivery board
    "office": {
        "record.view", "record.create", "record.edit", "record.submit", "record.publish", "record.withdraw",
        "record.urge", "record.assign", "delivery.view", "delivery.retry", "delivery.cancel", "recipients.view", "audit.view",
        "account.self",
    },
    # manages users and channels
    "admin": {"record.view", "delivery.view", "recipients.view", "audit.view", "users.manage", "channels.manage",
              "account.self"},
    # the TV station collects its packages, nothing else (and changes its own password)
    "station": {"tv.collect", "account.self"},
}

ROLES = list(SPEC)
ACTIONS = [a.value for a in Action]


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    department: str | None
    active: bool = True


def person(role: str, department: str | None = DEPT, active: bool = True) -> Person:
    return Person(f"{role}-1", role, department, active)


def test_the_spec_names_every_action_and_every_role() -> None:
    assert set().union(*SPEC.values()) <= set(ACTIONS)
    assert set(ROLES) == {r.value for r in auth.PERSON_ROLES}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_a_role_may_take_exactly_the_actions_the_issue_gives_it(role: str, action: str) -> None:
    user = person(role)
    expected = action in SPEC[role]
    assert auth.can(user, action) is expected
    assert auth.can(user, action, department=DEPT) is expected
    if expected:
        auth.require(user, action, department=DEPT)
    else:
        with pytest.raises(PermissionDenied, match=f"{role}.*may not {action}"):
            auth.require(user, action, department=DEPT)


@pytest.mark.parametrize(("role", "action"), [(r, a) for r in ROLES for a in ACTIONS if a in SPEC[r]])
def test_department_staff_are_confined_to_their_department_and_others_are_not(role: str, action: str) -> None:
    user = person(role)
    scoped = role in {"author", "reviewer"}
    assert auth.can(user, action, department=OTHER) is not scoped
    assert auth.can(user, action, department="") is not scoped  # a record naming no department


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_an_inactive_account_may_do_nothing(role: str, action: str) -> None:
    assert auth.can(person(role, active=False), action) is False
    assert auth.can(None, action) is False


def test_a_scoped_account_without_a_department_acts_on_no_record() -> None:
    assert auth.can(person("author", department=None), "record.submit", department="") is False
    assert auth.can(person("author", department=None), "record.submit", department=DEPT) is False


def test_unknown_roles_and_actions_are_refused_loudly() -> None:
    assert auth.can(person("superuser"), "record.view") is False
    with pytest.raises(ValueError, match="unknown action"):
        auth.can(person("office"), "record.delete")


def test_the_hub_itself_may_import_submit_and_mark_published_but_never_review() -> None:
    system = auth.SYSTEM_USER
    allowed = {a for a in ACTIONS if auth.can(system, a, department=DEPT)}
    assert allowed == {"record.view", "record.create", "record.edit", "record.submit", "record.publish"}


# --- enforcement: every workflow entry point asks the matrix ------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str = "mobile"
    line: int | None = 3
    column: int | None = 1
    excerpt: str = "138****5678"
    suggestion: str | None = None
    blocking: bool = False  # blocking findings are the approval rule's business, tested elsewhere


#: workflow entry point → (the action it needs, the state the version must be in, how to call it)
ENTRY: dict[str, tuple[str, str, Callable[..., Any]]] = {
    "submit": ("record.submit", "draft", lambda s, v, f, who: workflow.submit(s, v, who)),
    "approve": ("record.approve", "in_review", lambda s, v, f, who: workflow.approve(s, v, who)),
    "reject": ("record.reject", "in_review", lambda s, v, f, who: workflow.reject(s, v, who, "不同意")),
    "waive": ("finding.waive", "in_review", lambda s, v, f, who: workflow.waive(s, f, who, "理由")),
    "publish": ("record.publish", "approved", lambda s, v, f, who: workflow.publish(s, v, who)),
    "withdraw": ("record.withdraw", "published", lambda s, v, f, who: workflow.withdraw(s, v, who)),
    "urge": ("record.urge", "in_review", lambda s, v, f, who: workflow.urge(s, v, who)),
    "edit": (
        "record.edit",
        "draft",
        lambda s, v, f, who: workflow.save_draft(s, Record(id="r-edit", title="改", department=DEPT), actor=who),
    ),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_workflow_entry_point_enforces_the_matrix(role: str) -> None:
    versions: dict[str, tuple[str, int]] = {}
    with session_scope() as s:
        s.add(UserRow(name="who", password_hash="-", role=role, department=DEPT, created_at=utcnow()))
        # the author of the records: an urge becomes a task for them (hub.office.urges)
        s.add(UserRow(name="someone-else", password_hash="-", role="author", department=DEPT, created_at=utcnow()))
        for entry, (_, state, _) in ENTRY.items():
            record = Record(id=f"r-{entry}", title="公示", department=DEPT, body=[Paragraph(text="正文")])
            v = repo.save_version(s, record, findings=[Finding()], warnings=[], actor="someone-else").version
            [finding] = repo.findings_of(s, v)
            s.execute(VersionRow.__table__.update().where(VersionRow.version == v).values(state=state))
            versions[entry] = (v, finding.id)
    refused = set()
    for entry, (_, _, call) in ENTRY.items():
        v, fid = versions[entry]
        try:
            with session_scope() as s:
                call(s, v, fid, "who")
        except PermissionDenied:
            refused.add(entry)
    assert refused == {entry for entry, (action, _, _) in ENTRY.items() if action not in SPEC[role]}


def test_a_permission_error_is_a_workflow_error_with_exit_status_two() -> None:
    assert issubclass(PermissionDenied, WorkflowError)
    assert PermissionDenied.exit_code == 2
    assert Role.OFFICE.value == "office"
