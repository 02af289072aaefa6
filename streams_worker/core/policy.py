"""Every Redis refusal classified in one place, and what a loop does about it.

    classify(exc)
    ├── TRANSIENT       connection loss, timeouts, LOADING, BUSY, TRYAGAIN, CLUSTERDOWN,
    │                   MASTERDOWN, READONLY, NOREPLICAS, MISCONF, OOM: back off, retry
    ├── ROUTING         MOVED, ASK: the cluster client follows them; if one surfaces
    │                   anyway (slot map refreshing), retried like a transient one
    ├── SCRIPT          NOSCRIPT: redis-py's Script reloads and retries once; if one
    │                   surfaces anyway, retried like a transient one
    ├── MISSING_GROUP   NOGROUP: the stream or group vanished; the read loop recreates it
    ├── CONFIGURATION   NOPERM, WRONGPASS, NOAUTH, WRONGTYPE on our keys, an unknown
    │                   command: start-up stops (exit 2, one line); at run time readiness
    │                   goes false, one error line a minute, retried until fixed
    └── UNEXPECTED      any other error reply: retried, one error line a minute
A non-Redis exception (a bug) is not classified (`None`) and propagates.

Per-entry outcomes (a handler's error, an unparsable entry) are not Redis replies:
they dead-letter the entry (processor.py). docs/reliability.md has the table.
"""

from __future__ import annotations

import enum
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from redis import exceptions as rx

from streams_worker.core.logs import Logger

T = TypeVar("T")


class Kind(enum.Enum):
    TRANSIENT = "transient"
    ROUTING = "routing"
    SCRIPT = "script"
    MISSING_GROUP = "missing_group"
    CONFIGURATION = "configuration"
    UNEXPECTED = "unexpected"


TRANSIENT_CODES = frozenset(
    {"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "NOREPLICAS",
     "MISCONF", "OOM"}
)  # fmt: skip
CONFIGURATION_CODES = frozenset({"NOPERM", "WRONGPASS", "NOAUTH", "WRONGTYPE"})
ROUTING_CODES = frozenset({"MOVED", "ASK"})
_CODES = TRANSIENT_CODES | CONFIGURATION_CODES | ROUTING_CODES | {"NOSCRIPT", "NOGROUP"}
#: A code as a whole word: inside a script error it follows "-" or ": " (6.2 wraps it).
_CODE_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(_CODES)) + r")(?![A-Za-z])")
_NETWORK: tuple[type[BaseException], ...] = (
    rx.ConnectionError, rx.TimeoutError, ConnectionError, TimeoutError, OSError,
)  # fmt: skip


class UnknownRedirect(rx.ClusterError):
    """MOVED/ASK to a node the cluster client's slot map does not know yet (a primary
    just added, receiving a slot). redis-py raises AttributeError from inside itself
    then; core/connection.py turns that into this, a routing error, so the loop
    retries until the move completes and MOVED brings the node into the map."""


#: Everything Redis or the network can raise at us: what every loop catches.
REDIS_ERRORS: tuple[type[BaseException], ...] = (rx.RedisError, OSError)

#: Errors that retrying cannot fix without an operator: wrong credentials, ACLs.
FATAL: tuple[type[BaseException], ...] = (rx.AuthenticationError, rx.NoPermissionError)


