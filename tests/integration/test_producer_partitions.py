"""Partitions: the producer spreads IDs by a stable hash; a worker drains every
partition, fairly, so a partition with a big backlog does not starve the others."""

from __future__ import annotations

import anyio
from redis.asyncio import Redis

from producer.enqueue import Enqueuer, partition_index
from streams_worker import StreamEntry, Worker
from streams_worker.core.keys import StreamKeys
from streams_worker.core.settings import WorkerSettings
from tests.support.names import Names

PARTITIONS = 4


def _ids_for(partition: int, count: int, prefix: str) -> list[str]:
    out: list[str] = []
    i = 0
    while len(out) < count:
        aid = f"urn:article:{prefix}-{i}"
        if partition_index(aid, PARTITIONS) == partition:
            out.append(aid)
        i += 1
    return out


async def test_a_busy_partition_does_not_starve_the_others(redis_url: str, names: Names) -> None:
    busy = _ids_for(0, 1500, "busy")
    quiet = {p: _ids_for(p, 20, f"quiet{p}") for p in range(1, PARTITIONS)}
    keys = StreamKeys.for_stream(names.stream, partitions=PARTITIONS)
    async with Redis.from_url(redis_url) as client:
        enq = Enqueuer(client, keys)
        await enq.enqueue(busy)  # the backlog is there first...
        for ids in quiet.values():
            await enq.enqueue(ids)  # ...and the quiet partitions' entries arrive after it
        lengths = [await client.xlen(p.stream) for p in keys.partitions]
        assert lengths == [1500, 20, 20, 20]

        order: list[str] = []

        async def handle(entry: StreamEntry) -> None:
            order.append(entry.fields["article_id"])

        settings = WorkerSettings(
            redis_url=redis_url, partitions=PARTITIONS, burst=True, http_port=0, block_ms=50,
            concurrency=8, batch_size=8, **names.settings(),
        )  # fmt: skip
        with anyio.fail_after(60):
            await Worker(settings, handle).serve()

        assert sorted(order) == sorted(busy + [i for ids in quiet.values() for i in ids])
        position = {aid: n for n, aid in enumerate(order)}
        last_quiet = max(position[aid] for ids in quiet.values() for aid in ids)
        # Round-robin reads: the 60 quiet entries are done long before the backlog is.
        assert last_quiet < 400, f"quiet partitions finished only at position {last_quiet}"
        for p in keys.partitions:  # every partition drained
            assert (await client.xpending(p.stream, names.group))["pending"] == 0
            last = (await client.xrevrange(p.stream, count=1))[0][0]
            assert (await client.xinfo_groups(p.stream))[0]["last-delivered-id"] == last


async def test_routing_is_stable_and_spreads_ids() -> None:
    ids = [f"urn:article:spread-{i}" for i in range(4000)]
    counts = [0] * PARTITIONS
    for aid in ids:
        counts[partition_index(aid, PARTITIONS)] += 1
    assert all(800 < c < 1200 for c in counts), counts
    # Pinned values: CRC-32 is the same in every process, machine and Python version.
    assert [partition_index(f"urn:article:{s}", 8) for s in ("a", "b", "c")] == [3, 1, 7]
    assert partition_index("urn:article:vitamin-d-and-bone-density", 16) == 13
