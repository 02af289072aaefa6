"""The universal delivery-semantics suite: every test runs against every server
(`any_server`: each binary here, Docker images, and REDIS_TEST_URL), given that
server's `Features`. A difference between servers is a feature flag checked in the
test (tests/support/features.py), never a version comparison or a separate test.

Time-based behaviour is made immediate (claim_min_idle_ms small or 0, short
blocks), never waited out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from streams_worker import WorkerSettings
from streams_worker.core.keys import StreamKeys
from streams_worker.core.streams import Streams
from tests.support.features import Server
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually
from tests.support.workers import serving

pytestmark = pytest.mark.allservers


def settings(url: str, names: Names, **kw: Any) -> WorkerSettings:
    base: dict[str, Any] = {
        "redis_url": url,
        "block_ms": 100,
        "claim_interval_ms": 50,
        "claim_min_idle_ms": 500,
        "concurrency": 8,
        "http_port": 0,
    }
    return WorkerSettings(**names.settings(**(base | kw)))


@pytest.fixture
async def r(any_server: Server) -> Any:
    client = Redis.from_url(any_server.url, protocol=2)
    yield client
    await client.aclose()


async def add(r: Redis, stream: str, n: int, prefix: str = "a") -> list[str]:
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(stream, {"article_id": f"urn:article:{prefix}-{i}"})
    return [i.decode() for i in await pipe.execute()]


async def pending(r: Redis, names: Names) -> int:
    return int((await r.xpending(names.stream, names.group))["pending"])


async def test_every_entry_is_handled_and_acked_exactly_once(
    r: Redis, any_server: Server, names: Names
) -> None:
    ids = await add(r, names.stream, 300)
    rec = Recorder()
    async with serving(settings(any_server.url, names), rec):
        await eventually(lambda: _len_at_least(rec, 300), timeout=20)
        await eventually(lambda: _pending_is(r, names, 0), timeout=10)
    assert sorted(rec.ids()) == sorted(ids)
    assert set(rec.ids().values()) == {1}


async def test_entries_enqueued_before_the_group_existed_are_processed(
    r: Redis, any_server: Server, names: Names
) -> None:
    ids = await add(r, names.stream, 5)  # no group yet: the worker creates it at 0
    rec = Recorder()
    async with serving(settings(any_server.url, names), rec):
        await eventually(lambda: _len_at_least(rec, 5))
    assert sorted(rec.ids()) == sorted(ids)


async def test_failing_entry_is_dead_lettered_after_exactly_max_deliveries(
    r: Redis, any_server: Server, names: Names
) -> None:
    ids = await add(r, names.stream, 20)
    bad = "urn:article:a-3"
    rec = Recorder(fail={bad})
    s = settings(any_server.url, names, claim_min_idle_ms=0, max_deliveries=3)
    async with serving(s, rec) as worker:
        dead = await eventually(lambda: r.xrange(f"{names.stream}:dead"), timeout=15)
        await eventually(lambda: _pending_is(r, names, 0))
        assert worker.metrics.dead_lettered._value.get() == 1
    calls = [e for e in rec.calls if e.fields["article_id"] == bad]
    assert [e.delivery_count for e in calls] == [1, 2, 3]
    ((_, fields),) = dead
    assert fields[b"reason"] == b"max_deliveries"
    assert fields[b"source_id"].decode() == ids[3]
    assert fields[b"source_stream"].decode() == names.stream
    assert fields[b"group"].decode() == names.group
    assert fields[b"consumer"].decode() == names.consumer
    assert fields[b"delivery_count"] == b"3"
    assert b"failing on purpose" in fields[b"error"]
    assert fields[b"payload.article_id"] == bad.encode()
    others = {e.id for e in rec.calls if e.fields["article_id"] != bad}
    assert others == set(ids) - {ids[3]}  # the rest were processed regardless


async def test_permanent_error_dead_letters_at_once(
    r: Redis, any_server: Server, names: Names
) -> None:
    await add(r, names.stream, 3)
    rec = Recorder(permanent={"urn:article:a-1"})
    async with serving(settings(any_server.url, names, claim_min_idle_ms=0), rec):
        dead = await eventually(lambda: r.xrange(f"{names.stream}:dead"))
        await eventually(lambda: _pending_is(r, names, 0))
    assert dead[0][1][b"reason"] == b"permanent_error"
    assert dead[0][1][b"delivery_count"] == b"1"
    assert len(rec.calls) == 3


async def test_a_handler_past_its_timeout_fails_and_is_retried_then_dead_lettered(
    r: Redis, any_server: Server, names: Names
) -> None:
    await add(r, names.stream, 1)
    hang = Recorder(sleep_s=3600)
    # The timeout (0.1 s) fires well before the entry could be claimed (0.3 s idle).
    s = settings(any_server.url, names, claim_min_idle_ms=300, handler_timeout_s=0.1)
    async with serving(s, hang):
        dead = await eventually(lambda: r.xrange(f"{names.stream}:dead"), timeout=10)
        await eventually(lambda: _pending_is(r, names, 0))
    assert dead[0][1][b"reason"] == b"max_deliveries"
    assert dead[0][1][b"error"].startswith(b"TimeoutError")
    assert [e.delivery_count for e in hang.started] == [1, 2, 3]


async def test_malformed_entry_goes_to_dead_letters_without_running_the_handler(
    r: Redis, any_server: Server, names: Names
) -> None:
    await r.xadd(names.stream, {b"article_id": b"\xff\xfe not utf-8"})
    await add(r, names.stream, 2)
    rec = Recorder()
    async with serving(settings(any_server.url, names), rec):
        dead = await eventually(lambda: r.xrange(f"{names.stream}:dead"))
        await eventually(lambda: _len_at_least(rec, 2))
    assert dead[0][1][b"reason"] == b"malformed"
    assert dead[0][1][b"payload.article_id"] == b"\xff\xfe not utf-8"  # raw bytes kept
    assert len(rec.calls) == 2


async def test_entries_left_by_a_dead_consumer_are_claimed_with_their_delivery_count(
    r: Redis, any_server: Server, names: Names
) -> None:
    ids = await add(r, names.stream, 10)
    await r.xgroup_create(names.stream, names.group, id="0")
    await r.xreadgroup(names.group, "ghost", {names.stream: ">"}, count=10)  # then "dies"
    rec = Recorder()
    async with serving(settings(any_server.url, names, claim_min_idle_ms=200), rec) as w:
        await eventually(lambda: _len_at_least(rec, 10), timeout=10)
        await eventually(lambda: _pending_is(r, names, 0))
        assert w.status()["reclaimed"] == 10
    assert sorted(rec.ids()) == sorted(ids)
    assert {e.delivery_count for e in rec.calls} == {2}


async def test_restart_under_the_same_name_handles_own_pending_entries_first(
    r: Redis, any_server: Server, names: Names
) -> None:
    old = await add(r, names.stream, 5, "old")
    await r.xgroup_create(names.stream, names.group, id="0")
    await r.xreadgroup(names.group, names.consumer, {names.stream: ">"}, count=5)
    await add(r, names.stream, 5, "new")
    rec = Recorder()
    s = settings(any_server.url, names, concurrency=1, claim_min_idle_ms=60_000)
    async with serving(s, rec):
        await eventually(lambda: _len_at_least(rec, 10))
    assert [e.id for e in rec.calls[:5]] == old
    assert [e.delivery_count for e in rec.calls[:5]] == [2] * 5


async def test_deleted_and_trimmed_pending_entries_never_wedge_the_reclaimer(
    r: Redis, any_server: Server, names: Names
) -> None:
    ids = await add(r, names.stream, 10)
    await r.xgroup_create(names.stream, names.group, id="0")
    await r.xreadgroup(names.group, "ghost", {names.stream: ">"}, count=10)
    await r.xdel(names.stream, ids[2], ids[5])
    await r.xtrim(names.stream, minid=ids[1], approximate=False)  # trims ids[0]
    rec = Recorder()
    # 300 ms, not 0: with 0 the reclaimer may also take back an entry this worker has
    # just finished and not yet acknowledged (acks are flushed in batches), a
    # duplicate no real threshold allows and not what this test is about.
    async with serving(settings(any_server.url, names, claim_min_idle_ms=300), rec) as w:
        await eventually(lambda: _pending_is(r, names, 0), timeout=10)
        await eventually(lambda: _len_at_least(rec, 7))
        rounds = w.claim_rounds
        await eventually(
            lambda: _at_least(lambda: w.claim_rounds, rounds + 5)
        )  # nothing comes back
        assert w.metrics.deleted_pending_c._value.get() == 3
    assert sorted(rec.ids()) == sorted(set(ids) - {ids[0], ids[2], ids[5]})
    assert set(rec.ids().values()) == {1}


@pytest.mark.parametrize("renewal", [True, False], ids=["renewal-on", "renewal-off"])
async def test_slow_handler_on_a_live_worker_is_never_run_twice(
    r: Redis, any_server: Server, names: Names, renewal: bool
) -> None:
    """A handler 3x longer than claim min-idle: renewal keeps it; without it, a duplicate."""
    await add(r, names.stream, 1)
    slow = Recorder(sleep_s=0.9)
    fast = Recorder()
    # A never claims (its own XAUTOCLAIM would reset the entry's idle time too).
    a = settings(
        any_server.url,
        names,
        claim_min_idle_ms=300,
        lease_renewal=renewal,
        claim_interval_ms=600_000,
    )
    b = settings(
        any_server.url,
        names,
        claim_min_idle_ms=300,
        lease_renewal=renewal,
        consumer=names.consumer + "-b",
    )
    async with serving(a, slow):
        await eventually(lambda: _started(slow, 1))
        async with serving(b, fast):
            await eventually(lambda: _len_at_least(slow, 1), timeout=5)
            await eventually(lambda: _pending_is(r, names, 0))
    handled = len(slow.calls) + len(fast.calls)
    if renewal:
        assert handled == 1, f"ran {handled} times"
    else:
        assert handled == 2, "without renewal the live worker's entry should be claimed"


async def test_renewal_never_takes_back_an_entry_another_consumer_claimed(
    r: Redis, any_server: Server, names: Names
) -> None:
    (entry_id,) = await add(r, names.stream, 1)
    await r.xgroup_create(names.stream, names.group, id="0")
    a = Streams(Redis.from_url(any_server.url, protocol=2), names.group, "a")
    await r.xreadgroup(names.group, "a", {names.stream: ">"}, count=1)
    await r.xclaim(names.stream, names.group, "b", 0, [entry_id])
    res = await a.renew(names.stream, [entry_id])
    assert (res.count, res.lost) == (0, [entry_id])
    owner = await r.xpending_range(names.stream, names.group, "-", "+", 1)
    assert owner[0]["consumer"] == b"b"
    ack = await a.ack(names.stream, "marks", [(entry_id, "")])
    assert (ack.count, ack.lost) == (0, [entry_id])  # a zombie's ack is refused, counted
    assert await pending(r, names) == 1
    await a.client.aclose()


async def _at_least(value: Callable[[], int], n: int) -> bool:
    return value() >= n


async def _len_at_least(rec: Recorder, n: int) -> bool:
    return len(rec.calls) >= n


async def _started(rec: Recorder, n: int) -> bool:
    return len(rec.started) >= n


async def _pending_is(r: Redis, names: Names, n: int) -> bool:
    return await pending(r, names) == n


async def test_acks_carried_with_reads_survive_a_script_flush_and_clear_the_marks(
    r: Redis, any_server: Server, names: Names
) -> None:
    """Under load the fresh acks of a batch go out with the next read (one pipeline).
    A SCRIPT FLUSH mid-run (as after a restart) makes that EVALSHA fail with NOSCRIPT:
    the acks go back to the acker, nothing is lost or handled twice, and every
    in-queue mark that pointed at an acked entry is cleared."""
    queued = StreamKeys.for_stream(names.stream).partitions[0].queued
    first = await add(r, names.stream, 400, prefix="a")
    await r.hset(queued, mapping={f"urn:article:a-{i}": e for i, e in enumerate(first)})
    rec = Recorder()
    async with serving(settings(any_server.url, names, concurrency=16), rec):
        await eventually(lambda: _len_at_least(rec, 100), timeout=20)
        await r.script_flush()
        second = await add(r, names.stream, 400, prefix="b")
        await eventually(lambda: _len_at_least(rec, 800), timeout=20)
        await eventually(lambda: _pending_is(r, names, 0), timeout=10)
    assert sorted(rec.ids()) == sorted(first + second)
    assert set(rec.ids().values()) == {1}
    assert await r.hlen(queued) == 0
