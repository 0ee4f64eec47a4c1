"""The whole hub through a real browser (Playwright + Debian's chromium, headless).

An author writes a record with a phone number in it, sees the finding, masks it
and submits; the reviewer approves; the office publishes; the delivery board
reaches 已送达 (confirmed) for every channel through the sandbox (the TV
station collects its package on /tv); a citizen finds the record on the portal
by search and by stage and opens its short link, which counts the scan.
Screenshots of every page go to test-output/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.settings import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(2400)]
#: A 1-minute 1080p package renders in 1–3 minutes on 2 idle cores; a loaded machine takes far longer.
VIDEO_WAIT_S = 1200

SHOTS = PROJECT_ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "browser-test-pw"
TITLE = "关于涧池镇2026年度高标准农田建设项目征地补偿的公示"
BODY = """一、项目概况
涧池镇2026年度高标准农田建设项目共征收集体土地42.6亩，涉及农户17户。
二、补偿标准
按照县人民政府批准的标准，每亩补偿3.8万元，补偿款已足额拨付至镇财政所。
三、监督方式
公示期为7个工作日。对公示内容有异议的，请与经办人王明联系，电话13912345678。"""


def _config_without_quiet_hours(tmp: Path) -> Path:
    """A copy of config/ whose SMS quiet hours are off, so the test does not depend on the clock."""
    from hub.settings import get_settings

    dst = tmp / "config"
    shutil.copytree(get_settings().config_dir, dst)
    toml = dst / "channels.toml"
    toml.write_text(re.sub(r'(?m)^quiet_hours\s*=.*$', 'quiet_hours = ""', toml.read_text("utf-8")), "utf-8")
    return dst


@pytest.fixture
def live_hub(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``hub serve`` in a thread: uvicorn on a random loopback port with the embedded worker."""
    from web_helpers import clear_caches, free_port

    from hub.audience import subscribers
    from hub.audience.subscribers import new_key
    from hub.commands.web import seed_demo
    from hub.queue.runtime import start_embedded_worker
    from hub.store.db import get_engine, session_scope
    from hub.testing.serve import serving
    from hub.web.app import create_app

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI")
        pytest.skip("chromium not installed")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("HUB_PUBLIC_URL", url)
    monkeypatch.setenv("HUB_CONFIG_DIR", str(_config_without_quiet_hours(tmp_path)))
    monkeypatch.setenv("HUB_PHONE_KEY", new_key())
    monkeypatch.setenv("HUB_DEMO_PASSWORD", PASSWORD)
    clear_caches()
    get_engine()
    seed_demo()
    with session_scope() as s:
        for i in range(1, 4):
            subscribers.upsert(s, f"+86138001380{i:02d}", level="county")
    worker = start_embedded_worker(threads=4)
    try:
        with serving(create_app(), port):
            yield url
    finally:
        worker.stop()


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


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(browser: Any, url: str, name: str) -> Any:
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(f"{url}/console/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page


def board_states(page: Any) -> dict[str, str]:
    """channel name → state shown on the delivery board, per row."""
    rows = page.locator("#board tbody tr[data-state]")
    out = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        out[f"{cells.nth(0).inner_text()}/{cells.nth(1).inner_text()}"] = rows.nth(i).get_attribute("data-state")
    return out


def fresh_board(page: Any, board_url: str) -> dict[str, str]:
    """Load the board (its own <meta refresh> may navigate at the same moment: then load again)."""
    from playwright.sync_api import Error

    for _ in range(5):
        try:
            page.goto(board_url)
            return board_states(page)
        except Error:
            time.sleep(0.5)
    raise AssertionError("the delivery board did not load")


def test_a_record_goes_from_the_author_to_every_channel_and_a_citizen_finds_it(live_hub: str, browser: Any
                                                                              ) -> None:
    url = live_hub
    # Given an author who writes a record with a mobile number in it
    author = sign_in(browser, url, "author")
    shot(author, "01-console-dashboard")
    author.get_by_role("link", name="新建公开信息").click()
    author.locator("#f-title").fill(TITLE)
    author.locator("#f-stage").select_option("结果")
    author.locator("#f-domain").fill("征地补偿")
    author.locator("#f-item").fill("征地补偿费用发放")
    author.locator("#f-doc_no").fill("涧政发〔2026〕12号")
    author.locator("#f-index_no").fill("jczf/2026-0012")
    author.locator("#f-body").fill(BODY)
    shot(author, "02-console-new-record")
    author.get_by_role("button", name="保存并检查").click()
    # Then the check finds the number, at its place in the text
    finding = author.locator(".finding.blocking")
    assert finding.count() == 1 and "手机号码" in finding.inner_text()
    assert author.locator(".annotated .mark").inner_text() == "13912345678"
    shot(author, "03-console-finding")
    # When they mask it with one click, a new version without the number is saved and checked again
    author.get_by_role("button", name="一键遮盖").click()
    assert "已遮盖 1 处" in author.locator(".flash").inner_text()
    assert author.locator(".finding").count() == 0
    assert "139****5678" in author.content() and "13912345678" not in author.content()
    version = re.search(r"/console/v/([0-9a-f]{64})", author.url).group(1)
    author.get_by_role("link", name="各渠道预览").click()
    author.locator(".phone").first.wait_for()
    assert author.locator(".sms-bubble").count() == 1 and "条短信" in author.content()
    author.locator(".web-frame").scroll_into_view_if_needed()
    author.frame_locator(".web-frame").locator("h1").wait_for()
    author.frame_locator(".wx-content").locator("p").first.wait_for()
    shot(author, "04-console-previews")
    # the TV package takes minutes to render: the author starts it from the previews page and waits
    deadline = time.monotonic() + VIDEO_WAIT_S
    while author.locator("video").count() == 0:
        assert "视频生成失败" not in author.content(), author.locator(".error").all_inner_texts()
        assert time.monotonic() < deadline, f"the video preview was not rendered in {VIDEO_WAIT_S} s"
        start = author.get_by_role("button", name="生成视频预览")
        if start.count():  # not started yet (or the last job ended without a package): start it
            start.click()
            author.wait_for_load_state()
            continue
        time.sleep(5)
        author.goto(author.url.split("?")[0])
    assert author.locator("video track[kind=subtitles]").count() == 1
    author.locator("video").scroll_into_view_if_needed()
    shot(author, "04b-console-previews-video")
    author.goto(f"{url}/console/v/{version}")
    assert author.get_by_role("button", name="提交审核").count() == 1, author.locator("main").inner_text()[:800]
    author.get_by_role("button", name="提交审核").click()
    assert "待审核" in author.locator(".toolbar .state").inner_text()

    # The reviewer approves
    reviewer = sign_in(browser, url, "reviewer")
    reviewer.get_by_role("link", name=TITLE).first.click()
    reviewer.get_by_label("审核意见").fill("同意发布")
    shot(reviewer, "05-console-review")
    reviewer.get_by_role("button", name="审核通过").click()
    assert "已审核" in reviewer.locator(".toolbar .state").inner_text()

    # The office publishes once, and watches the board
    office = sign_in(browser, url, "office")
    office.goto(f"{url}/console/v/{version}")
    office.get_by_role("button", name="一键发布到各渠道").click()
    assert "/deliveries" in office.url
    channels = board_states(office)
    assert {k.split("/")[0] for k in channels} >= {"政府网站", "微信公众号", "政务微博", "短信", "电视台", "报社"}
    shot(office, "06-console-board-started")

    # The TV station collects its package once it is ready
    station = sign_in(browser, url, "station")
    deadline = time.monotonic() + 600
    collected = False
    states: dict[str, str] = {}
    board_url = office.url.split("?")[0]
    while time.monotonic() < deadline:
        states = fresh_board(office, board_url)
        tv = [s for k, s in states.items() if k.startswith("电视台")]
        if not collected and tv and all(s == "submitted" for s in tv):
            station.goto(f"{url}/tv")
            station.locator("video").first.wait_for()
            shot(station, "07-tv-pickup")
            with station.expect_download() as dl:
                station.get_by_role("link", name="下载视频包（zip）").first.click()
            assert dl.value.suggested_filename.endswith(".zip")
            collected = True
        if states and all(s in ("confirmed", "failed", "expired", "cancelled") for s in states.values()):
            break
        time.sleep(2)
    fresh_board(office, board_url)
    shot(office, "08-console-board-done")
    assert states and all(s == "confirmed" for s in states.values()), (states, office.locator("#board").inner_text())
    assert "全部完成" in office.content()
    office.goto(f"{url}/console/county")
    shot(office, "09-console-county")

    # A citizen finds it on the portal, by search and by stage, and opens the short link
    citizen = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    citizen.goto(url + "/")
    assert TITLE in citizen.content()
    shot(citizen, "10-portal-home")
    citizen.get_by_label("搜索政务公开信息").fill("高标准农田")
    citizen.get_by_role("button", name="搜索").first.click()
    assert citizen.locator(".hits li h2").first.inner_text() == TITLE
    shot(citizen, "11-portal-search")
    citizen.get_by_role("link", name="结果公开").first.click()
    assert citizen.get_by_role("link", name=TITLE).count() == 1
    shot(citizen, "12-portal-stage")
    citizen.get_by_role("link", name=TITLE).click()
    table = citizen.locator("table.meta-table").inner_text()
    for label in ("索引号", "公开责任部门", "文号", "成文日期", "公开日期", "有效性", "jczf/2026-0012"):
        assert label in table
    assert "139****5678" in citizen.content() and "13912345678" not in citizen.content()
    shot(citizen, "13-portal-record")
    short = citizen.locator(".qr figcaption a").get_attribute("href")
    assert short and "/s/" in short
    citizen.goto(short)
    assert citizen.url.endswith(f"/records/{version and citizen.url.rsplit('/', 1)[-1]}")
    assert TITLE in citizen.content()

    from hub.store.db import session_scope
    from hub.store.models import ScanRow, ShortLinkRow

    code = short.rsplit("/", 1)[-1]
    with session_scope() as s:
        link = s.get(ShortLinkRow, code)
        assert link is not None and link.channel == "web" and link.scans == 1
        assert s.query(ScanRow).filter_by(code=code).count() == 1

    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                device_scale_factor=2).new_page()
    phone.goto(url + citizen.url.split(url, 1)[-1])
    shot(phone, "14-portal-record-phone")
    phone.goto(url + "/")
    shot(phone, "15-portal-home-phone")
