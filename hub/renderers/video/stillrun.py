"""A still held on screen without encoding each of its frames: x264 codes its first frames, the rest are skips.

Why (issue 17, ≥ 4× realtime): a slideshow is mostly the same picture again. x264 still
analyses every repeated 1080p frame (~4.5 ms each at ``veryfast``, one thread; 90 % of a
programme's frames), and after its first dozen frames on a still it only ever emits a P-frame
whose every macroblock is skipped: a decoder copies the previous picture. So a segment is
encoded with each still run cut to its first ``refine`` frames (x264 sharpens the keyframe over
those: the quality is x264's own), and the rest of the run is filled with copies of one
all-skip P-slice whose ``frame_num`` is set to its place. The decoded pictures are the ones x264
would have made (tests/video/test_stillrun.py compares the frames of both), with under a
third of the frames encoded (the sample: 1,200 of 4,175).

The H.264 details this relies on, each checked before a stream is touched:

- one slice per picture (``first_mb_in_slice`` 0) and every P picture a reference picture:
  ``frame_num`` then counts pictures since the last IDR, modulo ``MaxFrameNum``;
- picture order count type 2 (x264 with no B-frames): the order follows ``frame_num`` and the
  slice header carries no other counter, so a copied skip slice differs only in that field;
- ``frame_num`` is a fixed-width field right after three Exp-Golomb fields, so it is rewritten
  in place; emulation-prevention bytes are removed before and inserted again after;
- the skip slice comes from an encode with the segment's own command line, so its sequence and
  picture parameter sets are byte-identical to the segment's (checked for every segment), and
  it is proven once per process: a textured keyframe followed by two copies must decode to three
  identical pictures.

A still longer than x264's keyframe interval (250 frames, ffmpeg leaves x264's default) gets a
new keyframe every 250 frames, as x264 would give it, each with its own refining frames.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from hub.renderers.video import encode, ffmpeg
from hub.renderers.video.profile import StationProfile

#: x264's default maximum keyframe interval (``keyint``), which the encode keeps.
KEYINT = 250
_SLICE, _IDR, _SPS, _PPS = 1, 5, 7, 8


class Unsupported(Exception):
    """The stream is not the shape this module can extend (the caller encodes every frame instead)."""


# --- Annex-B and RBSP --------------------------------------------------------------------


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex-B stream, without their start codes."""
    out: list[bytes] = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        start = i + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = len(data) if nxt < 0 else nxt
        unit = data[start:end]
        if nxt >= 0:
            unit = unit.rstrip(b"\x00")  # the leading zero of the next 4-byte start code
        out.append(unit)
        i = nxt
    return out


def unescape(payload: bytes) -> bytes:
    """Remove emulation-prevention bytes (00 00 03 → 00 00). In a valid stream every 00 00 03 is
    one, and they never overlap, so a left-to-right replace is exact (and runs at C speed: a
    cross-fade picture's slice is tens of kB)."""
    return payload.replace(b"\x00\x00\x03", b"\x00\x00")


_NEEDS_EPB = re.compile(b"\x00\x00(?=[\x00-\x03])")


