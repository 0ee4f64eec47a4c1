"""Stills held by copied skip pictures: the stream decodes, has every frame, and shows what x264 would show.

Real x264 and the real decoder (ffmpeg), on a 640×360 profile so each encode takes a moment.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from hub.renderers.video import stillrun
from hub.renderers.video.package import encode_segment
from hub.renderers.video.profile import Mp4Spec, StationProfile

FFMPEG = "/usr/bin/ffmpeg"
PROFILE = StationProfile(key="still-test", mp4=Mp4Spec(width=640, height=360, still_refine_frames=10))


def decoded_md5s(stream: Path) -> list[str]:
    out = subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-xerror", "-f", "h264", "-i", str(stream),
                          "-f", "framemd5", "-"], capture_output=True, text=True, check=True).stdout
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def psnr(a: Path, b: Path) -> float:
    err = subprocess.run([FFMPEG, "-nostdin", "-hide_banner", "-f", "h264", "-i", str(a), "-f", "h264", "-i", str(b),
                          "-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
    return float(err.rsplit("average:", 1)[1].split()[0])


def slide(folder: Path, name: str, text: str, colour: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", (640, 360), colour)
    draw = ImageDraw.Draw(image)
    for k in range(12):
        draw.text((20 + 40 * (k % 4), 30 + 25 * k), f"{text} {k}", fill=(255, 255, 255))
    draw.ellipse((400, 100, 600, 300), outline=(250, 200, 0), width=6)
    path = folder / f"{name}.png"
    image.save(path)
    return path


@pytest.fixture
def shots(tmp_path: Path) -> tuple[dict[str, Path], list[tuple[str, int, bool]]]:
    a = slide(tmp_path, "a", "第一页", (20, 40, 90))
    b = slide(tmp_path, "b", "第二页", (90, 30, 30))
    fades = {}
    for k in range(4):
        fades[f"x{k}"] = tmp_path / f"x{k}.png"
        Image.blend(Image.open(a), Image.open(b), (k + 1) / 5).save(fades[f"x{k}"])
    files = {"a": a, "b": b, **fades}
    # a still, its cross-fade, a still longer than x264's keyframe interval
    return files, [("a", 80, False), *[(f"x{k}", 1, True) for k in range(4)], ("b", 300, False)]


def test_a_held_still_decodes_frame_for_frame_as_x264_encoding_every_frame_would(
        tmp_path: Path, shots: tuple[dict[str, Path], list[tuple[str, int, bool]]]) -> None:
    files, plan = shots
    skip = stillrun.skip_slice(PROFILE, tmp_path)
    spliced = encode_segment(files, plan, tmp_path, tmp_path / "spliced.h264", PROFILE, skip, what="spliced")
    full = encode_segment(files, plan, tmp_path, tmp_path / "full.h264", PROFILE, None, what="full")
    got, want = decoded_md5s(spliced), decoded_md5s(full)
    assert len(got) == len(want) == 80 + 4 + 300
    assert got[:80] == want[:80], "the first still: the very pictures x264 makes of every frame"
    assert len(set(got[20:80])) == 1, "after its refining frames the still does not move"
    assert psnr(spliced, full) >= 45.0  # later stills differ only by x264's rate-control history
    # the long still got a keyframe every 250 frames, as x264 gives one
    keys = subprocess.run(["/usr/bin/ffprobe", "-v", "error", "-f", "h264", "-show_entries", "frame=key_frame",
                           "-of", "csv=p=0", str(spliced)], capture_output=True, text=True, check=True).stdout.split()
    assert [i for i, k in enumerate(keys) if k.strip(",") == "1"] == [0, 84, 334]
    assert spliced.stat().st_size < full.stat().st_size * 1.05


def test_a_still_longer_than_the_keyframe_interval_is_cut_every_250_frames_each_keeping_its_refining_frames() -> None:
    pieces = stillrun.plan([("a", 600, False), ("x0", 1, True), ("b", 7, False)], refine=25)
    assert [(p.key, p.encoded, p.pad, p.key_first) for p in pieces] == [
        ("a", 25, 225, True), ("a", 25, 225, True), ("a", 25, 75, True), ("x0", 1, 0, False), ("b", 7, 0, True)]
    assert sum(stillrun.pads_of(pieces)) + sum(p.encoded for p in pieces) == 608
    assert [p.encoded for p in stillrun.plan([("a", 600, False)], refine=0)] == [250, 250, 100]


def test_emulation_prevention_survives_the_frame_number_rewrite() -> None:
    rbsp = bytes([0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x7F])
    escaped = stillrun.escape(rbsp)
    assert b"\x00\x00\x01" not in escaped and b"\x00\x00\x00" not in escaped
    assert stillrun.unescape(escaped) == rbsp
    rng = random.Random(17)
    for _ in range(300):  # the C-speed replace agrees with the byte-by-byte rule of the standard
        data = bytes(rng.choice([0, 0, 0, 1, 2, 3, 4, 255]) for _ in range(rng.randint(1, 40))) + b"\x80"
        assert stillrun.escape(data) == byte_by_byte_escape(data)
        assert stillrun.unescape(stillrun.escape(data)) == data


def byte_by_byte_escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def test_a_stream_whose_parameter_sets_differ_from_the_skip_pictures_is_refused(tmp_path: Path) -> None:
    skip = stillrun.skip_slice(PROFILE, tmp_path)
    other = StationProfile(key="still-other", mp4=Mp4Spec(width=640, height=360, crf=30))
    foreign = stillrun.skip_slice(other, tmp_path)
    assert foreign.layout == skip.layout and (foreign.sps, foreign.pps) != (skip.sps, skip.pps)
    stream = b"".join(b"\x00\x00\x00\x01" + u for u in (foreign.sps, foreign.pps))
    with pytest.raises(stillrun.Unsupported):
        stillrun.extend(stream + b"\x00\x00\x00\x01" + foreign.slice, [3], skip)
    renumbered = stillrun.with_frame_num(skip.slice, 5, skip.layout)
    assert stillrun.frame_num(renumbered, skip.layout) == 5
