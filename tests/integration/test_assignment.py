"""Partition assignment (docs/leases.md): each partition read by one live replica.

Replicas come and go; every partition ends owned by exactly one live replica, each
with its fair share; nothing is lost or handled twice across the churn; a replica
whose leases were not renewed stops reading before anyone else may start.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import anyio
import pytest
import redis.asyncio as aredis
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from streams_worker import StreamEntry, Worker, WorkerSettings
from streams_worker.cli.app import app
from streams_worker.core.assignment import PartitionOwner
from streams_worker.core.keys import StreamKeys
from streams_worker.core.logs import get_logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.ownership import Ownership, holders
from tests.support.names import Names
from tests.support.wait import eventually

pytestmark = pytest.mark.timeout(120)
N = 16


def _settings(redis_url: str, names: Names, consumer: str, **kw: Any) -> WorkerSettings:
    base: dict[str, Any] = {
        "redis_url": redis_url, "http_port": 0, "block_ms": 200, "partitions": N,
        "ownership_ttl_ms": 1500, "claim_min_idle_ms": 2000, "claim_interval_ms": 200,
    }  # fmt: skip
    return WorkerSettings(**names.settings(consumer=consumer, **{**base, **kw}))


async def _owners(r: Any, names: Names) -> dict[int, str]:
    """partition -> consumer name of its live owner, from the lease table."""
    key = StreamKeys.for_stream(names.stream, partitions=N).leases(names.group)
    out: dict[int, str] = {}
    for h in await holders(r, key):
        if h.live and h.name.startswith("partition:"):
            out[int(h.name.split(":")[1])] = str(h.info.get("consumer"))
    return out


async def _balanced(r: Any, names: Names, live: set[str]) -> bool:
    owners = await _owners(r, names)
    if set(owners) != set(range(N)) or set(owners.values()) != live:
        return False
    shares = Counter(owners.values()).values()
    return max(shares) - min(shares) <= 1


async def test_partitions_spread_over_replicas_as_they_come_and_go(
    redis_url: str, names: Names
) -> None:
    r = aredis.Redis.from_url(redis_url, protocol=2)
    seen: list[tuple[str, str]] = []

    async def handle(entry: StreamEntry) -> None:
        seen.append((entry.stream, entry.id))

    async with AsyncExitStack() as outer:
        stacks: dict[str, AsyncExitStack] = {}

        async def start(name: str) -> None:
            stack = stacks[name] = AsyncExitStack()
            await stack.enter_async_context(
                Worker(_settings(redis_url, names, name), handle).background()
            )

        await start("a")
        await eventually(lambda: _balanced(r, names, {"a"}), what="one replica owns all")
        for name in "bcde":
            await start(name)
        await eventually(lambda: _balanced(r, names, set("abcde")), timeout=30,
                         what="5 replicas with 3 or 4 partitions each")  # fmt: skip
        for name in "edc":  # graceful stops (newest first: task groups nest) hand leases back
            await stacks.pop(name).aclose()
        await eventually(lambda: _balanced(r, names, {"a", "b"}), timeout=30,
                         what="2 replicas with 8 each")  # fmt: skip
        # `info` shows who owns which partition.
        doc = await anyio.to_thread.run_sync(lambda: _info_json(redis_url, names))
        shown = {part["partition"]: part["groups"][0]["owner"] for part in doc["partitions"]}
        assert shown == await _owners(r, names)
        # Work still flows to every partition, each entry handled once.
        sent = set()
        for i in range(200):
            key = f"{names.stream}:{{{i % N}}}"
            sent.add((key, (await r.xadd(key, {"article_id": f"urn:article:{i}"})).decode()))
        await eventually(lambda: _true(set(seen) >= sent), timeout=30, what="all handled")
        assert len(seen) == len(set(seen))
        for stack in stacks.values():
            outer.push_async_callback(stack.aclose)
    await r.aclose()


async def test_fewer_partitions_than_replicas_each_replica_reads_one_shared(
    redis_url: str, names: Names
) -> None:
    seen: Counter[tuple[str, str]] = Counter()

    async def handle(entry: StreamEntry) -> None:
        seen[(entry.stream, entry.id)] += 1  # IDs repeat across partitions

    r = aredis.Redis.from_url(redis_url, protocol=2)
    async with AsyncExitStack() as stack:
        workers = [Worker(_settings(redis_url, names, c, partitions=2), handle) for c in "abc"]
        for w in workers:
            await stack.enter_async_context(w.background())
        ids = []
        for i in range(60):
            key = f"{names.stream}:{{{i % 2}}}"
            ids.append((await r.xadd(key, {"article_id": f"urn:article:{i}"})).decode())
        await eventually(lambda: _true(len(seen) == 60), timeout=30, what="all handled")
        assert set(seen.values()) == {1}

        async def settled() -> bool:
            shared = [w.status()["partitions"] for w in workers]
            # One partition each, and both partitions read by someone.
            return all(len(p) == 1 for p in shared) and {p[0] for p in shared} == {0, 1}

        await eventually(settled, timeout=10, what="one shared partition per replica")
    await r.aclose()


async def test_a_replica_whose_leases_were_not_renewed_stops_reading_before_expiry(
    redis_url: str, names: Names
) -> None:
    """The fence: from the send time of the last renewal, not from when it arrived."""
    r = aredis.Redis.from_url(redis_url, protocol=2)
    keys = StreamKeys.for_stream(names.stream, partitions=4)
    own = Ownership(r, keys.leases(names.group), ttl_ms=800, info={"consumer": "x"})
    await own.acquire(["consumer:x"])

    metrics = WorkerMetrics(CollectorRegistry(), stream=names.stream, group=names.group)
    owner = PartitionOwner(own, keys, metrics, get_logger())
    await owner.step()
    assert len(owner.readable()) == 4
    # Frozen: no renewal. It stops reading while the server still says it owns them.
    await eventually(lambda: _true(owner.readable() == ()), timeout=5, what="fenced")
    listed = [h for h in await holders(r, keys.leases(names.group)) if h.name.startswith("p")]
    assert listed
    assert all(h.live for h in listed)  # not yet expired on the server: nobody else read
    await r.aclose()


def _info_json(redis_url: str, names: Names) -> Any:
    result = CliRunner().invoke(app, [
        "info", "--json", "--redis-url", redis_url, "--stream", names.stream,
        "--group", names.group, "--partitions", str(N),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def _true(value: bool) -> bool:
    return value
