"""What the console shows of the engagement figures: a record's panel, and the county's top and bottom.

Kept here, not in ``hub.web.console``: the console only passes these dicts to its
templates (``console/engagement.html``, ``console/engagement_county.html``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.metrics import METRICS, store
from hub.metrics.collect import failures
from hub.store.models import DeliveryRow, EngagementRow, VersionRow
from hub.timeutil import SHANGHAI, utcnow

#: the columns of the record panel: what an editor asks first
PANEL_METRICS = ("reads", "shares", "likes", "comments", "favorites", "scans", "views", "delivered", "collections")
#: what counts as engagement in the county's ranking (as the assessment's default)
ENGAGEMENT = ("reads", "shares", "likes", "comments", "favorites", "scans", "views", "collections")


@dataclass
class ChannelLine:
    channel: str
    label: str
    figures: dict[str, int]
    as_of: str | None
    refused: str | None


def record_panel(session: Session, record_id: str) -> dict[str, Any]:
    """Per channel: totals, the date of the last figures, a refusal note; and the chart (SVG) over time."""
    from hub.channels.registry import label

    points = store.series(session, record_id)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p in points:
        totals[p.channel][p.metric] += p.value
    stamps = store.as_of(session, record_id)
    refused = failures(session)
    targets = {(c, t) for c, t in session.execute(
        select(DeliveryRow.channel, DeliveryRow.target).where(DeliveryRow.record_id == record_id)).all()}
    lines = []
    for channel in sorted(totals):
        note = next((f"{v.get('at', '')[:10]} 平台拒绝（{v.get('error')}"
                     f"{' ' + str(v['code']) if v.get('code') else ''}），显示的是上次的数据"
                     for k, v in refused.items() for c, t in targets if k == f"{c}:{t}" and c == channel), None)
        at = stamps.get(channel)
        lines.append(ChannelLine(channel, label(channel), dict(totals[channel]),
                                 at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at else None, note))
    columns = [m for m in PANEL_METRICS if any(m in ln.figures for ln in lines)]
    return {"lines": lines, "columns": [(m, METRICS[m]) for m in columns],
            "chart": _chart(points) if points else None}


def _chart(points: list[store.Point]) -> str:
    """Reads, shares, likes and scans per channel over time, one small panel per metric (an SVG data URI)."""
    import io

    from hub.channels.registry import label
    from hub.metrics.assessment import pyplot, svg_data_uri

    plt = pyplot()
    shown = [m for m in ("reads", "shares", "likes", "scans") if any(p.metric == m for p in points)]
    if not shown:
        shown = sorted({p.metric for p in points})[:4]
    days = sorted({p.day for p in points})
    fig, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown) + 0.5, 2.4), squeeze=False)
    for ax, metric in zip(axes[0], shown, strict=True):
        per: dict[str, dict[str, int]] = defaultdict(dict)
        for p in points:
            if p.metric == metric:
                per[p.channel][p.day] = per[p.channel].get(p.day, 0) + p.value
        for channel, by_day in sorted(per.items()):
            running, ys = 0, []
            for d in days:
                running += by_day.get(d, 0)
                ys.append(running)
            ax.plot([d[5:] for d in days], ys, marker="o", markersize=3, label=label(channel))
        ax.set_title(f"{METRICS.get(metric, metric)}（累计）", fontsize=10)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return svg_data_uri(buf.getvalue())


def county_panel(session: Session, *, days: int = 30, top: int = 5, today: date | None = None) -> dict[str, Any]:
    """The last ``days`` days: the records and departments with the most and the least engagement."""
    today = today or utcnow().astimezone(SHANGHAI).date()
    since = (today - timedelta(days=days - 1)).isoformat()
    per_record: dict[str, int] = {}
    for rid, n in session.execute(
            select(EngagementRow.record_id, func.sum(EngagementRow.value))
            .where(EngagementRow.day >= since, EngagementRow.metric.in_(ENGAGEMENT))
            .group_by(EngagementRow.record_id)):
        per_record[str(rid)] = int(n or 0)
    published = session.execute(
        select(VersionRow.record_id, VersionRow.title, VersionRow.department, VersionRow.version)
        .where(VersionRow.state == "published")).all()
    info = {str(r): (str(t), d or "（未注明）", str(v)) for r, t, d, v in published}
    for rid in info:
        per_record.setdefault(rid, 0)
    records = sorted(((n, rid) for rid, n in per_record.items() if rid in info), key=lambda x: (-x[0], x[1]))
    per_dept: dict[str, list[int]] = defaultdict(list)
    for n, rid in records:
        per_dept[info[rid][1]].append(n)
    depts = sorted(((sum(v) / len(v), d, len(v)) for d, v in per_dept.items()), key=lambda x: (-x[0], x[1]))

    def rec(item: tuple[int, str]) -> dict[str, Any]:
        n, rid = item
        return {"record_id": rid, "title": info[rid][0], "department": info[rid][1], "version": info[rid][2],
                "total": n}

    def dep(item: tuple[float, str, int]) -> dict[str, Any]:
        return {"department": item[1], "per_record": round(item[0], 1), "records": item[2]}

    def split(n: int) -> tuple[int, int]:  # top and bottom never show the same line twice
        low = min(top, n // 2)
        return min(top, n - low), low

    rt, rb = split(len(records))
    dt, db = split(len(depts))
    return {"days": days, "top_records": [rec(x) for x in records[:rt]],
            "bottom_records": [rec(x) for x in records[::-1][:rb]],
            "top_departments": [dep(x) for x in depts[:dt]],
            "bottom_departments": [dep(x) for x in depts[::-1][:db]]}


__all__ = ["county_panel", "record_panel"]
