"""The TV package end to end: the sample's package measured with ffprobe/ffmpeg, plus small fast variants.

The sample is rendered once per module at full size (1920×1080, ~95 s of programme):
that is the slow part. The other tests use a 640×360 profile with short slides,
which runs the same code in a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from hub.deliverables import Rendition
from hub.errors import QCFailed
from hub.record import Heading, Paragraph, Record
from hub.renderers import RENDERERS
from hub.renderers.base import ArtifactStore
from hub.renderers.context import build_context
from hub.renderers.video import build_package
from hub.renderers.video.narration import EspeakNarrator
from hub.renderers.video.profile import Loudness, Mp4Spec, MxfSpec, StationProfile, TimelineSpec, get_profile
from hub.renderers.video.subtitles import display, parse_srt
from hub.settings import PROJECT_ROOT

FFMPEG, FFPROBE = "/usr/bin/ffmpeg", "/usr/bin/ffprobe"


def ffprobe(path: Path) -> dict:
    out = subprocess.run([FFPROBE, "-v", "error", "-of", "json", "-show_format", "-show_streams",
                          "-count_packets", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def stream(info: dict, kind: str) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == kind)


def integrated_loudness(path: Path) -> float:
    err = subprocess.run([FFMPEG, "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a",
                          "-af", "ebur128=framelog=verbose", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    summary = err[err.rfind("Summary:"):]
    return float(summary.split("I:")[1].split("LUFS")[0])


def frame_at(path: Path, seconds: float, out: Path) -> Image.Image:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", "-ss", f"{seconds:.3f}", "-i", str(path),
                    "-frames:v", "1", str(out)], check=True)
    return Image.open(out)


def voiced_frames(path: Path, fps: int) -> list[int]:
    """Frames of the finished file's audio that carry sound (RMS above −50 dBFS)."""
    raw = subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a", "-ac", "1",
                          "-ar", "48000", "-f", "s16le", "-"], capture_output=True, check=True).stdout
    pcm = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768
    per = 48000 // fps
    n = len(pcm) // per
    rms = np.sqrt((pcm[: n * per].reshape(n, per) ** 2).mean(axis=1))
    return [int(i) for i in np.nonzero(rms > 10 ** (-50 / 20))[0]]


# --- the sample, full size ----------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rendition, Record, object]:
    from hub.ingest import ingest_path

    record = ingest_path(PROJECT_ROOT / "samples" / "hanyin-2017-168-wugongkai.txt")[0].record
    ctx = build_context(record, record.version_hash())
    store = ArtifactStore(tmp_path_factory.mktemp("artifacts"))
    rendition = RENDERERS["video"](record, ctx, store)
    return rendition, record, ctx


