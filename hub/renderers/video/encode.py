"""The ffmpeg command lines: loudness measurement, the MP4 encode, the optional MXF playout master.

MP4 since issue 17 (``segment_args`` + ``mux_args``): each slide is encoded on its own
(its stills and cross-fade frames only, a keyframe at each new still) into a raw H.264
stream, a few slides at once; the streams are joined by concatenation (no B-frames, so
an Annex-B stream joins byte for byte) and muxed with the narration in one pass that
copies the video and encodes the audio with the loudness gain. Only one slide's stills
exist on disk at a time per worker, and x264 runs the still-image options of
``Mp4Spec.x264_params`` (no B-frames, no lookahead, diamond full-pel search): on slides
that halves the CPU of the plain preset and raises PSNR (every unchanged frame is a skip).

The single-encode path below (``mp4_args``) remains for the MXF master profile.

MP4 (performance.md §A, the fastest measured path that keeps quality):
- concat demuxer over the shot list: each still decoded once;
- ``scale`` (RGB → BT.709 limited-range YUV 4:2:0) **before** ``fps=25``, so the
  colour conversion runs once per still rather than once per frame (~40 % faster);
- libx264 ``veryfast`` + ``-tune stillimage`` (``ultrafast`` would drop to
  Constrained Baseline and double the size), High profile, a keyframe at every new
  still so QC can check the pictures by decoding keyframes only;
- loudness: pass 1 measures the narration (``loudness.measure``), pass 2 applies the
  gain inside the encode's own filter graph (no extra pass over the audio);
- the lengths come from ``trim``/``atrim`` in the graph, not ``-frames:v``, which closes the
  file before the last audio packets are written (the audio came out 2 AAC frames short);
- ``-fflags +bitexact`` etc. and no metadata, so the same inputs give the same bytes.

MXF (only when the station profile enables it): XDCAM HD422-style MPEG-2 4:2:2
50 Mb/s CBR, GOP 12, coded interlaced top-field-first (the 25p stills have no
inter-field motion, performance.md §B), OP1a, PCM 24-bit 48 kHz.
"""

from __future__ import annotations

from pathlib import Path

from hub.renderers.video import ffmpeg
from hub.renderers.video.loudness import Measured, normalise_filter
from hub.renderers.video.profile import StationProfile


def concat_list(entries: list[tuple[Path, int]], fps: int) -> str:
    """An ffconcat script: each file shown for its frames; the last file repeated (demuxer quirk:
    the last ``duration`` is otherwise ignored)."""
    lines = ["ffconcat version 1.0"]
    for path, frames in entries:
        lines += [f"file '{path.as_posix()}'", f"duration {frames / fps:.6f}"]
    if entries:
        lines.append(f"file '{entries[-1][0].as_posix()}'")
    return "\n".join(lines) + "\n"


def mp4_args(shots: Path, wav: Path, out: Path, *, profile: StationProfile, keyframes: list[float],
             measured: Measured | None, total_frames: int) -> list[str]:
    spec = profile.mp4
    vf = (f"[0:v]scale={spec.width}:{spec.height}:out_color_matrix=bt709:out_range=tv,"
          f"format=yuv420p,fps={spec.fps},trim=end_frame={total_frames},setsar=1[v]")
    af = f"[1:a]{normalise_filter(measured, profile, total_frames)}[a]"
    return [
        ffmpeg.ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(shots),
        "-i", str(wav),
        "-filter_complex", f"{vf};{af}", "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", spec.preset, "-tune", "stillimage", "-crf", str(spec.crf),
        "-profile:v", spec.profile, "-pix_fmt", "yuv420p", "-flags:v", "+bitexact",
        "-force_key_frames", ",".join(f"{t:.3f}" for t in keyframes),
        "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
        "-c:a", "aac", "-b:a", spec.audio_bitrate, "-ar", str(spec.audio_rate), "-ac", "2",
        *ffmpeg.BITEXACT, "-movflags", "+faststart",
        str(out),
    ]


