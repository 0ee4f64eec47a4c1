"""The hub's closed error taxonomy.

Every error a user or a worker can meet is one of these types. Messages never
carry secrets or full phone numbers: callers pass already-redacted text (see
``hub.redact``).
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class InputError(HubError):
    """Bad input from a person: shown as one clear line, CLI exit status 2."""

    exit_code = 2


class RecordError(InputError):
    """A malformed record or record file, naming the file, line and field.

    Parameters:
      message(str): what is wrong, in words.
      file(str|None): the file it came from.
      line(int|None): the 1-based line, when known.
      field(str|None): the record field, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}:{field} {self.message}"


class ConfigError(InputError):
    """A bad configuration file or a missing environment secret, naming the key (never the value)."""


class NotFound(InputError):
    """An id that does not exist."""


class WorkflowError(InputError):
    """A workflow action that is not allowed in the current state or for this user."""


class PermissionDenied(WorkflowError):
    """The user's role does not allow the action."""


class RenderError(HubError):
    """A rendition cannot be produced within its channel's rules (budget, template, size).

    The message names the limit that was broken, e.g. "sms: 2 segments > budget 1".
    """

    exit_code = 2


class RenderFailed(HubError):
    """A renderer could not produce its artifact for a technical reason (a tool crashed or timed out,
    the produced file failed its QC, the narration voice is not understood), not because the content
    breaks a channel rule. Not a RenderError on purpose: the delivery engine holds such a delivery
    for a technician (the board says 生成该渠道的内容时出错…) and the office retries it once the cause
    is fixed, instead of failing it for good as "内容不符合该渠道的规则" (issue 17)."""

    exit_code = 2


class QCFailed(RenderFailed):
    """A produced artifact failed its quality checks (e.g. the TV package)."""


class StorageUnavailable(RenderFailed):
    """The artifact store (an object store, a shared mount) cannot be reached or refused a transfer.

    A RenderFailed because a render that cannot store its output is a technical failure to retry
    once the store is back, never a content problem; a channel's boundary turns it into
    ``Retryable`` (nothing was sent), the web answers 503. The message names the store, never a key.
    """


# --- channel outcomes -------------------------------------------------------


class ChannelError(HubError):
    """Base of what a channel adapter may raise. Adapters raise nothing else."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Retryable(ChannelError):
    """Nothing was applied (5xx before processing, connection refused): safe to send again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Retryable):
    """The platform asked us to slow down; ``retry_after`` seconds, or None for the default backoff.

    ``daily`` is True for daily quotas (WeChat 45009, SMS daily limits): the
    channel is flagged and the retry waits for the reset.
    """

    def __init__(self, message: str, retry_after: float | None = None, *, daily: bool = False) -> None:
        super().__init__(message, retry_after)
        self.daily = daily


class AuthExpired(ChannelError):
    """The account's credentials are expired or revoked: the channel needs a person to re-authorise."""


class Permanent(ChannelError):
    """The platform refused the content or the request for good; retrying cannot help."""


class Ambiguous(ChannelError):
    """The request may have been applied (timeout after sending, dropped connection, unparsable success)."""


class DuplicateRejected(ChannelError):
    """The platform says it already has this content: probably delivered earlier; reconcile, never fail."""
