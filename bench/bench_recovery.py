"""Recovery: how long a dead replica's entries wait, and how fast work resumes after
Redis comes back.

1. Replica A (handler never returns) holds entries; replica B (no-op) runs beside it;
   A is SIGKILLed; we time kill -> every entry acked by B. Bound: claim min-idle +
   claim interval (+1 s target slack). A renews its leases while alive, so the
   idle clock starts at about the kill.
2. Redis (AOF on) is SIGKILLed under a running worker and restarted 1 s later; we
   time server ready -> the first entry enqueued after the restart is acked.
"""

from __future__ import annotations

import signal
import time
import uuid

from bench.common import (
    Context,
    Row,
    bin_path,
    create_group,
    fill,
    log_dir,
    running,
    spawn,
    sync_client,
    worker_env,
)
from streams_worker.dev.embedded import RedisProcess, default_binary


def _wait(pred, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.005)
    return time.monotonic()


def claim_recovery(url: str, min_idle_ms: int, interval_ms: int, held: int = 16) -> float:
    tag = uuid.uuid4().hex[:8]
    stream, group = f"rec:{tag}", f"g-{tag}"
    create_group(url, stream, group)
    r = sync_client(url)
    claims = {"claim_min_idle_ms": min_idle_ms, "claim_interval_ms": interval_ms, "block_ms": 200}
    log = log_dir() / "recovery.log"
    a = spawn(
        [bin_path("streams-worker"), "run"],
        worker_env(url, stream, group, "victim", "bench.handlers:hang", concurrency=held, **claims),
        log,
    )
    with running([a]):
        fill(url, stream, held)
        _wait(lambda: r.xpending(stream, group)["pending"] == held, 30, "victim took the entries")
        b = spawn(
            [bin_path("streams-worker"), "run"],
            worker_env(url, stream, group, "rescuer", "bench.handlers:noop", **claims),
            log,
        )
        with running([b]):
            names = lambda: {c["name"] for c in r.xinfo_consumers(stream, group)}  # noqa: E731
            _wait(lambda: b"rescuer" in names() or "rescuer" in names(), 30, "rescuer joined")
            time.sleep(min_idle_ms / 2000)  # mid-way through a lease: the typical case
            a.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            done = _wait(
                lambda: r.xpending(stream, group)["pending"] == 0,
                60 + min_idle_ms / 1000,
                "rescuer acked everything",
            )
    r.close()
    return done - killed


def redis_return(quick: bool) -> float:
    server = RedisProcess(default_binary(), appendonly=True, appendfsync="always").start()
    try:
        tag = uuid.uuid4().hex[:8]
        stream, group = f"ret:{tag}", f"g-{tag}"
        create_group(server.url, stream, group)
        env = worker_env(server.url, stream, group, "survivor", "bench.handlers:noop", block_ms=200)
        with running([spawn([bin_path("streams-worker"), "run"], env, log_dir() / "recovery.log")]):
            r = sync_client(server.url)
            fill(server.url, stream, 10)
            _wait(
                lambda: r.xpending(stream, group)["pending"] == 0 and r.xlen(stream) == 10,
                30,
                "warm up",
            )
            r.close()
            server.kill()
            time.sleep(1.0)
            server.start()
            up = time.monotonic()
            r = sync_client(server.url)
            eid = r.xadd(stream, {"article_id": "urn:article:after-restart", "enqueued_at": "0"})

            def acked() -> bool:
                info = next(
                    g for g in r.xinfo_groups(stream) if g["name"] in (group, group.encode())
                )
                delivered = info["last-delivered-id"]
                return delivered == eid and int(info["pending"]) == 0

            done = _wait(acked, 60, "first ack after the restart")
            r.close()
        return done - up
    finally:
        server.close()


def run(ctx: Context) -> None:
    from bench.common import start_server

    min_idle, interval = (2000, 1000) if ctx.quick else (5000, 2000)
    server = start_server()
    try:
        took = claim_recovery(server.url, min_idle, interval)
    finally:
        server.close()
    bound = (min_idle + interval) / 1000
    ctx.add(
        Row(
            "recovery",
            "SIGKILL -> acked elsewhere",
            "streams-worker",
            took,
            "s",
            "min-idle + interval",
            bound,
            target=f"<= {bound + 1:.1f} s",
            met=took <= bound + 1,
            note=f"claim_min_idle {min_idle} ms, claim_interval {interval} ms",
        )
    )
    back = redis_return(ctx.quick)
    ctx.add(
        Row(
            "recovery",
            "Redis back -> first ack",
            "streams-worker",
            back,
            "s",
            note="AOF appendfsync always, server down 1 s; reconnect backoff capped at 5 s",
        )
    )
