"""The worker's periodic safe trim: acked entries go, pending and undelivered stay."""

from __future__ import annotations

from redis.asyncio import Redis

from streams_worker import WorkerSettings
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually
from tests.support.workers import serving


async def test_worker_trims_acked_entries_but_keeps_what_another_group_needs(
    redis_url: str, names: Names
) -> None:
    r = Redis.from_url(redis_url)
    await r.xgroup_create(names.stream, "laggard", id="0", mkstream=True)
    ids = [await r.xadd(names.stream, {"article_id": f"urn:article:t-{i}"}) for i in range(10)]
    await r.xreadgroup("laggard", "slow", {names.stream: ">"}, count=3)  # 3 delivered, pending
    rec = Recorder()
    s = WorkerSettings(**names.settings(redis_url=redis_url, block_ms=100, trim_interval_ms=100))
    async with serving(s, rec) as worker:
        await eventually(lambda: _handled(rec, 10))
        # Our group acked all 10, but "laggard" still needs ids[0:] (3 pending, 7 undelivered).
        await eventually(lambda: _metric(worker, "streams_worker_trim_refused_total", 0.0))
        assert await r.xlen(names.stream) == 10
        await r.xack(names.stream, "laggard", *ids[:3])
        await r.xgroup_destroy(names.stream, "laggard")
        await eventually(lambda: _xlen_is(r, names.stream, 0), timeout=10)
        await eventually(lambda: _metric(worker, "streams_worker_trimmed_total", 10.0))
    await r.aclose()


async def _handled(rec: Recorder, n: int) -> bool:
    return len(rec.calls) >= n


async def _xlen_is(r: Redis, stream: str, n: int) -> bool:
    return int(await r.xlen(stream)) == n


async def _metric(worker: object, name: str, value: float) -> bool:
    registry = worker.registry  # type: ignore[attr-defined]
    got = sum(s.value for m in registry.collect() for s in m.samples if s.name == name)
    return got == value
