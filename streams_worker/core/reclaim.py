"""Taking over what dead replicas left, keeping what live ones hold, tidying the group.

* `Reclaimer.claim`: XAUTOCLAIM entries idle past `claim_min_idle_ms`, following
  the cursor back to 0-0 across calls, never more than there are free slots.
* `Leases.run`: entries whose handler is still running are renewed (idle time
  reset) every third of `claim_min_idle_ms`, by a script that renews only what
  this consumer still owns.
* `prune_loop`: consumers that hold nothing and have been idle past the expiry
  are deleted from the group, checked and deleted in one script.
No locks anywhere: the pending entries list is the lock table.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import anyio

from streams_worker.core.inflight import Delivery, Tracker, lease_clock
from streams_worker.core.keys import Partition, StreamKeys
from streams_worker.core.logs import Logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.policy import REDIS_ERRORS, Backoff, Kind, Trouble
from streams_worker.core.presence import live_consumers
from streams_worker.core.streams import RawEntry, Streams


class Reclaimer:
    def __init__(
        self,
        streams: Streams,
        keys: StreamKeys,
        tracker: Tracker,
        metrics: WorkerMetrics,
        log: Logger,
        *,
        min_idle_ms: int,
        interval_ms: int,
    ) -> None:
        self._streams = streams
        self._keys = keys
        self._tracker = tracker
        self._metrics = metrics
        self._log = log
        self._min_idle_ms = min_idle_ms
        self._interval_s = interval_ms / 1000
        self._cursors = {p.stream: "0-0" for p in keys.partitions}
        self._next_due = time.monotonic()
        self._start = 0
        self.claimed = 0
        self.rounds = 0

    def seconds_until_due(self) -> float:
        return max(0.0, self._next_due - time.monotonic())

    async def claim(self, free: int, parts: tuple[Partition, ...] | None = None) -> list[Delivery]:
        """Claim up to `free` idle entries across `parts` (default: all; a replica with
        an assignment claims on its own partitions), rotating who goes first."""
        self._next_due = time.monotonic() + self._interval_s
        self.rounds += 1
        parts = parts or self._keys.partitions
        self._start = (self._start + 1) % len(parts)
        out: list[Delivery] = []
        for p in parts[self._start :] + parts[: self._start]:
            if free - len(out) <= 0:
                break
            out += await self._claim_partition(p, free - len(out))
        return out

    async def _claim_partition(self, p: Partition, want: int) -> list[Delivery]:
        out: list[Delivery] = []
        cursor = self._cursors[p.stream]
        while want - len(out) > 0:
            res = await self._streams.autoclaim(
                p.stream, self._min_idle_ms, cursor, want - len(out)
            )
            if res.deleted_ids:  # 7.0+ / Valkey: already removed from the PEL
                self.count_deleted(p, res.deleted_ids)
            live = [e for e in res.entries if e.fields is not None]
            gone = [e.id for e in res.entries if e.fields is None]
            if res.had_nil:  # Redis 6.2: find the deleted IDs we now hold
                gone += await self._deleted_in_range(p, cursor, res.cursor, live)
            if gone:
                await self._streams.xack(p.stream, gone)
                self.count_deleted(p, gone)
            out += await self._deliveries(p, live)
            cursor = res.cursor
            if cursor == "0-0":
                break
        self._cursors[p.stream] = cursor
        return out

    async def _deliveries(self, p: Partition, live: list[RawEntry]) -> list[Delivery]:
        fresh = [e for e in live if (p.stream, e.id) not in self._tracker]
        if not fresh:
            return []
        counts = await self._streams.own_pending(p.stream, fresh[0].id, fresh[-1].id, len(live))
        self.claimed += len(fresh)
        self._metrics.claimed_c.inc(len(fresh))
        self._log.info("entries_claimed", stream=p.stream, count=len(fresh))
        return [Delivery(p, e.id, e.fields or {}, counts.get(e.id, 1), claimed=True) for e in fresh]

    async def _deleted_in_range(
        self, p: Partition, first: str, last: str, live: list[RawEntry]
    ) -> list[str]:
        end = "+" if last == "0-0" else f"({last}"
        mine = await self._streams.own_pending(p.stream, first, end, 10_000)
        known = {e.id for e in live}
        candidates = [i for i in mine if i not in known and (p.stream, i) not in self._tracker]
        return await self._streams.missing_ids(p.stream, candidates) if candidates else []

    def count_deleted(self, p: Partition, ids: list[str]) -> None:
        self._metrics.deleted_pending_c.inc(len(ids))
        self._metrics.skipped.inc(len(ids))
        self._log.warning("pending_entries_deleted", stream=p.stream, entry_ids=ids[:20],
                          count=len(ids))  # fmt: skip


class Leases:
    """Keeps running entries from being claimed by renewing them in time."""

    def __init__(
        self,
        streams: Streams,
        tracker: Tracker,
        metrics: WorkerMetrics,
        log: Logger,
        trouble: Trouble,
        *,
        min_idle_ms: int,
    ) -> None:
        self._streams = streams
        self._trouble = trouble
        self._tracker = tracker
        self._metrics = metrics
        self._log = log
        # Renew after a third of the threshold; check twice as often as that.
        self.renew_after_s = min_idle_ms / 3000
        self.heartbeat = time.monotonic()

    async def run(self) -> None:
        """Renew until cancelled. A refusal is reported and retried sooner than the
        threshold; NOGROUP (Redis restarted empty) means nothing is left to renew."""
        backoff = Backoff(cap_s=max(self.renew_after_s / 2, 0.05))
        delay = max(self.renew_after_s / 2, 0.01)
        while True:
            self.heartbeat = time.monotonic()
            await anyio.sleep(delay)
            try:
                await self.renew_due()
            except REDIS_ERRORS as exc:
                if self._trouble.report("renew", exc) is not Kind.MISSING_GROUP:
                    delay = backoff.next_delay()
                    continue
            backoff.reset()
            delay = max(self.renew_after_s / 2, 0.01)

    async def renew_due(self) -> None:
        now = lease_clock()
        due: dict[str, list[Delivery]] = defaultdict(list)
        for held in self._tracker:
            if not held.lost and now - held.renewed_at >= self.renew_after_s:
                due[held.partition.stream].append(held)
        for stream, items in due.items():
            res = await self._streams.renew(stream, [h.entry_id for h in items])
            lost = set(res.lost)
            for h in items:
                if h.entry_id in lost:
                    h.lost = True
                else:
                    h.renewed_at = now
            self._metrics.lease_renewals_c.inc(res.count)
            if lost:
                self._metrics.lease_lost_c.inc(len(lost))
                self._log.warning("lease_lost", stream=stream, entry_ids=sorted(lost)[:20])


async def prune_loop(
    streams: Streams,
    keys: StreamKeys,
    trouble: Trouble,
    log: Logger,
    *,
    expiry_ms: int,
    metrics: WorkerMetrics,
    active: Callable[[], bool] = lambda: True,
) -> None:
    """Delete consumers that hold nothing and have been idle past `expiry_ms`; only
    while `active()` (the worker: the sampler, so one replica tidies, not all).
    Tidying is best effort: any refusal (a missing group, OOM, NOPERM...) is reported
    and the next round tries again."""
    interval = min(60.0, max(1.0, expiry_ms / 4000))
    while True:
        await anyio.sleep(interval)
        if not active():
            continue
        for p in keys.partitions:
            try:
                live = tuple(await live_consumers(streams.client, keys.replicas))
                gone = await streams.prune_consumers(p.stream, expiry_ms, live)
            except REDIS_ERRORS as exc:
                trouble.report("cleanup", exc)
                log.debug("prune_skipped", stream=p.stream, error=str(exc)[:120])
                continue
            if gone:
                metrics.consumers_deleted_c.inc(len(gone))
                log.info("idle_consumers_deleted", stream=p.stream, consumers=gone)
