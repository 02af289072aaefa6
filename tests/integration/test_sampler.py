"""GroupSampler: gauges per partition, Redis errors counted, the loop never dies."""

from __future__ import annotations

from collections.abc import Callable

import anyio
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from streams_worker.core.connection import create_client
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.sampler import GroupSampler
from streams_worker.core.settings import CommonSettings
from streams_worker.dev.embedded import RedisProcess
from tests.support.features import Features
from tests.support.names import Names
from tests.support.wait import eventually


def gauge(reg: CollectorRegistry, name: str, names: Names, partition: int) -> float | None:
    labels = {"stream": names.stream, "group": names.group, "partition": str(partition)}
    return reg.get_sample_value(f"streams_worker_{name}", labels)


async def test_sample_sets_every_group_gauge_per_partition(
    redis_url: str, names: Names, features: Features
) -> None:
    settings = CommonSettings(
        redis_url=redis_url, stream=names.stream, group=names.group, partitions=2
    )
    keys = settings.keys()
    r = Redis.from_url(redis_url)
    p0, p1 = keys.partitions
    for i in range(3):
        await r.xadd(p0.stream, {"article_id": f"a{i}"})
    await r.xadd(p1.stream, {"article_id": "b"})
    for p in keys.partitions:
        await r.xgroup_create(p.stream, names.group, "0")
    await r.xreadgroup(names.group, "c", {p0.stream: ">"}, count=1)
    await r.xadd(p1.dead_letter, {"reason": "malformed"})
    reg = CollectorRegistry()
    client = create_client(settings)
    try:
        sampler = GroupSampler(
            client, keys, names.group, WorkerMetrics(reg, stream=names.stream, group=names.group)
        )
        sample = await sampler.sample()
    finally:
        await client.aclose()
        await r.aclose()

    assert sampler.last is sample
    assert (sample.length, sample.pending, sample.lag, sample.backlog) == (4, 1, 3, 4)
    assert sample.dead_letter_length == 1
    expected = {
        "stream_length": (3, 1),
        "group_pending": (1, 0),
        "group_lag": (2, 1),
        "group_backlog": (3, 1),
        "group_consumers": (1, 0),
        "dead_letter_length": (0, 1),
    }
    for name, (v0, v1) in expected.items():
        assert (gauge(reg, name, names, 0), gauge(reg, name, names, 1)) == (v0, v1), name
    # nothing deleted: the server's own lag where it has one, else counted (estimated)
    assert gauge(reg, "group_lag_estimated", names, 0) == (0.0 if features.xinfo_lag else 1.0)
    assert gauge(reg, "oldest_pending_age_seconds", names, 0) is not None
    assert gauge(reg, "oldest_undelivered_age_seconds", names, 1) is not None


async def test_redis_errors_are_counted_and_the_loop_keeps_sampling(
    private_redis: Callable[..., RedisProcess], names: Names
) -> None:
    server = private_redis()
    settings = CommonSettings(
        redis_url=server.url, stream=names.stream, group=names.group, redis_socket_timeout_s=0.5
    )
    reg = CollectorRegistry()
    metrics = WorkerMetrics(reg, stream=names.stream, group=names.group)
    client = create_client(settings)
    sampler = GroupSampler(client, settings.keys(), names.group, metrics)
    errors = {"stream": names.stream, "group": names.group, "operation": "sample"}

    def error_count() -> float:
        return reg.get_sample_value("streams_worker_redis_errors_total", errors) or 0.0

    try:
        async with anyio.create_task_group() as tg:
            await tg.start(sampler.run, 0.05)
            assert sampler.last is not None
            server.stop()
            await eventually(lambda: _gt(error_count, 2), timeout=10, what="errors counted")
            before = sampler.last.sampled_at
            server.start()
            await eventually(lambda: _newer(sampler, before), timeout=10, what="sampling again")
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()


async def _gt(f: Callable[[], float], n: float) -> bool:
    return f() > n


async def _newer(sampler: GroupSampler, t: float) -> bool:
    return sampler.last is not None and sampler.last.sampled_at > t