@pytest.mark.slow
def test_the_sample_package_has_every_file_and_its_manifest_hashes_them(sample) -> None:
    rendition, record, ctx = sample
    folder = Path(rendition.facts["folder"])
    names = {"video.mp4", "poster.jpg", "script.txt", "subtitles.srt", "manifest.json", "qc.json"}
    assert names <= {p.name for p in folder.iterdir()}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["record_id"] == record.id and manifest["version"] == ctx.version
    assert manifest["portal_url"] == ctx.page_url and manifest["tv_short_url"] == ctx.short_url("tv")
    for name, entry in manifest["files"].items():
        data = (folder / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert set(manifest["files"]) == names - {"manifest.json"}
    with zipfile.ZipFile(rendition.main.path) as zf:
        assert sorted(zf.namelist()) == sorted(f"{folder.name}/{n}" for n in names)
    assert folder.name == f"{record.id}-{ctx.version[:12]}"
    qc = json.loads((folder / "qc.json").read_text())
    assert qc["pass"] is True and all(c["pass"] for c in qc["checks"])
    assert "narration_mandarin" in {c["check"] for c in qc["checks"]}
    said = [line["said"] for line in qc["measured"]["script"]]
    assert len(said) == len(parse_srt((folder / "subtitles.srt").read_text(encoding="utf-8")))
    assert any("扫描屏幕上的二维码" in line for line in said) and not any("http" in line for line in said)
    assert Image.open(folder / "poster.jpg").size == (1920, 1080)


@pytest.mark.slow
def test_the_sample_video_is_1080p25_h264_high_with_aac_48k_and_lasts_the_sum_of_its_slides(sample) -> None:
    rendition, _, _ = sample
    folder = Path(rendition.facts["folder"])
    info = ffprobe(folder / "video.mp4")
    v, a = stream(info, "video"), stream(info, "audio")
    assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (v["width"], v["height"], v["r_frame_rate"], v["avg_frame_rate"]) == (1920, 1080, "25/1", "25/1")
    assert v.get("field_order", "progressive") == "progressive"
    assert (a["codec_name"], a["profile"], a["sample_rate"], a["channels"]) == ("aac", "LC", "48000", 2)
    manifest = json.loads((folder / "manifest.json").read_text())
    planned = sum(s["duration_s"] for s in manifest["slides"]) + manifest["tail_frames"] / 25
    assert abs(int(v["nb_read_packets"]) / 25 - planned) <= 1 / 25
    assert abs(float(v["duration"]) - planned) <= 1 / 25
    assert abs(float(a["duration"]) - planned) <= 1 / 25


@pytest.mark.slow
def test_the_sample_is_normalised_to_minus_24_lkfs(sample) -> None:
    rendition, _, _ = sample
    assert abs(integrated_loudness(Path(rendition.facts["folder"]) / "video.mp4") - (-24.0)) <= 1.0


@pytest.mark.slow
def test_the_srt_parses_and_covers_every_spoken_frame(sample) -> None:
    rendition, _, _ = sample
    folder = Path(rendition.facts["folder"])
    cues = parse_srt((folder / "subtitles.srt").read_text(encoding="utf-8"))
    assert cues and all(len(lines) <= 2 for _, _, lines in cues)
    assert all(a[1] <= b[0] for a, b in zip(cues, cues[1:], strict=False))
    covered = set()
    for start, end, _ in cues:
        covered.update(range(round(start * 25), round(end * 25)))
    voiced = voiced_frames(folder / "video.mp4", 25)
    assert len(voiced) > 25 * 20  # there is narration
    uncovered = [f for f in voiced if f not in covered and f - 1 not in covered and f + 1 not in covered]
    assert uncovered == []
    # the subtitles are the narration's words: every narrated slide's text appears in the SRT
    script = (folder / "script.txt").read_text(encoding="utf-8")
    srt_text = "".join("".join(lines) for _, _, lines in cues)
    assert display("扫码查看全文") in srt_text
    # the script is what the announcer says: no URL, the QR phrase instead of "扫码"
    assert "扫描屏幕上的二维码查看全文" in script and "http" not in script


@pytest.mark.slow
def test_a_frame_of_the_end_card_decodes_to_the_tv_short_link(sample, tmp_path: Path) -> None:
    rendition, _, ctx = sample
    folder = Path(rendition.facts["folder"])
    manifest = json.loads((folder / "manifest.json").read_text())
    end = manifest["slides"][-1]
    assert end["kind"] == "end"
    frame = frame_at(folder / "video.mp4", end["start_s"] + end["duration_s"] / 2, tmp_path / "end.png")
    assert [r.text for r in zxingcpp.read_barcodes(frame)] == [ctx.short_url("tv")]


# --- small and fast -----------------------------------------------------------------


def small_profile(**changes: object) -> StationProfile:
    base = StationProfile(key="test-small", mp4=Mp4Spec(width=640, height=360),
                          timeline=TimelineSpec(min_slide_seconds=1.0, pause_seconds=0.4, lead_in_seconds=0.2,
                                                end_card_seconds=1.5, crossfade_frames=4, tail_frames=5))
    return base.model_copy(update=changes)


def short_record() -> Record:
    return Record(id="t-short", title="关于调整城乡低保标准的通知", department="汉阴县民政局",
                  doc_no="汉民发〔2026〕7号",
                  body=[Heading(level=1, number="一、", text="调整标准"),
                        Paragraph(text="城市低保标准提高到每人每月720元。"),
                        Heading(level=1, number="二、", text="执行时间"),
                        Paragraph(text="自2026年1月1日起执行。")])


def test_a_package_without_any_tts_still_renders_silent_with_a_warning(tmp_path: Path) -> None:
    record = short_record()
    ctx = build_context(record, record.version_hash())
    pkg = build_package(record, ctx, tmp_path, profile=small_profile(), narrator=None)
    qc = json.loads((pkg.folder / "qc.json").read_text())
    assert qc["pass"] is True
    assert any("no narration" in w for w in qc["warnings"])
    assert pkg.manifest["inputs"]["narrator"] is None
    assert voiced_frames(pkg.folder / "video.mp4", 25) == []
    assert parse_srt((pkg.folder / "subtitles.srt").read_text(encoding="utf-8"))  # subtitles even so


def test_failing_qc_raises_naming_the_check_and_leaves_no_zip(tmp_path: Path) -> None:
    record = short_record()
    ctx = build_context(record, record.version_hash())
    strict = small_profile(loudness=Loudness(true_peak_max=-40.0))
    with pytest.raises(QCFailed, match="true_peak"):
        build_package(record, ctx, tmp_path, profile=strict, narrator=EspeakNarrator())
    folder = tmp_path / f"{record.id}-{ctx.version[:12]}"
    qc = json.loads((folder / "qc.json").read_text())
    assert qc["deliverable"] is False
    assert [c["check"] for c in qc["checks"] if not c["pass"]] == ["true_peak"]
    assert not (tmp_path / f"{folder.name}.zip").exists()


def test_the_same_version_renders_to_the_same_bytes(tmp_path: Path) -> None:
    record = short_record()
    ctx = build_context(record, record.version_hash())
    a = build_package(record, ctx, tmp_path / "a", profile=small_profile(), narrator=EspeakNarrator())
    b = build_package(record, ctx, tmp_path / "b", profile=small_profile(), narrator=EspeakNarrator())
    assert a.manifest["files"] == b.manifest["files"]
    assert a.zip_path.read_bytes() == b.zip_path.read_bytes()


@pytest.mark.slow
def test_a_station_profile_can_ask_for_an_xdcam_mxf_master(tmp_path: Path) -> None:
    record = short_record()
    ctx = build_context(record, record.version_hash())
    pkg = build_package(record, ctx, tmp_path, profile=small_profile(mxf=MxfSpec(enabled=True)),
                        narrator=EspeakNarrator())
    info = ffprobe(pkg.folder / "video.mxf")
    v, a = stream(info, "video"), stream(info, "audio")
    assert (v["codec_name"], v["pix_fmt"], v["field_order"]) == ("mpeg2video", "yuv422p", "tt")
    assert (a["codec_name"], a["sample_rate"]) == ("pcm_s24le", "48000")
    assert int(v["nb_read_packets"]) == pkg.timeline.total_frames
    assert "video.mxf" in pkg.manifest["files"]


def test_the_station_profiles_file_loads_and_the_default_is_mp4_only() -> None:
    profile = get_profile()
    assert (profile.mp4.width, profile.mp4.height, profile.mp4.fps) == (1920, 1080, 25)
    assert profile.mxf.enabled is False
    assert get_profile("xdcam-playout").mxf.enabled is True
