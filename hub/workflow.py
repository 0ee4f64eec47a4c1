"""The review workflow of a record version: one transition table, every step recorded.

    draft ──submit──▶ in_review ──approve──▶ approved ──publish──▶ published ──withdraw──▶ withdrawn
                          └──reject──▶ rejected            └──────────withdraw──────────────┘

A rejected version stays rejected: editing the record saves a new version,
which starts again as a draft. Each transition is one conditional UPDATE (the
state must still be what we read), one ``workflow_events`` row (who, when,
comment) and one audit row, so two reviewers clicking at once cannot both win.

Rules beyond the role matrix (``hub.auth``):
- a version with blocking findings is approved only when each one was waived;
- nobody approves, or waives findings of, a version they created (four eyes);
- submit and approve act on the record's current version only (no stale review).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.orm import Session

from hub import auth
from hub.auth import SYSTEM_USER, Action, Principal
from hub.errors import NotFound, PermissionDenied, WorkflowError
from hub.record import Record, short_version
from hub.store import repo
from hub.store.models import FindingRow, RecordRow, UserRow, VersionRow, WorkflowEventRow
from hub.timeutil import utcnow


class State(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Transition:
    """One edge of the workflow: which action (role matrix) moves which states where."""

    name: str
    action: Action
    sources: frozenset[State]
    target: State
    comment_required: bool = False
    current_only: bool = False
    four_eyes: bool = False


#: THE transition table.
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition(
            "submit", Action.RECORD_SUBMIT, frozenset({State.DRAFT}), State.IN_REVIEW, current_only=True
        ),
        Transition(
            "approve",
            Action.RECORD_APPROVE,
            frozenset({State.IN_REVIEW}),
            State.APPROVED,
            current_only=True,
            four_eyes=True,
        ),
        Transition(
            "reject",
            Action.RECORD_REJECT,
            frozenset({State.IN_REVIEW}),
            State.REJECTED,
            comment_required=True,
        ),
        Transition("publish", Action.RECORD_PUBLISH, frozenset({State.APPROVED}), State.PUBLISHED),
        Transition(
            "withdraw", Action.RECORD_WITHDRAW, frozenset({State.APPROVED, State.PUBLISHED}), State.WITHDRAWN
        ),
    )
}

#: States in which findings may still be waived (before the approval decision).
WAIVABLE_STATES = frozenset({State.DRAFT, State.IN_REVIEW})

ActorRef = UserRow | str


def principal(session: Session, actor: ActorRef | Principal) -> Principal:
    """The acting user: a ``UserRow`` as given, a user name looked up, ``"system"`` for the hub itself."""
    if not isinstance(actor, str):
        return actor
    user = auth.get_user(session, actor)
    if user is not None:
        return user
    if actor == SYSTEM_USER.name:
        return SYSTEM_USER
    raise PermissionDenied(f"unknown user {actor}")


def _department(row: VersionRow) -> str:
    """The department the rules see ("" when the record names none: only office-wide roles act on it)."""
    return row.department or ""


_VERB = {"submit": "提交审核", "approve": "审核通过", "publish": "发布"}


def _label(row: VersionRow) -> str:
    return f"{row.record_id}@{short_version(row.version)}"


def unwaived_blocking(session: Session, version: VersionRow) -> list[FindingRow]:
    """Blocking findings of ``version`` that nobody waived yet (what stops an approval)."""
    return [f for f in repo.findings_of(session, version) if f.blocking and f.waived_by is None]


def _describe(finding: FindingRow) -> str:
    where = (
        ""
        if finding.line is None
        else f" line {finding.line}" + ("" if finding.column is None else f":{finding.column}")
    )
    return f"#{finding.id} {finding.kind}{where} {finding.excerpt}"


def _check_current(session: Session, row: VersionRow, name: str) -> None:
    rec = session.get(RecordRow, row.record_id)
    if rec is not None and rec.current_version != row.version:
        newer = short_version(rec.current_version or "")
        raise WorkflowError(f"cannot {name} {_label(row)}: superseded by version {newer}")


def transition(
    session: Session,
    name: str,
    version: VersionRow | str,
    actor: ActorRef | Principal,
    comment: str | None = None,
) -> VersionRow:
    """Apply transition ``name`` to ``version`` as ``actor``; raises the typed error that says why not."""
    t = TRANSITIONS[name]
    row = repo.resolve(session, version)
    user = principal(session, actor)
    auth.require(user, t.action, department=_department(row))
    comment = (comment or "").strip() or None
    if t.comment_required and comment is None:
        raise WorkflowError(f"{name} needs a comment saying why")
    session.refresh(row, ["state"])
    current = State(row.state)
    if current not in t.sources:
        allowed = ", ".join(sorted(s.value for s in t.sources))
        raise WorkflowError(f"cannot {name} {_label(row)}: it is {current.value} (only from {allowed})")
    if t.current_only:
        _check_current(session, row, name)
    if t.action in (Action.RECORD_SUBMIT, Action.RECORD_APPROVE, Action.RECORD_PUBLISH) and not (row.title or "").strip():
        # a page without a title line ingests with an empty title (issue 11); it is never sent out so
        raise WorkflowError(f"无法{_VERB.get(name, name)} {_label(row)}：记录没有标题，请先在编辑页填写标题")
    if t.four_eyes and row.created_by == user.name:
        raise WorkflowError(f"{user.name} cannot {name} {_label(row)}: it is their own record")
    if t.target is State.PUBLISHED:
        from hub.office.interpretation import require_link

        require_link(session, row)  # a 解读 never points at no policy (two-way links)
    if t.action is Action.RECORD_APPROVE:
        pending = unwaived_blocking(session, row)
        if pending:
            listed = "; ".join(_describe(f) for f in pending)
            raise WorkflowError(
                f"cannot approve {_label(row)}: {len(pending)} blocking finding(s) not waived: {listed}"
            )
    result = session.execute(
        update(VersionRow)
        .where(VersionRow.version == row.version, VersionRow.state == current.value)
        .values(state=t.target.value)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise WorkflowError(f"cannot {name} {_label(row)}: someone changed it meanwhile; reload and retry")
    session.refresh(row, ["state"])
    if t.target in (State.PUBLISHED, State.WITHDRAWN):
        # the portal follows the workflow, never a citizen's request: its facet counts change in this
        # transaction; search is queued here (a pending row) and indexed when this commits, or dropped here
        from hub.web import counts, search

        if t.target is State.PUBLISHED:
            counts.published(session, row)
            search.index_after_commit(session, row.version)
        else:
            if current is State.PUBLISHED:  # an approved version withdrawn was never counted
                counts.withdrawn(session, row)
            search.unindex(session, [row.version])
    session.add(
        WorkflowEventRow(
            version=row.version,
            from_state=current.value,
            to_state=t.target.value,
            actor=user.name,
            comment=comment,
            at=utcnow(),
        )
    )
    repo.audit(
        session,
        user.name,
        f"record.{name}",
        row.record_id,
        version=row.version,
        from_state=current.value,
        to_state=t.target.value,
        comment=comment,
    )
    return row


def submit(
    session: Session, version: VersionRow | str, actor: ActorRef | Principal, comment: str | None = None
) -> VersionRow:
    """draft → in_review: the author hands the version to their reviewer."""
    return transition(session, "submit", version, actor, comment)


def approve(
    session: Session, version: VersionRow | str, actor: ActorRef | Principal, comment: str | None = None
) -> VersionRow:
    """in_review → approved, by a reviewer of the department who did not write it, all blockers waived."""
    return transition(session, "approve", version, actor, comment)


def reject(
    session: Session, version: VersionRow | str, actor: ActorRef | Principal, comment: str | None = None
) -> VersionRow:
    """in_review → rejected, with a comment; the author edits, which makes a new draft version."""
    return transition(session, "reject", version, actor, comment)


def publish(
    session: Session, version: VersionRow | str, actor: ActorRef | Principal, comment: str | None = None
) -> VersionRow:
    """approved → published (the delivery engine calls this when it fans out). Idempotent."""
    row = repo.resolve(session, version)
    session.refresh(row, ["state"])
    if row.state == State.PUBLISHED:
        auth.require(principal(session, actor), Action.RECORD_PUBLISH, department=_department(row))
        return row
    return transition(session, "publish", row, actor, comment)


def withdraw(
    session: Session, version: VersionRow | str, actor: ActorRef | Principal, comment: str | None = None
) -> VersionRow:
    """approved/published → withdrawn, by the office."""
    return transition(session, "withdraw", version, actor, comment)


def waive(session: Session, finding_id: int, actor: ActorRef | Principal, reason: str) -> FindingRow:
    """A reviewer explicitly accepts one finding (recorded with who, when and why)."""
    finding = session.get(FindingRow, finding_id)
    if finding is None:
        raise NotFound(f"no finding {finding_id}")
    row = session.get(VersionRow, finding.version)
    if row is None:  # pragma: no cover - foreign key
        raise NotFound(f"finding {finding_id}: version {finding.version} is missing")
    user = principal(session, actor)
    auth.require(user, Action.FINDING_WAIVE, department=_department(row))
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("a waiver needs a reason")
    if State(row.state) not in WAIVABLE_STATES:
        raise WorkflowError(f"cannot waive finding {finding_id}: {_label(row)} is {row.state}")
    if row.created_by == user.name:
        raise WorkflowError(f"{user.name} cannot waive findings of {_label(row)}: it is their own record")
    now = utcnow()
    result = session.execute(
        update(FindingRow)
        .where(FindingRow.id == finding_id, FindingRow.waived_by.is_(None))
        .values(waived_by=user.name, waived_at=now, waiver_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        session.refresh(finding)
        raise WorkflowError(f"finding {finding_id} was already waived by {finding.waived_by}")
    session.refresh(finding)
    repo.audit(
        session,
        user.name,
        "finding.waive",
        row.record_id,
        version=row.version,
        finding=finding_id,
        kind=finding.kind,
        reason=reason,
    )
    return finding


def urge(
    session: Session, version: VersionRow | str, actor: ActorRef | Principal, comment: str | None = None
) -> None:
    """督办: the office presses for an overdue item: a task for the record's author (``hub.office.urges``)."""
    from hub.office import urges

    urges.create(session, version, actor, note=comment)


def save_draft(
    session: Session,
    record: Record,
    *,
    actor: ActorRef | Principal,
    findings: Iterable[repo.FindingLike] = (),
    warnings: Sequence[str] = (),
    source_key: str | None = None,
) -> VersionRow:
    """Save an edit (or a new record) as ``actor``: the role matrix and department rule apply.

    An author may neither write a record of another department nor move an
    existing record out of (or into) someone else's department.
    """
    user = principal(session, actor)
    existing = session.get(RecordRow, record.id)
    action = Action.RECORD_CREATE if existing is None else Action.RECORD_EDIT
    auth.require(user, action, department=record.department or "")
    if existing is not None:
        auth.require(user, action, department=existing.department or "")
    return repo.save_version(
        session, record, findings=findings, warnings=warnings, actor=user.name, source_key=source_key
    )


def history(session: Session, version: VersionRow | str) -> list[WorkflowEventRow]:
    """Who moved the version where, when, and with what comment (oldest first)."""
    return repo.events_of(session, version)
