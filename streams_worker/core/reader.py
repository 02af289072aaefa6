"""The read loop: fetch entries (own pending first, then claims and new ones) and
hand them to the handler slots, never more than there are free slots.

Every Redis refusal goes through `policy.Trouble`: NOGROUP means the group or
stream vanished, and the group is recreated; anything else backs off and retries,
except a configuration refusal before the worker has started (exit 2, one line).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from functools import partial

import anyio
from anyio.abc import TaskStatus

from streams_worker.core.acker import Acker
from streams_worker.core.connection import Client
from streams_worker.core.health import Health
from streams_worker.core.inflight import Delivery, Inbox, Tracker, lease_clock
from streams_worker.core.keys import Partition
from streams_worker.core.logs import Logger
from streams_worker.core.policy import REDIS_ERRORS, Backoff, Kind, Trouble
from streams_worker.core.presence import PAUSED, READING, Presence
from streams_worker.core.ratelimit import RateLimiter
from streams_worker.core.reclaim import Reclaimer
from streams_worker.core.retries import Retries
from streams_worker.core.settings import WorkerSettings
from streams_worker.core.streams import RawEntry, Streams

PAUSE_CHECK_S = 0.25
MULTI_PARTITION_BLOCK_MS = 200
#: Blocking on only some of the owned partitions (more of them than free slots).
PARTIAL_READ_BLOCK_MS = 50
LOW_WATER_WAIT_S = 0.002


class Reader:
    def __init__(
        self,
        settings: WorkerSettings,
        streams: Streams,
        reader_client: Client,
        tracker: Tracker,
        reclaimer: Reclaimer,
        health: Health,
        log: Logger,
        trouble: Trouble,
    ) -> None:
        self._streams = streams
        self._trouble = trouble
        self._starting = True
        self._client = reader_client
        self._keys = settings.keys()
        self._tracker = tracker
        self._reclaimer = reclaimer
        self._health = health
        self._log = log
        self._batch = settings.batch_size
        self._block_ms = settings.block_ms
        self._burst = settings.burst
        self._cluster = settings.redis_cluster
        self._next = 0
        self._paused = False
        self._pause_checked = 0.0
        self.paused_changed: Callable[[bool], None] = lambda paused: None
        #: Told `paused` only once no further read or claim will start.
        self.presence: Presence | None = None
        #: Set by the worker: failed entries waiting to be due, the group's rate limit,
        #: and the acker whose fresh acks a single-partition read carries.
        self.retries: Retries | None = None
        self.acker: Acker | None = None
        self.limiter: RateLimiter | None = None
        #: Seconds this replica may go on reading (its consumer-name lease); inf: no lease.
        self.may_read_for_s: Callable[[], float] = lambda: float("inf")
        #: The partitions to read now: all of them, or this replica's assignment.
        self.partitions: Callable[[], tuple[Partition, ...]] = lambda: self._keys.partitions

    # -- lifecycle -------------------------------------------------------------
    async def run(self, send: Inbox, *, task_status: TaskStatus[None]) -> None:
        """Ensure the groups (then report started), re-read own pending, then read on."""
        await self._retrying("ensure_group", self._ensure_all)
        if self.presence is not None:  # known to `pause` before the first read
            await self._retrying("presence", self.presence.publish)
        self._starting = False
        task_status.started()
        try:
            for p in self._keys.partitions:
                await self._retrying("read", partial(self._recover_own, p, send))
            while True:
                self._health.heartbeat = time.monotonic()
                got = await self._retrying("read", lambda: self._step(send))
                if self._burst and got == 0 and await self._drained():
                    self._log.info("burst_drained")
                    return
        finally:
            send.close()

    async def _retrying(self, operation: str, fn: Callable[[], Awaitable[int | None]]) -> int:
        backoff = Backoff()
        missing: BaseException | None = None
        just_recreated = False
        while True:
            try:
                # Recreate inside the try: Redis may fail again while coming back.
                if missing is not None:
                    await self._recreate(missing)
                    missing, just_recreated = None, True
                result = await fn()
            except REDIS_ERRORS as exc:
                kind = self._trouble.report(operation, exc)  # raises what is not Redis's
                if kind is Kind.MISSING_GROUP:
                    if just_recreated:  # vanished again right after recreating: slow down
                        await backoff.sleep()
                    missing, just_recreated = exc, False
                    continue
                if kind is Kind.CONFIGURATION and self._starting:
                    raise  # start-up: exit 2 with one line naming the refusal
                self._health.down(operation, exc)
                self._health.heartbeat = time.monotonic()
                await backoff.sleep()
                continue
            self._health.up()
            return result or 0

    # -- groups -----------------------------------------------------------------
    async def _ensure_all(self) -> int:
        for p in self._keys.partitions:
            if await self._streams.ensure_group(p.stream):
                self._log.info("group_created", stream=p.stream)
        self._health.group_ok = True
        return 0

    async def _recreate(self, exc: BaseException) -> None:
        existed = {
            p.stream: await self._streams.stream_exists(p.stream) for p in self._keys.partitions
        }
        how = (
            "group deleted (stream still exists)"
            if all(existed.values())
            else "stream missing: Redis restarted without persistence or the key was deleted"
        )
        self._health.group_ok = False
        await self._ensure_all()
        self._health.recreated()
        self._log.warning("group_recreated", cause=how, error=str(exc)[:120])

    # -- reading ----------------------------------------------------------------
    async def _recover_own(self, p: Partition, send: Inbox) -> int:
        """Restart under the same name: our own pending entries come first."""
        start = "0"
        total = 0
        while True:
            free = await self._wait_free(pausable=False)
            raw = await self._streams.read(self._client, p.stream, start, free, None)
            if not raw:
                break
            total += await self._dispatch(p, raw, send, history=True)
            start = raw[-1].id
        if total:
            self._log.info("own_pending_recovered", stream=p.stream, count=total)
        return total

    async def _wait_free(self, *, pausable: bool = True) -> int:
        while self._tracker.free() <= 0:
            self._health.heartbeat = time.monotonic()
            await self._tracker.wait_change(PAUSE_CHECK_S)
            if pausable and await self._is_paused():
                return 0
        # Under load, slots free up one by one; reading each as it frees costs a round
        # trip per entry. Wait (very briefly) for a quarter of a batch to be free.
        low_water = max(1, min(self._batch, self._tracker.capacity) // 2)
        if self._tracker.free() < low_water:
            deadline = time.monotonic() + LOW_WATER_WAIT_S
            while self._tracker.free() < low_water and (left := deadline - time.monotonic()) > 0:
                await self._tracker.wait_change(left)
        return min(self._tracker.free(), self._batch)

    async def _step(self, send: Inbox) -> int:
        # The flag is checked right before every read or claim, never during one: a
        # replica reports `paused` only from here, so once it has, it reads nothing new.
        free = 0 if await self._is_paused() else await self._wait_free()
        if free <= 0:
            await anyio.sleep(PAUSE_CHECK_S / 2)
            return 0
        lease_ms = self.may_read_for_s() * 1000
        if lease_ms < 1:  # fenced: the consumer-name lease is not (or no longer) ours
            await anyio.sleep(PAUSE_CHECK_S / 4)
            return 0
        parts = self.partitions()
        if not parts:  # not assigned any yet, or fenced: the leases were not renewed
            await anyio.sleep(PAUSE_CHECK_S / 4)
            return 0
        if self.limiter is not None:
            free = await self.limiter.acquire(free)
        if self.retries is not None and (due := await self.retries.deliver(free, send)):
            return due
        if self._reclaimer.seconds_until_due() <= 0:
            claimed = await self._reclaimer.claim(free, parts)
            if self.retries is not None:
                claimed = await self.retries.rewait(claimed)
            for d in claimed:
                self._tracker.hold(d)
                send.put(d)
            if claimed:
                return len(claimed)
        until_s = self._reclaimer.seconds_until_due()
        if self.retries is not None:
            until_s = min(until_s, self.retries.seconds_until_check())
        # A blocking read never outlasts the lease it reads under.
        until_claim_ms = max(1, int(min(until_s * 1000, lease_ms)))
        if len(parts) == 1:
            p, acker = parts[0], None if self._cluster else self.acker
            if acker is not None and (raw := await acker.carry(self._client, p, free)):
                return await self._dispatch(p, raw, send)
            block = min(self._block_ms, until_claim_ms)
            with acker.reading() if acker is not None else nullcontext():
                raw = await self._streams.read(self._client, p.stream, ">", free, block)
            return await self._dispatch(p, raw, send)
        if self.acker is not None:
            self.acker.carrier_waiting = False  # only a single-partition read carries acks
        if not self._cluster:
            return await self._read_many(parts, free, until_claim_ms, send)
        # In a cluster, one read per partition (no cross-slot reads), a different one
        # first each round: it may fill every free slot (docs/producer.md, partitions).
        self._next = (self._next + 1) % len(parts)
        order = parts[self._next :] + parts[: self._next]
        got = 0
        for p in order:
            want = free - got
            if want <= 0:
                break
            raw = await self._streams.read(self._client, p.stream, ">", want, None)
            got += await self._dispatch(p, raw, send)
        if got == 0:
            block = min(self._block_ms, until_claim_ms, MULTI_PARTITION_BLOCK_MS)
            raw = await self._streams.read(self._client, order[0].stream, ">", free, block)
            got = await self._dispatch(order[0], raw, send)
        return got

    async def _read_many(
        self, parts: tuple[Partition, ...], free: int, until_ms: int, send: Inbox
    ) -> int:
        """One XREADGROUP over the partitions (outside a cluster): it blocks on all of
        them at once, so an idle replica costs one command per block, and an entry on
        any of them wakes it at once. COUNT is per stream, so at most `free` streams
        are read, `free // k` each; a stream that filled its share is topped up. With
        more partitions than free slots, successive reads cover the next `free` ones
        and block briefly, so every partition is read within a few short blocks."""
        start = self._next % len(parts)
        order = (parts[start:] + parts[:start])[:free]
        self._next = start + (len(order) if len(order) < len(parts) else 1)
        count = max(1, free // len(order))
        block = min(self._block_ms, until_ms)
        if len(order) < len(parts):  # some partitions are not in this read: come back soon
            block = min(block, PARTIAL_READ_BLOCK_MS)
        by_stream = {p.stream: p for p in order}
        replies = await self._streams.read_many(self._client, list(by_stream), count, block)
        got, full = 0, None
        for stream, raw in replies:
            got += await self._dispatch(by_stream[stream], raw, send)
            if len(raw) == count and full is None:
                full = by_stream[stream]
        if full is not None and free - got > 0:  # a busy partition: take the rest from it
            raw = await self._streams.read(self._client, full.stream, ">", free - got, None)
            got += await self._dispatch(full, raw, send)
        return got

    async def _dispatch(
        self,
        p: Partition,
        raw: list[RawEntry],
        send: Inbox,
        *,
        history: bool = False,
    ) -> int:
        if not raw:
            return 0
        counts: dict[str, int] = {}
        if history:  # re-read entries carry their own (incremented) delivery count
            counts = await self._streams.own_pending(p.stream, raw[0].id, raw[-1].id, len(raw))
        gone = [e.id for e in raw if e.fields is None]
        if gone:
            await self._streams.xack(p.stream, gone)
            self._reclaimer.count_deleted(p, gone)
        n, stream, tracker, now = 0, p.stream, self._tracker, lease_clock()
        for e in raw:
            if e.fields is None or (stream, e.id) in tracker:
                continue
            d = Delivery(p, e.id, e.fields, counts.get(e.id, 1) if counts else 1)
            tracker.hold(d, now)
            send.put(d)
            n += 1
        return n

    # -- pause flag and burst -----------------------------------------------------
    async def _is_paused(self) -> bool:
        now = time.monotonic()
        if now - self._pause_checked >= PAUSE_CHECK_S:
            self._pause_checked = now
            paused = bool(await self._streams.client.exists(self._keys.paused))
            if paused != self._paused:
                self._paused = paused
                self._log.warning("reads_paused" if paused else "reads_resumed")
                self.paused_changed(paused)
                if self.presence is not None:
                    await self.presence.set_state(PAUSED if paused else READING)
        return self._paused

    async def _drained(self) -> bool:
        if len(self._tracker):
            await self._tracker.wait_change(0.2)
            return False
        for p in self._keys.partitions:
            if await self._streams.pending_total(p.stream):
                return False
        return True
