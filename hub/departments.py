"""Which hub department answers for a record (公开责任部门), kept apart from who issued it.

``Record.department`` is the hub department responsible for publishing: it decides who sees,
edits and reviews the record (``hub.auth``, the store's department filter, the console's
queues). The document's issuer (发布机构 as ``hub.ingest.issuer`` found it) is a different
thing: a county office re-posting a State Council decision publishes it, 国务院 issued it.
When the two differ the issuer is kept in ``extra[文件发布机构]`` and renditions say
``<department>转发<issuer>`` (``hub.renderers.context.issuer_line``).

A record lands where someone can act: ``route`` keeps a department only when it is a hub
department (configured in ``config/ingest.toml`` or held by a staff account); otherwise the
re-posting portal's own office when that is one, else none, which is the office's queue
(政务公开办 sees every department). ``assign`` is the office choosing the department.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import auth
from hub.auth import Action, Role
from hub.checks import Finding, run_checks
from hub.errors import InputError
from hub.ingest.config import get_ingest_config
from hub.ingest.issuer import ISSUER_KEY, record_issuer
from hub.record import Record
from hub.store import repo
from hub.store.models import UserRow, VersionRow

#: the warning a routed record carries: the office must choose the department
UNASSIGNED = "公开责任部门待政务公开办指定：发布机构 {issuer} 不是本平台的部门"


def hub_departments(session: Session) -> list[str]:
    """The departments records can be assigned to: configured ones, then those of staff accounts."""
    names = list(get_ingest_config().departments)
    staff = session.scalars(select(UserRow.department).where(
        UserRow.active.is_(True), UserRow.department.is_not(None),
        UserRow.role.in_([Role.AUTHOR.value, Role.REVIEWER.value])).distinct())
    names.extend(d for d in staff if d)
    return list(dict.fromkeys(n.strip() for n in names if n and n.strip()))


def with_department(record: Record, department: str | None) -> Record:
    """``record`` with ``department`` as its responsible department, its issuer kept as found."""
    issuer = record_issuer(record)
    extra = dict(record.extra)
    if issuer and issuer != department:
        extra[ISSUER_KEY] = issuer
    else:
        extra.pop(ISSUER_KEY, None)
    return record.model_copy(update={"department": department, "extra": extra})


def route(session: Session, record: Record, *, fallback: str | None = None) -> tuple[Record, str | None]:
    """The record with a department someone can act on, and a warning when the office must choose.

    Only page and feed records are routed (their department is what the page says). Kept: a
    department that is a hub department. Else the page's own publisher
    (``extra[发布机构]``) when that is one, else ``fallback`` (the uploader's department in
    the console), else none: the office's queue.
    """
    if record.source is None or record.source.kind not in ("page", "feed"):
        return record, None  # a record file or form states its 公开责任部门 on purpose
    known = set(hub_departments(session))
    if record.department and record.department in known:
        return record, None
    for candidate in (record.extra.get("发布机构"), fallback):
        if candidate and candidate.strip() in known:
            return with_department(record, candidate.strip()), None
    issuer = record_issuer(record)
    if issuer is None:
        return record, None  # 未识别发布机构 already blocks it; the office's queue holds it
    return with_department(record, None), UNASSIGNED.format(issuer=issuer)


def assign(session: Session, ref: str, department: str, *, actor: str | auth.Principal) -> VersionRow:
    """The office assigns ``department`` (one of ``hub_departments``) to the record ``ref``.

    A new draft version with the department set and the issuer kept as found, plus an audit
    row ``record.assign``. The department's author edits and submits it, its reviewer approves.
    """
    from hub import workflow

    user = workflow.principal(session, actor)
    auth.require(user, Action.RECORD_ASSIGN)
    department = department.strip()
    choices = hub_departments(session)
    if department not in choices:
        raise InputError(f"[department] {department!r} 不是本平台的部门；可选：{'、'.join(choices) or '（无）'}")
    row = repo.find_version(session, ref)
    record = repo.record_of(row)
    before = record.department
    new = workflow.save_draft(session, with_department(record, department), actor=user,
                              findings=_checks(record, department))
    repo.audit(session, user.name, "record.assign", record.id, department=department, previous=before,
               issuer=record_issuer(record), version=new.version)
    return new


def _checks(record: Record, department: str) -> list[Finding]:
    return run_checks(with_department(record, department))
