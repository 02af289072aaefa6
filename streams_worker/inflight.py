"""What this replica holds: entries read or claimed and not yet acked.

The read loop asks it how many slots are free and reads no more than that; the
lease loop renews what it holds; the reclaimer skips what it already holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import anyio

from streams_worker.entry import StreamEntry
from streams_worker.keys import Partition


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
    renewed_at: float = field(default_factory=time.monotonic)
    lost: bool = False


class Tracker:
    """Entries held, keyed by (stream, entry ID); a slot is free when held < capacity."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._held: dict[tuple[str, str], Held] = {}
        self._changed = anyio.Event()
        self.running = 0

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[Held]:
        return iter(list(self._held.values()))

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._held

    def free(self) -> int:
        return self.capacity - len(self._held)

    def hold(self, delivery: Delivery) -> Held:
        held = Held(delivery)
        self._held[(delivery.partition.stream, delivery.entry_id)] = held
        return held

    def get(self, stream: str, entry_id: str) -> Held | None:
        return self._held.get((stream, entry_id))

    def release(self, stream: str, entry_id: str) -> None:
        if self._held.pop((stream, entry_id), None) is not None:
            self._changed.set()

    async def wait_change(self, within_s: float) -> None:
        """Wait until something is released (or `within_s` passes)."""
        if self._changed.is_set():
            self._changed = anyio.Event()
        with anyio.move_on_after(within_s):
            await self._changed.wait()
