"""Ours against the earlier design (bench/lockworker.py), 100 ms handler, 1 and 3 replicas.

Target: ours beats it by at least 0.8 x the concurrency per replica (16 handlers
in flight per replica by default, so x12.8).
"""

from __future__ import annotations

import sys
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
    start_server,
    sync_client,
    watch_drain,
    worker_env,
)

HANDLER_MS = 100
CONCURRENCY = 16


def measure_lockworker(url: str, replicas: int, n: int) -> float:
    prefix = f"old:{uuid.uuid4().hex[:8]}:"
    argv = [sys.executable, "-m", "bench.lockworker", url, prefix, str(n), str(HANDLER_MS)]
    r = sync_client(url)
    first: float | None = None
    with running([spawn(argv) for _ in range(replicas)]):
        deadline = time.monotonic() + 30 + n * HANDLER_MS / 1000
        while True:
            done = r.scard(f"{prefix}enrichment:processed")
            now = time.monotonic()
            if first is None and done:
                first = now - HANDLER_MS / 1000  # the first article started one handler earlier
            if done >= n:
                break
            if now > deadline:
                raise TimeoutError(f"lock-based worker: {done}/{n} processed")
            time.sleep(0.005)
    r.close()
    return n / (now - (first or now))


def measure_ours(url: str, replicas: int, n: int) -> float:
    tag = uuid.uuid4().hex[:8]
    stream, group = f"early:{tag}", f"g-{tag}"
    create_group(url, stream, group)
    fill(url, stream, n)
    env = [
        worker_env(
            url,
            stream,
            group,
            f"ours-{i}",
            "bench.handlers:sleep_100ms",
            concurrency=CONCURRENCY,
            block_ms=500,
        )
        for i in range(replicas)
    ]
    log = log_dir() / "earlier-ours.log"
    with running(
        [spawn([bin_path("streams-worker"), "run", "--burst"], e, log) for e in env]
    ) as ps:
        drain = watch_drain(url, stream, group, n, timeout=60, procs=ps)
    # The probe sees progress when the first batch is read; handlers run 100 ms after.
    return n / (drain.seconds + HANDLER_MS / 1000)


def run(ctx: Context) -> None:
    server = start_server()
    try:
        for replicas in (1, 3):
            scale = 1 if ctx.quick else 3
            old = measure_lockworker(server.url, replicas, 20 * replicas * scale)
            ours = measure_ours(server.url, replicas, 320 * replicas * scale)
            target = 0.8 * CONCURRENCY
            ctx.add(
                Row(
                    "earlier",
                    f"100 ms handler, {replicas} replica(s)",
                    "streams-worker",
                    ours,
                    "entries/s",
                    "lock-based worker",
                    old,
                    target=f">= x{target:.1f}",
                    met=ours / old >= target,
                    note=f"concurrency {CONCURRENCY}/replica",
                )
            )
            ctx.add(
                Row(
                    "earlier",
                    f"100 ms handler, {replicas} replica(s)",
                    "lock-based worker",
                    old,
                    "entries/s",
                )
            )
    finally:
        server.close()
