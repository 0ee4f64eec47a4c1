"""Management through a real browser: a user changes their password; an admin re-authorises Weibo in the sandbox."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_browser import PASSWORD, browser, live_hub, shot, sign_in  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def test_a_user_changes_their_password_and_signs_in_with_the_new_one(live_hub: str, browser: Any) -> None:  # noqa: F811
    # Given the author, signed in
    page = sign_in(browser, live_hub, "author")
    # When they change their password on 修改密码
    page.get_by_role("link", name="修改密码").click()
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码（至少 8 位）").fill("a-new-password-42")
    page.get_by_label("再次输入新密码").fill("a-new-password-42")
    page.get_by_role("button", name="修改密码").click()
    page.wait_for_load_state()
    shot(page, "m1-password-changed")
    assert "密码已修改" in page.locator(".flash").inner_text()
    page.get_by_role("button", name="退出").click()
    # Then the old password no longer works, and the new one does
    page.get_by_label("用户名").fill("author")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码不正确" in page.content()
    page.get_by_label("用户名").fill("author")
    page.get_by_label("密码").fill("a-new-password-42")
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert page.url.rstrip("/").endswith("/console")


def test_an_admin_re_authorises_the_weibo_account_and_the_adapter_uses_the_new_token(
        live_hub: str, browser: Any, sandbox: Any) -> None:  # noqa: F811
    import os

    from hub.channels.base import Target
    from hub.channels.registry import get_channel
    from hub.channels.sendstate import default_sessions
    from hub.channels.weibo_oauth import stored_token
    from hub.config import get_config

    # Given the admin on 渠道账号
    page = sign_in(browser, live_hub, "admin")
    page.get_by_role("link", name="渠道账号").click()
    row = page.locator("#acct-weibo-county")
    expiry = row.locator("td").nth(4).inner_text()
    assert "环境变量中的令牌" in expiry and re.match(r"20\d\d-\d\d-\d\d", expiry)  # asked of Weibo
    # When they click 重新授权 and grant the app on Weibo's (the sandbox's) authorisation page
    row.get_by_role("link", name="重新授权").click()
    page.wait_for_load_state()
    assert "/oauth2/authorize" in page.url and "微博授权" in page.title()
    shot(page, "m2-weibo-authorize")
    page.get_by_role("button", name="授权").click()
    page.wait_for_load_state()
    shot(page, "m3-weibo-reauthorised")
    # Then the console says so, shows the new expiry, and the adapter now uses the granted token
    assert "/console/channels" in page.url and "已重新授权" in page.locator(".flash").inner_text()
    assert "授权于" in page.locator("#acct-weibo-county").inner_text()
    account = get_config().accounts["weibo-county"]
    token = stored_token(default_sessions(), "weibo-county", account)
    assert token and token != os.environ["HUB_WEIBO_COUNTY_TOKEN"]
    assert token not in page.content()  # never shown
    channel = get_channel("weibo")
    info = channel.token_info(Target("weibo", "weibo-county", "weibo-county", {}))  # type: ignore[attr-defined]
    assert int(info["expire_in"]) > 0
    with sandbox.lock:
        assert sandbox.credentials["weibo"][token] == "weibo-county"
