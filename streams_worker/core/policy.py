"""Retry policy: which Redis errors are transient, and how long to back off."""

from __future__ import annotations

import random
import ssl
from collections.abc import Awaitable, Callable

import anyio
from redis import exceptions as rx

#: Errors after which the same call may succeed later: connection loss, timeouts,
#: a server still loading its AOF, cluster resharding or failover.
TRANSIENT: tuple[type[BaseException], ...] = (
    rx.ConnectionError,
    rx.TimeoutError,
    rx.BusyLoadingError,
    rx.ClusterDownError,
    rx.TryAgainError,
    rx.ReadOnlyError,
    rx.MasterDownError,
    ConnectionError,
    TimeoutError,
    OSError,
)

#: Errors that retrying cannot fix: wrong credentials, missing ACL permissions.
FATAL: tuple[type[BaseException], ...] = (rx.AuthenticationError, rx.NoPermissionError)


def tls_verify_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate-verification error behind `exc` (redis-py wraps it in a
    ConnectionError): the server is not who it claims, or our CA file is wrong.
    Retrying cannot fix either, so it is fatal, like a wrong password."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def is_fatal(exc: BaseException) -> bool:
    return isinstance(exc, FATAL) or tls_verify_failure(exc) is not None


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT) and not is_fatal(exc)


async def retry_transient(
    fn: Callable[[], Awaitable[None]], on_error: Callable[[BaseException], None]
) -> None:
    """Run `fn` until it succeeds, backing off after each transient failure."""
    backoff = Backoff()
    while True:
        try:
            await fn()
            return
        except Exception as exc:
            if not is_transient(exc):
                raise
            on_error(exc)
            await backoff.sleep()


class Backoff:
    """Capped exponential backoff with full jitter; `reset()` after a success."""

    def __init__(self, base_s: float = 0.05, cap_s: float = 5.0) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * (2**self.attempt))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    async def sleep(self) -> None:
        await anyio.sleep(self.next_delay())

    def reset(self) -> None:
        self.attempt = 0
