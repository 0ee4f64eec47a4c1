"""群众咨询 on the portal: ask (``GET/POST /consult``), read the reply (``/consult/<code>``), the published answers.

No account and no JavaScript: a plain form, CSRF-protected like every POST of
the app (``hub.web.security.csrf_protect``; the token lives in the signed
session cookie the form's GET sets). Errors come back on the same form, each
tied to its field (``aria-describedby``) and listed in a summary that takes
focus-order first. The rules themselves (limits, masking, routing) are in
``hub.consult``; this module only parses, calls and renders.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.consult import answers, intake, publication, routing
from hub.consult.settings import get_consult_settings
from hub.errors import InputError, NotFound
from hub.settings import get_settings
from hub.store.db import session_scope
from hub.timeutil import utcnow
from hub.web.pages import render
from hub.web.security import csrf_protect, secret_key

router = APIRouter(dependencies=[Depends(csrf_protect)])


def client_key(request: Request) -> str:
    """A keyed digest of the client's address: rate limits count it without storing the address."""
    host = request.client.host if request.client else "-"
    return hmac.new(secret_key().encode("utf-8"), f"consult:{host}".encode(), hashlib.sha256).hexdigest()[:40]


def _form_page(request: Request, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
               status_code: int = 200, category: str | None = None) -> HTMLResponse:
    with session_scope() as s:
        groups = routing.topic_choices(s)
        published = publication.published(s, category=category)
        categories = publication.categories(s)
    response = render(request, "portal/consult.html", {
        "groups": groups, "values": values or {}, "errors": errors or {}, "published": published,
        "categories": categories, "category": category, "limits": get_consult_settings().limits,
        "reply_workdays": get_consult_settings().reply_workdays}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # the form carries this session's CSRF token
    return response


@router.get("/consult", response_class=HTMLResponse)
def consult_form(request: Request, category: str | None = Query(None, max_length=200)) -> HTMLResponse:
    return _form_page(request, category=category)


@router.post("/consult", response_class=HTMLResponse)
def consult_ask(request: Request, topic: str = Form(""), title: str = Form(""), question: str = Form(""),
                name: str = Form(""), mobile: str = Form(""), consent: str = Form(""),
                website: str = Form("")) -> HTMLResponse:
    values = {"topic": topic, "title": title, "question": question, "name": name, "mobile": mobile,
              "consent": bool(consent)}
    q = intake.Question(topic=topic, title=title[:1000], text=question[:20000], name=name[:200],
                        phone=mobile[:40], consent=bool(consent), honeypot=website)
    try:
        asked = intake.ask(q, client_key=client_key(request))
    except intake.FieldErrors as exc:
        return _form_page(request, values=values, errors=exc.errors, status_code=400)
    except intake.TooMany as exc:
        return _form_page(request, values=values, errors={"form": str(exc)}, status_code=429)
    url = f"{get_settings().public_url.rstrip('/')}/consult/{asked.code}"
    done = render(request, "portal/consult_done.html", {"asked": asked, "url": url,
                                                        "has_phone": bool(mobile.strip())})
    done.headers["Cache-Control"] = "no-store"  # the private code is shown once, to this browser only
    return done


@router.get("/consult/published/{consultation_id}", response_class=HTMLResponse)
def consult_published(request: Request, consultation_id: int) -> HTMLResponse:
    with session_scope() as s:
        row = publication.published_one(s, consultation_id)
        if row is None:
            raise NotFound(str(consultation_id))
        return render(request, "portal/consult_published.html", {"row": row})


@router.get("/consult/feed.xml")
def consult_feed(request: Request) -> Response:
    """The Atom feed of published answers (RFC 4287), apart from the records' feed."""
    from hub.web.pages import environment, site_name

    with session_scope() as s:
        rows = publication.published(s, limit=50)
        updated: datetime = max((r.published_at or r.created_at for r in rows), default=utcnow())
        xml = environment().get_template("portal/consult_feed.xml").render(
            rows=rows, base=get_settings().public_url.rstrip("/"), updated=updated, site_name=site_name())
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


def _private_page(request: Request, code: str, *, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    with session_scope() as s:
        row = intake.by_code(s, code)
        if row is None:
            raise NotFound(code)
        messages = answers.thread(s, row.id)
        return render(request, "portal/consult_private.html", {
            "row": row, "messages": messages, "code": code, "error": error, "kinds": answers.KIND_NAMES,
            "states": answers.STATE_NAMES}, status_code=status_code)


@router.get("/consult/{code}", response_class=HTMLResponse)
def consult_private(request: Request, code: str) -> HTMLResponse:
    response = _private_page(request, code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.post("/consult/{code}", response_class=HTMLResponse, response_model=None)
def consult_reply(request: Request, code: str, reply: str = Form("")) -> Response:
    try:
        with session_scope() as s:
            row = intake.by_code(s, code)
            if row is None:
                raise NotFound(code)
            answers.citizen_reply(s, row, reply[:20000])
    except NotFound:
        raise
    except InputError as exc:
        return _private_page(request, code, error=str(exc), status_code=400)
    return RedirectResponse(f"/consult/{code}", status_code=303)
