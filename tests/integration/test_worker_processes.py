"""Worker replicas as real processes: load, SIGKILL, SIGTERM, crashes, Redis restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.support.handlers import done_ids, read_records
from tests.support.names import Names
from tests.support.servers import RedisProcess
from tests.support.wait import wait_for
from tests.support.workers import ROOT, WorkerProcess, worker_env

FAST = {"block_ms": 100, "claim_interval_ms": 100, "shutdown_grace_s": 5}


def add(r: redis.Redis, stream: str, n: int, prefix: str = "a") -> list[str]:
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(stream, {"article_id": f"urn:article:{prefix}-{i}"})
    return [i.decode() for i in pipe.execute()]


def pending(r: redis.Redis, names: Names) -> int:
    try:
        return int(r.xpending(names.stream, names.group)["pending"])
    except redis.ResponseError:
        return -1


def done(records: Path) -> Counter[str]:
    return done_ids(read_records(records))


@pytest.fixture
def r(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def test_thousand_entries_through_three_worker_processes(
    r: redis.Redis,
    redis_url: str,
    names: Names,
    spawn: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    rec = tmp_path / "rec"
    workers = [
        spawn(
            redis_url,
            stream=names.stream,
            group=names.group,
            consumer=f"w{i}",
            HANDLER_RECORD_DIR=rec,
            HANDLER_SLEEP_MS=1,
            **FAST,
        )
        for i in range(3)
    ]
    r.xgroup_create(names.stream, names.group, id="0", mkstream=True)
    wait_for(lambda: len(r.xinfo_consumers(names.stream, names.group)) == 3, timeout=30)
    ids = add(r, names.stream, 1000)
    wait_for(lambda: sum(done(rec).values()) >= 1000, timeout=60, what="1000 handled")
    wait_for(lambda: pending(r, names) == 0, timeout=10)
    handled = done(rec)
    assert sorted(handled) == sorted(ids)
    assert set(handled.values()) == {1}, "an entry was handled twice without any fault"
    consumers = {c["name"].decode() for c in r.xinfo_consumers(names.stream, names.group)}
    assert consumers == {"w0", "w1", "w2"}  # the load was shared
    for w in workers:
        w.signal(signal.SIGTERM)
        assert w.wait(10) == 0


def test_entries_of_a_sigkilled_worker_are_completed_elsewhere_within_the_claim_bound(
    r: redis.Redis,
    redis_url: str,
    names: Names,
    spawn: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    min_idle_ms, interval_ms = 1000, 200
    common = {
        "stream": names.stream,
        "group": names.group,
        "block_ms": 100,
        "claim_min_idle_ms": min_idle_ms,
        "claim_interval_ms": interval_ms,
    }
    slow_rec, fast_rec = tmp_path / "slow", tmp_path / "fast"
    slow = spawn(
        redis_url,
        consumer="slow",
        HANDLER_RECORD_DIR=slow_rec,
        HANDLER_SLEEP_MS=60_000,
        concurrency=10,
        **common,
    )
    ids = add(r, names.stream, 10)
    wait_for(lambda: len(read_records(slow_rec)) == 10, timeout=20, what="slow holds all 10")
    fast = spawn(redis_url, consumer="fast", HANDLER_RECORD_DIR=fast_rec, **common)
    wait_for(lambda: _consumer_seen(r, names, "fast"), timeout=20)
    killed_at = time.monotonic()
    slow.kill()
    wait_for(lambda: sorted(done(fast_rec)) == sorted(ids), timeout=15, what="all taken over")
    wait_for(lambda: pending(r, names) == 0, timeout=5)
    took = time.monotonic() - killed_at
    bound = (min_idle_ms + interval_ms) / 1000 + 1.0
    assert took <= bound, f"recovery took {took:.2f}s, bound {bound:.2f}s"
    assert fast.alive()


def _consumer_seen(r: redis.Redis, names: Names, name: str) -> bool:
    return any(c["name"].decode() == name for c in r.xinfo_consumers(names.stream, names.group))


def test_an_entry_that_crashes_its_worker_ends_in_dead_letters_after_the_cap(
    r: redis.Redis,
    redis_url: str,
    names: Names,
    spawn: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    rec = tmp_path / "rec"
    bad = "urn:article:a-1"
    settings = {
        "stream": names.stream,
        "group": names.group,
        "claim_min_idle_ms": 300,
        "max_deliveries": 3,
        "HANDLER_RECORD_DIR": rec,
        "HANDLER_CRASH": bad,
        "concurrency": 1,
        **FAST,
    }
    ids = add(r, names.stream, 3)
    procs = [spawn(redis_url, consumer=f"w{i}", **settings) for i in range(2)]
    started = [len(procs)]

    def supervise() -> int:
        """A supervisor's job (Kubernetes): replace every worker that dies."""
        for i, p in enumerate(procs):
            if not p.alive():
                procs[i] = spawn(redis_url, consumer=f"w{started[0]}", **settings)
                started[0] += 1
        return int(r.xlen(f"{names.stream}:dead"))

    wait_for(supervise, timeout=40, interval=0.05, what="the crashing entry dead-lettered")
    ((_, fields),) = r.xrange(f"{names.stream}:dead")
    assert fields[b"reason"] == b"crashed"
    assert fields[b"source_id"].decode() == ids[1]
    assert int(fields[b"delivery_count"]) == 4
    # one record file per process: a crash ends one, the next delivery starts another
    starts = sorted(r.delivery_count for r in read_records(rec) if r.event == "start"
                    and r.article == bad)  # fmt: skip
    assert starts == [1, 2, 3], "the crashing entry ran exactly max_deliveries times"
    assert sorted(done(rec)) == sorted([ids[0], ids[2]])
    wait_for(lambda: pending(r, names) == 0, timeout=10)


