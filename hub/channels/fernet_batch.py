"""Fernet decryption of many tokens at once: the same tokens, the same checks, a third of the CPU.

Why this exists: an SMS fan-out decrypts every stored number (``phone_enc``,
Fernet) right before its batch goes out. ``cryptography.fernet.Fernet.decrypt``
costs about 25 µs a token, most of it Python-level set-up repeated per token (an
``HMAC`` object, a ``Cipher`` and a decryptor, a PKCS7 unpadder); at 100,000 numbers
that alone was a third of the fan-out's CPU on a 2-core box.

What it does, per token, exactly as ``Fernet.decrypt(token)`` without a TTL
(`the Fernet spec <https://github.com/fernet/spec/blob/master/Spec.md>`_):

1. url-safe base64 decode (``base64.urlsafe_b64decode``, as Fernet does);
2. version byte ``0x80``, at least one 16-byte block of IV and one of ciphertext;
3. HMAC-SHA256 of everything before the last 32 bytes, compared in constant time
   (``hmac.compare_digest``) with those 32 bytes — **before** anything is decrypted,
   so nothing unauthenticated reaches AES (no padding oracle). The HMAC is RFC 2104
   written out over ``hashlib.sha256`` with the padded-key states hashed once per key
   (``_HmacSha256``), the way ``hmac`` does it without OpenSSL: copying OpenSSL 3's
   HMAC context per token cost twice as much as the two SHA-256 copies;
4. AES-128-CBC decryption and a PKCS7 unpadding check.

The one shortcut is in step 4: the verified ``IV ‖ ciphertext`` parts of every
token are concatenated and decrypted by **one** CBC decryptor. CBC decrypts block
``i`` as ``AES⁻¹(C[i]) ⊕ C[i-1]``, so each token's first ciphertext block is XORed
with that token's own IV (the block just before it in the stream) and the rest with
their own predecessors; the block decrypted from each IV is garbage and dropped.
The result is byte-for-byte what a per-token CBC decryptor gives (the tests check it
against ``cryptography.fernet`` as the oracle, tampered tokens included).

Several keys (rotation, ``MultiFernet`` order): a token belongs to the first key whose
HMAC verifies, as ``MultiFernet.decrypt`` does. Encryption stays with
``cryptography.fernet`` (``PhoneVault.encrypt``): only decryption is batched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_VERSION = 0x80
#: version (1) + timestamp (8) + IV (16) + one ciphertext block (16) + HMAC (32)
_MIN_LEN = 1 + 8 + 16 + 16 + 32
_ZERO_IV = bytes(16)
_URLSAFE_TO_STD = bytes.maketrans(b"-_", b"+/")


class _HmacSha256:
    """HMAC-SHA256 (RFC 2104) for one key: ``H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))``, key states prepared once."""

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # RFC 2104 would hash it first; a Fernet key never needs that, so it is not written
            raise ValueError("an HMAC key longer than the SHA-256 block is not supported here")
        block = key.ljust(64, b"\0")  # a Fernet signing key is 16 bytes: shorter than SHA-256's block, so zero-padded
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class FernetBatch:
    """Decrypts lists of Fernet tokens made with any of ``keys`` (newest first, as for ``MultiFernet``)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        """``keys``: the url-safe base64 Fernet keys (32 bytes once decoded). Raises ``ValueError`` on a bad key."""
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._keys: list[tuple[_HmacSha256, algorithms.AES]] = []
        for key in keys:
            try:
                raw = base64.urlsafe_b64decode(key)
            except (TypeError, binascii.Error):
                raw = b""
            if len(raw) != 32:
                raise ValueError("a Fernet key is 32 url-safe base64-encoded bytes")
            self._keys.append((_HmacSha256(raw[:16]), algorithms.AES(raw[16:])))

    def decrypt(self, tokens: Sequence[bytes | str]) -> list[bytes]:
        """The plaintexts of ``tokens``, in order; ``InvalidToken`` if any token is malformed, forged or foreign.

        All-or-nothing on purpose: a token that no key verifies means a wrong or
        rotated-out key, which the caller must stop on, not skip.
        """
        groups: list[list[tuple[int, bytes]]] = [[] for _ in self._keys]
        compare = hmac.compare_digest
        for index, token in enumerate(tokens):
            data = _unpack(token)
            signed, tag = data[:-32], data[-32:]
            for slot, (mac, _) in enumerate(self._keys):
                if compare(mac.digest(signed), tag):
                    groups[slot].append((index, data[9:-32]))
                    break
            else:
                raise InvalidToken
        out: list[bytes] = [b""] * len(tokens)
        for (_, aes), group in zip(self._keys, groups, strict=True):
            if group:
                self._open_group(aes, group, out)
        return out

    @staticmethod
    def _open_group(aes: algorithms.AES, group: list[tuple[int, bytes]], out: list[bytes]) -> None:
        """Decrypt the verified ``IV ‖ ciphertext`` parts of one key's tokens with one CBC pass (see module doc)."""
        decryptor = Cipher(aes, modes.CBC(_ZERO_IV)).decryptor()
        stream = decryptor.update(b"".join(part for _, part in group)) + decryptor.finalize()
        pos = 0
        for index, part in group:
            padded = stream[pos + 16:pos + len(part)]  # skip the block decrypted from the IV
            pos += len(part)
            pad = padded[-1]
            if not 1 <= pad <= 16 or padded[-pad:] != bytes((pad,)) * pad:
                raise InvalidToken
            out[index] = padded[:-pad]


def _unpack(token: bytes | str) -> bytes:
    """The raw bytes of a token whose framing is right (version, length), else ``InvalidToken``.

    ``base64.urlsafe_b64decode`` spelled out (translate, then the non-strict
    ``a2b_base64`` it calls): the same bytes without two Python-level hops per token.
    """
    try:
        raw = token.encode("ascii") if isinstance(token, str) else token
        data = binascii.a2b_base64(raw.translate(_URLSAFE_TO_STD))
    except (TypeError, ValueError, AttributeError, binascii.Error):
        raise InvalidToken from None
    if len(data) < _MIN_LEN or data[0] != _VERSION or (len(data) - 57) % 16:
        raise InvalidToken
    return data


__all__ = ["FernetBatch", "InvalidToken"]
