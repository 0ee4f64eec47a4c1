"""The board in a real browser (Playwright + Debian's chromium), checked with axe-core.

A citizen on a phone-width screen asks with the keyboard only, with a phone number
and an ID number in the text; the author answers in the console and proposes
publication; the reviewer approves. The citizen reads the reply on the private
link and gets the SMS in the sandbox; the published answer shows neither number.
Every public page (the form, the form with errors, the receipt, the private link,
the published answer) has no axe-core violation. Screenshots go to
test-output/screenshots/consult-*.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from consultkit import DEPT, PASSWORD, id_number

from hub.settings import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

SHOTS = PROJECT_ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live(sandbox: Any, phone_key: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import socket

    from hub import auth
    from hub.store.db import session_scope
    from hub.testing.caches import clear_caches
    from hub.testing.serve import serving
    from hub.web.app import create_app

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI")
        pytest.skip("chromium not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("HUB_PUBLIC_URL", url)
    clear_caches()
    with session_scope() as s:
        auth.add_user(s, "author", "author", DEPT, PASSWORD)
        auth.add_user(s, "reviewer", "reviewer", DEPT, PASSWORD)
    with serving(create_app(warm_search=False), port):
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def axe_clean(page: Any, name: str) -> None:
    """No axe-core violation on the page (WCAG 2.x A/AA and best practices); a screenshot either way."""
    from axe_playwright_python.sync_playwright import Axe

    page.screenshot(path=str(SHOTS / f"consult-{name}.png"), full_page=True)
    results = Axe().run(page)
    violations = results.response["violations"]
    assert not violations, (name, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations])


def staff_page(browser: Any, url: str, name: str) -> Any:
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{url}/console/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page


def submit(page: Any) -> None:
    """Press Enter on the form's submit button and wait for the answer page."""
    page.focus("form[action='/consult'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def type_into(page: Any, selector: str, text: str) -> None:
    page.focus(selector)
    page.keyboard.type(text)


def test_a_citizen_asks_on_a_phone_staff_answer_and_the_published_answer_shows_no_number(
        live: str, browser: Any, sandbox: Any) -> None:
    idn = id_number()
    ctx = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, bypass_csp=True)
    citizen = ctx.new_page()
    citizen.goto(f"{live}/consult")
    axe_clean(citizen, "01-form")
    # nothing wider than the phone: no sideways scrolling
    assert citizen.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # an empty form comes back with each error tied to its field
    submit(citizen)
    assert citizen.locator("#error-summary").count() == 1
    assert citizen.locator("#f-title").get_attribute("aria-invalid") == "true"
    axe_clean(citizen, "02-errors")

    # keyboard only: focus a field, type; choose the topic with the arrow keys
    citizen.focus("#f-topic")
    citizen.keyboard.press("ArrowDown")
    citizen.keyboard.press("ArrowDown")
    assert citizen.locator("#f-topic").input_value().startswith("i:")
    type_into(citizen, "#f-title", "低保申请需要哪些材料")
    type_into(citizen, "#f-question", f"我叫张三，身份证号{idn}，电话13912345678。请问申请低保需要哪些材料？")
    type_into(citizen, "#f-name", "张三")
    type_into(citizen, "#f-mobile", "13800138000")
    citizen.focus("#f-consent")
    citizen.keyboard.press("Space")
    submit(citizen)
    assert "咨询已提交" in citizen.content()
    axe_clean(citizen, "03-receipt")
    private = citizen.locator("a.code").get_attribute("href")
    assert private and re.search(r"/consult/[a-z0-9]{16}$", private)

    author = staff_page(browser, live, "author")
    author.goto(f"{live}/console/consult")
    author.get_by_role("link", name="低保申请需要哪些材料").click()
    page_text = author.content()
    assert idn not in page_text and "13912345678" not in page_text and "139****5678" in page_text
    author.locator("#f-answer").fill("请携带户口簿、收入证明到镇民政办申请。")
    author.locator("#f-publish").check()
    author.get_by_role("button", name="答复并关闭").click()
    author.wait_for_load_state()
    assert "已答复" in author.locator(".flash").inner_text() and "已提请公开" in author.locator(".flash").inner_text()

    reviewer = staff_page(browser, live, "reviewer")
    reviewer.goto(author.url.split("?")[0])
    reviewer.get_by_role("button", name="审核通过并公开").click()
    reviewer.wait_for_load_state()
    assert "已审核公开" in reviewer.locator(".flash").inner_text()

    sms = [m["content"]["text"] for m in sandbox.messages("sms", "sms") if m["content"]["phone"] == "+8613800138000"]
    assert len(sms) == 1 and "已有答复" in sms[0]

    citizen.goto(private)
    assert "请携带户口簿、收入证明到镇民政办申请。" in citizen.content()
    axe_clean(citizen, "04-private-link")

    citizen.goto(f"{live}/consult")
    citizen.get_by_role("link", name=re.compile("低保申请需要哪些材料")).click()
    published = citizen.content()
    assert "请携带户口簿、收入证明到镇民政办申请。" in published
    for secret in (idn, "13912345678", "139****5678", "张三"):
        assert secret not in published, secret
    axe_clean(citizen, "05-published")
