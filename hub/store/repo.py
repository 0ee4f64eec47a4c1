"""The store's one write path for records, their versions, findings and the audit log.

Every other part goes through these functions instead of touching rows, so the
rules live in one place: a version is named by its content hash and never
changes; saving the same content twice gives the same row back; a feed entry
(``source_key``) always lands on the same record; every action writes one
append-only audit row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import Select, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from hub.errors import HubError, NotFound
from hub.record import Record, short_version, text_blocks
from hub.store.models import AuditRow, FindingRow, RecordRow, UserRow, VersionRow, WorkflowEventRow
from hub.timeutil import iso_local, utcnow

#: The shortest hex prefix accepted as a version reference (shorter prefixes collide too easily).
MIN_PREFIX = 8
_HEX = re.compile(r"^[0-9a-f]+$")

#: Tables whose rows are never updated or deleted once written.
APPEND_ONLY: tuple[type[Any], ...] = (AuditRow, WorkflowEventRow)

#: The actor name used for actions nobody in particular took (ingest from a feed, the engine).
SYSTEM = "system"


class FindingLike(Protocol):
    """What the store needs of a pre-publish finding (``hub.checks.Finding`` satisfies it)."""

    @property
    def kind(self) -> str: ...
    @property
    def line(self) -> int | None: ...
    @property
    def column(self) -> int | None: ...
    @property
    def excerpt(self) -> str: ...
    @property
    def suggestion(self) -> str | None: ...
    @property
    def blocking(self) -> bool: ...


Actor = UserRow | str | None


def actor_name(actor: Actor) -> str:
    """The name recorded for ``actor`` in events and the audit log."""
    if actor is None:
        return SYSTEM
    return actor if isinstance(actor, str) else actor.name


class AppendOnlyViolation(HubError):
    """Someone tried to change or delete an audit or workflow-event row."""


# --- the audit log ------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """Detail values as JSON (datetimes and other objects as their string form)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def audit(session: Session, actor: Actor, action: str, subject: str | None, **detail: Any) -> AuditRow:
    """Append one audit row: who did what to which thing, with details (never secrets)."""
    row = AuditRow(
        at=utcnow(), actor=actor_name(actor), action=action, subject=subject, detail=_jsonable(detail)
    )
    session.add(row)
    session.flush()
    return row


@event.listens_for(Session, "before_flush")
def _guard_append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    """Refuse ORM updates and deletes of audit and workflow-event rows (they are history)."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{type(obj).__tablename__} is append-only")


@event.listens_for(Session, "do_orm_execute")
def _guard_append_only_bulk(state: ORMExecuteState) -> None:
    """Refuse bulk ``update()`` / ``delete()`` statements against the append-only tables."""
    if not (state.is_update or state.is_delete):
        return
    tables = {t.name for t in (m.__table__ for m in APPEND_ONLY)}
    target = getattr(state.statement, "table", None)
    if target is not None and getattr(target, "name", None) in tables:
        raise AppendOnlyViolation(f"{target.name} is append-only")


def audit_rows(session: Session, *, subject: str | None = None, action: str | None = None) -> list[AuditRow]:
    """The audit log, oldest first, optionally for one subject or action."""
    query = select(AuditRow).order_by(AuditRow.id)
    if subject is not None:
        query = query.where(AuditRow.subject == subject)
    if action is not None:
        query = query.where(AuditRow.action == action)
    return list(session.scalars(query))


# --- versions -----------------------------------------------------------------------


def _version_row(record: Record, version: str, *, warnings: Sequence[str], actor: str) -> VersionRow:
    return VersionRow(
        version=version,
        record_id=record.id,
        content=record.canonical_json(),
        source=None if record.source is None else record.source.model_dump(mode="json"),
        state="draft",
        title=record.title,
        index_no=record.index_no,
        department=record.department,
        stage=None if record.stage is None else record.stage.value,
        domain=record.domain,
        item=record.item,
        level=record.level.value,
        region=record.region,
        interprets=record.interprets,
        published_at=record.published_at,
        warnings=list(warnings),
        created_by=actor,
        created_at=utcnow(),
    )


def _claim_source(session: Session, record: Record, source_key: str | None) -> Record:
    """A record re-ingested from a known source keeps that source's record id (no duplicates)."""
    if source_key is None:
        return record
    owner = session.scalars(select(RecordRow).where(RecordRow.source_key == source_key)).first()
    if owner is None or owner.id == record.id:
        return record
    return record.model_copy(update={"id": owner.id})


