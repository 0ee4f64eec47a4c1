"""The JSON API and /metrics.

- ``GET /api/status[?ref=]``: the delivery status contract (``hub status --json``), staff only, with the
  department rule (authors and reviewers see their own department's deliveries).
- ``GET /api/records``, ``GET /api/records/{id}``: what the portal publishes, for anyone.
- ``GET /metrics``: Prometheus text: deliveries per channel and state, published records,
  short-link scans per channel. Built per request from the database (the ledger is the truth).
  Only with ``Authorization: Bearer $HUB_METRICS_TOKEN`` or a staff login.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from hub import auth
from hub.auth import Action
from hub.errors import NotFound
from hub.store.db import session_scope
from hub.store.models import DeliveryRow, UserRow, VersionRow
from hub.web import queries
from hub.web.pages import load_user, staff
from hub.web.security import csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)])


@router.get("/api/status")
def api_status(ref: str | None = None,
               user: UserRow = Depends(staff(Action.DELIVERY_VIEW.value))) -> dict[str, Any]:  # noqa: B008
    """The ledger, with the department rule: an author or reviewer sees only their department's deliveries."""
    from hub.queue.status import status_json

    departments: dict[str, str] = {}
    with session_scope() as s:

        def visible(row: DeliveryRow) -> bool:
            if row.version not in departments:
                v = s.get(VersionRow, row.version)
                departments[row.version] = (v.department or "") if v is not None else ""
            return auth.can(user, Action.DELIVERY_VIEW, department=departments[row.version])

        return status_json(s, ref, visible=visible)


@router.get("/api/records")
def api_records(stage: str | None = None, domain: str | None = None, level: str | None = None,
                limit: int = 50) -> dict[str, Any]:
    with session_scope() as s:
        rows = queries.published(s, stage=stage, domain=domain, level=level, limit=max(1, min(limit, 200)))
        return {"records": [{"id": r.record_id, "version": r.version, "title": r.title, "index_no": r.index_no,
                             "department": r.department, "stage": r.stage, "domain": r.domain,
                             "level": r.level, "region": r.region,
                             "published_at": None if r.published_at is None else r.published_at.isoformat(),
                             "url": f"/records/{r.record_id}"} for r in rows]}


@router.get("/api/records/{record_id}")
def api_record(record_id: str) -> dict[str, Any]:
    from hub.store.repo import record_of

    with session_scope() as s:
        row = queries.published_version(s, record_id)
        if row is None:
            raise NotFound(record_id)
        return {"version": row.version, "record": record_of(row).content()}


def metrics_allowed(request: Request) -> None:
    """``/metrics`` is for the monitoring system or staff: ``HUB_METRICS_TOKEN`` as a bearer token, or a login.

    Why: the gauges name channels, accounts' trouble and volumes; a public page told
    anyone how the county's publishing was going (issue 18).
    """
    expected = os.environ.get("HUB_METRICS_TOKEN", "")
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if expected and given and hmac.compare_digest(given.encode(), expected.encode()):
        return
    user = load_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail="sign in or present HUB_METRICS_TOKEN",
                            headers={"WWW-Authenticate": "Bearer"})
    auth.require(user, Action.DELIVERY_VIEW)


@router.get("/metrics", dependencies=[Depends(metrics_allowed)])
def metrics(request: Request) -> Response:
    """The app's registry (``hub.web.prometheus``), collected from the database now."""
    from hub.web.prometheus import CONTENT_TYPE, exposition

    return Response(exposition(request.app.state.metrics_registry), media_type=CONTENT_TYPE)
