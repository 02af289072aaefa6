"""The group's rate limit and upstream pauses, enforced in Redis for every replica.

`WORKER_RATE_LIMIT` (`N/s`, `N/min`, `N/h`) caps handler starts across all replicas
of a group: before each read the read loop asks `rate_limit.lua` for as many permits
as it has free slots and reads no more entries than it was granted (GCRA on the
server's clock, so host clocks do not matter; one round trip per batch). A handler
raising `RateLimited(retry_after=s)` sets the group's pause flag (`throttle.lua`)
for s seconds: every replica's next request is refused until it expires.

Without a rate limit only the pause is checked, at most every `PAUSE_CHECK_S`.
Permits granted for a read that returns fewer entries are not given back: the limit
is a ceiling, reached while there is a backlog.
"""

from __future__ import annotations

import time

import anyio

from streams_worker.core.connection import Client
from streams_worker.core.logs import Logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.settings import WorkerSettings
from streams_worker.core.streams import lua_source

PAUSE_CHECK_S = 0.5
#: Longest single sleep while waiting, so a pause lifted early is seen soon.
MAX_SLEEP_S = 1.0
#: Burst: permits grantable at once, as a fraction of a second's worth.
BURST_S = 0.25


class RateLimiter:
    def __init__(
        self, settings: WorkerSettings, client: Client, metrics: WorkerMetrics, log: Logger
    ) -> None:
        keys = settings.keys()
        rate = settings.rate()
        self.limited = rate is not None
        self._interval_us = rate.interval_us if rate else 0
        self._burst = max(1, round(rate.per_second * BURST_S)) if rate else 1
        self._state = keys.rate_limit(settings.group)
        self._pause_key = keys.throttled(settings.group)
        self._metrics = metrics
        self._log = log
        self._script = client.register_script(lua_source("rate_limit.lua"))
        self._throttle = client.register_script(lua_source("throttle.lua"))
        self._checked_at = -PAUSE_CHECK_S
        self._paused = False
        self.granted = 0
        self.waited_s = 0.0

    async def acquire(self, want: int) -> int:
        """Wait until at least one permit is granted; returns how many (<= `want`)."""
        while True:
            if not self.limited and time.monotonic() - self._checked_at < PAUSE_CHECK_S:
                return want
            self._checked_at = time.monotonic()
            granted, wait_ms, paused = await self._script(
                keys=[self._state, self._pause_key], args=[self._interval_us, self._burst, want]
            )
            if bool(int(paused)) != self._paused:
                self._paused = not self._paused
                self._log.warning("group_throttled" if self._paused else "group_throttle_over",
                                  pause_ms=int(wait_ms))  # fmt: skip
            if int(granted) > 0:
                if self.limited:
                    self.granted += int(granted)
                    self._metrics.permits_c.inc(int(granted))
                return int(granted)
            wait = min(int(wait_ms) / 1000, MAX_SLEEP_S)
            self.waited_s += wait
            self._metrics.rate_wait_c.inc(wait)
            await anyio.sleep(wait)

    async def pause(self, seconds: float) -> None:
        """Pause handler starts on every replica for `seconds` (an upstream's 429)."""
        ms = max(1, round(seconds * 1000))
        await self._throttle(keys=[self._pause_key], args=[ms])
        self._metrics.pauses_c.inc()
        self._checked_at = -PAUSE_CHECK_S  # see it at the next read, not in 0.5 s
        self._log.warning("rate_limit_pause", pause_ms=ms)
