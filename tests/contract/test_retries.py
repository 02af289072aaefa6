"""Backoff between deliveries (core/retries.py) on every server: failed entries wait
in the PEL for WORKER_RETRY_DELAYS_MS (or their error's retry_after), the delivery
count keeps counting, and dead letters come after WORKER_MAX_DELIVERIES as always.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from streams_worker import RetryableError, StreamEntry, WorkerSettings
from streams_worker.core.keys import WAITING_CONSUMER
from streams_worker.core.schedule import JITTER
from tests.support.features import Server
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually
from tests.support.workers import serving

pytestmark = pytest.mark.allservers

#: Scheduling slack on top of the jitter: the read loop's wake-up and a round trip.
SLACK_S = 0.15


def settings(url: str, names: Names, **kw: Any) -> WorkerSettings:
    base: dict[str, Any] = {
        "redis_url": url,
        "block_ms": 1000,
        "claim_interval_ms": 200,
        "claim_min_idle_ms": 5000,  # far beyond the waits: no claim delivers them
        "concurrency": 4,
        "http_port": 0,
    }
    return WorkerSettings(**names.settings(**(base | kw)))


@pytest.fixture
async def r(any_server: Server) -> Any:
    client = Redis.from_url(any_server.url, protocol=2)
    yield client
    await client.aclose()


async def test_failed_entry_is_delivered_again_on_the_schedule_then_dead_lettered(
    r: Redis, any_server: Server, names: Names
) -> None:
    entry_id = (await r.xadd(names.stream, {"article_id": "urn:article:flaky"})).decode()
    rec = Recorder(fail={"urn:article:flaky"})
    s = settings(any_server.url, names, retry_delays_ms="400,800", max_deliveries=4)
    async with serving(s, rec):
        await eventually(lambda: _dead_letters(r, names, 1), timeout=10,
                         explain=lambda: rec.started_at)  # fmt: skip
    assert [e.delivery_count for e in rec.started] == [1, 2, 3, 4]
    gaps = [b - a for a, b in zip(rec.started_at, rec.started_at[1:], strict=False)]
    scheduled = [0.4, 0.8, 0.8]  # the last delay repeats
    for gap, want in zip(gaps, scheduled, strict=True):
        assert want * (1 - JITTER) - 0.02 <= gap <= want * (1 + JITTER) + SLACK_S, (gaps, scheduled)
    print(f"\nbackoff {any_server.url}: scheduled {scheduled} s, measured "
          f"{[round(g, 3) for g in gaps]} s")  # fmt: skip
    dead = await r.xrange(f"{names.stream}:dead")
    assert dead[0][1][b"delivery_count"] == b"4"
    assert dead[0][1][b"source_id"] == entry_id.encode()
    assert await r.zcard(f"{names.stream}:waiting:{{{names.stream}}}") == 0


async def test_retry_after_on_the_error_overrides_the_schedule(
    r: Redis, any_server: Server, names: Names
) -> None:
    await r.xadd(names.stream, {"article_id": "urn:article:told"})

    def once(entry: StreamEntry) -> BaseException | None:
        return RetryableError("429", retry_after=0.3) if entry.delivery_count == 1 else None

    rec = Recorder(error_for=once)
    s = settings(any_server.url, names, retry_delays_ms="60000")
    async with serving(s, rec):
        await eventually(lambda: _done(rec, 1), timeout=10)
    gap = rec.started_at[1] - rec.started_at[0]
    assert 0.3 - 0.02 <= gap <= 0.3 + SLACK_S, gap
    assert [e.delivery_count for e in rec.started] == [1, 2]


async def test_a_waiting_entry_claimed_early_goes_back_to_wait_with_its_count(
    r: Redis, any_server: Server, names: Names
) -> None:
    """A waiting entry XAUTOCLAIMed before it is due (its renewals lapsed, e.g. every
    replica was down) goes back to waiting with its delivery count restored, and is
    delivered once, when due."""
    await r.xadd(names.stream, {"article_id": "urn:article:patient"})

    def once(entry: StreamEntry) -> BaseException | None:
        return RuntimeError("first time fails") if entry.delivery_count == 1 else None

    rec = Recorder(error_for=once)
    s = settings(any_server.url, names, retry_delays_ms="2500", claim_min_idle_ms=300,
                 claim_interval_ms=50)  # fmt: skip
    waiting = f"{names.stream}:waiting:{{{names.stream}}}"
    async with serving(s, rec) as worker:
        await eventually(lambda: _held_by(r, names, WAITING_CONSUMER), timeout=5)
        # Renewals lapse: the entry now sits with a consumer nobody renews for.
        (row,) = await r.xpending_range(names.stream, names.group, "-", "+", 1)
        await r.xclaim(names.stream, names.group, "gone-pod", 0, [row["message_id"]],
                       justid=True)  # fmt: skip
        claims = worker.claim_rounds
        await eventually(lambda: _claimed_back(r, names, worker, claims), timeout=5)
        assert await r.zcard(waiting) == 1
        await eventually(lambda: _done(rec, 1), timeout=10)
    assert [e.delivery_count for e in rec.started] == [1, 2]
    assert rec.started_at[1] - rec.started_at[0] >= 2.5 * (1 - JITTER) - 0.02
    assert await r.zcard(waiting) == 0
    assert (await r.xpending(names.stream, names.group))["pending"] == 0


async def _claimed_back(r: Redis, names: Names, worker: Any, claims: int) -> bool:
    """XAUTOCLAIM took the entry from gone-pod and it is waiting again, count 1."""
    rows = await r.xpending_range(names.stream, names.group, "-", "+", 1)
    return (
        worker.claim_rounds > claims and bool(rows)
        and rows[0]["consumer"].decode() == WAITING_CONSUMER
        and rows[0]["times_delivered"] == 1
    )  # fmt: skip


async def _dead_letters(r: Redis, names: Names, n: int) -> bool:
    return int(await r.xlen(f"{names.stream}:dead")) >= n


async def _done(rec: Recorder, n: int) -> bool:
    return len(rec.done) >= n


async def _held_by(r: Redis, names: Names, consumer: str) -> bool:
    rows = await r.xpending_range(names.stream, names.group, "-", "+", 10)
    return bool(rows) and all(row["consumer"].decode() == consumer for row in rows)
