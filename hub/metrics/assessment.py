"""The department assessment (考核) of a month: on time, coverage, 解读, engagement, corrections, replies.

``build(session, period="2026-11")`` gathers, for every record first published in the
month (Beijing time), six parts, each between 0 and 1:

* **按时公开** ``on_time``: published within the catalog item's 公开时限 (``hub.metrics.ontime.on_time``;
  a record it cannot judge is left out of the rate);
* **渠道覆盖** ``coverage``: confirmed on every channel the catalog item requires;
* **政策解读** ``interpretation``: of the policy documents (stage 决策, not themselves an
  interpretation), the share with a published interpretation (解读) linked to them;
* **传播效果** ``engagement``: per record and channel, the month's engagement figures (the
  metrics of ``[engagement] metrics``) divided by the county's best record on that channel,
  averaged over the record's channels — so a WeChat read and a Weibo like weigh the same
  against their own platform's best;
* **更正撤回** ``corrections``: ``1 − (corrections + withdrawals) ÷ records``, at least 0;
* **咨询答复** ``consultation`` (departments only): of the citizens' questions (群众咨询) that arrived in
  the month, the share answered by their due day; one unanswered past it counts as late.

A group (a department at county level; a township or village by region) scores the
weighted mean of its parts × 100 (weights in ``config/assessment.toml``; a part with nothing
to judge counts as met, and the report says so). Groups are ranked by score.

``export(report, "html" | "pdf" | "xlsx")`` writes the same figures (``Report.table()``, one
formatting) in three forms, with charts drawn by matplotlib (Agg, the WenQuanYi font): the
scores as bars, the ranking of the parts, the month's engagement trend.
"""

from __future__ import annotations

import calendar
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.errors import ConfigError, InputError
from hub.store.models import DeliveryRow, EngagementRow, VersionRow
from hub.timeutil import SHANGHAI

FORMATS = ("html", "pdf", "xlsx")
PARTS = ("on_time", "coverage", "interpretation", "engagement", "corrections", "consultation")
PART_LABELS = {"on_time": "按时公开", "coverage": "渠道覆盖", "interpretation": "政策解读",
               "engagement": "传播效果", "corrections": "更正撤回", "consultation": "咨询答复"}
LEVEL_LABELS = {"county": "县直部门", "township": "乡镇", "village": "村（社区）"}
POLICY_STAGE = "决策"
#: versions that were public (a withdrawn one was, and counts as a withdrawal)
PUBLIC_STATES = ("published", "withdrawn")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Strict):
    on_time: float = Field(default=30, ge=0)
    coverage: float = Field(default=25, ge=0)
    interpretation: float = Field(default=15, ge=0)
    engagement: float = Field(default=20, ge=0)
    corrections: float = Field(default=10, ge=0)
    consultation: float = Field(default=10, ge=0)


class CollectSection(_Strict):
    interval_minutes: float = Field(default=60, gt=0)


class EngagementSection(_Strict):
    metrics: tuple[str, ...] = ("reads", "shares", "likes", "comments", "favorites", "scans", "views", "collections")


class AssessmentConfig(_Strict):
    collect: CollectSection = CollectSection()
    weights: Weights = Weights()
    engagement: EngagementSection = EngagementSection()

    @property
    def collect_interval_minutes(self) -> float:
        return self.collect.interval_minutes


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> AssessmentConfig:
    from hub.config import invalid, read_toml

    try:
        cfg = AssessmentConfig.model_validate(read_toml(path))
    except ValidationError as exc:
        raise invalid(path, exc) from None
    if sum(cfg.weights.model_dump().values()) <= 0:
        raise ConfigError(f"{path.name}: weights: at least one weight must be above 0")
    return cfg


def load_config() -> AssessmentConfig:
    """``config_dir/assessment.toml`` (defaults when the file is absent), reloaded when it changes."""
    from hub.settings import get_settings

    path = get_settings().config_dir / "assessment.toml"
    if not path.exists():
        return AssessmentConfig()
    return _load(path, path.stat().st_mtime_ns)


