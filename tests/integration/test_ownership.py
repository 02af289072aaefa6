"""Ownership leases (docs/leases.md): one mechanism, on the server's clock, fenced.

The primitive on every server; then what a replica does with it: one live owner per
consumer name (a clash exits 2 naming the holder; a dead predecessor is waited
out), and the group gauges exported by exactly one replica, handed over when it
stops.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis.asyncio as aredis
from prometheus_client import CollectorRegistry

from streams_worker import StreamEntry, Worker, WorkerSettings
from streams_worker.core.ownership import FENCE_MARGIN, Ownership, holders, sweep
from streams_worker.core.replica_leases import ConsumerNameInUse
from tests.support.names import Names
from tests.support.wait import eventually, wait_for
from tests.support.workers import spawn_worker, worker_env

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def client(any_redis_url: str) -> Any:
    c = aredis.Redis.from_url(any_redis_url, protocol=2)
    yield c
    await c.aclose()


async def test_a_lease_has_one_holder_until_it_expires_on_the_server_clock(
    client: Any, names: Names
) -> None:
    key = f"{names.stream}:leases"
    a = Ownership(client, key, ttl_ms=600, info={"host": "a", "pid": 1})
    b = Ownership(client, key, ttl_ms=600, info={"host": "b", "pid": 2})
    sent = time.monotonic()
    assert await a.acquire(["partition:0", "sampler"]) == {}
    assert a.held == {"partition:0", "sampler"}
    # Fenced: a may act until well before the server could hand the lease to b.
    assert a.deadline("sampler") <= sent + 0.6 * (1 - FENCE_MARGIN) + 0.05
    others = await b.acquire(["sampler"])
    assert others["sampler"].token == a.token
    assert others["sampler"].info == {"host": "a", "pid": 1}
    assert "host a, pid 1" in others["sampler"].describe()
    assert not b.holds("sampler")
    # Renewal keeps it; b still cannot take it.
    assert await a.renew() == set()
    assert "sampler" in await b.acquire(["sampler"])
    # a stops renewing: once expired on the server, b takes it, and a's renewal fails.
    got = await eventually(lambda: _acquired(b, "sampler"), timeout=5, what="expiry")
    assert got
    assert await a.renew() == {"sampler"}
    assert not a.holds("sampler")
    assert a.holds("partition:0")  # untouched by b


async def _acquired(own: Ownership, name: str) -> bool:
    return name not in await own.acquire([name])


async def test_release_hands_over_at_once_and_sweep_drops_the_long_expired(
    client: Any, names: Names
) -> None:
    key = f"{names.stream}:leases"
    a = Ownership(client, key, ttl_ms=60_000)
    b = Ownership(client, key, ttl_ms=60_000)
    await a.acquire(["consumer:x"])
    assert "consumer:x" in await b.acquire(["consumer:x"])
    assert await a.release() == 1
    assert await b.acquire(["consumer:x"]) == {}
    listed = await holders(client, key)
    assert [(h.name, h.token, h.live) for h in listed] == [("consumer:x", b.token, True)]
    short = Ownership(client, key, ttl_ms=1)
    await short.acquire(["consumer:gone"])
    await eventually(lambda: _expired(client, key, "consumer:gone"), what="short lease expiry")
    assert await sweep(client, key, older_than_ms=0) == 1
    assert [h.name for h in await holders(client, key)] == ["consumer:x"]


async def _expired(client: Any, key: str, name: str) -> bool:
    return any(h.name == name and not h.live for h in await holders(client, key))


def _settings(redis_url: str, names: Names, **kw: Any) -> WorkerSettings:
    base: dict[str, Any] = {
        "redis_url": redis_url, "http_port": 0, "block_ms": 100,
        "ownership_ttl_ms": 1500, "group_sample_interval_ms": 100,
    }  # fmt: skip
    return WorkerSettings(**names.settings(**{**base, **kw}))


async def _noop(entry: StreamEntry) -> None:
    return None


async def test_a_second_live_replica_with_the_same_name_refuses_to_start(
    redis_url: str, names: Names
) -> None:
    first = Worker(_settings(redis_url, names), _noop)
    async with first.background():
        second = Worker(_settings(redis_url, names), _noop)
        msg = ""
        try:
            async with second.background():
                pass
        except* ConsumerNameInUse as group:
            msg = str(group.exceptions[0])
        assert msg.startswith(f"WORKER_CONSUMER: '{names.consumer}' is in use by a live replica")
        assert "pid" in msg


def test_the_command_exits_2_with_one_line_naming_the_clash(
    redis_url: str, names: Names, tmp_path: Any
) -> None:
    env = worker_env(redis_url, **names.settings(ownership_ttl_ms=1500))
    first = spawn_worker(env, tmp_path / "first.log")
    try:
        wait_for(lambda: "worker_started" in first.log(), timeout=20, what="first worker")
        second = spawn_worker(env, tmp_path / "second.log")
        assert second.wait(timeout=30) == 2
        second.close()
        lines = [ln for ln in second.log().splitlines() if "configuration error" in ln]
        assert len(lines) == 1, second.log()
        assert "WORKER_CONSUMER" in lines[0]
        assert f"pid {first.pid}" in lines[0]
        assert first.alive()
    finally:
        first.close()


#: Long enough that the restarted process is up (on a busy machine) before it expires.
TTL_MS = 6000


def test_a_killed_replica_restarted_under_its_name_waits_out_the_lease_then_recovers(
    redis_url: str, names: Names, tmp_path: Any
) -> None:
    import redis as sync_redis

    r = sync_redis.Redis.from_url(redis_url)
    env = worker_env(redis_url, **names.settings(ownership_ttl_ms=TTL_MS),
                     HANDLER_SLEEP_MS="60000")  # fmt: skip
    first = spawn_worker(env, tmp_path / "first.log")
    try:
        wait_for(lambda: "worker_started" in first.log(), timeout=20, what="first worker")
        for i in range(3):
            r.xadd(names.stream, {"article_id": f"urn:article:{i}"})
        wait_for(lambda: r.xpending(names.stream, names.group)["pending"] == 3, what="held")
        first.kill()
        killed = time.monotonic()
        env2 = {**env, "HANDLER_SLEEP_MS": "0"}
        second = spawn_worker(env2, tmp_path / "second.log")
        wait_for(lambda: "consumer_name_held_waiting" in second.log(), timeout=20,
                 what="the restarted replica saying it waits")  # fmt: skip
        wait_for(lambda: r.xpending(names.stream, names.group)["pending"] == 0, timeout=30,
                 what="own pending re-read after the lease expired")  # fmt: skip
        waited = time.monotonic() - killed
        assert waited >= TTL_MS / 1000 * (1 - FENCE_MARGIN) - 0.3  # it did wait for the expiry
        assert waited < TTL_MS / 1000 + 10  # and not for ever
        assert "own_pending_recovered" in second.log()
        assert second.alive()
        second.close()
    finally:
        first.close()


async def test_group_gauges_come_from_exactly_one_replica(redis_url: str, names: Names) -> None:
    regs = [CollectorRegistry() for _ in range(3)]
    workers = [
        Worker(_settings(redis_url, names, consumer=f"c{i}", partitions=4), _noop, registry=reg)
        for i, reg in enumerate(regs)
    ]

    def series() -> list[int]:
        return [_series(reg, "streams_worker_group_pending") for reg in regs]

    async with workers[0].background(), workers[1].background(), workers[2].background():
        await eventually(lambda: _true(sorted(series()) == [0, 0, 4]), what="one exporter")
        assert [w.status()["sampler"] for w in workers].count(True) == 1
        # Not 3 x 4: the series do not multiply by replicas.
        assert sum(series()) == 4


async def test_the_sampler_lease_is_handed_over_when_its_holder_stops(
    redis_url: str, names: Names
) -> None:
    regs = [CollectorRegistry() for _ in range(2)]
    first = Worker(_settings(redis_url, names, consumer="a"), _noop, registry=regs[0])
    second = Worker(_settings(redis_url, names, consumer="b"), _noop, registry=regs[1])
    async with second.background():
        async with first.background():
            pass  # `second` started first and samples; `first` never does
        assert _series(regs[1], "streams_worker_group_pending") == 1
        assert _series(regs[0], "streams_worker_group_pending") == 0
    third_reg = CollectorRegistry()
    async with Worker(_settings(redis_url, names, consumer="a"), _noop,
                      registry=third_reg).background():  # fmt: skip
        # `second` released the sampler lease on its way out: no wait for expiry.
        await eventually(lambda: _true(_series(third_reg, "streams_worker_group_pending") == 1),
                         timeout=1.0, what="sampler taken over at once")  # fmt: skip


async def _true(value: bool) -> bool:
    return value


def _series(reg: CollectorRegistry, name: str) -> int:
    return sum(len(m.samples) for m in reg.collect() if m.name == name)