def error_code(exc: BaseException) -> str | None:
    """The reply's error code (OOM, BUSY, ...), also when a script error wraps it."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, str) and status in _CODES:
        return status
    if not isinstance(exc, rx.ResponseError):
        return None
    m = _CODE_RE.search(str(exc)[:300])
    return m[1] if m else None


def classify(exc: BaseException) -> Kind | None:
    """What kind of refusal `exc` is; None for anything that did not come from Redis."""
    if isinstance(exc, rx.AuthenticationError | rx.NoPermissionError) or tls_verify_failure(exc):
        return Kind.CONFIGURATION
    if isinstance(exc, rx.ResponseError):
        code = error_code(exc)
        if code in TRANSIENT_CODES:
            return Kind.TRANSIENT
        if code in CONFIGURATION_CODES or "unknown command" in str(exc).lower():
            return Kind.CONFIGURATION
        if code in ROUTING_CODES:
            return Kind.ROUTING
        if code == "NOSCRIPT":
            return Kind.SCRIPT
        if code == "NOGROUP":
            return Kind.MISSING_GROUP
        return Kind.UNEXPECTED
    if isinstance(exc, UnknownRedirect):
        return Kind.ROUTING
    if isinstance(exc, _NETWORK):
        return Kind.TRANSIENT
    if isinstance(exc, rx.RedisError):
        return Kind.UNEXPECTED
    return None


def tls_verify_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate-verification error behind `exc` (redis-py wraps it in a
    ConnectionError): the server is not who it claims, or our CA file is wrong."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def is_fatal(exc: BaseException) -> bool:
    """Fatal at start-up: a refusal only an operator can fix."""
    return classify(exc) is Kind.CONFIGURATION


def is_refusal(exc: BaseException) -> bool:
    """A configuration refusal from Redis itself (NOPERM, WRONGPASS, ...): what a one-shot
    command exits 2 on. A certificate that does not verify is not one (exit 1/3)."""
    return is_fatal(exc) and tls_verify_failure(exc) is None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying as it is (everything from Redis except configuration refusals)."""
    kind = classify(exc)
    return kind is not None and kind is not Kind.CONFIGURATION


class Trouble:
    """What the loops of one worker (or producer) share about Redis refusals.

    `report(operation, exc)` classifies, counts (`count(operation)`), and logs:
    configuration and unexpected refusals as one error line per code a minute (the
    read loop logs outages of the transient kind itself). While refusals continue,
    `unhealthy` is true and readiness reports false.
    """

    def __init__(
        self, log: Logger, count: Callable[[str], None] = lambda op: None, *,
        every_s: float = 60.0, unhealthy_for_s: float = 10.0,
    ) -> None:  # fmt: skip
        self._log = log
        self._count = count
        self._every_s = every_s
        self._unhealthy_for_s = unhealthy_for_s
        self._logged: dict[str, float] = {}
        self._refused_at = float("-inf")
        self.last: BaseException | None = None

    def report(self, operation: str, exc: BaseException) -> Kind:
        kind = classify(exc)
        if kind is None:
            raise exc
        if kind is Kind.MISSING_GROUP:
            return kind
        self._count(operation)
        self.last = exc
        now = time.monotonic()
        if kind in (Kind.CONFIGURATION, Kind.UNEXPECTED):
            self._refused_at = now
            key = f"{kind.value}:{error_code(exc) or type(exc).__name__}"
            if now - self._logged.get(key, float("-inf")) >= self._every_s:
                self._logged[key] = now
                self._log.error("redis_refused", operation=operation, kind=kind.value,
                                error=describe(exc))  # fmt: skip
        return kind

    @property
    def unhealthy(self) -> bool:
        """A configuration or unexpected refusal was seen in the last few seconds."""
        return time.monotonic() - self._refused_at < self._unhealthy_for_s


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def retry(
    fn: Callable[[], Awaitable[T]], trouble: Trouble, operation: str, *,
    starting: bool = False, on_error: Callable[[BaseException], None] = lambda exc: None,
) -> T:  # fmt: skip
    """Run `fn` until it succeeds, backing off after each Redis refusal. `starting`:
    a configuration refusal is raised (start-up stops with one line) instead."""
    backoff = Backoff()
    while True:
        try:
            return await fn()
        except REDIS_ERRORS as exc:
            kind = trouble.report(operation, exc)
            if starting and kind is Kind.CONFIGURATION:
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
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    async def sleep(self) -> None:
        await anyio.sleep(self.next_delay())

    def reset(self) -> None:
        self.attempt = 0
