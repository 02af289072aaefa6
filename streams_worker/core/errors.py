"""The errors streams-worker raises or understands.

    StreamsWorkerError
    ├── ConfigurationError        a setting is invalid; the CLI exits 2 with one line
    ├── HandlerError              raised *by handlers* to steer what happens to an entry
    │   ├── RetryableError        transient: delivered again later (after `retry_after`
    │   │   │                     seconds if given, else WORKER_RETRY_DELAYS_MS, else
    │   │   │                     the claim threshold)
    │   │   └── RateLimited       the upstream said "slow down": the whole group pauses
    │   │                         for `retry_after` seconds, and the entry waits as long
    │   └── PermanentError        hopeless: dead-letter at once, no further deliveries
    ├── MalformedEntryError       the entry cannot be parsed (dead-lettered at once)
    └── StreamError               a Redis stream operation failed; carries stream and group

Any other exception from a handler counts as retryable.
"""

from __future__ import annotations


class StreamsWorkerError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigurationError(StreamsWorkerError):
    """A setting is invalid. `variable` names it so the message can say which."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable
        self.message = message


class HandlerError(StreamsWorkerError):
    """Base for the errors a handler raises to say what should happen next."""


class RetryableError(HandlerError):
    """Transient failure: the entry stays pending and is delivered again later.

    `retry_after` (seconds, e.g. from a 429's Retry-After) overrides the retry
    schedule for this one wait.
    """

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        if retry_after is not None and not retry_after >= 0:
            raise ValueError(f"retry_after must be >= 0 seconds (got {retry_after!r})")
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """The upstream's own rate limit (a 429): every replica of the group pauses
    handler starts for `retry_after` seconds, and this entry is delivered again
    after that long."""

    def __init__(self, *args: object, retry_after: float) -> None:
        super().__init__(*args, retry_after=retry_after)


class PermanentError(HandlerError):
    """Retrying cannot help: the entry goes to the dead-letter stream at once."""


class MalformedEntryError(StreamsWorkerError):
    """The entry's fields cannot be decoded; it is dead-lettered without running the handler."""


class StreamError(StreamsWorkerError):
    """A stream operation failed in a way the worker did not expect."""

    def __init__(self, message: str, *, stream: str, group: str | None = None) -> None:
        where = f"stream={stream}" + (f" group={group}" if group else "")
        super().__init__(f"{message} ({where})")
        self.stream = stream
        self.group = group
