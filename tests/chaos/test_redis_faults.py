"""Redis dies under load: with `appendfsync always` nothing the producer was told is
stored gets lost; without persistence the workers recreate the group and carry
on, without spinning while Redis is away."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streams_worker.enrichment.sample_catalog import DEFAULT_CLIENT_SECRET, SampleCatalog
from tests.chaos.harness import (
    Fleet,
    client,
    duplicates,
    finish_load,
    missing_from_stream,
    under_load,
    unexpected_duplicates,
    wait_nothing_pending,
)
from tests.support.cli import clean_env, run
from tests.support.names import Names
from tests.support.proxy import ChaosProxy
from tests.support.servers import RedisProcess
from tests.support.wait import wait_for

_TICK = 100  # /proc/<pid>/stat counts CPU time in clock ticks (100 Hz on Linux)
#: Asserted recovery: from Redis back to the first entry handled (measured 0.13-0.17 s
#: here; the reconnect backoff caps at a few seconds).
RESUME_BOUND_S = 3.0
#: A worker's loops back off while Redis is away. A fixed 50 ms retry in even one loop
#: of each of the 2 workers would make 2 x 3 s / 0.05 s = 120 connection attempts in
#: the 3 s outage; ours make about 20. The bound sits between.
ATTEMPTS_BOUND = 40


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def test_redis_sigkilled_with_fsync_always_loses_nothing_acknowledged(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None], soak: int,
) -> None:  # fmt: skip
    server = private_redis(appendonly=True, appendfsync="always")
    f = fleet(server.url, concurrency=8, HANDLER_SLEEP_MS=20)
    for _ in range(2):
        f.start()
    monitor, producer = under_load(f, rate=200, prefix="aof")
    resumed: list[float] = []
    outages = 3 * soak
    for _ in range(outages):
        time.sleep(1.0)
        # Everything pending at the kill, or delivered until the next look after the
        # restart, may be handled twice: nothing else.
        fault = monitor.fault("redis-sigkill", None, lasting=True)
        server.kill()
        time.sleep(0.5)
        server.start()
        fault.lift()
        up, before = time.monotonic(), len(f.done())
        wait_for(lambda b=before: len(f.done()) > b, timeout=30, what="work to resume")  # type: ignore[misc]
        resumed.append(time.monotonic() - up)
    acknowledged = finish_load(f, producer)
    r = client(server.url)
    wait_nothing_pending(r, names)
    lost = missing_from_stream(r, names.stream, producer.acknowledged)
    assert not lost, f"an XADD Redis acknowledged is gone after a restart: {sorted(lost)[:5]}"
    assert all(w.alive() for w in f.workers.values()), "a worker died with Redis"
    monitor.stop()
    dups = duplicates(f.done())
    bound = sum(x.in_flight for x in monitor.faults)
    report(
        f"redis sigkill (AOF, fsync always): {len(acknowledged)} entries acknowledged, "
        f"{outages} kills, {producer.errors} producer retries, 0 lost, {dups} duplicates "
        f"(all among {bound} in flight at the kills), work resumed "
        f"{min(resumed):.2f}-{max(resumed):.2f} s after restart (bound {RESUME_BOUND_S} s)"
    )
    assert not unexpected_duplicates(f.done(), monitor.faults)
    assert max(resumed) <= RESUME_BOUND_S, resumed


def _consumers(r: Any, names: Names) -> set[str]:
    return {c["name"].decode() for c in r.xinfo_consumers(names.stream, names.group)}


def _events(log: str, name: str) -> int:
    n = 0
    for line in log.splitlines():
        try:
            n += json.loads(line).get("event") == name
        except ValueError:
            continue
    return n


def test_redis_restarted_empty_workers_recreate_the_group_without_spinning(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None],
) -> None:  # fmt: skip
    server = private_redis()  # no persistence: a restart comes back empty
    with ChaosProxy.for_url(server.url) as proxy:
        f = fleet(proxy.url, concurrency=8, HANDLER_SLEEP_MS=5)
        for _ in range(2):
            f.start()
        r = client(server.url)
        before = {
            r.xadd(names.stream, {"article_id": f"urn:article:pre-{i}"}).decode()
            for i in range(100)
        }
        wait_for(lambda: before <= set(f.done()), timeout=30, what="the first 100 handled")
        # Both replicas past start-up (joined the group), so the outage hits serving
        # workers: a worker still in its first ensure_group would create the group as
        # part of start-up rather than recreate it.
        wait_for(lambda: _consumers(r, names) >= set(f.workers), timeout=30,
                 what="both workers in the group")  # fmt: skip
        pids = [w.pid for w in f.workers.values()]
        cpu0, conns0 = sum(map(_cpu_s, pids)), proxy.stats.accepted
        server.kill()
        outage = 3.0
        time.sleep(outage)
        cpu = sum(map(_cpu_s, pids)) - cpu0
        attempts = proxy.stats.accepted - conns0
        server.start()
        up = time.monotonic()
        after = {
            r.xadd(names.stream, {"article_id": f"urn:article:post-{i}"}).decode()
            for i in range(100)
        }
        wait_for(lambda: after <= set(f.done()), timeout=30, what="entries added after the restart")
        first_back = time.monotonic() - up
        wait_nothing_pending(r, names)
        recreated = _events(f.logs(), "group_recreated")
        report(
            f"redis restart without persistence: {outage:.0f} s outage, {attempts} connection "
            f"attempts (bound {ATTEMPTS_BOUND}; a fixed 50 ms retry: 120) and {cpu:.2f} CPU-s "
            f"for 2 workers during it, group recreated "
            f"{recreated}x, 100 new entries all handled within {first_back:.2f} s"
        )
        assert all(w.alive() for w in f.workers.values()), f.logs()[-6000:]
        assert recreated >= 1, f.logs()[-6000:]
        assert attempts <= ATTEMPTS_BOUND, f"reconnecting in a hot loop: {attempts} attempts"
        assert cpu <= 0.1 * outage, f"spinning while Redis is away: {cpu:.2f} CPU-s"
        assert first_back <= 10.0, "work did not resume within 10 s of the restart"


def test_reconciliation_re_enqueues_what_the_catalog_says_is_not_enriched(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None],
) -> None:  # fmt: skip
    """The other half of a restart without persistence: what Redis lost, `streams-producer
    sync` puts back, because the catalog (not Redis) knows what is enriched."""
    server = private_redis()
    with SampleCatalog.start(articles=60, latency_ms=100) as catalog:
        common = {"DATA_API_URL": catalog.url, "KEYCLOAK_CLIENT_SECRET": DEFAULT_CLIENT_SECRET}
        env = clean_env(REDIS_URL=server.url, WORKER_STREAM=names.stream,
                        PRODUCER_HTTP_PORT=0, **common)  # fmt: skip
        first = run(["streams-producer", "sync"], env, timeout=60)
        assert first.returncode == 0, first.stderr
        handler = "streams_worker.enrichment.handler:build_handler"
        f = fleet(server.url, concurrency=4, handler=handler, **common)
        for _ in range(2):
            f.start()
        wait_for(lambda: catalog.stats()["enriched"] >= 8, timeout=60, what="some enriched")
        server.kill()
        at_kill = catalog.stats()["enriched"]
        server.start()  # empty: the queue and the group are gone
        wait_for(lambda: _events(f.logs(), "group_recreated") >= 1, timeout=30,
                 what="a worker to recreate the group")  # fmt: skip
        second = run(["streams-producer", "sync"], env, timeout=60)
        assert second.returncode == 0, second.stderr
        wait_for(lambda: catalog.stats()["enriched"] == 60, timeout=90, what="all 60 enriched")
        stats = catalog.stats()
        report(
            f"reconciliation: 60 articles, Redis restarted empty with {60 - at_kill} not yet "
            f"enriched; sync re-enqueued them ({second.stdout.strip()[:80]}); all 60 enriched, "
            f"{stats['duplicates']} enriched twice, {stats['rejected']} writes rejected"
        )
        assert stats["rejected"] == 0
        assert stats["duplicates"] <= 8  # at most the articles in flight at the crash