# --- gathering ----------------------------------------------------------------------------------


@dataclass
class RecordLine:
    """One record's facts in the period."""

    record_id: str
    title: str
    group: str
    published: date
    on_time: bool | None
    required: tuple[str, ...]
    confirmed: tuple[str, ...]
    policy: bool
    interpreted: bool
    corrections: int
    withdrawn: bool
    engagement: dict[str, int] = field(default_factory=dict)
    engagement_score: float = 0.0

    @property
    def covered(self) -> bool:
        return set(self.required) <= set(self.confirmed)


@dataclass
class Group:
    """A department's (or region's) parts, score and rank."""

    name: str
    records: int
    parts: dict[str, float | None]
    overdue: int
    corrections: int
    withdrawals: int
    engagement_total: int
    score: float = 0.0
    rank: int = 0


@dataclass
class Report:
    period: str
    level: str
    weights: Weights
    groups: list[Group]
    lines: list[RecordLine]
    trend: list[tuple[str, int]]
    county_groups: int

    HEADER = ("名次", "单位", "记录数", *(PART_LABELS[p] for p in PARTS), "逾期", "总分")

    def table(self) -> list[tuple[str, ...]]:
        """The report's figures as text, one formatting for HTML, PDF and XLSX."""
        return [(str(g.rank), g.name, str(g.records), *(pct(g.parts[p]) for p in PARTS), str(g.overdue),
                 f"{g.score:.1f}") for g in self.groups]

    def weight_lines(self) -> list[str]:
        w = self.weights.model_dump()
        total = sum(w.values())
        return [f"{PART_LABELS[p]}：权重 {w[p]:g}（占 {100 * w[p] / total:.0f}%）" for p in PARTS]


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def last_month() -> str:
    """The month before this one (Beijing), ``YYYY-MM``: the default period of the report."""
    from hub.timeutil import utcnow

    return (utcnow().astimezone(SHANGHAI).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def month_bounds(period: str) -> tuple[date, date]:
    """First day and the day after the last of ``YYYY-MM``."""
    try:
        year, month = (int(x) for x in period.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise InputError(f"--period: {period!r} 应为 年-月，如 2026-11") from None
    return first, first + timedelta(days=calendar.monthrange(year, month)[1])


def _local(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _gather(session: Session, first: date, after: date, level: str, metrics: tuple[str, ...]) -> list[RecordLine]:
    from hub.catalog import get_catalog
    from hub.metrics.ontime import on_time
    from hub.queue.states import State

    until = datetime.combine(after, datetime.min.time(), SHANGHAI)  # later versions cannot make a first publication
    versions = session.scalars(select(VersionRow).where(VersionRow.published_at.is_not(None),
                                                       VersionRow.published_at < until,
                                                       VersionRow.state.in_(PUBLIC_STATES))).all()
    by_record: dict[str, list[VersionRow]] = defaultdict(list)
    for v in versions:
        by_record[v.record_id].append(v)
    interpreted = {v.interprets for v in versions if v.interprets}
    catalog = get_catalog()
    lines: list[RecordLine] = []
    chosen: dict[str, VersionRow] = {}
    for record_id, vs in by_record.items():
        vs.sort(key=lambda v: v.published_at or datetime.min.replace(tzinfo=SHANGHAI))
        first_pub = _local(vs[0].published_at) if vs[0].published_at else None
        if first_pub is None or not first <= first_pub < after:
            continue
        row = vs[-1]
        if (row.level or "county") != level:
            continue
        chosen[record_id] = row
        found = catalog.find_item(row.item) if row.item else None
        lines.append(RecordLine(
            record_id=record_id, title=row.title,
            group=(row.department if level == "county" else row.region) or "（未注明）",
            published=first_pub, on_time=on_time(vs[0], first_published=first_pub),
            required=found[1].channels if found else (), confirmed=(), policy=(
                row.stage == POLICY_STAGE and not row.interprets),
            interpreted=record_id in interpreted, corrections=max(0, len(vs) - 1),
            withdrawn=any(v.state == "withdrawn" for v in vs)))
    if not lines:
        return lines
    ids = list(chosen)
    confirmed: dict[str, set[str]] = defaultdict(set)
    delivered: dict[str, set[str]] = defaultdict(set)
    for i in range(0, len(ids), 500):
        for rid, channel, state in session.execute(
                select(DeliveryRow.record_id, DeliveryRow.channel, DeliveryRow.state)
                .where(DeliveryRow.record_id.in_(ids[i:i + 500]))):
            delivered[rid].add(channel)
            if state == State.CONFIRMED:
                confirmed[rid].add(channel)
    engagement: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i in range(0, len(ids), 500):
        q = (select(EngagementRow.record_id, EngagementRow.channel, func.sum(EngagementRow.value))
             .where(EngagementRow.record_id.in_(ids[i:i + 500]), EngagementRow.metric.in_(metrics),
                    EngagementRow.day >= first.isoformat(), EngagementRow.day < after.isoformat())
             .group_by(EngagementRow.record_id, EngagementRow.channel))
        for rid, channel, total in session.execute(q):
            engagement[rid][channel] += int(total or 0)
    for line in lines:
        line.confirmed = tuple(sorted(confirmed[line.record_id]))
        if not line.required:
            line.required = tuple(sorted(delivered[line.record_id]))
        line.engagement = dict(engagement[line.record_id])
    return lines


def _normalise(lines: list[RecordLine]) -> None:
    """Each record's engagement against the best record of each channel, averaged over its channels."""
    best: dict[str, int] = defaultdict(int)
    for line in lines:
        for channel, n in line.engagement.items():
            best[channel] = max(best[channel], n)
    for line in lines:
        shares = [n / best[c] for c, n in line.engagement.items() if best[c] > 0]
        line.engagement_score = sum(shares) / len(shares) if shares else 0.0


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _group(name: str, lines: list[RecordLine]) -> Group:
    judged = [ln.on_time for ln in lines if ln.on_time is not None]
    policies = [ln.interpreted for ln in lines if ln.policy]
    corrections = sum(ln.corrections for ln in lines)
    withdrawals = sum(1 for ln in lines if ln.withdrawn)
    parts: dict[str, float | None] = {
        "on_time": _rate([bool(x) for x in judged]),
        "coverage": _rate([ln.covered for ln in lines]),
        "interpretation": _rate(policies),
        "engagement": sum(ln.engagement_score for ln in lines) / len(lines),
        "corrections": max(0.0, 1 - (corrections + withdrawals) / len(lines)),
    }
    return Group(name=name, records=len(lines), parts=parts, overdue=sum(1 for x in judged if not x),
                 corrections=corrections, withdrawals=withdrawals,
                 engagement_total=sum(sum(ln.engagement.values()) for ln in lines))


def _consultation_rates(session: Session, first: date, after: date) -> dict[str, float]:
    """Per department: citizens' questions of the period answered within their due day (hub.consult).

    A question still unanswered after its due day counts as late; one not yet due is left out.
    Only departments that had questions get a figure (the others' part counts as met, like any
    part with nothing to judge).
    """
    from hub.store.models import ConsultationRow
    from hub.timeutil import utcnow

    start = datetime.combine(first, datetime.min.time(), SHANGHAI)
    until = datetime.combine(after, datetime.min.time(), SHANGHAI)
    today = _local(utcnow())
    judged: dict[str, list[bool]] = defaultdict(list)
    for q in session.scalars(select(ConsultationRow).where(ConsultationRow.created_at >= start,
                                                           ConsultationRow.created_at < until)):
        if q.answered_at is not None:
            judged[q.department].append(_local(q.answered_at) <= q.due_on)
        elif q.due_on < today:
            judged[q.department].append(False)
    return {dept: sum(v) / len(v) for dept, v in judged.items() if v}


def _score(group: Group, weights: Weights) -> float:
    w = weights.model_dump()
    total = sum(w.values())
    return float(100 * sum(w[p] * (1.0 if group.parts[p] is None else float(group.parts[p] or 0))
                           for p in PARTS) / total)


def build(session: Session, *, period: str, level: str = "county", department: str | None = None) -> Report:
    """The assessment of ``period`` (YYYY-MM) at ``level``, optionally one group only (ranked among all)."""
    if level not in LEVEL_LABELS:
        raise InputError(f"--level: {level!r} 应为 county、township 或 village")
    cfg = load_config()
    first, after = month_bounds(period)
    lines = _gather(session, first, after, level, cfg.engagement.metrics)
    _normalise(lines)
    by_group: dict[str, list[RecordLine]] = defaultdict(list)
    for line in lines:
        by_group[line.group].append(line)
    groups = [_group(name, ls) for name, ls in by_group.items()]
    replies = _consultation_rates(session, first, after) if level == "county" else {}
    for g in groups:
        g.parts["consultation"] = replies.get(g.name)
    for g in groups:
        g.score = round(_score(g, cfg.weights), 1)
    groups.sort(key=lambda g: (-g.score, -g.records, g.name))
    for i, g in enumerate(groups, 1):
        g.rank = i
    county = len(groups)
    if department is not None:
        groups = [g for g in groups if g.name == department]
        if not groups:
            raise InputError(f"--department: {department!r} 在 {period} 没有发布记录")
        lines = [ln for ln in lines if ln.group == department]
    trend = _trend(session, first, after, {ln.record_id for ln in lines}, cfg.engagement.metrics)
    return Report(period=period, level=level, weights=cfg.weights, groups=groups,
                  lines=sorted(lines, key=lambda ln: (ln.group, ln.published, ln.record_id)), trend=trend,
                  county_groups=county)


def _trend(session: Session, first: date, after: date, ids: set[str], metrics: tuple[str, ...]) -> list[tuple[str, int]]:
    per_day: dict[str, int] = {}
    day = first
    while day < after:
        per_day[day.isoformat()] = 0
        day += timedelta(days=1)
    wanted = sorted(ids)
    for i in range(0, len(wanted), 500):
        q = (select(EngagementRow.day, func.sum(EngagementRow.value))
             .where(EngagementRow.record_id.in_(wanted[i:i + 500]), EngagementRow.metric.in_(metrics),
                    EngagementRow.day >= first.isoformat(), EngagementRow.day < after.isoformat())
             .group_by(EngagementRow.day))
        for d, n in session.execute(q):
            per_day[str(d)] = per_day.get(str(d), 0) + int(n or 0)
    return sorted(per_day.items())


# --- charts --------------------------------------------------------------------------------------


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    from hub.config import get_config

    font = str(get_config().render.font)
    if Path(font).exists():
        font_manager.fontManager.addfont(font)
        name = font_manager.FontProperties(fname=font).get_name()
        plt.rcParams["font.family"] = [name]
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["svg.fonttype"] = "path"  # glyphs as outlines: the SVG shows Chinese without the font
    plt.rcParams["svg.hashsalt"] = "hub"  # stable ids: the same report gives the same bytes
    return plt


def charts(report: Report, fmt: str) -> dict[str, bytes]:
    """The three charts as ``svg`` or ``png`` bytes: scores (bars), parts (ranking), trend."""
    plt = pyplot()
    out: dict[str, bytes] = {}
    names = [g.name for g in report.groups]

    fig, ax = plt.subplots(figsize=(7, 0.45 * max(3, len(names)) + 1))
    ax.barh(names[::-1], [g.score for g in report.groups][::-1], color="#2f6fb0")
    for y, g in enumerate(report.groups[::-1]):
        ax.text(g.score + 1, y, f"{g.score:.1f}", va="center", fontsize=9)
    ax.set_xlim(0, 110)
    ax.set_xlabel("总分")
    ax.set_title(f"{report.period} 考核总分（{LEVEL_LABELS[report.level]}）")
    out["scores"] = _save(plt, fig, fmt)

    fig, ax = plt.subplots(figsize=(7, 0.45 * max(3, len(names)) + 1.5))
    left = [0.0] * len(names)
    w = report.weights.model_dump()
    total = sum(w.values())
    for p, colour in zip(PARTS, ("#2f6fb0", "#4e9a06", "#c4a000", "#ce5c00", "#75507b", "#888a85"), strict=True):
        vals = [100 * w[p] / total * (1.0 if g.parts[p] is None else float(g.parts[p] or 0))
                for g in report.groups][::-1]
        ax.barh(names[::-1], vals, left=left, color=colour, label=PART_LABELS[p])
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_xlim(0, 100)
    ax.set_xlabel("各项得分（按权重）")
    ax.set_title("排名与得分构成")
    ax.legend(loc="lower right", fontsize=8)
    out["ranking"] = _save(plt, fig, fmt)

    fig, ax = plt.subplots(figsize=(7, 2.8))
    days = [d[5:] for d, _ in report.trend]
    ax.plot(days, [n for _, n in report.trend], marker="o", markersize=3, color="#2f6fb0")
    ax.set_title("每日传播量（阅读、转发、点赞、评论、收藏、扫码、浏览）")
    ax.set_xticks(days[::max(1, len(days) // 10)])
    ax.tick_params(axis="x", labelsize=8)
    out["trend"] = _save(plt, fig, fmt)
    return out


CHART_LABELS = {"scores": "考核总分", "ranking": "排名与得分构成", "trend": "每日传播量"}


def svg_data_uri(svg: bytes) -> str:
    """An SVG as an ``<img>`` source: the console's CSP (style-src 'self') would block inline SVG styles."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _save(plt: Any, fig: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format=fmt, dpi=150, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buf.getvalue()


# --- exports -------------------------------------------------------------------------------------


def title(report: Report) -> str:
    return f"政务公开考核报告 {report.period}（{LEVEL_LABELS[report.level]}）"


def to_html(report: Report, *, fragment: bool = False) -> str:
    """The report as HTML with inline SVG charts; ``fragment`` for the console's layout."""
    svgs = charts(report, "svg") if report.groups else {}
    head = "".join(f"<th>{escape(h)}</th>" for h in Report.HEADER)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in report.table())
    weights = "".join(f"<li>{escape(x)}</li>" for x in report.weight_lines())
    figs = "".join(f'<figure class="chart"><img alt="{escape(CHART_LABELS[name])}" src="{svg_data_uri(svg)}"></figure>'
                   for name, svg in svgs.items())
    records = "".join(
        f"<tr><td>{escape(ln.group)}</td><td>{escape(ln.title)}</td><td>{ln.published.isoformat()}</td>"
        f"<td>{'—' if ln.on_time is None else ('是' if ln.on_time else '逾期')}</td>"
        f"<td>{'是' if ln.covered else '缺 ' + escape('、'.join(sorted(set(ln.required) - set(ln.confirmed))))}</td>"
        f"<td>{sum(ln.engagement.values())}</td><td>{ln.engagement_score:.2f}</td></tr>" for ln in report.lines)
    body = (f'<section class="assessment"><h1>{escape(title(report))}</h1>'
            f'<table class="ranking"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
            f"<h2>评分说明</h2><ul>{weights}</ul>"
            "<p>各项为 0–100%，总分为按权重的加权平均 ×100；某项无可评记录（如无政策文件）时按满分计，表中显示“—”。"
            "传播效果按渠道归一：每条记录在各渠道的传播量除以全县该渠道最高的一条，再取平均。</p>"
            f"{figs}<h2>记录明细</h2><table class=\"records\"><thead><tr><th>单位</th><th>标题</th><th>首次发布</th>"
            f"<th>按时</th><th>覆盖</th><th>传播量</th><th>归一得分</th></tr></thead><tbody>{records}</tbody></table>"
            "</section>")
    if fragment:
        return body
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{escape(title(report))}</title><style>body{{font-family:sans-serif;margin:2em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}"
            f"figure.chart img{{max-width:100%;height:auto}}</style></head><body>{body}</body></html>")


def to_xlsx(report: Report) -> bytes:
    """The same table, the weights, the records and the trend as sheets; the charts as images."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image as XlImage

    wb = Workbook()
    ws = wb.active
    ws.title = "考核排名"
    ws.append([title(report)])
    ws.append(list(Report.HEADER))
    for row in report.table():
        ws.append(list(row))
    ws.append([])
    ws.append(["评分说明"])
    for line in report.weight_lines():
        ws.append([line])
    for col, width in zip("ABCDEFGHIJ", (6, 22, 8, 10, 10, 10, 10, 10, 6, 8), strict=True):
        ws.column_dimensions[col].width = width
    if report.groups:
        pngs = charts(report, "png")
        sheet = wb.create_sheet("图表")
        anchor = 1
        for name in ("scores", "ranking", "trend"):
            img = XlImage(io.BytesIO(pngs[name]))
            img.width, img.height = img.width // 2, img.height // 2
            sheet.add_image(img, f"A{anchor}")
            anchor += img.height // 20 + 2
    rec = wb.create_sheet("记录明细")
    rec.append(["单位", "记录", "标题", "首次发布", "按时", "覆盖", "传播量", "归一得分"])
    for ln in report.lines:
        rec.append([ln.group, ln.record_id, ln.title, ln.published.isoformat(),
                    "—" if ln.on_time is None else ("是" if ln.on_time else "逾期"), "是" if ln.covered else "否",
                    sum(ln.engagement.values()), round(ln.engagement_score, 2)])
    tr = wb.create_sheet("每日传播量")
    tr.append(["日期", "传播量"])
    for d, n in report.trend:
        tr.append([d, n])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_pdf(report: Report) -> bytes:
    """The same table and weights as text (the CJK font embedded), the charts as images."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from hub.config import get_config

    font = "HubReportCJK"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(font, str(get_config().render.font), subfontIndex=0))
    h1 = ParagraphStyle("h1", fontName=font, fontSize=15, leading=20, spaceAfter=6)
    p = ParagraphStyle("p", fontName=font, fontSize=9, leading=13)
    story: list[Any] = [Paragraph(escape(title(report)), h1)]
    table = Table([list(Report.HEADER), *[list(r) for r in report.table()]], repeatRows=1)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
                               ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6"))]))
    story += [table, Spacer(1, 4 * mm), Paragraph("评分说明", h1)]
    story += [Paragraph(escape(x), p) for x in report.weight_lines()]
    if report.groups:
        pngs = charts(report, "png")
        for name in ("scores", "ranking", "trend"):
            img = Image(io.BytesIO(pngs[name]))
            scale = (170 * mm) / img.drawWidth
            img.drawWidth, img.drawHeight = img.drawWidth * scale, img.drawHeight * scale
            story += [Spacer(1, 3 * mm), img]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title=title(report), invariant=1,
                      leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm).build(story)
    return buf.getvalue()


def export(report: Report, fmt: str) -> bytes:
    if fmt == "html":
        return to_html(report).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    raise InputError(f"--format: {fmt!r} 不是 html、pdf 或 xlsx")


__all__ = ["FORMATS", "AssessmentConfig", "Group", "RecordLine", "Report", "build", "charts", "export",
           "load_config", "month_bounds", "to_html", "to_pdf", "to_xlsx"]
