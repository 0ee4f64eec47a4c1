"""The TV channel: the package into the pickup area, replace-by-id, confirmed when the station collects it."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from tests_key import key_for

from hub.channels.tv import TvChannel, collect, collected, package_dir
from hub.config import get_config
from hub.deliverables import DeliveryStatus, Rendition, Target
from hub.errors import NotFound, Permanent
from hub.renderers.base import ArtifactStore
from hub.settings import get_settings
from hub.store.db import session_scope

TARGET = Target("tv", "tv-county", "tv-station", {})
VERSION = "ab" * 32


def video_rendition(record_id: str = "hanyin-tv-1", version: str = VERSION, payload: bytes = b"frames") -> Rendition:
    """A video rendition as the video package makes it: the zip as main, each file beside it (content-addressed)."""
    store = ArtifactStore(get_settings().artifacts_dir)
    video = store.put(b"MP4" + payload, ".mp4", "video/mp4")
    manifest = store.put(b'{"duration_s": 30}', ".json", "application/json")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("video.mp4", b"MP4" + payload)
        z.writestr("manifest.json", b'{"duration_s": 30}')
    main = store.put(buf.getvalue(), ".zip", "application/zip")
    return Rendition("video", record_id, version, main, files={"video.mp4": video, "manifest.json": manifest},
                     facts={"package": f"{record_id}-{version[:12]}"})


@pytest.fixture
def tv() -> TvChannel:
    return TvChannel(get_config(), get_settings())


def test_the_package_lands_in_the_pickup_area_under_its_id(tv: TvChannel) -> None:
    rendition = video_rendition()
    key = key_for("hanyin-tv-1", VERSION, "tv", "tv-county")
    receipt = tv.send(rendition, TARGET, key)
    folder = get_settings().pickup_dir / "tv" / f"hanyin-tv-1-{VERSION}"
    assert receipt.provider_ref == f"hanyin-tv-1-{VERSION}" and not receipt.confirmed
    assert (folder / f"hanyin-tv-1-{VERSION[:12]}.zip").read_bytes() == rendition.main.path.read_bytes()
    assert (folder / "video.mp4").is_file() and (folder / "manifest.json").is_file()
    assert tv.status(receipt, TARGET) == DeliveryStatus.PENDING


def test_resending_the_same_package_is_a_no_op_and_lookup_finds_it(tv: TvChannel) -> None:
    rendition = video_rendition()
    key = key_for("hanyin-tv-1", VERSION, "tv", "tv-county")
    assert tv.lookup(TARGET, key) is None
    tv.send(rendition, TARGET, key)
    again = tv.send(rendition, TARGET, key)
    assert again.raw["reused"] is True
    assert tv.lookup(TARGET, key) is not None


def test_a_damaged_package_is_replaced_whole(tv: TvChannel) -> None:
    rendition = video_rendition()
    key = key_for("hanyin-tv-1", VERSION, "tv", "tv-county")
    receipt = tv.send(rendition, TARGET, key)
    folder = package_dir(receipt.provider_ref)
    (folder / "video.mp4").write_bytes(b"truncated")
    assert tv.lookup(TARGET, key) is None
    assert tv.send(rendition, TARGET, key).raw["reused"] is False
    assert (folder / "video.mp4").read_bytes() == b"MP4frames"
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_collecting_records_time_checksum_and_who_and_confirms_the_delivery(tv: TvChannel) -> None:
    rendition = video_rendition()
    receipt = tv.send(rendition, TARGET, key_for("hanyin-tv-1", VERSION, "tv", "tv-county"))
    with session_scope() as s:
        path = collect(s, receipt.provider_ref, by="station")
    assert path.suffix == ".zip"
    with session_scope() as s:
        first = collected(s, receipt.provider_ref)
        collect(s, receipt.provider_ref, by="station2")
    assert first is not None and first["by"] == "station" and first["matches"] is True
    assert first["sha256"] == hashlib.sha256(rendition.main.path.read_bytes()).hexdigest()
    with session_scope() as s:
        again = collected(s, receipt.provider_ref)
    assert again is not None and again["count"] == 2 and again["first_at"] == first["first_at"]
    assert tv.status(receipt, TARGET) == DeliveryStatus.DELIVERED


@pytest.mark.parametrize("ref", ["../../etc", "a/b", "", "nope-123"])
def test_collecting_an_unknown_or_unsafe_package_is_refused(ref: str) -> None:
    with session_scope() as s, pytest.raises((NotFound, Permanent)):
        collect(s, ref, by="station")


def test_a_video_rendition_without_a_zip_is_permanent(tv: TvChannel) -> None:
    rendition = video_rendition()
    bare = Rendition("video", rendition.record_id, rendition.version, rendition.files["video.mp4"], files={})
    with pytest.raises(Permanent):
        tv.send(bare, TARGET, "k" * 64)
