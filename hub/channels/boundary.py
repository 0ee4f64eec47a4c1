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
from typing import Any, TypeVar

from hub.errors import AuthExpired, ConfigError, NotFound, Permanent

F = TypeVar("F", bound=Callable[..., Any])


def typed_errors(channel: str) -> Callable[[F], F]:
    """Decorator: ``ConfigError`` → ``AuthExpired``, ``NotFound`` → ``Permanent`` (messages kept, never values)."""

    def wrap(fn: F) -> F:
        @wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except ConfigError as exc:
                raise AuthExpired(f"{channel}: configuration needs a person: {exc}") from None
            except NotFound as exc:
                raise Permanent(f"{channel}: {exc}") from None

        return inner  # type: ignore[return-value]

    return wrap
