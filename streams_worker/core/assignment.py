"""Partition assignment: each partition read by one replica at a time (docs/leases.md).

With `WORKER_PARTITIONS=N` and R live replicas, each replica owns about N/R
partitions through `partition:<i>` ownership leases (one script call a round moves
it a step towards its share), and reads, claims from and blocks on only those. With
N < R each replica reads one partition, shared through the consumer group. With
one partition, or with ownership leases off, every replica reads every partition,
as before.

Reads are fenced: a replica reads its partitions only until the deadline of the
call that last confirmed them, so a replica frozen past its leases stops reading
them before a new owner can start.
"""

from __future__ import annotations

import time

from streams_worker.core.keys import Partition, StreamKeys
from streams_worker.core.logs import Logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.ownership import Assignment, Ownership, assign


class PartitionOwner:
    """Keeps this replica's share of the partitions, and says which it may read now."""

    def __init__(
        self, own: Ownership, keys: StreamKeys, metrics: WorkerMetrics, log: Logger
    ) -> None:
        self.own = own
        self._parts = keys.partitions
        self._metrics = metrics
        self._log = log
        self.current = Assignment((), False, 0.0)

    def readable(self) -> tuple[Partition, ...]:
        """The partitions this replica may read right now (empty when fenced)."""
        if self.current.deadline <= time.monotonic():
            return ()
        return tuple(self._parts[i] for i in self.current.partitions)

    def seconds_left(self) -> float:
        return max(0.0, self.current.deadline - time.monotonic())

    async def step(self) -> None:
        """One round: renew what is ours, give back what is above our share, take
        free partitions up to it."""
        before = set(self.current.partitions)
        self.current = await assign(self.own, len(self._parts))
        after = set(self.current.partitions)
        self._metrics.owned_partitions_g.set(0 if self.current.shared else len(after))
        if after != before:
            self._log.info(
                "partitions_assigned", shared=self.current.shared, owned=len(after),
                gained=sorted(after - before)[:32], released=sorted(before - after)[:32],
            )  # fmt: skip

    async def release(self) -> None:
        """Give every partition back at once (stopping): reads have ended already."""
        names = [f"partition:{i}" for i in self.current.partitions if not self.current.shared]
        self.current = Assignment((), False, 0.0)
        if names:
            await self.own.release(names)
