"""The delivery board: ledger rows in words a clerk understands.

The ledger keeps error classes and redacted technical messages; a clerk needs
to know what happened and what to do. This module is the one translation
table (state → 中文, error class → a sentence with the next step), used by the
per-record board and the county overview.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.channels.registry import label as channel_label
from hub.store.models import DeliveryRow
from hub.timeutil import utcnow

STATE_NAMES = {
    "queued": "排队中", "sending": "发送中", "submitted": "已提交，等待平台确认", "confirmed": "已送达",
    "retry_wait": "等待重试", "unknown": "结果不明，正在核对", "failed": "失败", "expired": "已过期未发送",
    "cancelled": "已取消",
}
TERMINAL = frozenset({"confirmed", "failed", "expired", "cancelled"})
#: What a clerk reads for each error class, and what to do about it.
ERROR_WORDS = {
    "Retryable": "平台暂时无法访问，系统会自动重试。",
    "RateLimited": "平台限制了发送频率（或今日额度已用完），系统会在允许时自动重试。",
    "AuthExpired": "账号授权已过期，需要管理员重新授权后点“重试”。",
    "Permanent": "平台拒绝了这条内容，请根据原因修改后重新提交。",
    "Ambiguous": "发送后没有收到明确答复，系统正在核对是否已发出，不会重复发送。",
    "DuplicateRejected": "平台表示已收到过相同内容，系统正在核对。",
    "Expired": "超过了该渠道的有效发送时间，已不再发送。",
    "QCFailed": "视频包质量检查未通过，请联系技术人员。",
    "RenderCrash": "生成该渠道的内容时出错（如视频生成超时），已暂停发送，请技术人员检查后点“重试”。",
    "RenderError": "内容不符合该渠道的规则（如字数超限），请修改后重新提交。",
}
#: SMS held by the account's quiet hours (a RateLimited from the SMS adapter).
QUIET_HOURS_WORDS = "夜间免打扰时段（默认22:00–08:00）不发送短信，到时间后自动发送。"
#: SMS numbers over Tencent's per-phone daily limit (RateLimited naming PhoneNumberDailyLimit).
DAILY_LIMIT_WORDS = ("部分订阅者今天收到的短信已达到每个号码每天的条数上限（腾讯云默认每号每天10条），"
                     "这些号码将在零点后自动发送。")
#: SMS numbers without any delivery report after the platform was asked by number.
NO_REPORT_WORDS = "部分号码超过时限仍没有送达回执（已按号码向平台查询），送达情况不明，请技术人员核对。"
#: A secret or key the channel needs is not configured on this server (nothing was sent).
CONFIG_WORDS = "该渠道在本服务器上尚未配置（缺少密钥等），没有发出；请管理员配置后点“重试”。"
#: A withdrawal (or a correction's take-down) waits until the publication or the correction has settled.
WAITING_WORDS = "等待原发布（或更正后的新内容）完成后再撤下，系统会自动处理。"
#: Audit actions as the office reads them in the log (unknown ones are shown as recorded).
ACTION_NAMES = {
    "login": "登录", "login.failed": "登录失败", "login.throttled": "登录受限", "logout": "退出",
    "record.save": "保存版本", "record.current": "切换当前版本", "record.submit": "提交审核",
    "record.approve": "审核通过", "record.reject": "退回", "record.publish": "发布", "record.withdraw": "撤回",
    "record.urge": "督办", "record.override": "改写渠道文字", "finding.mask": "一键遮盖", "finding.waive": "豁免检查结果",
    "web.publish": "一键发布", "delivery.retry": "重试发送", "delivery.cancel": "取消发送", "tv.collect": "电视台取片",
    "user.add": "新建账号", "delivery.schedule": "定时发布", "delivery.publish_now": "定时改为立即发布",
    "delivery.cancel_schedule": "取消定时发布", "delivery.mark_delivered": "人工确认送达",
    "record.withdraw_all": "全渠道撤回", "record.correct": "发布更正",
}
#: Why a delivery exists, as the board heads its groups.
PURPOSE_NAMES = {"publish": "发布", "correct": "更正", "withdraw": "撤回", "digest": "汇总短信"}
#: States a person may mark delivered (``hub.queue.ledger.MARKABLE``).
MARKABLE = frozenset({"submitted", "unknown", "retry_wait"})
#: A delivery in these states longer than this is "stuck" on the county board.
STUCK_AFTER = {"queued": timedelta(minutes=10), "sending": timedelta(minutes=10),
               "retry_wait": timedelta(hours=2), "unknown": timedelta(minutes=30),
               "submitted": timedelta(hours=24)}


@dataclass(frozen=True, slots=True)
class Line:
    """One delivery as the board shows it."""

    id: int
    record_id: str
    version: str
    channel: str
    channel_name: str
    target: str
    state: str
    state_name: str
    attempts: int
    provider_ref: str | None
    error_words: str | None
    error_detail: str | None
    needs_attention: bool
    updated_at: datetime
    next_attempt_at: datetime | None
    terminal: bool
    stuck: bool
    purpose: str = "publish"
    purpose_name: str = "发布"
    #: 定时发布: not sent before this instant (None once due or when not scheduled)
    scheduled_at: datetime | None = None
    #: why 重试 is refused, in words (None: a retry is possible)
    retry_blocked: str | None = None
    #: may a person mark it delivered (no API receipt will come)?
    markable: bool = False
    #: 汇总短信: waiting for its digest window, covered by digest X, or a digest itself (hub.audience.digest)
    digest_words: str | None = None
    #: the digest's public list page (``/d/<code>``)
    digest_link: str | None = None


def _line(row: DeliveryRow, now: datetime) -> Line:
    words = None
    if row.last_error_class and row.state != "confirmed":
        words = ERROR_WORDS.get(row.last_error_class, "发送出错，请查看详情或联系技术人员。")
        if row.last_error_class == "RateLimited" and "quiet hours" in (row.last_error_msg or ""):
            words = QUIET_HOURS_WORDS
        elif row.last_error_class == "RateLimited" and "PhoneNumberDailyLimit" in (row.last_error_msg or ""):
            words = DAILY_LIMIT_WORDS
        elif "no delivery report" in (row.last_error_msg or ""):
            words = NO_REPORT_WORDS
        elif row.last_error_class == "AuthExpired" and "configuration:" in (row.last_error_msg or ""):
            words = CONFIG_WORDS
        elif (row.last_error_msg or "").startswith("waiting for"):  # a withdrawal step waiting its turn
            words = WAITING_WORDS
    from hub.app.deliveries import why_not_retry
    from hub.timeutil import to_local

    limit = STUCK_AFTER.get(row.state)
    scheduled = row.scheduled_at if row.state == "queued" and row.scheduled_at and row.scheduled_at > now else None
    state_name = STATE_NAMES.get(row.state, row.state)
    if scheduled is not None:
        state_name = f"定时 {to_local(scheduled):%Y-%m-%d %H:%M}"
        limit = None
    return Line(
        id=row.id, record_id=row.record_id, version=row.version, channel=row.channel,
        channel_name=channel_label(row.channel), target=row.target, state=row.state,
        state_name=state_name, attempts=row.attempts, provider_ref=row.provider_ref,
        error_words=words, error_detail=row.last_error_msg if row.state != "confirmed" else None,
        needs_attention=bool(row.needs_attention), updated_at=row.updated_at, next_attempt_at=row.next_attempt_at,
        terminal=row.state in TERMINAL, stuck=limit is not None and now - row.updated_at > limit,
        purpose=row.purpose or "publish", purpose_name=PURPOSE_NAMES.get(row.purpose or "publish", row.purpose),
        scheduled_at=scheduled, retry_blocked=why_not_retry(row), markable=row.state in MARKABLE,
    )


def lines(session: Session, *, version: str | None = None, record_id: str | None = None) -> list[Line]:
    """Board lines of one version (or every version of a record), grouped publish → correct → withdraw."""
    order = {"publish": 0, "correct": 1, "withdraw": 2}
    query = select(DeliveryRow).order_by(DeliveryRow.channel, DeliveryRow.target, DeliveryRow.id)
    if version is not None:
        query = query.where(DeliveryRow.version == version)
    if record_id is not None:
        query = query.where(DeliveryRow.record_id == record_id)
    now = utcnow()
    rows = list(session.scalars(query))
    from dataclasses import replace

    from hub.audience.digest import covers

    cover = covers(session, rows)
    out = [_line(r, now) for r in rows]
    out = [replace(ln, digest_words=cover[ln.id].words, digest_link=cover[ln.id].link or None)
           if ln.id in cover else ln for ln in out]
    return sorted(out, key=lambda ln: order.get(ln.purpose, 3))


@dataclass(frozen=True, slots=True)
class Overview:
    """The county at a glance."""

    counts: dict[str, dict[str, int]]  # channel → state → n
    totals: dict[str, int]
    stuck: list[Line]
    failed: list[Line]
    unconfirmed: list[Line]
    attention: list[Line]
    active: int
    flags: list[tuple[str, str]]


def overview(session: Session, *, recent_days: int = 30) -> Overview:
    now = utcnow()
    since = now - timedelta(days=recent_days)
    rows = [_line(r, now) for r in session.scalars(
        select(DeliveryRow).where(DeliveryRow.updated_at >= since).order_by(DeliveryRow.updated_at.desc()))]
    counts: dict[str, Counter[str]] = {}
    for ln in rows:
        counts.setdefault(ln.channel, Counter())[ln.state] += 1
    flags: list[tuple[str, str]] = []
    try:
        from hub.queue import ledger

        for f in ledger.flags(session, now=now):
            flags.append((f.key, str(f.value.get("reason") or f.value.get("message") or f.value)))
    except (ImportError, AttributeError):
        pass
    return Overview(
        counts={c: dict(v) for c, v in counts.items()},
        totals=dict(Counter(ln.state for ln in rows)),
        stuck=[ln for ln in rows if ln.stuck and not ln.terminal],
        failed=[ln for ln in rows if ln.state in ("failed", "expired")],
        unconfirmed=[ln for ln in rows if ln.state in ("submitted", "unknown")],
        attention=[ln for ln in rows if ln.needs_attention and not ln.terminal],
        active=sum(1 for ln in rows if not ln.terminal),
        flags=flags,
    )