@pytest.mark.parametrize(
    ("handler_ms", "grace_s", "finishes"),
    [(800, 5.0, True), (30_000, 0.5, False)],
    ids=["handlers-finish-within-grace", "handler-outlives-grace"],
)
def test_sigterm_drains_in_flight_entries_within_the_grace_and_exits_zero(
    r: redis.Redis,
    redis_url: str,
    names: Names,
    spawn: Callable[..., WorkerProcess],
    tmp_path: Path,
    handler_ms: int,
    grace_s: float,
    finishes: bool,
) -> None:
    """In-flight work finishes and is acked; what outlives the grace stays pending."""
    rec = tmp_path / "rec"
    w = spawn(redis_url, stream=names.stream, group=names.group, consumer="w",
              HANDLER_RECORD_DIR=rec, HANDLER_SLEEP_MS=handler_ms, concurrency=4, block_ms=100,
              shutdown_grace_s=grace_s)  # fmt: skip
    ids = add(r, names.stream, 4)
    wait_for(lambda: len(read_records(rec)) == 4, timeout=20, what="4 in flight")
    t = time.monotonic()
    w.signal(signal.SIGTERM)
    assert w.wait(10) == 0
    assert time.monotonic() - t < grace_s + 3
    if finishes:
        assert sorted(done(rec)) == sorted(ids)
        assert pending(r, names) == 0  # finished entries were acked before exit
    else:
        assert not done(rec)
        assert pending(r, names) == 4  # left for other replicas to claim


def test_workers_survive_a_redis_restart_with_aof_and_lose_nothing(
    private_redis: Callable[..., RedisProcess],
    names: Names,
    spawn: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    server = private_redis(appendonly=True, appendfsync="always")
    r = redis.Redis.from_url(server.url)
    rec = tmp_path / "rec"
    for i in range(2):
        spawn(
            server.url,
            stream=names.stream,
            group=names.group,
            consumer=f"w{i}",
            HANDLER_RECORD_DIR=rec,
            HANDLER_SLEEP_MS=2,
            claim_min_idle_ms=1000,
            **FAST,
        )
    ids = add(r, names.stream, 300, "before")
    wait_for(lambda: sum(done(rec).values()) >= 50, timeout=30)
    server.restart()  # SIGTERM + start: AOF brings the stream and the group back
    r = redis.Redis.from_url(server.url)
    ids += add(r, names.stream, 300, "after")
    wait_for(lambda: set(done(rec)) >= set(ids), timeout=60, what="everything handled")
    wait_for(lambda: pending(r, names) == 0, timeout=15)


def test_without_persistence_the_group_is_recreated_and_new_entries_are_served(
    private_redis: Callable[..., RedisProcess],
    names: Names,
    spawn: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    server = private_redis(appendonly=False)
    rec = tmp_path / "rec"
    w = spawn(server.url, stream=names.stream, group=names.group, consumer="w",
              HANDLER_RECORD_DIR=rec, **FAST)  # fmt: skip
    r = redis.Redis.from_url(server.url)
    first = add(r, names.stream, 5, "before")
    wait_for(lambda: set(done(rec)) >= set(first), timeout=20)
    server.restart(kill=True)  # everything is gone, the group included
    r = redis.Redis.from_url(server.url)
    wait_for(lambda: _group_exists(r, names), timeout=20, what="group recreated")
    later = add(r, names.stream, 5, "after")
    wait_for(lambda: set(done(rec)) >= set(later), timeout=20)
    assert w.alive()
    assert "group_recreated" in w.log()


def _group_exists(r: redis.Redis, names: Names) -> bool:
    try:
        return any(g["name"].decode() == names.group for g in r.xinfo_groups(names.stream))
    except redis.ResponseError:
        return False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WORKER_CONCURRENCY", "0"),
        ("WORKER_BLOCK_MS", "soon"),
        ("REDIS_URL", "http://x"),
        ("WORKER_HANDLER", "no_such_module:handle"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_and_exit_2(variable: str, value: str) -> None:
    env = worker_env("redis://127.0.0.1:1/0")
    env[variable] = value
    out = subprocess.run(
        [sys.executable, "-m", "streams_worker", "run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert variable in lines[0]
    assert "Traceback" not in out.stderr
