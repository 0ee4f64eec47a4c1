"""Reading input files safely: size cap before reading, binary detection, strict UTF-8.

Why strict: a GBK file decoded leniently turns into mojibake that then gets
published; it must be refused with the byte offset of the first bad byte so a
clerk can find and re-save it. Why the cap is checked with ``stat`` first: a
20 MB "record" is a mistake (a video, an archive), and reading it before saying
so wastes memory and time.
"""

from __future__ import annotations

import re
from pathlib import Path

from hub.errors import RecordError

#: Default size cap for one input file (bytes).
MAX_BYTES = 20 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
#: control bytes that do not occur in text (TAB, LF, VT, FF, CR and ESC are allowed)
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def read_bytes(path: Path, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, refusing missing files, directories and files over ``max_bytes``."""
    name = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise RecordError("file not found", file=name) from None
    except OSError as exc:
        raise RecordError(f"cannot read file: {exc.strerror}", file=name) from None
    if not path.is_file():
        raise RecordError("not a regular file", file=name)
    if st.st_size > max_bytes:
        raise RecordError(f"file is {st.st_size} bytes, over the {max_bytes}-byte limit", file=name)
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise RecordError(f"cannot read file: {exc.strerror}", file=name) from None
    if len(data) > max_bytes:  # grew between stat and read
        raise RecordError(f"file is over the {max_bytes}-byte limit", file=name)
    return data


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes, *, file: str | None = None, max_bytes: int = MAX_BYTES) -> str:
    """Strict UTF-8 text with the BOM stripped and line ends normalised to ``\\n``.

    Raises ``RecordError`` for binary data (NUL and other control bytes) and for
    bytes that are not UTF-8, naming the byte offset and line of the first bad byte.
    """
    if len(data) > max_bytes:
        raise RecordError(f"input is {len(data)} bytes, over the {max_bytes}-byte limit", file=file)
    if data.startswith(_BOM):
        data = data[len(_BOM):]
        shift = len(_BOM)
    else:
        shift = 0
    found = _BINARY.search(data)
    if found is not None:
        offset = found.start()
        raise RecordError(
            f"binary data (byte 0x{data[offset]:02x} at offset {offset + shift}), not a text file",
            file=file, line=_line_of(data, offset), field="encoding",
        )
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 2].hex(" ")
        hint = " (GBK/GB18030? save the file as UTF-8)" if _looks_gbk(data[exc.start:exc.start + 2]) else ""
        raise RecordError(
            f"not valid UTF-8: byte offset {exc.start + shift} (bytes {bad}){hint}",
            file=file, line=_line_of(data, exc.start), field="encoding",
        ) from None
    _refuse_misdecoded(text, data, file=file, shift=shift)
    return text.replace("\r\n", "\n").replace("\r", "\n")


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MOJIBAKE = re.compile(r"[\u0100-\u07ff]")


def _refuse_misdecoded(text: str, data: bytes, *, file: str | None, shift: int) -> None:
    """Refuse GBK bytes that happen to form valid UTF-8 (short GBK texts often do).

    Such text has no Chinese characters at all but many letters from the
    two-byte UTF-8 range (Latin Extended … NKo), which a Chinese government
    document never consists of.
    """
    odd = _MOJIBAKE.search(text)
    if odd is None or _CJK.search(text) is not None:
        return
    non_ascii = sum(1 for ch in text if ord(ch) > 0x7F)
    if len(_MOJIBAKE.findall(text)) * 2 < non_ascii:
        return
    offset = len(text[: odd.start()].encode("utf-8"))
    raise RecordError(
        f"not UTF-8 text: byte offset {offset + shift} decodes to {odd.group(0)!r}, no Chinese characters at all "
        "(GBK/GB18030? save the file as UTF-8)",
        file=file, line=_line_of(data, offset), field="encoding",
    )


def _looks_gbk(pair: bytes) -> bool:
    return len(pair) == 2 and 0x81 <= pair[0] <= 0xFE and 0x40 <= pair[1] <= 0xFE and pair[1] != 0x7F


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """Read ``path`` as text under the rules of ``read_bytes`` and ``decode_text``."""
    return decode_text(read_bytes(path, max_bytes=max_bytes), file=str(path), max_bytes=max_bytes)


def refuse_nul(text: str, *, file: str | None) -> None:
    """A NUL character is refused with its line (the record model refuses it too, but names no line).

    Every text parser calls it first, so a clerk learns where, and only ``RecordError`` leaves ingest.
    """
    nul = text.find("\x00")
    if nul >= 0:
        raise RecordError("contains a NUL control character (\\x00), which cannot be stored", file=file,
                          line=text.count("\n", 0, nul) + 1)