def escape(rbsp: bytes) -> bytes:
    """Insert an emulation-prevention byte wherever two zeros precede a byte ≤ 3."""
    return _NEEDS_EPB.sub(b"\x00\x00\x03", rbsp)


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3]
        self.pos += 1
        return (byte >> (7 - ((self.pos - 1) & 7))) & 1

    def bits(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise Unsupported("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)


@dataclass(frozen=True, slots=True)
class Sps:
    log2_max_frame_num: int
    poc_type: int


def parse_sps(unit: bytes) -> Sps:
    """The two fields of a sequence parameter set that the frame counting depends on."""
    r = _Bits(unescape(unit[1:]))
    profile = r.bits(8)
    r.bits(16)  # constraint flags, level
    r.ue()  # seq_parameter_set_id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        if r.ue() == 3:  # chroma_format_idc
            r.bit()
        r.ue()
        r.ue()  # bit depths
        r.bit()  # qpprime_y_zero_transform_bypass
        if r.bit():  # seq_scaling_matrix_present: not produced with x264's flat matrices
            raise Unsupported("scaling matrices")
    return Sps(r.ue() + 4, r.ue())


def _frame_num_at(unit: bytes) -> tuple[bytes, int]:
    """(RBSP, bit offset of frame_num) of a slice NAL; only one-slice pictures (first_mb 0)."""
    rbsp = unescape(unit[1:])
    r = _Bits(rbsp)
    if r.ue() != 0:
        raise Unsupported("more than one slice per picture")
    r.ue()  # slice_type
    r.ue()  # pic_parameter_set_id
    return rbsp, r.pos


def frame_num(unit: bytes, sps: Sps) -> int:
    rbsp, pos = _frame_num_at(unit)
    r = _Bits(rbsp)
    r.pos = pos
    return r.bits(sps.log2_max_frame_num)


def with_frame_num(unit: bytes, value: int, sps: Sps) -> bytes:
    """``unit`` (a slice) with its frame_num set to ``value`` (mod MaxFrameNum)."""
    rbsp, pos = _frame_num_at(unit)
    buf = bytearray(rbsp)
    n = sps.log2_max_frame_num
    value %= 1 << n
    for k in range(n):
        bit = (value >> (n - 1 - k)) & 1
        byte, shift = (pos + k) >> 3, 7 - ((pos + k) & 7)
        buf[byte] = (buf[byte] & ~(1 << shift)) | (bit << shift)
    return unit[:1] + escape(bytes(buf))


# --- pictures ------------------------------------------------------------------------------


def pictures(units: list[bytes]) -> tuple[bytes, bytes, list[list[bytes]]]:
    """(SPS, PPS, pictures): each picture its slice NAL preceded by the non-slice NALs before it."""
    sps = pps = b""
    out: list[list[bytes]] = []
    pending: list[bytes] = []
    for u in units:
        kind = u[0] & 0x1F
        if kind == _SPS:
            if sps and u != sps:
                raise Unsupported("the sequence parameter set changes inside the stream")
            sps = u
        elif kind == _PPS:
            if pps and u != pps:
                raise Unsupported("the picture parameter set changes inside the stream")
            pps = u
        pending.append(u)
        if kind in (_SLICE, _IDR):
            if kind == _SLICE and not u[0] & 0x60:
                raise Unsupported("a non-reference P picture")
            out.append(pending)
            pending = []
    if not sps or not pps or pending:
        raise Unsupported("no parameter sets, or data after the last picture")
    return sps, pps, out


@dataclass(frozen=True, slots=True)
class SkipSlice:
    """An all-skip P slice and the parameter sets it belongs to."""

    sps: bytes
    pps: bytes
    slice: bytes
    layout: Sps


def extend(stream: bytes, pads: list[int], skip: SkipSlice) -> bytes:
    """``stream`` with ``pads[k]`` skip pictures after its picture ``k``; every P picture's
    frame_num renumbered to its place. Raises Unsupported when the stream is not of the shape
    checked here (then nothing is written)."""
    sps, pps, pics = pictures(nal_units(stream))
    if (sps, pps) != (skip.sps, skip.pps):
        raise Unsupported("the segment's parameter sets differ from the skip slice's")
    if len(pics) != len(pads):
        raise Unsupported(f"{len(pics)} pictures encoded, {len(pads)} planned")
    layout = skip.layout
    out = bytearray()
    count = 0  # frame_num of the next picture
    for pic, pad in zip(pics, pads, strict=True):
        for u in pic:
            kind = u[0] & 0x1F
            if kind == _IDR:
                count = 0
                out += b"\x00\x00\x00\x01" + u
            elif kind == _SLICE:
                out += b"\x00\x00\x00\x01" + with_frame_num(u, count, layout)
            else:
                out += b"\x00\x00\x00\x01" + u
        count += 1
        for _ in range(pad):
            out += b"\x00\x00\x00\x01" + with_frame_num(skip.slice, count, layout)
            count += 1
    return bytes(out)


# --- the plan of a segment ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    """``encoded`` frames of image ``key`` given to x264 (a keyframe first when ``key_first``),
    followed by ``pad`` skip pictures."""

    key: str
    encoded: int
    pad: int
    key_first: bool


def plan(shots: list[tuple[str, int, bool]], refine: int) -> list[Piece]:
    """Pieces for a segment's shots ``(key, frames, is_fade)``: a still is cut at every KEYINT
    frames (a keyframe each), and each cut keeps ``refine`` encoded frames (0: all of them)."""
    out: list[Piece] = []
    for key, frames, fade in shots:
        if fade:
            out.append(Piece(key, frames, 0, False))
            continue
        left = frames
        while left > 0:
            n = min(left, KEYINT)
            kept = n if refine <= 0 else min(n, refine)
            out.append(Piece(key, kept, n - kept, True))
            left -= n
    return out


def pads_of(pieces: list[Piece]) -> list[int]:
    """Skip pictures after each encoded picture of the pieces."""
    pads: list[int] = []
    for p in pieces:
        pads += [0] * (p.encoded - 1) + [p.pad]
    return pads


# --- the skip slice, made and proven once per process and profile -----------------------------

_LOCK = threading.Lock()
_CACHE: dict[str, SkipSlice] = {}


def _encode(image: Image.Image, frames: int, folder: Path, name: str, profile: StationProfile) -> bytes:
    png = folder / f"{name}.png"
    image.save(png, compress_level=1)
    shots = folder / f"{name}.ffconcat"
    shots.write_text(encode.concat_list([(png, frames)], profile.mp4.fps))
    out = folder / f"{name}.h264"
    ffmpeg.run(encode.segment_args(shots, out, profile=profile, keyframes=[0.0], frames=frames),
               what=f"skip-slice {name}")
    return out.read_bytes()


def _decoded_md5s(stream: Path) -> list[str]:
    proc = ffmpeg.run([ffmpeg.ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-xerror",
                       "-f", "h264", "-i", str(stream), "-f", "framemd5", "-"], what="skip-slice check")
    return [line.rsplit(",", 1)[-1].strip() for line in proc.stdout.splitlines() if line and not line.startswith("#")]


def skip_slice(profile: StationProfile, folder: Path,
               encoder: Callable[[Image.Image, int, Path, str, StationProfile], bytes] = _encode) -> SkipSlice:
    """The all-skip P slice of ``profile``'s encode (cached per process and ffmpeg). Made from a flat mid-grey
    picture (its keyframe is exact, so x264 codes the next picture as all skips) and proven on a
    textured keyframe: keyframe + two copies must decode to three identical pictures."""
    key = hashlib.sha256((ffmpeg.ffmpeg_bin() + profile.mp4.model_dump_json()).encode()).hexdigest()
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        spec = profile.mp4
        # RGB 130 → Y' 128 (BT.709, limited range), Cb = Cr = 128: intra DC prediction's own value
        grey = encoder(Image.new("RGB", (spec.width, spec.height), (130, 130, 130)), 2, folder, "skip-grey", profile)
        sps, pps, pics = pictures(nal_units(grey))
        if len(pics) != 2 or pics[1][-1][0] & 0x1F != _SLICE:
            raise Unsupported("the grey encode did not give a keyframe and a P picture")
        layout = parse_sps(sps)
        if layout.poc_type != 2:
            raise Unsupported(f"picture order count type {layout.poc_type} (B-frames?)")
        skip = SkipSlice(sps, pps, pics[1][-1], layout)
        textured = Image.effect_noise((spec.width, spec.height), 64).convert("RGB")
        key_only = encoder(textured, 1, folder, "skip-proof", profile)
        proof = folder / "skip-proof-extended.h264"
        proof.write_bytes(extend(key_only, [2], skip))
        md5s = _decoded_md5s(proof)
        if len(md5s) != 3 or len(set(md5s)) != 1:
            raise Unsupported(f"copied skip pictures changed the picture: {md5s}")
        _CACHE[key] = skip
        return skip


def forget() -> None:
    """Drop the cached skip slices (tests that switch ffmpeg builds)."""
    with _LOCK:
        _CACHE.clear()

