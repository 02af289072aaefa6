"""Throughput: entries/s drained from a pre-filled stream, ours beside the baselines.

Systems, same handler, same process count, 50 handlers in flight per process:
* `streams-worker`: `streams-worker run --burst` subprocesses;
* `redis-py loop`: bench/baseline.py (XREADGROUP batch + one XACK), the ceiling;
* `taskiq-redis`: its RedisStreamBroker under `taskiq worker`;
* `faststream`: its Redis stream subscriber in a consumer group.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable

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

CONCURRENCY = 50
HANDLER_SPEC = {"noop": "bench.handlers:noop", "sleep_1ms": "bench.handlers:sleep_1ms"}
TARGETS = {"noop": 0.30, "sleep_1ms": 0.80}

Starter = Callable[[str, str, str, str, int], list[subprocess.Popen[bytes]]]


def _ours(
    url: str, stream: str, group: str, handler: str, procs: int
) -> list[subprocess.Popen[bytes]]:
    log = log_dir() / "throughput-ours.log"
    return [
        spawn(
            [bin_path("streams-worker"), "run", "--burst"],
            worker_env(
                url,
                stream,
                group,
                f"ours-{i}",
                HANDLER_SPEC[handler],
                concurrency=CONCURRENCY,
                batch_size=CONCURRENCY,
                block_ms=500,
            ),
            log,
        )
        for i in range(procs)
    ]


def _baseline(
    url: str, stream: str, group: str, handler: str, procs: int
) -> list[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "bench.baseline", url, stream, group]
    return [spawn([*argv, f"base-{i}", handler, str(CONCURRENCY)]) for i in range(procs)]


def _taskiq(
    url: str, stream: str, group: str, handler: str, procs: int
) -> list[subprocess.Popen[bytes]]:
    env = {"BENCH_REDIS_URL": url, "BENCH_STREAM": stream, "BENCH_GROUP": group}
    argv = [
        bin_path("taskiq"),
        "worker",
        "bench.taskiq_app:broker",
        "--workers",
        str(procs),
        "--max-async-tasks",
        str(CONCURRENCY),
        "--ack-type",
        "when_executed",
        "--log-level",
        "WARNING",
        "--no-configure-logging",
    ]
    return [spawn(argv, env, log_dir() / "throughput-taskiq.log")]


def _faststream(
    url: str, stream: str, group: str, handler: str, procs: int
) -> list[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "bench.faststream_app", url, stream, group]
    log = log_dir() / "throughput-faststream.log"
    return [spawn([*argv, f"fs-{i}", handler, str(CONCURRENCY)], log=log) for i in range(procs)]


def _fill_taskiq(url: str, stream: str, handler: str, n: int) -> None:
    """taskiq reads its own message format: kick one task, copy its fields n times."""
    os.environ.update(BENCH_REDIS_URL=url, BENCH_STREAM=stream)
    from bench.taskiq_app import sample_message

    fields = asyncio.run(sample_message(handler))
    r = sync_client(url)
    for start in range(0, n, 2000):
        pipe = r.pipeline(transaction=False)
        for _ in range(start, min(n, start + 2000)):
            pipe.xadd(stream, fields)
        pipe.execute()
    r.close()


SYSTEMS: dict[str, Starter] = {
    "streams-worker": _ours,
    "redis-py loop": _baseline,
    "taskiq-redis": _taskiq,
    "faststream": _faststream,
}


def measure(system: str, url: str, handler: str, procs: int, n: int) -> float:
    """Entries/s for one system: fill, start, watch the group drain, stop."""
    tag = uuid.uuid4().hex[:8]
    stream, group = f"tp:{system.split()[0]}:{tag}", f"g-{tag}"
    create_group(url, stream, group)
    if system == "taskiq-redis":
        _fill_taskiq(url, stream, handler, n)
    else:
        fill(url, stream, n)
    timeout = 30 + n / 500
    with running(SYSTEMS[system](url, stream, group, handler, procs)) as ps:
        drain = watch_drain(url, stream, group, n, timeout=timeout, procs=ps)
    return drain.rate


def run(ctx: Context) -> None:
    server = start_server()
    try:
        _run(ctx, server.url)
    finally:
        server.close()


def _run(ctx: Context, url: str) -> None:
    proc_counts = [2] if ctx.quick else [1, 2, 4]
    n_fast = 20_000 if ctx.quick else 100_000
    n_slow = 3_000 if ctx.quick else 20_000  # for the brokers that drain ~5k/s
    for handler in ("noop", "sleep_1ms"):
        for procs in proc_counts:
            case = f"{handler}, {procs} proc x {CONCURRENCY}"
            base = measure("redis-py loop", url, handler, procs, n_fast)
            ours = measure("streams-worker", url, handler, procs, n_fast)
            target = TARGETS[handler] if procs == 2 else None
            ctx.add(
                Row(
                    "throughput",
                    case,
                    "streams-worker",
                    ours,
                    "entries/s",
                    "redis-py loop",
                    base,
                    target=f">= {target:.2f} x baseline" if target else "",
                    met=(ours / base >= target) if target else None,
                )
            )
            ctx.add(Row("throughput", case, "redis-py loop", base, "entries/s"))
            for other in ("taskiq-redis", "faststream"):
                try:
                    rate = measure(other, url, handler, procs, n_slow)
                except (TimeoutError, RuntimeError, OSError, ImportError) as exc:
                    ctx.notes.append(f"{other} ({case}) failed: {exc}")
                    print(f"  {other}: failed: {exc}", flush=True)
                    continue
                ctx.add(
                    Row(
                        "throughput",
                        case,
                        other,
                        rate,
                        "entries/s",
                        "redis-py loop",
                        base,
                        note=f"streams-worker is x{ours / rate:.1f} this",
                    )
                )
