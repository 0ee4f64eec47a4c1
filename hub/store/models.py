"""The hub's tables. One place for the whole schema; Alembic migrations mirror it.

All timestamps are stored as UTC (``UtcDateTime`` gives aware datetimes back on
SQLite too). Phone numbers never appear here in clear: ``subscribers`` keeps
them encrypted (see ``hub.audience.subscribers``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# --- records and workflow --------------------------------------------------------


class RecordRow(Base):
    """A record's identity across versions."""

    __tablename__ = "records"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    department: Mapped[str | None] = mapped_column(String(200))
    #: feed guid / link or file URI; re-ingesting the same source updates, never duplicates.
    source_key: Mapped[str | None] = mapped_column(String(1000), unique=True)
    current_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class VersionRow(Base):
    """An immutable record version, named by the SHA-256 of its canonical JSON."""

    __tablename__ = "record_versions"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    #: the canonical JSON (Record.canonical_json()); the model is rebuilt from it.
    content: Mapped[str] = mapped_column(Text)
    source: Mapped[dict[str, Any] | None]
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    # denormalised for listing, search and the portal's browse pages
    title: Mapped[str] = mapped_column(String(300))
    index_no: Mapped[str | None] = mapped_column(String(100), index=True)
    department: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str | None] = mapped_column(String(10))
    domain: Mapped[str | None] = mapped_column(String(100))
    item: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    interprets: Mapped[str | None] = mapped_column(String(128))
    published_at: Mapped[datetime | None]
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    __table_args__ = (Index("ix_versions_published", "state", "published_at"),)


# The portal's listings (hub.web.queries.listing_order: newest publication first) and the static site's pages
# read one page of rows through these instead of sorting every published row (issue 19); the facet counts read
# (state, facet, record_id) without touching the table.
_LISTED_AT = func.coalesce(VersionRow.published_at, VersionRow.created_at)
Index("ix_versions_listing", VersionRow.state, _LISTED_AT, VersionRow.created_at, VersionRow.version)
for _facet in ("stage", "domain", "level"):
    Index(f"ix_versions_listing_{_facet}", VersionRow.state, getattr(VersionRow, _facet), _LISTED_AT,
          VersionRow.created_at, VersionRow.version)
for _facet in ("stage", "level", "region"):  # domain: ix_versions_count_item's prefix
    Index(f"ix_versions_count_{_facet}", VersionRow.state, getattr(VersionRow, _facet), VersionRow.record_id)
Index("ix_versions_count_item", VersionRow.state, VersionRow.domain, VersionRow.item, VersionRow.record_id)
Index("ix_versions_count", VersionRow.state, VersionRow.record_id)
# the record page's 解读 links (hub.web.queries.interpretations), not a pass over every published version
Index("ix_versions_interprets", VersionRow.interprets, VersionRow.state)


class FindingRow(Base):
    """A pre-publish check finding of one version, and its waiver if a reviewer gave one."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(ForeignKey("record_versions.version"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    line: Mapped[int | None]
    column: Mapped[int | None]
    excerpt: Mapped[str] = mapped_column(String(400))
    suggestion: Mapped[str | None] = mapped_column(String(400))
    blocking: Mapped[bool] = mapped_column(Boolean)
    waived_by: Mapped[str | None] = mapped_column(String(100))
    waived_at: Mapped[datetime | None]
    waiver_reason: Mapped[str | None] = mapped_column(Text)


class WorkflowEventRow(Base):
    """Append-only workflow history: draft → in_review → approved/rejected → published → withdrawn."""

    __tablename__ = "workflow_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(ForeignKey("record_versions.version"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class AuditRow(Base):
    """Append-only audit log of every action a person or the system took."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class UserRow(Base):
    """A staff account. Roles: author, reviewer, office, admin; the TV station uses ``station``."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    #: a work e-mail address for 督办 notices (staff contacts; never the SMS audience)
    email: Mapped[str | None] = mapped_column(String(200))


# --- renditions, links -----------------------------------------------------------


class RenditionRow(Base):
    """A rendition of a version for one kind (sms, wechat, ..., video); artifacts are content-addressed files."""

    __tablename__ = "renditions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(ForeignKey("record_versions.version"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))
    bytes: Mapped[int] = mapped_column(BigInteger)
    #: Rendition.to_json(): files, facts, not_after.
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("version", "kind", name="uq_rendition_version_kind"),)


class RenderClaimRow(Base):
    """One render of a (version, profile) at a time across every process (issue 17).

    ``hub.renderers.video.claim``: the first caller inserts the row (``running``, its
    ``owner`` and a ``lease_expires_at`` it renews while it renders); others wait for it and
    join its result (``done`` + ``package``). A ``failed`` row, or a ``running`` one whose lease
    expired (its process was killed), is taken over by the next attempt with a conditional update.
    """

    __tablename__ = "render_claims"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: running | done | failed
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    package: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class ShortLinkRow(Base):
    """``/s/<code>``: one code per (record version, channel) so scans are attributed to the channel."""

    __tablename__ = "short_links"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(30))
    target_url: Mapped[str] = mapped_column(String(1000))
    scans: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    #: the record page's short link (``hub.web.queries.short_link``) without a pass over every link (issue 19)
    __table_args__ = (Index("ix_short_links_version", "version", "channel"),)


class ScanRow(Base):
    """One scan / open of a short link (for per-channel engagement figures)."""

    __tablename__ = "scans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(ForeignKey("short_links.code"), index=True)
    at: Mapped[datetime]


# --- delivery ledger ---------------------------------------------------------------


class DeliveryRow(Base):
    """The queue of record: one row per (version, channel, target). Broker messages are only hints."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(30))
    #: an opaque target name from config (an account or an audience); never a phone number.
    target: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    rendition_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    redeliveries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_expires_at: Mapped[datetime | None]
    not_after: Mapped[datetime | None]
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    last_error_class: Mapped[str | None] = mapped_column(String(40))
    last_error_msg: Mapped[str | None] = mapped_column(Text)
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the platform's receipt (provider_ref, accepted_at, raw, redacted), read back by the confirm poll.
    receipt: Mapped[dict[str, Any] | None]
    #: when the engine last sent a broker message for this row (requeue_due does not flood the broker).
    hinted_at: Mapped[datetime | None]
    #: why the row exists: ``publish`` (the first fan-out), ``correct`` (a corrected version replaces
    #: what ``origin_id`` delivered) or ``withdraw`` (undo what ``origin_id`` delivered).
    purpose: Mapped[str] = mapped_column(String(20), default="publish", server_default="publish")
    #: the delivery this one corrects, withdraws or re-sends (None for a first publication).
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    #: 定时发布: never sent before this instant (None = as soon as possible).
    scheduled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (Index("ix_deliveries_due", "state", "next_attempt_at"),)


