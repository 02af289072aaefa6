"""Retrying HTTP calls to the catalog and the LLM endpoint: one policy for both.

429 (after its Retry-After), 5xx and transport errors are retried with capped
exponential backoff and full jitter, a bounded number of times; whatever is left
is the caller's to classify. Exhausting the attempts raises `ServiceUnavailable`,
a `RetryableError`: the entry stays pending and is delivered again later.

A 429 asking for longer than `group_pause_after_s` (or the last of the attempts being
a 429) raises `UpstreamRateLimited`, a `RateLimited`: the worker pauses every replica
of the group for the Retry-After instead of each handler sleeping through it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio
import httpx

from streams_worker.core.errors import RateLimited, RetryableError
from streams_worker.core.logs import get_logger

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class ServiceUnavailable(RetryableError):
    """A service kept failing (429/5xx/transport) through every attempt."""

    def __init__(self, service: str, reason: str, attempts: int) -> None:
        super().__init__(f"{service} unavailable after {attempts} attempts: {reason}")
        self.service = service
        self.reason = reason
        self.attempts = attempts


class UpstreamRateLimited(RateLimited):
    """A service answered 429 for longer than a handler should sleep: pause the group."""

    def __init__(self, service: str, retry_after: float, attempts: int) -> None:
        super().__init__(
            f"{service} rate-limited us (429, retry after {retry_after:g} s, attempt {attempts})",
            retry_after=retry_after,
        )
        self.service = service
        self.attempts = attempts


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass
class RetryPolicy:
    """`max_retries` extra attempts after the first; sleeps capped at `max_delay_s`."""

    max_retries: int = 5
    base_delay_s: float = 0.1
    max_delay_s: float = 10.0
    #: A 429's Retry-After above this pauses the group (UpstreamRateLimited).
    group_pause_after_s: float = 1.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)], attempt counted from 0."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** min(attempt, 30)))
        return self.rng.uniform(0, ceiling)

    def delay_for(self, attempt: int, response: httpx.Response | None) -> float:
        """How long to wait before the next attempt; a 429's Retry-After wins (capped)."""
        if response is not None and response.status_code == 429:
            hinted = parse_retry_after(response.headers.get("retry-after"))
            if hinted is not None:
                # A little jitter on top so a crowd of replicas does not return at once.
                return min(self.max_delay_s, hinted) + self.rng.uniform(0, self.base_delay_s)
        return self.backoff(attempt)


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]], policy: RetryPolicy, *, service: str
) -> httpx.Response:
    """Call `send` until it answers something other than 429/5xx, within the policy.

    Returns that response (2xx or a non-retryable 4xx, for the caller to judge).
    """
    log = get_logger(component=service)
    attempt = 0
    while True:
        response: httpx.Response | None = None
        try:
            response = await send()
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if response.status_code not in RETRYABLE_STATUS:
                return response
            reason = f"HTTP {response.status_code}"
            if response.status_code == 429:
                _pause_group_if_long(response, policy, service, attempt)
        if attempt >= policy.max_retries:
            raise ServiceUnavailable(service, reason, attempt + 1)
        delay = policy.delay_for(attempt, response)
        log.debug("http_retry", reason=reason, attempt=attempt + 1, delay_s=round(delay, 3))
        await policy.sleep(delay)
        attempt += 1


def _pause_group_if_long(
    response: httpx.Response, policy: RetryPolicy, service: str, attempt: int
) -> None:
    """Raise `UpstreamRateLimited` for a long Retry-After or a 429 on the last attempt."""
    hinted = parse_retry_after(response.headers.get("retry-after"))
    if hinted is not None and hinted > policy.group_pause_after_s:
        raise UpstreamRateLimited(service, hinted, attempt + 1)
    if attempt >= policy.max_retries:
        wait = hinted if hinted is not None else policy.backoff(attempt)
        raise UpstreamRateLimited(service, max(wait, policy.base_delay_s), attempt + 1)
