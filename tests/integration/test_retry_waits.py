"""Waiting entries (core/retries.py) are visible and survive restarts, on partitions.

One worker fails each entry once and stops while the entries wait; `pending` and
`info` show them held by `(waiting)` with their next attempt, the metric counts
them; Redis restarts from its AOF; a replica with another name delivers them once
due (never before), with the delivery count kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from streams_worker import StreamEntry, WorkerSettings
from streams_worker.core.keys import WAITING_CONSUMER
from streams_worker.dev.embedded import RedisProcess
from tests.support.cli import clean_env, run
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually
from tests.support.workers import serving

DELAY_MS = 2500


def _settings(url: str, names: Names, consumer: str) -> WorkerSettings:
    return WorkerSettings(**names.settings(
        redis_url=url, consumer=consumer, partitions=2, retry_delays_ms=str(DELAY_MS),
        block_ms=500, claim_interval_ms=200, claim_min_idle_ms=1500, http_port=0,
    ))  # fmt: skip


def _cli(url: str, names: Names, *args: str) -> Any:
    env = clean_env(REDIS_URL=url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group,
                    WORKER_PARTITIONS=2)  # fmt: skip
    done = run(["streams-worker", *args, "--json"], env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


async def test_waiting_entries_are_visible_and_survive_worker_and_redis_restarts(
    private_redis: Callable[..., RedisProcess], names: Names
) -> None:
    server = private_redis(appendonly=True, appendfsync="always")
    r = Redis.from_url(server.url, protocol=2)
    seen: list[tuple[str, int, float]] = []

    def first_fails(entry: StreamEntry) -> BaseException | None:
        seen.append((entry.id, entry.delivery_count, time.time()))
        return RuntimeError("upstream down") if entry.delivery_count == 1 else None

    keys = _settings(server.url, names, "a").keys()
    base = int(time.time() * 1000)
    for i, p in enumerate(keys.partitions):  # one entry in each partition
        # Distinct IDs: two partitions written in the same millisecond repeat an ID.
        await r.xadd(p.stream, {"article_id": f"urn:article:w{i}"}, id=f"{base + i}-0")
    first = Recorder(error_for=first_fails)
    async with serving(_settings(server.url, names, "replica-a"), first) as worker:
        await eventually(lambda: _waiting(r, keys.partitions, 2), timeout=10)
        gauge = worker.registry.get_sample_value
        lv = {"stream": names.stream, "group": names.group}
        assert sum(gauge("streams_worker_delayed_entries", {**lv, "partition": str(i)}) or 0
                   for i in range(2)) == 2  # fmt: skip
        assert gauge("streams_worker_delayed_total", lv) == 2
    due_ms = {}
    for p in keys.partitions:
        due_ms |= {k.decode(): int(v) for k, v in await r.zrange(p.waiting, 0, -1, withscores=True)}
    assert len(due_ms) == 2

    pending = _cli(server.url, names, "pending")
    assert pending["total_pending"] == pending["total_waiting"] == 2
    for part in pending["partitions"]:
        assert part["waiting"]["count"] == 1
        (e,) = part["entries"]
        assert e["consumer"] == WAITING_CONSUMER
        assert e["next_attempt_ms"] == due_ms[e["id"]]
        assert e["delivery_count"] == 1
    info = _cli(server.url, names, "info")
    assert [p["waiting"]["count"] for p in info["partitions"]] == [1, 1]

    await r.aclose()
    server.restart(kill=True)  # SIGKILL: only the AOF brings the waits back
    r = Redis.from_url(server.url, protocol=2)
    try:
        second = Recorder(error_for=first_fails)
        async with serving(_settings(server.url, names, "replica-b"), second):
            await eventually(lambda: _len(second.done, 2), timeout=15)
            await eventually(lambda: _pending(r, keys.partitions, names.group, 0), timeout=5)
        redelivered = [(i, n, t) for i, n, t in seen if n == 2]
        assert sorted(i for i, _, _ in redelivered) == sorted(due_ms)
        for entry_id, _, at in redelivered:
            assert at * 1000 >= due_ms[entry_id] - 20, "delivered before its due time"
        assert all(e.delivery_count == 2 for e in second.started)
        assert await _waiting(r, keys.partitions, 0)
    finally:
        await r.aclose()


async def _waiting(r: Redis, partitions: Any, n: int) -> bool:
    return sum([int(await r.zcard(p.waiting)) for p in partitions]) == n


async def _pending(r: Redis, partitions: Any, group: str, n: int) -> bool:
    total = 0
    for p in partitions:
        total += int((await r.xpending(p.stream, group))["pending"])
    return total == n


async def _len(items: list[Any], n: int) -> bool:
    return len(items) >= n
