"""The sandbox's Weibo OAuth (authorisation code) endpoints, wire-faithful, and the hub's exchange of a code."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub.errors import AuthExpired

APP_KEY = "3847650001"
REDIRECT = "http://127.0.0.1:9/console/channels/weibo/callback"


def _code(sb: Any, *, redirect: str = REDIRECT) -> str:
    page = httpx.get(f"{sb.url}/oauth2/authorize", params={"client_id": APP_KEY, "redirect_uri": redirect,
                                                           "response_type": "code", "state": "s1"})
    assert page.status_code == 200 and "授权" in page.text and "weibo-county" in page.text
    r = httpx.post(f"{sb.url}/oauth2/authorize", data={"client_id": APP_KEY, "redirect_uri": redirect,
                                                       "response_type": "code", "state": "s1", "account": "weibo-county"})
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    query = parse_qs(location.query)
    assert location.path == "/console/channels/weibo/callback" and query["state"] == ["s1"]
    return query["code"][0]


def _token(sb: Any, code: str, **over: str) -> httpx.Response:
    data = {"client_id": APP_KEY, "client_secret": os.environ["HUB_WEIBO_APP_SECRET"],
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **over}
    return httpx.post(f"{sb.url}/oauth2/access_token", data=data)


def test_a_code_is_traded_once_for_a_token_the_api_then_accepts(sandbox: Any) -> None:
    r = _token(sandbox, _code(sandbox))
    body = r.json()
    assert r.status_code == 200 and body["access_token"].startswith("2.00") and body["expires_in"] > 0
    assert set(body) == {"access_token", "remind_in", "expires_in", "uid", "isRealName"}
    info = httpx.post(f"{sandbox.url}/oauth2/get_token_info", data={"access_token": body["access_token"]})
    assert info.status_code == 200 and info.json()["expire_in"] > 0


@pytest.mark.parametrize(("over", "code"), [({"client_secret": "wrong"}, 21324),
                                            ({"redirect_uri": "http://127.0.0.1:9/other"}, 21322),
                                            ({"grant_type": "password"}, 21323)])
def test_bad_exchanges_get_weibos_error_codes(sandbox: Any, over: dict[str, str], code: int) -> None:
    r = _token(sandbox, _code(sandbox), **over)
    assert r.status_code == 400 and r.json()["error_code"] == code


def test_a_used_code_is_an_invalid_grant(sandbox: Any) -> None:
    code = _code(sandbox)
    assert _token(sandbox, code).status_code == 200
    again = _token(sandbox, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_the_hubs_exchange_stores_the_token_encrypted_and_refuses_a_bad_code(sandbox: Any, db_url: str) -> None:
    from hub.channels.sendstate import default_sessions
    from hub.channels.weibo_oauth import exchange, stored_token
    from hub.config import get_config
    from hub.store.db import session_scope
    from hub.store.models import ChannelStateRow

    account = get_config().accounts["weibo-county"]
    with pytest.raises(AuthExpired, match="21325"):
        exchange(account, "weibo-county", code="nope", redirect_uri=REDIRECT)
    exchange(account, "weibo-county", code=_code(sandbox), redirect_uri=REDIRECT)
    token = stored_token(default_sessions(), "weibo-county", account)
    assert token and token.startswith("2.00")
    with session_scope() as s:
        row = s.get(ChannelStateRow, "weibo-token:weibo-county")
        assert row is not None and token not in str(row.value)  # encrypted at rest
