"""The village e-bulletin screens: a signed playlist pulled from the hub, a screen's fetch is the receipt.

The hub runs for real (uvicorn on a loopback port, the web app as ``hub serve``
builds it) and the sandbox's fake screens pull from it over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests_key import key_for

from hub.channels.base import Capability
from hub.channels.registry import CHANNELS, get_channel
from hub.channels.screen import ScreenChannel, fetched, playlist
from hub.config import get_config
from hub.deliverables import DeliveryStatus, Rendition, Target
from hub.errors import Permanent
from hub.renderers.base import ArtifactStore
from hub.sandbox.screen import FakeScreen, PlaylistRefused
from hub.settings import get_settings
from hub.store.db import session_scope
from hub.testing.caches import clear_caches

VILLAGE = "涧池镇/五一村"
TARGET = Target("screen", "screens-wuyi", "village-screens", {"region": VILLAGE})
VERSION = "cd" * 32


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_hub(sandbox_secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The hub's web app on a random loopback port (what a screen in a square talks to)."""
    from hub.store.db import get_engine
    from hub.testing.serve import serving
    from hub.web.app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("HUB_PUBLIC_URL", url)
    clear_caches()
    get_engine()
    with serving(create_app(warm_search=False), port):
        yield url


def video_rendition(record_id: str = "wuyi-2026-001", version: str = VERSION, payload: bytes = b"frames") -> Rendition:
    """A video rendition as the video package makes it (poster still and the 1080p video beside the zip)."""
    store = ArtifactStore(get_settings().artifacts_dir)
    video = store.put(b"MP4" + payload, ".mp4", "video/mp4")
    poster = store.put(b"\xff\xd8JPEG" + payload, ".jpg", "image/jpeg")
    main = store.put(b"PK-zip" + payload, ".zip", "application/zip")
    return Rendition("video", record_id, version, main, files={"video.mp4": video, "poster.jpg": poster},
                     facts={"package": f"{record_id}-{version[:12]}"})


def screen_for(hub_url: str, secrets: dict[str, str], village: str = VILLAGE, screen_id: str = "wuyi-1") -> FakeScreen:
    return FakeScreen(screen_id, village, hub_url, secrets["HUB_SCREEN_SIGNING_KEY"].encode())


def test_the_screen_is_declared_with_a_full_withdraw_capability() -> None:
    assert CHANNELS["screen"] is ScreenChannel
    assert ScreenChannel.label == "村务公开电子屏" and ScreenChannel.rendition_kind == "video"
    assert Capability.WITHDRAW in ScreenChannel.capabilities()
    assert ScreenChannel.web_router() is not None


def test_a_village_record_is_routed_to_its_village_screens() -> None:
    targets = get_config().targets_for({"level": "village", "region": VILLAGE})
    assert "screens-wuyi" in targets
    assert "screens-wuyi" not in get_config().targets_for({"level": "county", "region": "汉阴县"})


def test_send_puts_the_still_and_the_video_on_the_playlist_and_waits_for_a_screen(sandbox_secrets: Any) -> None:
    screen = get_channel("screen")
    key = key_for("wuyi-2026-001", VERSION, "screen", "screens-wuyi")
    receipt = screen.send(video_rendition(), TARGET, key)
    assert not receipt.confirmed and screen.status(receipt, TARGET) == DeliveryStatus.PENDING
    items = playlist(VILLAGE)["items"]
    assert [i["id"] for i in items] == [receipt.provider_ref]
    assert {f["name"]: f["play"] for f in items[0]["files"]} == {"poster.jpg": "still", "video.mp4": "video"}
    assert playlist("涧池镇/新庄村")["items"] == []  # another village's screens do not show it
    again = screen.send(video_rendition(), TARGET, key)  # a resend replaces by id, never duplicates
    assert again.provider_ref == receipt.provider_ref and again.raw["reused"] is True
    assert len(playlist(VILLAGE)["items"]) == 1
    found = screen.lookup(TARGET, key)
    assert found is not None and found.provider_ref == receipt.provider_ref


def test_a_rendition_without_the_video_is_refused() -> None:
    store = ArtifactStore(get_settings().artifacts_dir)
    bare = Rendition("video", "r", VERSION, store.put(b"zip", ".zip", "application/zip"))
    with pytest.raises(Permanent, match="video.mp4"):
        get_channel("screen").send(bare, TARGET, "k")


def test_a_screens_fetch_of_every_file_confirms_the_delivery(live_hub: str, sandbox_secrets: dict[str, str]) -> None:
    channel = get_channel("screen")
    receipt = channel.send(video_rendition(), TARGET, "k1")
    screen = screen_for(live_hub, sandbox_secrets)
    result = screen.pull()
    assert result["playing"] == [receipt.provider_ref] and len(result["fetched"]) == 2
    assert channel.status(receipt, TARGET) == DeliveryStatus.DELIVERED
    with session_scope() as s:
        assert set(fetched(s, receipt.provider_ref)["wuyi-1"]) == {"poster.jpg", "video.mp4"}
    assert screen.pull()["fetched"] == []  # a screen keeps what it has: nothing fetched twice