class DeliveryEventRow(Base):
    """Append-only transition of a delivery: who, when, from, to, error class, redacted message."""

    __tablename__ = "delivery_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    error_class: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)


class ChannelStateRow(Base):
    """Per channel account health: auth expired, quota exhausted until, shared tokens (encrypted)."""

    __tablename__ = "channel_state"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


# --- SMS audience --------------------------------------------------------------------


class SubscriberRow(Base):
    """A citizen who receives SMS pushes. The number is stored encrypted; ``phone_hash`` (keyed HMAC) dedupes."""

    __tablename__ = "subscribers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_tail: Mapped[str] = mapped_column(String(4))
    level: Mapped[str] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100), index=True)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: on the bulk list; False for a number known only as the recipient of one-recipient notices (an asker,
    #: ``hub.audience.direct``): it has its place in the recipient ledger and keeps its opt-out, but no
    #: bulk expansion includes it, and an import of the same number lists it.
    listed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class SmsRecipientRow(Base):
    """Per-number result of an SMS delivery: never resend to a number whose code was Ok."""

    __tablename__ = "sms_recipients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"))
    #: pending → sending (request out) → sent (Code Ok) → delivered / undelivered (receipt); or rejected / skipped
    #: (opt-out); unknown = the batch's outcome was ambiguous: never resent, settled by a report (hub.channels.sms).
    state: Mapped[str] = mapped_column(String(20), default="pending")
    code: Mapped[str | None] = mapped_column(String(100))
    serial_no: Mapped[str | None] = mapped_column(String(100), index=True)
    updated_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("delivery_id", "subscriber_id", name="uq_sms_recipient"),)


# --- portal search -------------------------------------------------------------------


class SearchDocRow(Base):
    """Jieba-segmented text of a published version, for the portal's Chinese full-text search.

    Derived data: ``hub.web.search.sync`` rebuilds it from the published versions.
    On SQLite an FTS5 table mirrors it, on PostgreSQL a GIN index over
    ``to_tsvector('simple', tokens)`` serves it; neither is expressible here, so
    ``hub.web.search.ensure_index`` creates them idempotently at start-up.
    """

    __tablename__ = "search_docs"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(String(300))
    #: space-separated jieba tokens (search mode) of title, metadata and body, lower-cased.
    tokens: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SearchPendingRow(Base):
    """A published version whose search document is not written yet (issue 19: never lost).

    Written in the publish transition's own transaction, so the intent commits with the
    publication; ``hub.web.search.index_pending`` writes the document and deletes the row in
    one transaction, right after the publish commits and again at every maintenance pass
    (a write the database refused is retried there, never in a citizen's request).
    """

    __tablename__ = "search_pending"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    queued_at: Mapped[datetime]


