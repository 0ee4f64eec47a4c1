"""Citizens' phone numbers at rest: AES-GCM under ``HUB_PHONE_KEY``, a keyed HMAC index, key rotation.

Why it looks like this (issue 16, decision ``2026-12-03-phone-encryption``):

* **AES-256-GCM from ``cryptography``, used as designed.** One ``AESGCM`` object per
  key, a fresh random 96-bit nonce per number, the header as associated data. A
  decryption is one call into the library (≈ 1 µs), so a 100,000-number fan-out
  opens every number one by one in the coordinating thread with less CPU than the
  hand-written batched Fernet it replaces (``fernet_batch.py``, ≈ 4 µs) and a
  tenth of ``MultiFernet`` (≈ 14 µs). The call does not let go of the GIL, so the
  pool threads' convoy described in ``2026-11-25-sms-fanout-speed`` does not return.
* **Stored form** (``phone_enc``): ``0x01 ‖ key id (4) ‖ nonce (12) ‖ ciphertext ‖ tag (16)``.
  The key id picks the key without trial decryption and lets ``hub phone-key
  status`` count rows per key without decrypting anything.
* **Keys.** ``HUB_PHONE_KEY`` = one key or several separated by commas, newest
  first, each 32 url-safe base64 bytes (the Fernet key format, so the keys already
  deployed stay valid; ``hub subscribers keygen`` prints one). The AES key and the
  key id are derived from each with HKDF-SHA256 (distinct ``info``), so one secret
  never serves two algorithms. New numbers use the first key; every key decrypts.
* **Numbers written before this module** are Fernet tokens (their first byte is
  ``g``, never ``0x01``): ``MultiFernet`` over the same keys reads them, and
  ``rotate_stored`` (``hub phone-key rotate``) rewrites them, and numbers under an
  older key, under the newest key, in batches, each batch its own transaction;
  running it again continues where it stopped.
* **Index.** ``phone_hash`` = HMAC-SHA256 of the E.164 number, for dedupe and
  look-up. Its key is ``HUB_PHONE_HASH_KEY`` when set, else derived from the
  *last* (oldest) key of ``HUB_PHONE_KEY``: prepending a new key and rotating keep
  every ``phone_hash`` stable (see ``index_key_source``).
* Nothing here puts a number or a key into a message: errors name the variable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from hub.errors import ConfigError
from hub.store.models import ConsultationRow, SubscriberRow

PHONE_KEY_ENV = "HUB_PHONE_KEY"
PHONE_HASH_KEY_ENV = "HUB_PHONE_HASH_KEY"

_VERSION = b"\x01"
_ID_LEN = 4
_NONCE_LEN = 12
_HEADER_LEN = 1 + _ID_LEN
#: a Fernet token is url-safe base64 text of a 0x80-prefixed body: it starts with ``g``
_FERNET_PREFIX = b"g"

_NOT_OPENED = (f"a stored phone number cannot be decrypted with {PHONE_KEY_ENV} "
               "(wrong or rotated-out key)")


def _derive(raw: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(raw)


def _raw_key(key: str) -> bytes:
    """The 32 bytes of one ``HUB_PHONE_KEY`` entry; ``ConfigError`` naming the variable, never the value."""
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(f"{PHONE_KEY_ENV} is not a valid key: each comma-separated entry is 32 url-safe "
                          "base64 bytes (generate one with `hub subscribers keygen`)")
    return raw


class PhoneVault:
    """Encrypts, decrypts and hashes phone numbers with ``keys`` (newest first) and the index key ``hash_key``."""

    def __init__(self, keys: Sequence[str], hash_key: bytes) -> None:
        if not keys:
            raise ConfigError(f"{PHONE_KEY_ENV} lists no key")
        raws = [_raw_key(k) for k in keys]
        self._aead: dict[bytes, AESGCM] = {}
        for raw in raws:
            kid = _derive(raw, b"hub phone key id v1", _ID_LEN)
            if kid in self._aead:
                raise ConfigError(f"{PHONE_KEY_ENV} lists the same key twice")
            self._aead[kid] = AESGCM(_derive(raw, b"hub phone aes-256-gcm v1", 32))
        self._current = _VERSION + next(iter(self._aead))
        self._current_aead = self._aead[self._current[1:]]
        # the numbers written before AES-GCM: Fernet tokens under the same keys
        self._legacy = MultiFernet([Fernet(base64.urlsafe_b64encode(raw)) for raw in raws])
        self._hash_key = hash_key

    def encrypt(self, e164: str) -> bytes:
        """``e164`` under the newest key, with a fresh random nonce (so equal numbers never look equal)."""
        nonce = os.urandom(_NONCE_LEN)
        return self._current + nonce + self._current_aead.encrypt(nonce, e164.encode("ascii"), self._current)

    def _open(self, token: bytes) -> str:
        if token[:1] == _VERSION:
            aead = self._aead.get(token[1:_HEADER_LEN])
            if aead is None:
                raise InvalidToken
            nonce_end = _HEADER_LEN + _NONCE_LEN
            return aead.decrypt(token[_HEADER_LEN:nonce_end], token[nonce_end:], token[:_HEADER_LEN]).decode("ascii")
        return self._legacy.decrypt(token).decode("ascii")

    def decrypt(self, token: bytes) -> str:
        """The number in ``token``; ``ConfigError`` when no key opens it (a wrong key is a person's problem)."""
        try:
            return self._open(bytes(token))
        except (InvalidToken, InvalidTag, UnicodeDecodeError, TypeError):
            raise ConfigError(_NOT_OPENED) from None

    def decrypt_many(self, tokens: Sequence[bytes]) -> list[str]:
        """``decrypt`` of a whole wave of SMS batches, all or nothing (one wrong token stops the wave)."""
        opened = self._open
        try:
            return [opened(t) for t in tokens]
        except (InvalidToken, InvalidTag, UnicodeDecodeError, TypeError):
            raise ConfigError(_NOT_OPENED) from None

    def is_current(self, token: bytes) -> bool:
        """Is ``token`` already AES-GCM under the newest key? (Header only: nothing is decrypted.)"""
        return bytes(token[:_HEADER_LEN]) == self._current

    def key_rank(self, token: bytes) -> int | None:
        """0 for the newest key, 1 for the next …; -1 for a Fernet token of before; None for an unknown key id."""
        if token[:1] != _VERSION:
            return -1 if token[:1] == _FERNET_PREFIX else None
        kid = bytes(token[1:_HEADER_LEN])
        for rank, known in enumerate(self._aead):
            if known == kid:
                return rank
        return None

    def reencrypt(self, token: bytes) -> bytes:
        """``token`` under the newest key (unchanged if it already is); ``ConfigError`` if no key opens it."""
        return token if self.is_current(token) else self.encrypt(self.decrypt(token))

    def hash(self, e164: str) -> str:
        """The keyed index of a number (``phone_hash``): stable across key rotation."""
        return hmac.new(self._hash_key, e164.encode("ascii"), hashlib.sha256).hexdigest()


def _index_key(parts: Sequence[str], hash_key: str) -> bytes:
    if hash_key:
        return hash_key.encode("utf-8")
    # derived from the oldest key exactly as before AES-GCM, so every stored phone_hash stays valid
    return hmac.new(_raw_key(parts[-1]), b"hub phone hash v1", hashlib.sha256).digest()


@lru_cache(maxsize=4)
def _vault(keys: str, hash_key: str) -> PhoneVault:
    parts = [k for k in keys.split(",") if k.strip()]
    return PhoneVault(parts, _index_key(parts, hash_key))


def get_vault() -> PhoneVault:
    """The vault for this process's ``HUB_PHONE_KEY``; a missing or bad key is a ConfigError naming the variable."""
    keys = os.environ.get(PHONE_KEY_ENV, "")
    if not keys.strip():
        raise ConfigError(f"environment variable {PHONE_KEY_ENV} is not set (`hub subscribers keygen` "
                          "prints a new key)")
    return _vault(keys, os.environ.get(PHONE_HASH_KEY_ENV, ""))


def index_key_source() -> str:
    """Which secret keys ``phone_hash``: the variable, or the last key of ``HUB_PHONE_KEY`` (must stay last)."""
    if os.environ.get(PHONE_HASH_KEY_ENV, ""):
        return PHONE_HASH_KEY_ENV
    return f"the last key of {PHONE_KEY_ENV}"


def new_key() -> str:
    """A new key for ``HUB_PHONE_KEY`` (32 random bytes, url-safe base64: the Fernet key format)."""
    return Fernet.generate_key().decode("ascii")


# --- rotation ---------------------------------------------------------------------------------------


#: every table that stores a number encrypted (``phone_enc``)
_TABLES: tuple[Table, ...] = (SubscriberRow.__table__, ConsultationRow.__table__)  # type: ignore[assignment]


@dataclass
class KeyUsage:
    """How many stored numbers each key holds, per table: what ``rotate_stored`` still has to do."""

    #: table → {"current": n, "older": n, "fernet": n, "unknown": n}
    tables: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        """Numbers not yet under the newest key (older key, Fernet or unknown key)."""
        return sum(n for counts in self.tables.values() for kind, n in counts.items() if kind != "current")


def key_usage(session: Session, *, batch: int = 5000) -> KeyUsage:
    """Count stored numbers by key, reading only the headers (nothing is decrypted)."""
    vault = get_vault()
    usage = KeyUsage()
    for table in _TABLES:
        counts = {"current": 0, "older": 0, "fernet": 0, "unknown": 0}
        head = func.substr(table.c.phone_enc, 1, _HEADER_LEN, type_=LargeBinary)
        last = 0
        while True:
            rows = session.execute(select(table.c.id, head).where(table.c.id > last, table.c.phone_enc.is_not(None))
                                   .order_by(table.c.id).limit(batch)).all()
            if not rows:
                break
            last = rows[-1][0]
            for _, header in rows:
                rank = vault.key_rank(bytes(header))
                kind = ("unknown" if rank is None else "fernet" if rank == -1
                        else "current" if rank == 0 else "older")
                counts[kind] += 1
        usage.tables[table.name] = counts
    return usage


@dataclass
class RotationReport:
    """What ``rotate_stored`` did, per table: numbers rewritten and numbers already under the newest key."""

    rotated: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)


