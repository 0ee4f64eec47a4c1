"""The WeChat fake on the wire: what a client sees must match the real API's habits (channel-apis.md §1)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import xmltodict
from PIL import Image
from wechatpy import WeChatClient, parse_message
from wechatpy.exceptions import APILimitedException, WeChatClientException
from wechatpy.utils import check_signature

from hub.sandbox.app import build_sandbox
from hub.sandbox.core import Sandbox

APPID, SECRET = "wxtestapp00000001", "s3cret-for-the-fake"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    sandbox = build_sandbox(0, credentials={"wechat": {APPID: SECRET}})
    with sandbox:
        yield sandbox


def jpeg(size: tuple[int, int] = (300, 128), quality: int = 80, noise: bool = False) -> bytes:
    img = Image.effect_noise(size, 80).convert("RGB") if noise else Image.new("RGB", size, "#884422")
    out = BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (20, 20), "#00ff00").save(out, "PNG")
    return out.getvalue()


def stable(sb: Sandbox, **extra: Any) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **extra}
    return httpx.post(f"{sb.url}/cgi-bin/stable_token", content=json.dumps(body), timeout=5).json()


class Client(WeChatClient):  # type: ignore[misc]
    """wechatpy pointed at the fake, as channel-apis.md §1.9 does it."""

    def __init__(self, sb: Sandbox, secret: str = SECRET, auto_retry: bool = False) -> None:
        super().__init__(APPID, secret, timeout=5, auto_retry=auto_retry)
        self.API_BASE_URL = f"{sb.url}/cgi-bin/"

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(url=self.API_BASE_URL + "token", params={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


def published_draft(c: Client, title: str = "测试文章") -> str:
    thumb = c.post("material/add_material", params={"type": "thumb"}, files={"media": ("c.jpg", jpeg(), "image/jpeg")})
    draft = c.post("draft/add", data={"articles": [{"title": title, "content": "<p>正文</p>",
                                                    "thumb_media_id": thumb["media_id"]}]})
    return str(draft["media_id"])


def test_errors_are_errcode_bodies_on_http_200(sb: Sandbox) -> None:
    r = httpx.get(f"{sb.url}/cgi-bin/token", params={"grant_type": "client_credential", "appid": "wxnope",
                                                      "secret": "x"}, timeout=5)
    assert r.status_code == 200 and r.json()["errcode"] == 40013
    r = httpx.get(f"{sb.url}/cgi-bin/token", params={"grant_type": "client_credential", "appid": APPID,
                                                      "secret": "wrong"}, timeout=5)
    assert r.json()["errcode"] == 40125


def test_a_new_cgi_bin_token_invalidates_the_previous_one(sb: Sandbox) -> None:
    c = Client(sb)
    c.fetch_access_token()
    first = c.access_token
    c.fetch_access_token()
    r = httpx.post(f"{sb.url}/cgi-bin/draft/get", params={"access_token": first}, content=b"{}", timeout=5)
    assert r.json()["errcode"] == 40001


def test_stable_token_is_stable_until_forced_and_isolated_from_cgi_bin_token(sb: Sandbox) -> None:
    a, b = stable(sb), stable(sb)
    assert a["access_token"] == b["access_token"] and 0 < b["expires_in"] <= 7200
    Client(sb).fetch_access_token()  # a cgi-bin/token fetch does not touch the stable token
    forced = stable(sb, force_refresh=True)
    assert forced["access_token"] != a["access_token"]
    r = httpx.post(f"{sb.url}/cgi-bin/draft/get", params={"access_token": a["access_token"]}, content=b"{}",
                   timeout=5)
    assert r.json()["errcode"] == 40001


def test_tokens_expire_with_42001_and_stable_token_renews_in_the_last_window(sb: Sandbox) -> None:
    sb.options["wechat_token_ttl"] = 1.0
    tok = stable(sb)["access_token"]
    time.sleep(0.95)  # inside the last tenth: normal mode hands out a new token
    assert stable(sb)["access_token"] != tok
    time.sleep(0.2)
    r = httpx.post(f"{sb.url}/cgi-bin/draft/get", params={"access_token": tok}, content=b"{}", timeout=5)
    assert r.json()["errcode"] == 42001


def test_thumb_rules_jpg_only_and_at_most_64_kb(sb: Sandbox) -> None:
    c = Client(sb)
    with pytest.raises(WeChatClientException) as info:
        c.post("material/add_material", params={"type": "thumb"}, files={"media": ("c.png", png(), "image/png")})
    assert info.value.errcode == 40005
    big = jpeg((900, 900), 95, noise=True)
    assert len(big) > 64 * 1024
    with pytest.raises(WeChatClientException) as info:
        c.post("material/add_material", params={"type": "thumb"}, files={"media": ("c.jpg", big, "image/jpeg")})
    assert info.value.errcode == 40009
    with pytest.raises(WeChatClientException) as info:
        c.post("material/add_material", params={"type": "thumb"}, data=b"no file")
    assert info.value.errcode == 41005
    ok = c.post("material/add_material", params={"type": "thumb"}, files={"media": ("c.jpg", jpeg(), "image/jpeg")})
    assert ok["media_id"] and httpx.get(ok["url"], timeout=5).content.startswith(b"\xff\xd8")


def test_uploadimg_takes_jpg_png_under_1_mb(sb: Sandbox) -> None:
    c = Client(sb)
    url = c.media.upload_image(("i.png", png(), "image/png"))
    assert url.startswith(sb.url)
    gif = BytesIO()
    Image.new("P", (4, 4)).save(gif, "GIF")
    with pytest.raises(WeChatClientException) as info:
        c.post("media/uploadimg", files={"media": ("i.gif", gif.getvalue(), "image/gif")})
    assert info.value.errcode == 40005


@pytest.mark.parametrize(("article", "code"), [
    ({"title": "标" * 33, "content": "<p>x</p>"}, 45003),
    ({"title": "t", "content": "字" * 20000}, 45002),
    ({"title": "t", "content": "<p>x</p>", "digest": "摘" * 129}, 45004),
    ({"title": "t", "content": "<p>x</p>", "author": "作" * 17}, 45110),
    ({"title": "", "content": "<p>x</p>"}, 44003),
    ({"title": "t", "content": ""}, 44004),
    ({"title": "t", "content": "<p>x</p>", "thumb_media_id": "nope"}, 40007),
])
def test_draft_add_validates_the_article_fields(sb: Sandbox, article: dict[str, Any], code: int) -> None:
    c = Client(sb)
    thumb = c.post("material/add_material", params={"type": "thumb"}, files={"media": ("c.jpg", jpeg(), "image/jpeg")})
    with pytest.raises(WeChatClientException) as info:
        c.post("draft/add", data={"articles": [{"thumb_media_id": thumb["media_id"], **article}]})
    assert info.value.errcode == code


def test_draft_add_strips_scripts_and_foreign_images(sb: Sandbox) -> None:
    c = Client(sb)
    own = c.media.upload_image(("i.png", png(), "image/png"))
    thumb = c.post("material/add_material", params={"type": "thumb"}, files={"media": ("c.jpg", jpeg(), "image/jpeg")})
    content = f'<p>a</p><script>alert(1)</script><img src="{own}"><img src="http://evil.example/x.png">'
    media_id = c.post("draft/add", data={"articles": [{"title": "t", "content": content,
                                                       "thumb_media_id": thumb["media_id"]}]})["media_id"]
    [kept] = c.post("draft/get", data={"media_id": media_id})["news_item"]
    assert "script" not in kept["content"] and own in kept["content"] and "evil.example" not in kept["content"]


def test_submit_publishes_after_the_delay_and_leaves_the_draft_box(sb: Sandbox) -> None:
    sb.set_faults("wechat", publish_delay=0.3)
    c = Client(sb)
    media_id = published_draft(c)
    sub = c.post("freepublish/submit", data={"media_id": media_id})
    assert sub["errcode"] == 0 and sub["publish_id"] and sub["msg_data_id"]
    assert c.post("freepublish/get", data={"publish_id": sub["publish_id"]}) == {
        "publish_id": sub["publish_id"], "publish_status": 1}
    with pytest.raises(WeChatClientException) as info:
        c.post("draft/get", data={"media_id": media_id})
    assert info.value.errcode == 40007
    time.sleep(0.35)
    done = c.post("freepublish/get", data={"publish_id": sub["publish_id"]})
    assert done["publish_status"] == 0 and done["article_detail"]["count"] == 1
    assert httpx.get(done["article_detail"]["item"][0]["article_url"], timeout=5).status_code == 200
    listing = c.post("freepublish/batchget", data={"offset": 0, "count": 20, "no_content": 1})
    assert listing["total_count"] == 1 and listing["item"][0]["article_id"] == done["article_id"]
    with pytest.raises(WeChatClientException) as info:
        c.post("freepublish/get", data={"publish_id": "1"})
    assert info.value.errcode == 53502


def test_a_configured_failure_lists_the_failed_articles(sb: Sandbox) -> None:
    sb.set_faults("wechat", publish_delay=0, publish_status=2)
    c = Client(sb)
    sub = c.post("freepublish/submit", data={"media_id": published_draft(c)})
    got = c.post("freepublish/get", data={"publish_id": sub["publish_id"]})
    assert got["publish_status"] == 2 and got["fail_idx"] == [1] and "article_id" not in got


def test_rate_limit_knob_is_45009_which_wechatpy_raises_as_api_limited(sb: Sandbox) -> None:
    c = Client(sb)
    c.fetch_access_token()
    sb.set_faults("wechat", rate_limit_rate=1.0)
    with pytest.raises(APILimitedException):
        c.post("draft/get", data={"media_id": "x"})


def test_token_expired_knob_counts_down(sb: Sandbox) -> None:
    c = Client(sb)
    c.fetch_access_token()
    sb.set_faults("wechat", token_expired=2)
    for _ in range(2):
        with pytest.raises(WeChatClientException) as info:
            c.post("draft/get", data={"media_id": "x"})
        assert info.value.errcode == 42001
    with pytest.raises(WeChatClientException) as info:
        c.post("draft/get", data={"media_id": "x"})
    assert info.value.errcode == 40007


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, list[str]], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append((parse_qs(urlsplit(self.path).query), body))
        self.send_response(200)
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def test_the_publishjobfinish_event_is_posted_signed_to_the_hub(sb: Sandbox) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    _Receiver.got.clear()
    try:
        sb.options["wechat_callback_url"] = f"http://127.0.0.1:{server.server_address[1]}/wechat/callback"
        sb.options["wechat_callback_token"] = "cbtoken"
        sb.set_faults("wechat", publish_delay=0.1)
        c = Client(sb)
        sub = c.post("freepublish/submit", data={"media_id": published_draft(c)})
        deadline = time.monotonic() + 5
        while not _Receiver.got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    [(query, body)] = _Receiver.got
    check_signature("cbtoken", query["signature"][0], query["timestamp"][0], query["nonce"][0])
    msg, data = parse_message(body), xmltodict.parse(body)["xml"]  # wechatpy keeps an unknown event's fields private
    info = data["PublishEventInfo"]
    assert data["Event"] == "PUBLISHJOBFINISH" and msg.source == "mphelper"
    assert info["publish_id"] == sub["publish_id"] and info["publish_status"] == "0"
    assert sb.messages("wechat", "article"), "the article became public when the task ended"


def test_in_safe_mode_the_event_is_posted_in_the_encrypted_envelope(sb: Sandbox) -> None:
    import base64
    import os

    from wechatpy.crypto import WeChatCrypto

    key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    _Receiver.got.clear()
    try:
        sb.options["wechat_callback_url"] = f"http://127.0.0.1:{server.server_address[1]}/wechat/callback"
        sb.options["wechat_callback_token"] = "cbtoken"
        sb.options["wechat_callback_aes_key"] = key
        sb.set_faults("wechat", publish_delay=0.1)
        c = Client(sb)
        sub = c.post("freepublish/submit", data={"media_id": published_draft(c)})
        deadline = time.monotonic() + 5
        while not _Receiver.got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    [(query, body)] = _Receiver.got
    assert query["encrypt_type"] == ["aes"] and b"PUBLISHJOBFINISH" not in body
    plain = WeChatCrypto("cbtoken", key, c.appid).decrypt_message(
        body.decode(), query["msg_signature"][0], query["timestamp"][0], query["nonce"][0])
    assert xmltodict.parse(plain)["xml"]["PublishEventInfo"]["publish_id"] == sub["publish_id"]
