"""The Weibo fake on the wire: HTTP 4xx error bodies, share.json rules, counts, the restricted timeline."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from typing import Any

import httpx
import pytest
from PIL import Image

from hub.sandbox.app import build_sandbox
from hub.sandbox.core import Sandbox
from hub.sandbox.weibo import weibo_length

TOKEN = "2.00weibotoken-for-the-fake"
LINK = "http://127.0.0.1:8000/s/abc"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with build_sandbox(0, credentials={"weibo": {TOKEN: "weibo-county"}}) as sandbox:
        yield sandbox


def share(sb: Sandbox, status: str, *, pic: bytes | None = None, rip: str | None = "127.0.0.1",
          token: str | None = TOKEN, **extra: Any) -> httpx.Response:
    data = {"status": status, **({"rip": rip} if rip else {}), **extra}
    headers = {"Authorization": f"OAuth2 {token}"} if token else {}
    files = {"pic": ("p.jpg", pic, "image/jpeg")} if pic is not None else None
    return httpx.post(f"{sb.url}/2/statuses/share.json", data=data, files=files, headers=headers, timeout=5)


def jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (64, 64), "#3366cc").save(out, "JPEG")
    return out.getvalue()


def test_a_post_with_picture_returns_a_status_object(sb: Sandbox) -> None:
    r = share(sb, f"公示 {LINK}", pic=jpeg())
    assert r.status_code == 200
    st = r.json()
    assert st["idstr"] == str(st["id"]) and st["text"] == f"公示 {LINK}" and st["original_pic"]
    assert " +0800 " in st["created_at"]
    assert httpx.get(st["original_pic"], timeout=5).content == jpeg()


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"status": f"公示 {LINK}", "token": None}, 400, 10016),
    ({"status": f"公示 {LINK}", "token": "revoked"}, 400, 21332),
    ({"status": f"公示 {LINK}", "rip": None}, 400, 10016),
    ({"status": ""}, 400, 10016),
    ({"status": "没有安全域名 http://other.example/x"}, 400, 20018),
    ({"status": "没有链接"}, 400, 20018),
    ({"status": "长" * 130 + f" {LINK}"}, 400, 20012),
    ({"status": f"公示 {LINK}", "pic": b"GIF-but-not-really"}, 400, 20005),
])
def test_share_errors_are_4xx_with_weibo_error_bodies(sb: Sandbox, kwargs: dict[str, Any], status: int,
                                                      code: int) -> None:
    text = kwargs.pop("status")
    r = share(sb, text, **kwargs)
    body = r.json()
    assert r.status_code == status and body["error_code"] == code
    assert body["request"] == "/2/statuses/share.json" and body["error"]
    assert sb.messages("weibo") == []


def test_a_picture_in_a_urlencoded_form_is_20007(sb: Sandbox) -> None:
    r = httpx.post(f"{sb.url}/2/statuses/share.json", data={"status": f"x {LINK}", "rip": "1.1.1.1", "pic": "abc"},
                   headers={"Authorization": f"OAuth2 {TOKEN}"}, timeout=5)
    assert r.json()["error_code"] == 20007


def test_repeating_identical_text_is_20019_and_the_token_may_be_a_parameter(sb: Sandbox) -> None:
    assert share(sb, f"同一条 {LINK}").status_code == 200
    r = httpx.post(f"{sb.url}/2/statuses/share.json", timeout=5,
                   data={"status": f"同一条 {LINK}", "rip": "1.1.1.1", "access_token": TOKEN})
    assert r.status_code == 400 and r.json()["error_code"] == 20019


def test_knobs_answer_rate_limit_403_and_token_expired(sb: Sandbox) -> None:
    sb.set_faults("weibo", rate_limit_rate=1.0)
    r = share(sb, f"a {LINK}")
    assert r.status_code == 403 and r.json()["error_code"] == 10023
    sb.set_faults("weibo", rate_limit_rate=0.0, token_expired=1)
    assert share(sb, f"a {LINK}").json()["error_code"] == 21327
    assert share(sb, f"a {LINK}").status_code == 200


def test_count_omits_unknown_ids_and_caps_at_100(sb: Sandbox) -> None:
    idstr = share(sb, f"计数 {LINK}").json()["idstr"]
    h = {"Authorization": f"OAuth2 {TOKEN}"}
    rows = httpx.get(f"{sb.url}/2/statuses/count.json", params={"ids": f"{idstr},123"}, headers=h, timeout=5).json()
    assert [r["idstr"] for r in rows] == [idstr] and {"comments", "reposts", "attitudes"} <= set(rows[0])
    many = ",".join(str(i) for i in range(101))
    r = httpx.get(f"{sb.url}/2/statuses/count.json", params={"ids": many}, headers=h, timeout=5)
    assert r.status_code == 400 and r.json()["error_code"] == 10017


def test_the_own_timeline_pages_like_the_real_api(sb: Sandbox) -> None:
    ids = [share(sb, f"第{i}条 {LINK}").json()["idstr"] for i in range(7)]
    newest_first = list(reversed(ids))
    h = {"Authorization": f"OAuth2 {TOKEN}"}

    def timeline(**params: object) -> dict[str, object]:
        r = httpx.get(f"{sb.url}/2/statuses/user_timeline.json", params=params, headers=h, timeout=5)
        assert r.status_code == 200
        return r.json()

    first = timeline(count=3)
    assert [s["idstr"] for s in first["statuses"]] == newest_first[:3] and first["total_number"] == 7
    assert [s["idstr"] for s in timeline(count=3, page=2)["statuses"]] == newest_first[3:6]
    after = timeline(count=3, max_id=first["next_cursor"])
    assert [s["idstr"] for s in after["statuses"]] == newest_first[3:6]
    assert [s["idstr"] for s in timeline(count=100, since_id=newest_first[2])["statuses"]] == newest_first[:2]
    last = timeline(count=100, max_id=newest_first[6])
    assert [s["idstr"] for s in last["statuses"]] == newest_first[6:] and last["next_cursor"] == 0
    assert isinstance(timeline(count=1, trim_user=1)["statuses"][0]["user"], int)


def test_a_restricted_timeline_shows_only_the_latest_posts_but_counts_them_all(sb: Sandbox) -> None:
    sb.options["weibo_timeline_limit"] = 5
    ids = [share(sb, f"第{i}条 {LINK}").json()["idstr"] for i in range(7)]
    r = httpx.get(f"{sb.url}/2/statuses/user_timeline.json", params={"count": 100},
                  headers={"Authorization": f"OAuth2 {TOKEN}"}, timeout=5).json()
    assert [s["idstr"] for s in r["statuses"]] == list(reversed(ids))[:5] and r["total_number"] == 7


def test_token_info(sb: Sandbox) -> None:
    r = httpx.post(f"{sb.url}/oauth2/get_token_info", data={"access_token": TOKEN}, timeout=5).json()
    assert r["uid"] and r["expire_in"] > 0
    bad = httpx.post(f"{sb.url}/oauth2/get_token_info", data={"access_token": "nope"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error_code"] == 21332


def test_weibo_counts_ascii_as_half_and_links_as_short_links() -> None:
    assert weibo_length("中文") == 2
    assert weibo_length("abcd") == 2
    assert weibo_length("abc") == 2
    assert weibo_length(f"公示 {LINK}") == 15  # 2 + ½ for the space + 12 for the link, rounded up
