"""The cardinality budget of docs/metrics.md, counted on a 3-replica, 16-partition run.

Per replica: a fixed set of series, whatever the number of partitions. Per partition:
the group gauges and trim counters, exported once (by the replica holding the sampler
lease), not once per replica.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from prometheus_client import CollectorRegistry

from streams_worker import StreamEntry, Worker, WorkerSettings
from tests.support.names import Names
from tests.support.wait import eventually

#: docs/metrics.md, "Cardinality budget".
PER_REPLICA = 70
PER_PARTITION = 13
PARTITIONS = 16
REPLICAS = 3


def series(reg: CollectorRegistry) -> tuple[int, int]:
    """(series without a partition label, series with one); `_created` is not a series."""
    fixed = per_partition = 0
    for family in reg.collect():
        for s in family.samples:
            if s.name.endswith("_created"):
                continue
            if "partition" in s.labels:
                per_partition += 1
            else:
                fixed += 1
    return fixed, per_partition


async def _noop(entry: StreamEntry) -> None:
    return None


async def test_series_per_replica_and_per_partition_stay_within_the_budget(
    redis_url: str, names: Names
) -> None:
    regs = [CollectorRegistry() for _ in range(REPLICAS)]
    async with AsyncExitStack() as stack:
        for i, reg in enumerate(regs):
            settings = WorkerSettings(**names.settings(
                redis_url=redis_url, consumer=f"c{i}", partitions=PARTITIONS, http_port=0,
                block_ms=50, group_sample_interval_ms=100, trim_interval_ms=100,
            ))  # fmt: skip
            await stack.enter_async_context(Worker(settings, _noop, registry=reg).background())

        async def sampled() -> bool:
            return sorted(series(r)[1] > 0 for r in regs) == [False, False, True]

        await eventually(sampled, timeout=30, what="one replica exporting the group series")
        counts = [series(r) for r in regs]
    fixed = [f for f, _ in counts]
    partitioned = sorted(p for _, p in counts)
    assert max(fixed) <= PER_REPLICA, counts
    assert partitioned[:2] == [0, 0]
    # At least the nine group gauges per partition, at most the budget.
    assert 9 * PARTITIONS <= partitioned[2] <= PER_PARTITION * PARTITIONS, counts
    total = sum(fixed) + sum(partitioned)
    assert total <= REPLICAS * PER_REPLICA + PARTITIONS * PER_PARTITION
