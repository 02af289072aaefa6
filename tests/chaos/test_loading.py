"""Redis restarts with a data set that takes seconds to load: while it answers
`LOADING`, workers and the producer wait (readiness false) and then carry on.

The load is made slow for real: the server saves a large data set on `SHUTDOWN SAVE`
and starts again with `key-load-delay`, so every command meets `LOADING` until the
last key is in.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Callable

import pytest
import redis

from streams_worker.dev.embedded import free_port
from tests.chaos.harness import (
    Fleet,
    client,
    duplicates,
    finish_load,
    under_load,
    unexpected_duplicates,
    wait_nothing_pending,
)
from tests.conftest import BINARIES
from tests.support.names import Names
from tests.support.servers import RedisProcess, ServerBinary
from tests.support.wait import wait_for

FILLER = 100_000  # keys beside the stream: loading them at key-load-delay 15 takes ~10 s
LOAD_ARGS = ["--key-load-delay", "15"]
#: Answer clients every 4 KiB of the file while loading (Redis 7.0+ and Valkey).
EVENTS_ARGS = ["--loading-process-events-interval-bytes", "4096"]
FILL = "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'fill:' .. i, i) end return 1"


def _loading(port: int) -> bool:
    try:
        with redis.Redis(port=port, socket_timeout=1) as c:
            c.ping()
    except redis.BusyLoadingError:
        return True
    except redis.RedisError:
        return False
    return False


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def test_workers_wait_out_loading_after_a_restart_and_lose_nothing(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None], chaos_binary: ServerBinary | None,
) -> None:  # fmt: skip
    binary = chaos_binary or BINARIES[0]
    if binary.kind == "redis" and binary.version[:2] < (7, 0):
        pytest.skip(
            "Redis 6.2 answers clients only every 2 MiB of a loading file (it has no "
            "loading-process-events-interval-bytes): no LOADING window to test"
        )
    server = private_redis(binary, extra_args=LOAD_ARGS + EVENTS_ARGS)
    r = client(server.url)
    r.eval(FILL, 0, FILLER)
    http = free_port()
    f = fleet(server.url, concurrency=8, HANDLER_SLEEP_MS=10)
    f.start(http_port=http)
    f.start()
    monitor, producer = under_load(f, rate=100, prefix="loading")
    wait_for(lambda: _ready(http), timeout=10, what="ready before the restart")
    fault = monitor.fault("loading", None, lasting=True)
    with contextlib.suppress(redis.ConnectionError):  # it closes the connection as it exits
        r.shutdown(save=True)  # everything acknowledged so far is in the RDB file
    assert server.proc is not None
    server.proc.wait(30)
    # Started without waiting for PING: the point is what happens while it loads.
    server.proc = subprocess.Popen(server.argv(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    up = time.monotonic()
    wait_for(lambda: _loading(server.port), timeout=10, interval=0.01, what="LOADING replies")
    not_ready = wait_for(lambda: not _ready(http), timeout=10, what="readiness false")
    wait_for(lambda: not _loading(server.port), timeout=60, interval=0.05, what="loaded")
    loading_s = time.monotonic() - up
    before = len(f.done())
    wait_for(lambda: len(f.done()) > before + 20, timeout=20, what="work to resume")
    resumed = time.monotonic() - up - loading_s
    wait_for(lambda: _ready(http), timeout=20, what="ready after loading")
    fault.lift()
    acknowledged = finish_load(f, producer)
    r = client(server.url)
    wait_nothing_pending(r, names)
    wait_for(lambda: fault.recovered_at is not None, timeout=10, what="the monitor's last look")
    monitor.stop()
    dups = duplicates(f.done())
    restarted = f.logs().count('"worker_started"')
    report(
        f"LOADING: {FILLER:,} keys loaded in {loading_s:.1f} s after a restart under load; "
        f"{len(acknowledged)} entries, 0 lost, {dups} duplicates (all in flight at the "
        f"shutdown), readiness false while loading, work resumed {resumed:.2f} s after the "
        f"load, {producer.errors} producer retries"
    )
    assert not_ready
    assert all(w.alive() for w in f.workers.values()), f.logs()[-3000:]
    assert restarted == 2, "a worker restarted"
    assert loading_s >= 1.0, "the load was too quick to show anything"
    assert resumed <= 8.0
    assert not unexpected_duplicates(f.done(), monitor.faults)
    r.close()