def save_version(
    session: Session,
    record: Record,
    *,
    findings: Iterable[FindingLike],
    warnings: Sequence[str],
    actor: Actor,
    source_key: str | None = None,
) -> VersionRow:
    """Store ``record`` as a version and make it its record's current version.

    - The same content (same hash) returns the existing row and adds nothing
      (if an older version's content comes back, the record points at it again).
    - New content for a known record id is a new ``draft`` version.
    - ``source_key`` (feed guid/link, file URI) ties a record to its source: a
      later entry from the same source is saved under the same record id.
    - Findings are stored with the version (once); one audit row is written.
    """
    who = actor_name(actor)
    record = _claim_source(session, record, source_key)
    version = record.version_hash()
    now = utcnow()

    existing = session.get(VersionRow, version)
    rec = session.get(RecordRow, record.id)
    if existing is not None and rec is not None:
        if source_key is not None and rec.source_key is None:
            rec.source_key = source_key
        if rec.current_version != version:
            previous, rec.current_version, rec.updated_at = rec.current_version, version, now
            audit(session, who, "record.current", record.id, version=version, previous=previous)
        session.flush()
        return existing

    row = _version_row(record, version, warnings=warnings, actor=who)
    try:
        # The record (if new) and the version go in together under a savepoint, so that a
        # concurrent writer of the same content makes us return its row instead of failing.
        with session.begin_nested():
            if rec is None:
                rec = RecordRow(
                    id=record.id, department=record.department, source_key=None, created_at=now, updated_at=now
                )
                session.add(rec)
            if source_key is not None and rec.source_key is None:
                rec.source_key = source_key
            session.add(row)
            session.flush()
    except IntegrityError:
        winner = session.get(VersionRow, version, populate_existing=True)
        if winner is None:
            raise
        return winner

    stored = [
        FindingRow(
            version=version,
            kind=f.kind,
            line=f.line,
            column=f.column,
            excerpt=f.excerpt[:400],
            suggestion=None if f.suggestion is None else f.suggestion[:400],
            blocking=bool(f.blocking),
        )
        for f in findings
    ]
    session.add_all(stored)
    session.add(
        WorkflowEventRow(version=version, from_state=None, to_state="draft", actor=who, comment=None, at=now)
    )
    previous = rec.current_version
    rec.current_version, rec.updated_at, rec.department = version, now, record.department
    session.flush()
    audit(
        session,
        who,
        "record.save",
        record.id,
        version=version,
        previous=previous,
        findings=len(stored),
        blocking=sum(1 for f in stored if f.blocking),
        source_key=source_key,
    )
    return row


def record_of(row: VersionRow) -> Record:
    """Rebuild the ``Record`` of a stored version from its canonical JSON (and its source)."""
    data = json.loads(row.content)
    if row.source is not None:
        data["source"] = row.source
    return Record.model_validate(data)


def find_version(session: Session, ref: str) -> VersionRow:
    """The version ``ref`` names: a full hash, a record id (its current version) or a unique hex prefix ≥ 8."""
    ref = ref.strip()
    if not ref:
        raise NotFound("empty record or version reference")
    row = session.get(VersionRow, ref.lower()) if _HEX.match(ref.lower()) else None
    if row is not None:
        return row
    rec = session.get(RecordRow, ref)
    if rec is not None:
        if rec.current_version is None:
            raise NotFound(f"record {ref} has no version")
        current = session.get(VersionRow, rec.current_version)
        if current is None:  # pragma: no cover - the foreign data is written in one transaction
            raise NotFound(f"record {ref}: current version {short_version(rec.current_version)} is missing")
        return current
    prefix = ref.lower()
    if len(prefix) >= MIN_PREFIX and _HEX.match(prefix):
        # the range lets the primary-key index answer (LIKE 'x%' cannot under a non-C collation)
        query = select(VersionRow).where(
            VersionRow.version >= prefix, VersionRow.version < prefix + "g", VersionRow.version.startswith(prefix)
        )
        hits = list(session.scalars(query.limit(2)))
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise NotFound(f"version prefix {ref} is ambiguous: give more characters")
    raise NotFound(f"no record or version {ref}")


def get_version(session: Session, ref: str) -> tuple[VersionRow, Record]:
    """The version ``ref`` names and its ``Record``; ``NotFound`` if there is none (or it is ambiguous)."""
    row = find_version(session, ref)
    return row, record_of(row)


def resolve(session: Session, version: VersionRow | str) -> VersionRow:
    """Accept either a row or a reference (what the workflow and CLI functions take)."""
    return version if isinstance(version, VersionRow) else find_version(session, version)