def rotate_stored(sessions: Callable[[], AbstractContextManager[Session]], *, batch: int = 500,
                  progress: Callable[[str, int], None] | None = None) -> RotationReport:
    """Re-encrypt every stored number under the newest key of ``HUB_PHONE_KEY``, ``batch`` rows a transaction.

    ``sessions`` is a context-manager factory (``hub.store.db.session_scope``): each
    batch commits on its own, so an interrupted run keeps what it did, and running
    again skips rows already under the newest key (their header says so) — the
    command is resumable without a cursor to store. A row is rewritten only if it
    still holds the token that was read (compare-and-set), so a concurrent writer
    is never overwritten. A number that no key opens stops the run with a
    ``ConfigError`` (the batches before it stay committed). ``phone_hash`` is not
    touched: its key does not rotate with these keys.
    """
    if batch < 1:
        raise ConfigError("batch must be at least 1")
    vault = get_vault()
    report = RotationReport()
    for table in _TABLES:
        rewrite = (update(table).where(table.c.id == bindparam("rid"), table.c.phone_enc == bindparam("old"))
                   .values(phone_enc=bindparam("new")))
        rotated = current = 0
        last = 0
        while True:
            with sessions() as s:
                rows = s.execute(select(table.c.id, table.c.phone_enc)
                                 .where(table.c.id > last, table.c.phone_enc.is_not(None))
                                 .order_by(table.c.id).limit(batch)).all()
                if not rows:
                    break
                last = rows[-1][0]
                todo = [{"rid": rid, "old": enc, "new": vault.reencrypt(enc)}
                        for rid, enc in rows if not vault.is_current(enc)]
                if todo:
                    s.connection().execute(rewrite, todo)
                rotated += len(todo)
                current += len(rows) - len(todo)
            if progress is not None:
                progress(table.name, len(rows))
        report.rotated[table.name], report.current[table.name] = rotated, current
    return report


__all__ = ["PHONE_HASH_KEY_ENV", "PHONE_KEY_ENV", "KeyUsage", "PhoneVault", "RotationReport", "get_vault",
           "index_key_source", "key_usage", "new_key", "rotate_stored"]
