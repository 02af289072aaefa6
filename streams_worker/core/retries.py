"""Backoff between deliveries: failed entries wait in the PEL until they are due.

    handler fails (delivery n < max)      wait.lua: still ours? -> owner becomes the
      with a schedule or retry_after      waiting consumer "(waiting)" (count unchanged),
                                          ZADD <stream>:waiting:{tag} due-ms ID
    any replica, when the earliest        release_due.lua: due IDs XCLAIMed to the caller
      entry is due or every claim           (count n+1) and returned; waiting ones idle
      interval                              past a third of the claim threshold renewed
    XAUTOCLAIM took a waiting entry       rewait.lua: not due -> back to waiting, count
      (renewals lapsed: all replicas down)  restored; due -> delivered

The entry never leaves the pending entries list, so nothing is acked early, the
delivery count keeps counting (WORKER_MAX_DELIVERIES and dead letters work as
without waits), a crash at any point leaves it pending (recovered by a claim), and
the waiting set survives restarts with the stream. Due times are on the server's
clock. docs/retries.md says why this design and what it costs.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from streams_worker.core.connection import Client
from streams_worker.core.errors import RetryableError
from streams_worker.core.inflight import Delivery, Inbox, Tracker
from streams_worker.core.keys import WAITING_CONSUMER, Partition
from streams_worker.core.logs import Logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.schedule import retry_delay_ms
from streams_worker.core.settings import WorkerSettings
from streams_worker.core.streams import lua_source, text

#: Waiting entries renewed at least this idle (ms), however small the claim threshold.
MIN_RENEW_AFTER_MS = 100


@dataclass(slots=True)
class WaitingState:
    """One partition's waiting set as last seen: size and earliest due time."""

    count: int = 0
    next_due_ms: int | None = None


class Retries:
    """Puts failed entries to wait, and hands them back when due."""

    def __init__(
        self,
        settings: WorkerSettings,
        client: Client,
        tracker: Tracker,
        metrics: WorkerMetrics,
        log: Logger,
    ) -> None:
        self._client = client
        self._tracker = tracker
        self._group = settings.group
        self._consumer = settings.consumer
        self._partitions = settings.keys().partitions
        self._metrics = metrics
        self._log = log
        self._delays = settings.retry_schedule_ms()
        self._poll_s = settings.claim_interval_ms / 1000
        self._renew_after_ms = max(settings.claim_min_idle_ms // 3, MIN_RENEW_AFTER_MS)
        self._wait = client.register_script(lua_source("wait.lua"))
        self._release = client.register_script(lua_source("release_due.lua"))
        self._rewait = client.register_script(lua_source("rewait.lua"))
        self._next_check = time.monotonic()
        self.state = {p.index: WaitingState() for p in self._partitions}
        self.waited = 0

    # -- failing ---------------------------------------------------------------
    def delay_ms(self, delivery_count: int, exc: BaseException) -> int | None:
        """The wait before the next delivery, or None: redelivered after the claim
        threshold, as without a schedule."""
        after = exc.retry_after if isinstance(exc, RetryableError) else None
        return retry_delay_ms(self._delays, delivery_count, after)

    async def wait(self, d: Delivery, delay_ms: int) -> bool:
        """Start the entry's wait; False if another consumer owns it now."""
        p = d.partition
        res = await self._wait(
            keys=[p.stream, p.waiting],
            args=[self._group, self._consumer, WAITING_CONSUMER, d.entry_id, delay_ms],
        )
        if not res:
            return False
        self.waited += 1
        self._metrics.delayed_c.inc()
        self._publish(p, int(res[2]), int(res[3]))
        self._next_check = min(self._next_check, time.monotonic() + delay_ms / 1000)
        self._log.info("entry_waiting", stream=p.stream, entry_id=d.entry_id,
                       delivery_count=d.delivery_count, delay_ms=delay_ms)  # fmt: skip
        return True

    # -- delivering again ------------------------------------------------------
    def seconds_until_check(self) -> float:
        return max(0.0, self._next_check - time.monotonic())

    async def deliver(self, free: int, send: Inbox) -> int:
        """If a check is due: due entries (at most `free`) to the handler slots."""
        if self.seconds_until_check() > 0:
            return 0
        released = await self.release(free)
        for d in released:
            self._tracker.hold(d)
            send.put(d)
        return len(released)

    async def release(self, free: int) -> list[Delivery]:
        """Due entries of every partition (at most `free`), now owned by this consumer."""
        out: list[Delivery] = []
        now = time.monotonic()
        next_check = now + self._poll_s
        for p in self._partitions:
            raw, count, next_due, server_now = await self._release(
                keys=[p.stream, p.waiting],
                args=[self._group, self._consumer, WAITING_CONSUMER,
                      max(free - len(out), 0), self._renew_after_ms],
            )  # fmt: skip
            for entry_id, flat, n in raw:
                it = iter(flat)
                fields = dict(zip(it, it, strict=True))
                out.append(Delivery(p, text(entry_id), fields, int(n), claimed=True))
            self._publish(p, int(count), int(next_due))
            if int(count):
                next_check = min(next_check, now + self._renew_after_ms / 2000)
            if int(next_due) >= 0:
                next_check = min(next_check, now + max(0, int(next_due) - int(server_now)) / 1000)
        self._next_check = next_check
        if out:
            self._log.info("waiting_entries_due", count=len(out))
        return out

    async def rewait(self, claimed: list[Delivery]) -> list[Delivery]:
        """Of entries just claimed, those still waiting go back to wait; the rest return."""
        if not claimed:
            return claimed
        by_stream: dict[str, list[Delivery]] = defaultdict(list)
        for d in claimed:
            by_stream[d.partition.stream].append(d)
        back: set[tuple[str, str]] = set()
        for stream, ds in by_stream.items():
            p = ds[0].partition
            args: list[str | int] = [self._group, WAITING_CONSUMER]
            for d in ds:
                args += [d.entry_id, d.delivery_count]
            ids = await self._rewait(keys=[stream, p.waiting], args=args)
            back |= {(stream, text(i)) for i in ids}
        if back:
            self._log.debug("claimed_entries_still_waiting", count=len(back))
        return [d for d in claimed if (d.partition.stream, d.entry_id) not in back]

    def _publish(self, p: Partition, count: int, next_due_ms: int) -> None:
        st = self.state[p.index]
        st.count, st.next_due_ms = count, (next_due_ms if next_due_ms >= 0 else None)
        lv = {"partition": str(p.index)}
        self._metrics.delayed_entries.labels(**self._metrics.group_labels, **lv).set(count)
        self._metrics.delayed_next_attempt.labels(**self._metrics.group_labels, **lv).set(
            next_due_ms / 1000 if next_due_ms >= 0 else 0
        )
