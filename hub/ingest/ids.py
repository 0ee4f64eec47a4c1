"""Record ids: plain, stable, derived from what identifies the document.

Why from the 索引号: it is the portal's own permanent identifier, so the same
document ingested from a file, a page or a feed lands on the same record. The
fallback hashes the source identity (feed guid/link, or title + path) so that
re-ingesting the same source gives the same id too. See docs/record-format.md.
"""

from __future__ import annotations

import hashlib
import re

from hub.record import RECORD_ID_PATTERN

_UNSAFE = re.compile(r"[^A-Za-z0-9.]+")
_VALID = re.compile(RECORD_ID_PATTERN)


def id_from_index_no(index_no: str) -> str | None:
    """``xzfgzbmzfb/2017-0168`` → ``xzfgzbmzfb-2017-0168``; None when nothing plain is left."""
    candidate = _UNSAFE.sub("-", index_no).strip("-.")[:128].rstrip("-.")
    return candidate if candidate and _VALID.match(candidate) else None


def id_from_key(*parts: str) -> str:
    """``rec-`` + 16 hex digits of SHA-256 over the parts (NUL-separated)."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return f"rec-{digest[:16]}"


def derive_id(index_no: str | None, *fallback: str) -> str:
    """The record id: from the 索引号 when there is one, else a hash of ``fallback``."""
    if index_no:
        got = id_from_index_no(index_no)
        if got is not None:
            return got
    return id_from_key(*fallback)