def list_versions(
    session: Session,
    *,
    state: str | None = None,
    department: str | None = None,
    stage: str | None = None,
    domain: str | None = None,
    level: str | None = None,
    region: str | None = None,
    record_id: str | None = None,
    current_only: bool = False,
    limit: int | None = None,
) -> list[VersionRow]:
    """Versions, newest first, filtered by any of the given fields.

    ``current_only`` keeps only each record's current version (what ``hub list`` shows).
    """
    query: Select[tuple[VersionRow]] = select(VersionRow)
    if current_only:
        query = query.join(RecordRow, RecordRow.current_version == VersionRow.version)
    for column, value in (
        (VersionRow.state, state),
        (VersionRow.department, department),
        (VersionRow.stage, stage),
        (VersionRow.domain, domain),
        (VersionRow.level, level),
        (VersionRow.region, region),
        (VersionRow.record_id, record_id),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(VersionRow.created_at.desc(), VersionRow.version)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def versions_of(session: Session, record_id: str) -> list[VersionRow]:
    """Every version of one record, oldest first."""
    query = select(VersionRow).where(VersionRow.record_id == record_id).order_by(VersionRow.created_at)
    return list(session.scalars(query))


def findings_of(session: Session, version: VersionRow | str) -> list[FindingRow]:
    """The stored findings of a version, in check order."""
    key = version.version if isinstance(version, VersionRow) else resolve(session, version).version
    return list(session.scalars(select(FindingRow).where(FindingRow.version == key).order_by(FindingRow.id)))


def events_of(session: Session, version: VersionRow | str) -> list[WorkflowEventRow]:
    """The workflow history of a version, oldest first."""
    key = version.version if isinstance(version, VersionRow) else resolve(session, version).version
    query = select(WorkflowEventRow).where(WorkflowEventRow.version == key).order_by(WorkflowEventRow.id)
    return list(session.scalars(query))


# --- JSON ---------------------------------------------------------------------------


def finding_to_json(finding: FindingRow | FindingLike) -> dict[str, Any]:
    """A finding as ``--json`` prints it; stored findings add their id and waiver."""
    out: dict[str, Any] = {
        "kind": finding.kind,
        "line": finding.line,
        "column": finding.column,
        "excerpt": finding.excerpt,
        "suggestion": finding.suggestion,
        "blocking": finding.blocking,
    }
    if isinstance(finding, FindingRow):
        out["id"] = finding.id
        out["waived_by"] = finding.waived_by
        out["waived_at"] = iso_local(finding.waived_at)
        out["waiver_reason"] = finding.waiver_reason
    return out


def _masked_blocks(record: Record) -> list[dict[str, str]]:
    """The body as text blocks with ID, card and mobile numbers masked (CLI output is like a log)."""
    from hub.checks import masked_record

    return text_blocks(masked_record(record))


def record_to_json(
    row: VersionRow, record: Record, *, findings: Sequence[FindingRow | FindingLike] | None = None
) -> dict[str, Any]:
    """The ``hub show --json`` / ``hub ingest --json`` shape of one stored version.

    ``findings`` defaults to the version's stored findings (read through the row's session;
    a detached row needs them passed).
    """
    if findings is None:
        session = object_session(row)
        if session is None:
            # an empty list here would tell a reader a record with blockers is clean
            raise ValueError("record_to_json: the row is detached; pass findings=")
        findings = findings_of(session, row)
    return {
        "id": record.id,
        "version": row.version,
        "title": record.title,
        "index_no": record.index_no,
        "doc_no": record.doc_no,
        "department": record.department,  # 公开责任部门: who sees, edits and reviews it
        "issuer": _issuer(record),  # 发布机构 as found (国务院 on a re-post); renditions say 转发
        "catalog": record.catalog,
        "disclosure": record.disclosure.value,
        "written_on": None if record.written_on is None else record.written_on.isoformat(),
        "published_at": iso_local(record.published_at),
        "validity": record.validity,
        "stage": None if record.stage is None else record.stage.value,
        "domain": record.domain,
        "item": record.item,
        "level": record.level.value,
        "region": record.region,
        "interprets": record.interprets,
        "addressees": list(record.addressees),
        "signature": None if record.signature is None else record.signature.model_dump(mode="json"),
        "blocks": len(record.body),
        "body": _masked_blocks(record),
        "attachments": len(record.attachments),
        "warnings": list(row.warnings or []),
        "findings": [finding_to_json(f) for f in findings],
        "state": row.state,
        "created_by": row.created_by,
        "created_at": iso_local(row.created_at),
    }


def _issuer(record: Record) -> str | None:
    from hub.ingest.issuer import record_issuer

    return record_issuer(record)
