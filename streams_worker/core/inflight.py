"""What this replica holds: entries read or claimed and not yet acked.

The read loop asks it how many slots are free and reads no more than that; the
lease loop renews what it holds; the reclaimer skips what it already holds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import anyio

from streams_worker.core.entry import StreamEntry
from streams_worker.core.keys import Partition


def _boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


#: Lease clock. CLOCK_BOOTTIME keeps counting while the machine is suspended (a
#: frozen VM, a laptop lid), where CLOCK_MONOTONIC stops: an entry held across a
#: suspend must look old, not fresh, or its ack would skip the ownership check.
lease_clock = _boottime if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic


@dataclass(slots=True)
class Delivery:
    """An entry as fetched (read, re-read or claimed), before it is decoded."""

    partition: Partition
    entry_id: str
    raw: dict[bytes, bytes]
    delivery_count: int
    claimed: bool = False


@dataclass(slots=True)
class Held:
    delivery: Delivery
    entry: StreamEntry | None = None
    renewed_at: float = field(default_factory=lease_clock)
    lost: bool = False
    finished: bool = False


class Tracker:
    """Entries held, keyed by (stream, entry ID), from read or claim until acked.

    A handler slot is free once its handler has finished, even if the ack is still
    on its way: the entry stays held (and renewed) until the ack lands, but waiting
    for the round trip would idle the slot. Entries awaiting their ack are capped
    at one more batch of `capacity`, so a stalled ack path stops the reads.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._held: dict[tuple[str, str], Held] = {}
        self._changed = anyio.Event()
        self._waiting = 0
        self._finished = 0
        self.running = 0

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[Held]:
        return iter(list(self._held.values()))

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._held

    def free(self) -> int:
        busy = len(self._held) - self._finished  # read or claimed, handler not done
        return min(self.capacity - busy, 2 * self.capacity - len(self._held))

    def hold(self, delivery: Delivery) -> Held:
        held = Held(delivery)
        self._held[(delivery.partition.stream, delivery.entry_id)] = held
        return held

    def get(self, stream: str, entry_id: str) -> Held | None:
        return self._held.get((stream, entry_id))

    def finished(self, stream: str, entry_id: str) -> None:
        """The handler is done; the entry awaits its ack (its slot is free)."""
        held = self._held.get((stream, entry_id))
        if held is not None and not held.finished:
            held.finished = True
            self._finished += 1
            self._wake()

    def release(self, stream: str, entry_id: str) -> None:
        held = self._held.pop((stream, entry_id), None)
        if held is not None:
            if held.finished:
                self._finished -= 1
            self._wake()

    def _wake(self) -> None:
        if self._waiting:
            # Wake everyone waiting now; later waiters get a fresh event. No lost
            # wake-up: a waiter takes the event with no await after its check.
            self._changed.set()
            self._changed = anyio.Event()
            self._waiting = 0

    async def wait_change(self, within_s: float) -> None:
        """Wait until a slot frees up (or `within_s` passes)."""
        changed = self._changed
        self._waiting += 1
        with anyio.move_on_after(within_s):
            await changed.wait()


class Inbox:
    """Deliveries waiting for a free handler slot.

    A deque plus a future per idle slot: far cheaper per entry than a memory object
    stream or an anyio.Event (no checkpoint, no backend lookup), which matters at
    tens of thousands of entries a second. The futures are asyncio's; anyio's
    cancel scopes still cancel a slot waiting on one. `get()` returns None once
    closed and empty.
    """

    def __init__(self) -> None:
        self._items: deque[Delivery] = deque()
        self._idle: deque[asyncio.Future[None]] = deque()
        self._closed = False

    def put(self, delivery: Delivery) -> None:
        self._items.append(delivery)
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def close(self) -> None:
        self._closed = True
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def __len__(self) -> int:
        return len(self._items)

    async def get(self) -> Delivery | None:
        while not self._items:
            if self._closed:
                return None
            waiter = asyncio.get_running_loop().create_future()
            self._idle.append(waiter)
            await waiter
        return self._items.popleft()