def segment_args(shots: Path, out: Path, *, profile: StationProfile, keyframes: list[float],
                 frames: int, threads: int = 1) -> list[str]:
    """One slide's segment: its shot list → a raw H.264 stream of exactly ``frames`` frames."""
    spec = profile.mp4
    vf = (f"scale={spec.width}:{spec.height}:out_color_matrix=bt709:out_range=tv,"
          f"format=yuv420p,fps={spec.fps},trim=end_frame={frames},setsar=1")
    params = ["-x264-params", spec.x264_params] if spec.x264_params else []
    return [
        ffmpeg.ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1",
        "-filter_threads", "1", "-f", "concat", "-safe", "0", "-i", str(shots), "-vf", vf, "-an",
        "-c:v", "libx264", "-preset", spec.preset, "-tune", "stillimage", "-crf", str(spec.crf), *params,
        "-threads", str(threads), "-profile:v", spec.profile, "-pix_fmt", "yuv420p", "-flags:v", "+bitexact",
        "-force_key_frames", ",".join(f"{t:.3f}" for t in keyframes),
        "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
        *ffmpeg.BITEXACT, "-f", "h264", str(out),
    ]


def audio_args(wav: Path, out: Path, *, profile: StationProfile, measured: Measured | None,
               total_frames: int) -> list[str]:
    """The narration with its loudness gain, to the programme's exact length, as AAC-LC in an .m4a
    (encoded while the video segments are, so its ~4 CPU s overlap the picture's)."""
    spec = profile.mp4
    return [
        ffmpeg.ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
        "-af", normalise_filter(measured, profile, total_frames),
        "-c:a", "aac", "-b:a", spec.audio_bitrate, "-ar", str(spec.audio_rate), "-ac", "2",
        *ffmpeg.BITEXACT, "-f", "mp4", str(out),
    ]


def mux_args(video: Path, audio: Path, out: Path, *, profile: StationProfile) -> list[str]:
    """The joined H.264 stream and the AAC narration, both copied, → the MP4 (a fraction of a second)."""
    return [
        ffmpeg.ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-framerate", str(profile.mp4.fps), "-f", "h264", "-i", str(video), "-i", str(audio),
        "-map", "0:v", "-map", "1:a", "-c", "copy",
        *ffmpeg.BITEXACT, "-movflags", "+faststart", str(out),
    ]


def mxf_args(shots: Path, wav: Path, out: Path, *, profile: StationProfile,
             measured: Measured | None, total_frames: int) -> list[str]:
    spec, mxf = profile.mp4, profile.mxf
    field = "tff" if mxf.top_field_first else "bff"
    vf = (f"[0:v]scale={spec.width}:{spec.height}:out_color_matrix=bt709:out_range=tv,"
          f"format=yuv422p,fps={spec.fps},trim=end_frame={total_frames},setfield={field},setsar=1[v]")
    af = f"[1:a]{normalise_filter(measured, profile, total_frames)}[a]"
    return [
        ffmpeg.ffmpeg_bin(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(shots), "-i", str(wav),
        "-filter_complex", f"{vf};{af}", "-map", "[v]", "-map", "[a]",
        "-c:v", "mpeg2video", "-pix_fmt", "yuv422p", "-b:v", mxf.video_bitrate, "-minrate", mxf.video_bitrate,
        "-maxrate", mxf.video_bitrate, "-bufsize", "17825792", "-rc_init_occupancy", "17825792",
        "-g", str(mxf.gop), "-bf", "2", "-flags:v", "+ildct+ilme+bitexact", "-top", "1" if mxf.top_field_first else "0",
        "-intra_vlc", "1", "-non_linear_quant", "1", "-dc", "10", "-qmin", "1", "-qmax", "12",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
        "-c:a", f"pcm_s{mxf.audio_bits}le", "-ar", str(spec.audio_rate),
        *ffmpeg.BITEXACT, "-f", "mxf",
        str(out),
    ]