def test_a_screen_with_the_wrong_key_refuses_the_playlist_and_cannot_confirm(
        live_hub: str, sandbox_secrets: dict[str, str]) -> None:
    channel = get_channel("screen")
    receipt = channel.send(video_rendition(), TARGET, "k1")
    stranger = FakeScreen("fake-1", VILLAGE, live_hub, b"not-the-key")
    with pytest.raises(PlaylistRefused, match="signature"):
        stranger.pull()
    item = playlist(VILLAGE)["items"][0]
    path = item["files"][0]["url"]
    forged = httpx.get(live_hub + path, headers={"X-Screen-Id": "fake-1", "X-Screen-Signature": "sha256=00"},
                       trust_env=False)
    assert forged.status_code == 403
    assert channel.status(receipt, TARGET) == DeliveryStatus.PENDING


def test_a_tampered_playlist_does_not_verify(live_hub: str, sandbox_secrets: dict[str, str]) -> None:
    get_channel("screen").send(video_rendition(), TARGET, "k1")
    got = httpx.get(f"{live_hub}/screens/playlist", params={"village": VILLAGE}, trust_env=False)
    assert got.status_code == 200 and got.headers["X-Hub-Signature"].startswith("sha256=")
    import hashlib
    import hmac

    key = sandbox_secrets["HUB_SCREEN_SIGNING_KEY"].encode()
    assert hmac.compare_digest(got.headers["X-Hub-Signature"],
                               "sha256=" + hmac.new(key, got.content, hashlib.sha256).hexdigest())
    tampered = got.content.replace(b"poster.jpg", b"poster.jpx")
    assert not hmac.compare_digest(got.headers["X-Hub-Signature"],
                                   "sha256=" + hmac.new(key, tampered, hashlib.sha256).hexdigest())


def test_withdrawal_removes_the_item_from_the_playlist_and_the_screen_drops_it(
        live_hub: str, sandbox_secrets: dict[str, str]) -> None:
    channel = get_channel("screen")
    receipt = channel.send(video_rendition(), TARGET, "k1")
    other = channel.send(video_rendition("wuyi-2026-002", "ef" * 32, b"other"), TARGET, "k2")
    screen = screen_for(live_hub, sandbox_secrets)
    assert set(screen.pull()["playing"]) == {receipt.provider_ref, other.provider_ref}
    withdrawn = channel.withdraw(receipt, TARGET, "withdraw-k1")  # type: ignore[attr-defined]
    assert withdrawn.confirmed and withdrawn.provider_ref == receipt.provider_ref
    assert [i["id"] for i in playlist(VILLAGE)["items"]] == [other.provider_ref]
    result = screen.pull()
    assert result["dropped"] == [receipt.provider_ref] and result["playing"] == [other.provider_ref]
    url = f"{live_hub}/screens/items/{receipt.provider_ref}/video.mp4"
    import hashlib
    import hmac

    key = sandbox_secrets["HUB_SCREEN_SIGNING_KEY"].encode()
    sig = "sha256=" + hmac.new(key, f"wuyi-1\n/screens/items/{receipt.provider_ref}/video.mp4".encode(),
                               hashlib.sha256).hexdigest()
    assert httpx.get(url, headers={"X-Screen-Id": "wuyi-1", "X-Screen-Signature": sig},
                     trust_env=False).status_code == 404
    assert channel.withdraw(receipt, TARGET, "withdraw-k1").confirmed  # type: ignore[attr-defined]  # again: a no-op


def test_a_county_item_shows_on_every_village_screen_of_the_county(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_secrets: dict[str, str]) -> None:
    import shutil

    from hub.settings import PROJECT_ROOT

    conf = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", conf)
    with (conf / "channels.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[targets.screens-county]\nchannel = "screen"\naccount = "village-screens"\nregion = "汉阴县"\n')
    monkeypatch.setenv("HUB_CONFIG_DIR", str(conf))
    clear_caches()
    channel = get_channel("screen")
    county = Target("screen", "screens-county", "village-screens", {"region": "汉阴县"})
    village_item = channel.send(video_rendition(), TARGET, "k1").provider_ref
    county_item = channel.send(video_rendition("county-2026-9", "ab" * 32, b"county"), county, "k2").provider_ref
    assert {i["id"] for i in playlist(VILLAGE)["items"]} == {village_item, county_item}
    assert {i["id"] for i in playlist("涧池镇/新庄村")["items"]} == {county_item}


def test_an_item_name_that_is_not_a_safe_path_is_a_404_not_a_crash(
        live_hub: str, sandbox_secrets: dict[str, str]) -> None:
    import hashlib
    import hmac

    key = sandbox_secrets["HUB_SCREEN_SIGNING_KEY"].encode()
    path = "/screens/items/..~evil/video.mp4"  # one path segment, but no name the hub gives an item
    sig = "sha256=" + hmac.new(key, f"wuyi-1\n{path}".encode(), hashlib.sha256).hexdigest()
    got = httpx.get(live_hub + path, headers={"X-Screen-Id": "wuyi-1", "X-Screen-Signature": sig}, trust_env=False)
    assert got.status_code == 404
