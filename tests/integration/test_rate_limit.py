"""The group's rate limit (core/ratelimit.py), held by three replicas together.

Three workers (in this process, each with its own Redis connections: the limit is
enforced in Redis, nothing is shared in memory) drain a backlog under
WORKER_RATE_LIMIT; handler start times are measured against the limit. A handler
raising RateLimited pauses all three.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from typing import Any

import pytest
from redis.asyncio import Redis

from streams_worker import RateLimited, StreamEntry, WorkerSettings
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually
from tests.support.workers import serving

REPLICAS = 3
RATE = 20.0
#: Handler starts measured after the first WARMUP (the initial burst): 15 s at 20/s in
#: `make test`, the full minute with --soak.
WARMUP = 20


def _settings(url: str, names: Names, i: int, **kw: Any) -> WorkerSettings:
    return WorkerSettings(**names.settings(
        redis_url=url, consumer=f"{names.consumer}-{i}", concurrency=4, block_ms=200,
        claim_interval_ms=1000, claim_min_idle_ms=30_000, http_port=0, **kw,
    ))  # fmt: skip


async def _backlog(r: Redis, names: Names, n: int) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(names.stream, {"article_id": f"urn:article:r{i}"})
    await pipe.execute()


def _starts(recs: list[Recorder]) -> list[tuple[float, int]]:
    return sorted((t, i) for i, rec in enumerate(recs) for t in rec.started_at)


@pytest.mark.parametrize("seconds", [15, pytest.param(60, marks=pytest.mark.soak, id="a-minute")])
async def test_three_replicas_together_hold_the_group_rate_limit(
    redis_url: str, names: Names, seconds: int
) -> None:
    measured = int(RATE * seconds)
    r = Redis.from_url(redis_url, protocol=2)
    await _backlog(r, names, measured + WARMUP + 100)
    recs = [Recorder() for _ in range(REPLICAS)]
    async with AsyncExitStack() as stack:
        workers = [
            await stack.enter_async_context(
                serving(_settings(redis_url, names, i, rate_limit=f"{RATE:g}/s"), rec)
            )
            for i, rec in enumerate(recs)
        ]
        await eventually(lambda: _at_least(recs, WARMUP + measured + 1), timeout=2 * seconds,
                         explain=lambda: len(_starts(recs)))  # fmt: skip
    await r.aclose()
    starts = _starts(recs)[WARMUP : WARMUP + measured + 1]
    window = starts[-1][0] - starts[0][0]
    rate = measured / window
    shares = [sum(1 for _, i in starts if i == k) / len(starts) for k in range(REPLICAS)]
    print(f"\nrate limit {RATE:g}/s, {REPLICAS} replicas: {measured} starts in {window:.2f} s "
          f"= {rate:.2f}/s; shares {[round(s, 2) for s in shares]}")  # fmt: skip
    assert RATE * 0.9 <= rate <= RATE * 1.1
    assert min(shares) >= 0.2, shares  # every replica gets a fair part
    granted = sum(w.registry.get_sample_value(
        "streams_worker_rate_limit_permits_total",
        {"stream": names.stream, "group": names.group}) or 0 for w in workers)  # fmt: skip
    assert granted >= WARMUP + measured
    waited = [
        w.registry.get_sample_value(
            "streams_worker_rate_limit_wait_seconds_total",
            {"stream": names.stream, "group": names.group},
        )
        for w in workers
    ]
    assert all(x and x > 1.0 for x in waited), waited


async def test_an_upstream_429_pauses_every_replica_for_its_retry_after(
    redis_url: str, names: Names
) -> None:
    pause_s = 2.0
    raised: list[float] = []

    def limited(entry: StreamEntry) -> BaseException | None:
        if entry.fields["article_id"] == "urn:article:r40" and entry.delivery_count == 1:
            raised.append(time.monotonic())
            return RateLimited("429 from the catalog", retry_after=pause_s)
        return None

    r = Redis.from_url(redis_url, protocol=2)
    await _backlog(r, names, 400)
    recs = [Recorder(error_for=limited) for _ in range(REPLICAS)]
    async with AsyncExitStack() as stack:
        for i, rec in enumerate(recs):
            s = _settings(redis_url, names, i, rate_limit="40/s", retry_delays_ms="60000")
            await stack.enter_async_context(serving(s, rec))
        await eventually(lambda: _resumed_everywhere(recs, raised, pause_s), timeout=20,
                         explain=lambda: (raised, _starts(recs)[-5:]))  # fmt: skip
    await r.aclose()
    (at,) = raised
    during = [(t - at, i) for t, i in _starts(recs) if at + 0.1 < t < at + pause_s - 0.05]
    assert during == [], f"handlers started during the pause: {during}"
    first_after = min(t for t, _ in _starts(recs) if t > at + 0.1) - at
    print(f"\n429 with retry_after {pause_s} s: no replica started a handler for "
          f"{first_after:.3f} s")  # fmt: skip
    # the entry that got the 429 waited for its retry_after, then succeeded
    again = [e for rec in recs for e in rec.done if e.fields["article_id"] == "urn:article:r40"]
    assert [e.delivery_count for e in again] == [2]


async def _at_least(recs: list[Recorder], n: int) -> bool:
    return len(_starts(recs)) >= n


async def _resumed_everywhere(recs: list[Recorder], raised: list[float], pause_s: float) -> bool:
    if not raised:
        return False
    return all(any(t > raised[0] + pause_s for t in rec.started_at) for rec in recs)
