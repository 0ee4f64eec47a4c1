"""``/d/<code>``: the list page a digest SMS links to (汇总短信, ``hub.audience.digest``).

Public, read-only, like the record pages: exactly the records the digest covered, each
linking to its page; a record withdrawn since then is named as withdrawn, not linked.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.audience.digest import listed
from hub.errors import NotFound
from hub.store.db import session_scope
from hub.web.pages import render

router = APIRouter()


@router.get("/d/{code}", response_class=HTMLResponse)
def digest_list(code: str, request: Request) -> HTMLResponse:
    with session_scope() as s:
        items = listed(s, code)
    if items is None:
        raise NotFound(code)
    return render(request, "portal/digest.html", {"code": code, "items": items})
