"""The FastAPI application: one app, three faces (console, portal, TV pickup), plus API and callbacks.

``create_app()`` is a factory so tests and ``hub serve`` each build a fresh
app over the current settings. Security that must hold on every page lives
here, once: the signed session cookie, the security headers (with a
Content-Security-Policy) and the error pages.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError

from hub.errors import NotFound, PermissionDenied, StorageUnavailable, WorkflowError
from hub.web import search
from hub.web.pages import LoginRequired, render
from hub.web.prometheus import make_registry
from hub.web.security import SECURITY_HEADERS, SESSION_COOKIE, SESSION_MAX_AGE_S, SessionCodec, secret_key

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def create_app(*, warm_search: bool = True) -> FastAPI:
    """Build the web app over the current settings (database, templates, secrets)."""
    from hub.web import api, callbacks, console, desk, manage, portal, tv

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from hub.store.db import get_engine

        search.ensure_index(get_engine())  # also done lazily before the first search
        if warm_search:
            search.warm_up()
        yield

    app = FastAPI(title="政务公开发布平台", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    codec = SessionCodec(secret_key())
    app.state.codec = codec
    app.state.metrics_registry = make_registry()  # /metrics (hub.web.api)

    @app.middleware("http")
    async def session_and_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.session = codec.loads(request.cookies.get(SESSION_COOKIE))
        request.state.session_dirty = False
        response = await call_next(request)
        if request.state.session_dirty:
            data = request.state.session
            if data:
                response.set_cookie(SESSION_COOKIE, codec.dumps(data), max_age=SESSION_MAX_AGE_S,
                                    httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/")
            else:
                response.delete_cookie(SESSION_COOKIE, path="/")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(("/console", "/tv", "/api")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.url.path.startswith("/api"):
            return Response(status_code=401)
        if request.url.path.startswith("/tv"):
            return RedirectResponse(f"/console/login?next={target}", status_code=303)
        return RedirectResponse(f"/console/login?next={target}", status_code=303)

    @app.exception_handler(PermissionDenied)
    async def _denied(request: Request, exc: PermissionDenied) -> Response:
        return _error_page(request, 403, "没有权限", str(exc) or "您的角色不能执行此操作。")

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound) -> Response:
        return _error_page(request, 404, "未找到", "您要找的信息不存在或已撤回。")

    @app.exception_handler(StorageUnavailable)
    async def _storage(request: Request, exc: StorageUnavailable) -> Response:
        # the shared artifact store is down: a temporary refusal, never a page naming its address
        return _error_page(request, 503, "暂时无法读取", "文件存储暂时无法访问，请稍后再试。")

    @app.exception_handler(WorkflowError)
    async def _workflow(request: Request, exc: WorkflowError) -> Response:
        return _error_page(request, 409, "无法执行", str(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        titles = {403: "请求被拒绝", 404: "未找到", 405: "不支持的操作", 429: "尝试次数过多"}
        if request.url.path.startswith(("/api", "/callbacks")):
            from fastapi.responses import JSONResponse
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _error_page(request, exc.status_code, titles.get(exc.status_code, "出错了"), str(exc.detail),
                           headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own 422 body echoes every input (a 300-character password included): only where and why
        from fastapi.responses import JSONResponse

        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200],
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        if request.url.path.startswith(("/api", "/callbacks")):
            return JSONResponse({"error": "invalid request", "detail": errors}, status_code=422)
        fields = "、".join(sorted({e["loc"][-1] for e in errors if e["loc"]})) or "请求"
        return _error_page(request, 422, "输入有误", f"以下内容不符合要求：{fields}。请检查后重试。")

    async def _range(request: Request, exc: Exception) -> Response:
        if _out_of_range(exc):  # an id beyond what the database stores (64 bits) names nothing
            return await _missing(request, NotFound(request.url.path))
        return await _crash(request, exc)

    app.add_exception_handler(OverflowError, _range)
    app.add_exception_handler(DataError, _range)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # The traceback is logged by the server; a clerk gets a page in words, not "Internal Server Error".
        if request.url.path.startswith(("/api", "/callbacks")):
            from fastapi.responses import JSONResponse
            return JSONResponse({"error": "internal error"}, status_code=500)
        return _error_page(request, 500, "系统暂时出错", "请稍后刷新重试；如果一直出现，请联系技术人员。")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(portal.router)
    from hub.web import digest_page  # /d/<code>: the records of a digest SMS

    app.include_router(digest_page.router)
    app.include_router(console.router)
    app.include_router(desk.router)
    app.include_router(manage.router)
    app.include_router(tv.router)
    app.include_router(api.router)
    app.include_router(callbacks.router)
    from hub.channels.registry import web_routers

    for router in web_routers():  # routes a channel declares for its devices (hub.channels.base.ChannelBase)
        app.include_router(router)

    from hub.web import consult_console, consult_portal  # 群众咨询 (upstream SMS: hub.web.callbacks)

    for extra in (consult_portal, consult_console):
        app.include_router(extra.router)

    return app


def _out_of_range(exc: BaseException) -> bool:
    """An integer the database cannot store (SQLite OverflowError, PostgreSQL "out of range")."""
    from sqlalchemy.exc import DataError

    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, OverflowError) or (isinstance(seen, DataError) and "out of range" in str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "orig", None)
    return False


def _error_page(request: Request, status: int, title: str, message: str,
                headers: Mapping[str, str] | None = None) -> HTMLResponse:
    ctx: dict[str, Any] = {"title": title, "message": message, "status": status}
    template = "error.html"
    if request.url.path.startswith("/console") and not request.url.path.startswith("/console/login"):
        from hub.web.wording import in_chinese

        # a console error stays in the console's layout, in words an editor reads
        template, ctx["message"] = "console/error.html", in_chinese(message)
    response = render(request, template, ctx, status_code=status)
    if headers:
        response.headers.update(headers)
    return response