class PortalCountRow(Base):
    """Published records per facet value (the portal's and the static site's facet counts), kept by the workflow.

    ``facet`` is ``all`` (value ``""``), ``stage``, ``domain``, ``level``, ``region`` or ``item``
    (value: the domain, a tab, the item); ``n`` counts distinct records with a published version of that
    value, as ``GROUP BY`` over the versions would. The publish and withdraw transitions adjust it
    in their own transaction (``hub.web.counts``), so a page or a web delivery reads a few rows
    instead of a pass over every published version; ``hub.web.counts.recount`` rebuilds it.
    """

    __tablename__ = "portal_counts"
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(320), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


# --- the office's desk ---------------------------------------------------------------


class UrgeRow(Base):
    """督办: the office presses a person about a record; a task until the person closes it.

    open → acknowledged (the person saw it) → closed (the person says it is done, with a reply);
    an open urge past its due day is escalated to the department's reviewers (``escalated_to``).
    Every move is also an audit row (``hub.office.urges``).
    """

    __tablename__ = "urges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[str] = mapped_column(String(64))
    assignee: Mapped[str] = mapped_column(String(100), index=True)
    urged_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    escalated_to: Mapped[list[Any]] = mapped_column(default=list)
    notified: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]


# --- 群众咨询 (citizens' questions) ---------------------------------------------------


class ConsultationRow(Base):
    """A citizen's question (``hub.consult``): asked on the portal or by an SMS reply, answered by staff.

    ``question`` is the masked text every screen shows (ID and phone numbers masked).
    The original is not kept (the masked digits let staff confirm with the asker on the private link).
    The reply number is encrypted like subscribers' (``phone_enc``/``phone_hash``/``phone_tail``).
    ``code`` is the private link's secret (``/consult/<code>``); only its SHA-256 is stored.
    state: open → asked_back (追问, waiting for the citizen) → open … → answered (closed).
    publication: none → proposed → published, or rejected (back to none by a new proposal).
    """

    __tablename__ = "consultations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20), default="portal")
    topic_kind: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(50))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_tail: Mapped[str | None] = mapped_column(String(4))
    consent_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    #: SHA-256 of the sender and the normalised question text, for duplicate detection
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None]
    due_on: Mapped[date]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    publication: Mapped[str] = mapped_column(String(20), default="none", index=True)
    pub_title: Mapped[str | None] = mapped_column(String(200))
    pub_question: Mapped[str | None] = mapped_column(Text)
    pub_answer: Mapped[str | None] = mapped_column(Text)
    proposed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None]
    #: the ledger row of the answer SMS (``hub.audience.direct``), when one was sent
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class ConsultMessageRow(Base):
    """One message of a consultation's thread: question, 追问, the citizen's reply, the answer (masked text)."""

    __tablename__ = "consult_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class RateEventRow(Base):
    """One counted event of a rate limit (``hub.consult.limits``): shared by every process through the database.

    ``key`` is an HMAC of what is limited (a client address, a contact number), never the value itself.
    """

    __tablename__ = "rate_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    __table_args__ = (Index("ix_rate_events_key_at", "key", "at"),)


class SmsReplyRow(Base):
    """An upstream SMS (a citizen's reply), stored once however it arrived (callback or pull).

    ``dedupe`` = hash of (number, reply time, text): the callback and ``PullSmsReplyStatus``
    may both hand the same reply over. ``outcome``: opted_out, question, ignored.
    """

    __tablename__ = "sms_replies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe: Mapped[str] = mapped_column(String(64), unique=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_tail: Mapped[str] = mapped_column(String(4))
    text: Mapped[str] = mapped_column(Text)
    replied_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    subscriber_id: Mapped[int | None] = mapped_column(Integer)
    consultation_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime]


# --- engagement metrics (issue 15) ---------------------------------------------------


class EngagementRow(Base):
    """One day's engagement figure of one source (a delivery, a short link, a portal page): a time series.

    ``value`` is the day's *increase*, so a period's figure is a sum over its days. ``source``
    says where the figure comes from and keys the series (``delivery:<id>``, ``link:<code>``,
    ``page:<version>``); record, version, channel, catalog item, department, level and region
    are copied from the version so reports group without joins. Written only by
    ``hub.metrics.store`` (upserts); a refused platform call writes nothing, so the last
    figures stay, with the date of their ``updated_at``.
    """

    __tablename__ = "engagement"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(120))
    #: the Beijing calendar day the increase was seen (YYYY-MM-DD)
    day: Mapped[str] = mapped_column(String(10), index=True)
    metric: Mapped[str] = mapped_column(String(30))
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(30))
    item: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200), index=True)
    level: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("source", "day", "metric", name="uq_engagement_source_day_metric"),)


class PageViewRow(Base):
    """One portal visitor's view of a record on one day (no cookie, no address: a salted hash)."""

    __tablename__ = "page_views"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), index=True)
    record_id: Mapped[str] = mapped_column(String(128))
    day: Mapped[str] = mapped_column(String(10))
    #: sha256(salt | address | user agent | day): one count per visitor per day, the address never stored
    visitor: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("version", "day", "visitor", name="uq_page_view_visitor_day"),)
