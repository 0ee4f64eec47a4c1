"""The edge of an adapter: only channel outcomes leave ``send`` / ``lookup`` / ``status``.

Why: the engine maps ``ChannelError`` subclasses to ledger transitions; any other
exception looks like a crashed worker. Configuration problems found while
sending (a missing secret or phone key, a target without an address) need a
person, exactly like revoked credentials, so they leave as ``AuthExpired`` (the
engine flags the account and stops the channel); a version or delivery that
does not exist leaves as ``Permanent``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from hub.deliverables import Artifact
from hub.errors import AuthExpired, ConfigError, NotFound, Permanent, Retryable, StorageUnavailable

F = TypeVar("F", bound=Callable[..., Any])


def typed_errors(channel: str) -> Callable[[F], F]:
    """Decorator: ``ConfigError`` → ``AuthExpired``, ``NotFound`` → ``Permanent``, ``StorageUnavailable`` →
    ``Retryable`` (messages kept, never values)."""

    def wrap(fn: F) -> F:
        @wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except StorageUnavailable as exc:  # the artifact store is down: nothing was sent, try later
                raise Retryable(f"{channel}: {exc}") from None
            except ConfigError as exc:
                raise AuthExpired(f"{channel}: configuration needs a person: {exc}") from None
            except NotFound as exc:
                raise Permanent(f"{channel}: {exc}") from None

        return inner  # type: ignore[return-value]

    return wrap


def artifact_file(channel: str, artifact: Artifact) -> Path:
    """This node's file of a rendition's artifact, fetched from the shared artifact store when another node
    rendered it (``hub.artifacts``).

    Why here: an adapter reads the files it sends (a PDF to mail, a picture to upload, a package
    to copy) and only channel outcomes may leave it: an artifact no store has is ``Permanent``
    (re-render), a store that cannot be reached is ``Retryable`` (nothing was sent).
    """
    from hub.artifacts import get_store

    try:
        return get_store().local(artifact)
    except NotFound as exc:
        raise Permanent(f"{channel}: {exc}") from None
    except StorageUnavailable as exc:
        raise Retryable(f"{channel}: {exc}") from None
