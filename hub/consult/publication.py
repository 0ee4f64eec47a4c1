"""Publishing an answer: proposed by the department's staff, de-identified, approved by a reviewer, listed.

Only a question whose asker agreed to publication can be proposed. The
published title, question and answer are a de-identified copy
(``privacy.deidentify``: numbers, the asker's name and household addresses
removed), which the proposer may edit; the gate (``privacy.publication_findings``)
must find nothing, at the proposal and again at the approval. Approval is the
reviewer's ``record.approve`` on the question's department, as for a record.
Categories on the portal are the catalog domain of the topic, or the department
when the citizen chose one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub import auth
from hub.auth import Action, Principal
from hub.consult import privacy
from hub.consult.answers import ANSWERED, _principal, get
from hub.errors import InputError, WorkflowError
from hub.store import repo
from hub.store.models import ConsultationRow
from hub.timeutil import utcnow

NONE, PROPOSED, PUBLISHED, REJECTED = "none", "proposed", "published", "rejected"
PUBLICATION_NAMES = {NONE: "未公开", PROPOSED: "待审核公开", PUBLISHED: "已公开", REJECTED: "公开被退回"}


def category_of(row: ConsultationRow) -> str:
    return row.domain or row.topic


def draft(row: ConsultationRow) -> dict[str, str]:
    """The de-identified texts a proposer starts from."""
    names = [row.name] if row.name else []
    return {"title": privacy.deidentify(row.title, names=names),
            "question": privacy.deidentify(row.question, names=names),
            "answer": privacy.deidentify(row.answer or "", names=names)}


def _gate(row: ConsultationRow, title: str, question: str, answer: str) -> None:
    names = [row.name] if row.name else []
    problems = [*privacy.publication_findings(title, names=names), *privacy.publication_findings(question, names=names),
                *privacy.publication_findings(answer, names=names)]
    if problems:
        raise WorkflowError("公开前检查未通过：" + "；".join(dict.fromkeys(problems)))


def propose(session: Session, consultation_id: int, actor: Principal | str, *, title: str | None = None,
            question: str | None = None, answer: str | None = None, now: datetime | None = None) -> ConsultationRow:
    """Propose an answered, consented question for publication, with de-identified texts (edited or not)."""
    now = now or utcnow()
    user = _principal(session, actor)
    row = get(session, consultation_id)
    auth.require(user, Action.RECORD_EDIT, department=row.department)
    if not row.consent_publish:
        raise WorkflowError("提问人未同意公开，这条咨询不能公开")
    if row.state != ANSWERED:
        raise WorkflowError("答复后才能提请公开")
    if row.publication == PUBLISHED:
        raise WorkflowError("这条咨询已经公开")
    base = draft(row)
    t, q, a = (title or base["title"]).strip(), (question or base["question"]).strip(), (answer or base["answer"]).strip()
    if not (t and q and a):
        raise InputError("公开的标题、问题和答复都不能为空")
    _gate(row, t, q, a)
    row.pub_title, row.pub_question, row.pub_answer = t, q, a
    row.publication, row.proposed_by, row.updated_at = PROPOSED, user.name, now
    repo.audit(session, user.name, "consult.propose", f"consult:{row.id}")
    return row


def approve(session: Session, consultation_id: int, actor: Principal | str, *,
            now: datetime | None = None) -> ConsultationRow:
    """The reviewer publishes a proposed answer (the gate runs again on the texts as they are)."""
    now = now or utcnow()
    user = _principal(session, actor)
    row = get(session, consultation_id)
    auth.require(user, Action.RECORD_APPROVE, department=row.department)
    if row.publication != PROPOSED:
        raise WorkflowError("只有待审核公开的咨询可以审核")
    _gate(row, row.pub_title or "", row.pub_question or "", row.pub_answer or "")
    row.publication, row.reviewed_by, row.published_at, row.updated_at = PUBLISHED, user.name, now, now
    repo.audit(session, user.name, "consult.publish", f"consult:{row.id}")
    return row


def reject(session: Session, consultation_id: int, actor: Principal | str, reason: str) -> ConsultationRow:
    user = _principal(session, actor)
    row = get(session, consultation_id)
    auth.require(user, Action.RECORD_REJECT, department=row.department)
    if row.publication != PROPOSED:
        raise WorkflowError("只有待审核公开的咨询可以退回")
    row.publication, row.reviewed_by, row.updated_at = REJECTED, user.name, utcnow()
    repo.audit(session, user.name, "consult.reject", f"consult:{row.id}", reason=reason.strip()[:500])
    return row


def published(session: Session, *, category: str | None = None, limit: int = 100) -> list[ConsultationRow]:
    query = select(ConsultationRow).where(ConsultationRow.publication == PUBLISHED)
    if category:
        query = query.where(or_(ConsultationRow.domain == category,
                                (ConsultationRow.domain.is_(None)) & (ConsultationRow.topic == category)))
    return list(session.scalars(query.order_by(ConsultationRow.published_at.desc()).limit(limit)))


def published_one(session: Session, consultation_id: int) -> ConsultationRow | None:
    row = session.get(ConsultationRow, consultation_id)
    return row if row is not None and row.publication == PUBLISHED else None


def categories(session: Session) -> list[tuple[str, int]]:
    """(category, published answers) for the portal's list, most first."""
    counts: dict[str, int] = {}
    for row in published(session, limit=10_000):
        counts[category_of(row)] = counts.get(category_of(row), 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def search(session: Session, query: str, *, limit: int = 20) -> list[ConsultationRow]:
    """Published answers matching every word of ``query`` (jieba words, as the portal search segments)."""
    import jieba

    words = list(dict.fromkeys(w.strip().lower() for w in jieba.cut(query[:100]) if w.strip() and w.strip().isalnum()))[:8]
    if not words:
        return []
    stmt = select(ConsultationRow).where(ConsultationRow.publication == PUBLISHED)
    for w in words:
        like = f"%{w}%"
        stmt = stmt.where(or_(ConsultationRow.pub_title.like(like), ConsultationRow.pub_question.like(like),
                              ConsultationRow.pub_answer.like(like)))
    return list(session.scalars(stmt.order_by(ConsultationRow.published_at.desc()).limit(limit)))
