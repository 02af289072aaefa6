"""What this replica holds: entries read or claimed and not yet acked.

The read loop asks it how many slots are free and reads no more than that; the
lease loop renews what it holds; the reclaimer skips what it already holds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from streams_worker.core.keys import Partition

#: Lease clock. CLOCK_BOOTTIME keeps counting while the machine is suspended (a
#: frozen VM, a laptop lid), where CLOCK_MONOTONIC stops: an entry held across a
#: suspend must look old, not fresh, or its ack would skip the ownership check.
#: (A partial, not a def: it is read once per entry, and a C-level call is cheaper.)
lease_clock: Callable[[], float] = (
    partial(time.clock_gettime, time.CLOCK_BOOTTIME)
    if hasattr(time, "CLOCK_BOOTTIME")
    else time.monotonic
)


@dataclass(slots=True, eq=False)
class Delivery:
    """An entry as fetched (read, re-read or claimed), and what this replica knows of
    it while holding it: one object per entry from the read to the ack, shared by the
    read loop, the slot, the acker and the lease loop (no lookups, no copies)."""

    partition: Partition
    entry_id: str
    raw: dict[bytes, bytes]
    delivery_count: int
    claimed: bool = False
    #: Lease clock when read, claimed or last renewed; set by `Tracker.hold`.
    renewed_at: float = 0.0
    #: A renewal found it claimed by another consumer: its ack must be checked.
    lost: bool = False
    #: The handler is done; the ack may still be on its way.
    finished: bool = False
    #: Held by the tracker (from `hold` until `release`).
    held: bool = False


class Tracker:
    """Entries held, keyed by (stream, entry ID), from read or claim until acked.

    A handler slot is free once its handler has finished, even if the ack is still
    on its way: the entry stays held (and renewed) until the ack lands, but waiting
    for the round trip would idle the slot. Entries awaiting their ack are capped
    at one more batch of `capacity`, so a stalled ack path stops the reads.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._held: dict[tuple[str, str], Delivery] = {}
        #: Readers waiting for a change: asyncio futures, far cheaper per wait than an
        #: anyio event under a cancel scope; anyio's scopes still cancel a waiter.
        self._waiters: list[asyncio.Future[None]] = []
        self._finished = 0
        self.running = 0

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[Delivery]:
        return iter(list(self._held.values()))

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._held

    def free(self) -> int:
        busy = len(self._held) - self._finished  # read or claimed, handler not done
        return min(self.capacity - busy, 2 * self.capacity - len(self._held))

    def hold(self, delivery: Delivery, now: float | None = None) -> Delivery:
        """Hold `delivery`; `now` (the lease clock) lets a batch share one clock read."""
        delivery.renewed_at = lease_clock() if now is None else now
        key = (delivery.partition.stream, delivery.entry_id)
        before = self._held.get(key)
        if before is not None and before is not delivery:  # held again: the new one wins
            before.held = False
            self._finished -= before.finished
        delivery.held = True
        self._held[key] = delivery
        return delivery

    def get(self, stream: str, entry_id: str) -> Delivery | None:
        return self._held.get((stream, entry_id))

    def finished(self, delivery: Delivery) -> None:
        """The handler is done; the entry awaits its ack (its slot is free)."""
        if delivery.held and not delivery.finished:
            delivery.finished = True
            self._finished += 1
            self._wake()

    def release(self, delivery: Delivery) -> None:
        self.release_all((delivery,))

    def release_all(self, deliveries: Iterable[Delivery]) -> None:
        """Acked, dead-lettered or given up: one wake-up for the whole batch."""
        held = self._held
        for d in deliveries:
            if d.held:
                d.held = False
                del held[(d.partition.stream, d.entry_id)]
                if d.finished:
                    self._finished -= 1
        self._wake()

    def _wake(self) -> None:
        # Wake everyone waiting now; later waiters wait for the next change.
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def wait_change(self, within_s: float) -> None:
        """Wait until a slot frees up (or `within_s` passes)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(within_s, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


FAN_OUT = 2


class Inbox:
    """Deliveries waiting for a free handler slot.

    A deque plus a future per idle slot: far cheaper per entry than a memory object
    stream or an anyio.Event (no checkpoint, no backend lookup), which matters at
    tens of thousands of entries a second. The futures are asyncio's; anyio's
    cancel scopes still cancel a slot waiting on one. `get()` returns None once
    closed and empty.

    Wake-ups fan out: a batch put at once wakes one idle slot, and each slot that
    wakes to a delivery while more wait wakes up to FAN_OUT more, so 50 slots are all
    running within about six turns of the event loop (one turn a slot, as a plain
    chain, cost a loop turn and an epoll call per slot). A slot whose handler
    finishes without suspending (a no-op, a cache hit) goes on taking deliveries
    without waking anyone, so a batch costs a few wake-ups, not one per slot that then
    finds the queue empty.
    """

    def __init__(self) -> None:
        self._items: deque[Delivery] = deque()
        self._idle: deque[asyncio.Future[bool]] = deque()
        self._woken = 0  # slots woken by a put that have not taken a delivery yet
        self._closed = False

    def put(self, delivery: Delivery) -> None:
        self._items.append(delivery)
        if not self._woken:
            self._wake_one()

    def _wake_one(self) -> None:
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(True)
                self._woken += 1
                return

    def close(self) -> None:
        self._closed = True
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(False)

    def __len__(self) -> int:
        return len(self._items)

    async def get(self) -> Delivery | None:
        items = self._items
        woken = False
        while not items:
            if self._closed:
                return None
            waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._idle.append(waiter)
            try:
                await waiter
            except BaseException:  # cancelled, perhaps right after a put woke it
                if waiter.done() and not waiter.cancelled() and waiter.result():
                    self._woken -= 1
                    if items and not self._woken:
                        self._wake_one()  # hand the wake-up on: nothing stays stranded
                raise
            if waiter.result():
                self._woken -= 1
                woken = True
        delivery = items.popleft()
        if woken:  # fan out: each woken slot wakes up to two more while deliveries wait
            for _ in range(FAN_OUT):
                if len(items) <= self._woken:
                    break
                self._wake_one()
        return delivery
