"""Guarded console routes for modules beyond ``hub.web.console`` (desk, management pages).

The same rule as ``console.route``: a route is registered together with its role
check (``pages.staff``) and listed in ``ROUTE_ACTIONS``, which the security tests walk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from hub.auth import Action
from hub.web.pages import ROUTE_ACTIONS, staff
from hub.web.security import csrf_protect

Deco = Callable[[Callable[..., Any]], Callable[..., Any]]


def console_router() -> tuple[APIRouter, Callable[[str, str, Action], Deco]]:
    """A ``/console`` router with CSRF protection, and its ``route(method, path, action)`` decorator."""
    router = APIRouter(prefix="/console", dependencies=[Depends(csrf_protect)])

    def route(method: str, path: str, action: Action) -> Deco:
        ROUTE_ACTIONS.append((method, "/console" + path, action.value))

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            return router.api_route(path, methods=[method], dependencies=[Depends(staff(action.value))])(fn)

        return deco

    return router, route
