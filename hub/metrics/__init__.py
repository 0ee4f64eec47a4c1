"""Engagement metrics from every channel, and the department assessment (考核), issue 15.

* ``hub.metrics.collect``: asks every channel that declares the ``metrics`` capability
  (``hub.channels.base.Measurable``) for the figures of its confirmed deliveries, in
  batches, plus the hub's own counts (short-link and QR scans, portal page views), and
  stores them as a time series (``hub.metrics.store``: one row per source × day × metric
  in the ``engagement`` table; a period's figure is a sum).
* ``hub.metrics.schedule``: the periodic collection (an actor the maintenance pass enqueues).
* ``hub.metrics.assessment``: the per-department report, its weights in ``config/assessment.toml``.

This package file imports nothing of the hub, so adapters can import ``METRICS``.
"""

from __future__ import annotations

#: every metric name a channel or the hub reports, and what an editor reads
METRICS: dict[str, str] = {
    "reads": "阅读", "read_users": "阅读人数", "shares": "转发", "favorites": "收藏", "likes": "点赞",
    "comments": "评论", "scans": "扫码/点击", "views": "网站浏览", "delivered": "短信送达",
    "failed": "短信失败", "opted_out": "退订跳过", "collections": "电视台下载",
}

__all__ = ["METRICS"]
