"""Media for the browser: stored artifacts streamed from either backend (with byte ranges), and SRT as WebVTT
(the TV package carries SRT, what stations ingest; browsers play WebVTT)."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from hub.errors import NotFound

_TIME = re.compile(r"(\d{2}:\d{2}:\d{2}),(\d{3})")


def srt_to_vtt(srt: str) -> str:
    """WebVTT from SubRip: a header, and ``,`` → ``.`` in cue timings (cue text unchanged)."""
    lines = []
    for line in srt.lstrip("\ufeff").replace("\r\n", "\n").split("\n"):
        lines.append(_TIME.sub(r"\1.\2", line) if "-->" in line else line)
    return "WEBVTT\n\n" + "\n".join(lines).strip() + "\n"


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def artifact_response(request: Request, name: str, media_type: str) -> Response:
    """A stored artifact as an HTTP response, from whichever backend holds it, with byte ranges for video.

    Why one function: the console's artifact route and the TV pickup page's preview serve the same
    content-addressed files; a local file goes out as Starlette's ``FileResponse`` (it answers
    ``Range`` itself), an object in the object store is streamed block by block (never read whole)
    with a single ``Range`` honoured as 206 (the browser's video player seeks with it). Several
    ranges in one request are answered with the whole file, which HTTP allows.
    """
    from hub.artifacts import get_store, key_of

    store = get_store()
    path = store.root / key_of(name)
    if path.is_file():
        return FileResponse(path, media_type=media_type)
    size = store.size(name)
    if size is None:
        raise NotFound(name)
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{name[:64]}"', "Cache-Control": "private, max-age=3600"}
    match = _RANGE.match(request.headers.get("range", "").strip())
    if match and (match[1] or match[2]):
        if match[1]:
            start, end = int(match[1]), min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # a suffix range: the last N bytes
            start, end = max(size - int(match[2]), 0), size - 1
        if start >= size or start > end:
            return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        headers.update({"Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(end - start + 1)})
        return StreamingResponse(store.stream(name, start, end), status_code=206, media_type=media_type,
                                 headers=headers)
    headers["Content-Length"] = str(size)
    return StreamingResponse(store.stream(name), media_type=media_type, headers=headers)
