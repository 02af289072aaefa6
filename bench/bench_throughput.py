"""Throughput: entries/s drained from a pre-filled stream, ours beside the baselines.

Each figure is the median of 5 runs (3 with --quick), ours and both loops interleaved
on the same server, with min-max beside it; CPU per entry (the processes' user+system,
and the server's INFO cpu) is measured in every run. Systems, same handler, same
process count, 50 handlers in flight per process:
* `streams-worker`: `streams-worker run --burst` subprocesses;
* `pipelined loop`: bench/baseline.py, the ceiling: XACK + next XREADGROUP in one
  round trip per batch of 100;
* `sequential loop`: bench/baseline.py --sequential: read, run, XACK (labelled row);
* `taskiq-redis`: its RedisStreamBroker under `taskiq worker`;
* `faststream`: its Redis stream subscriber in a consumer group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable

from bench.common import (
    Context,
    Drain,
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
#: Medians against the pipelined ceiling (issue 12): the no-op at 2 processes, the 1 ms
#: handler at every process count; client CPU per entry for the no-op.
TARGETS = {"noop": 0.50, "sleep_1ms": 0.85}
CPU_TARGET_US = 10.0

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
    url: str, stream: str, group: str, handler: str, procs: int, *flags: str
) -> list[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "bench.baseline", url, stream, group]
    return [spawn([*argv, f"base-{i}", handler, str(CONCURRENCY), *flags]) for i in range(procs)]


def _sequential(
    url: str, stream: str, group: str, handler: str, procs: int
) -> list[subprocess.Popen[bytes]]:
    return _baseline(url, stream, group, handler, procs, "--sequential")


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


CEILING, SEQUENTIAL = "pipelined loop", "sequential loop"
SYSTEMS: dict[str, Starter] = {
    "streams-worker": _ours,
    CEILING: _baseline,
    SEQUENTIAL: _sequential,
    "taskiq-redis": _taskiq,
    "faststream": _faststream,
}


def measure(system: str, url: str, handler: str, procs: int, n: int) -> Drain:
    """One run: fill, start, watch the group drain (rate and CPU), stop."""
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
    with contextlib.closing(sync_client(url)) as r:
        r.delete(stream)  # keep the server's memory (and its CPU) the same for every run
    return drain


def run(ctx: Context) -> None:
    server = start_server()
    try:
        _run(ctx, server.url)
    finally:
        server.close()


def _rounds(url: str, handler: str, procs: int, n: int, rounds: int) -> dict[str, list[Drain]]:
    """`rounds` runs of each system, interleaved (ours, ceiling, sequential, then the
    next round starting one system later), so drift on a shared box hits all alike."""
    order = ["streams-worker", CEILING, SEQUENTIAL]
    out: dict[str, list[Drain]] = {s: [] for s in order}
    for k in range(rounds):
        for system in order[k % 3 :] + order[: k % 3]:
            out[system].append(measure(system, url, handler, procs, n))
    return out


def _row(case: str, system: str, values: list[float], unit: str, base: list[float] | None = None,
         target: float | None = None, *, at_most: bool = False) -> Row:  # fmt: skip
    value = statistics.median(values)
    row = Row("throughput", case, system, value, unit, samples=values)
    if base is not None:
        row.baseline, row.baseline_samples = CEILING, base
        row.baseline_value = statistics.median(base)
    if target is not None:
        if at_most:
            row.target, row.met = f"<= {target:g} {unit}", value <= target
        else:
            row.target = f">= {target:.2f} x ceiling"
            row.met = row.ratio is not None and row.ratio >= target
    return row


def _run(ctx: Context, url: str) -> None:
    proc_counts = [2] if ctx.quick else [1, 2, 4]
    rounds = 3 if ctx.quick else 5
    n = 20_000 if ctx.quick else 100_000
    n_slow = 3_000 if ctx.quick else 10_000  # for the brokers that drain ~5k/s
    for handler in ("noop", "sleep_1ms"):
        for procs in proc_counts:
            case = f"{handler}, {procs} proc x {CONCURRENCY}"
            runs = _rounds(url, handler, procs, n, rounds)
            rate = {s: [d.rate for d in ds] for s, ds in runs.items()}
            target = TARGETS[handler] if handler != "noop" or procs == 2 else None
            ctx.add(_row(case, "streams-worker", rate["streams-worker"], "entries/s",
                         rate[CEILING], target))  # fmt: skip
            ctx.add(_row(case, CEILING, rate[CEILING], "entries/s"))
            ctx.add(_row(case, SEQUENTIAL, rate[SEQUENTIAL], "entries/s", rate[CEILING]))
            for side, attr in (("client", "client_cpu_s"), ("server", "server_cpu_s")):
                cpu = {s: [getattr(d, attr) / d.n * 1e6 for d in ds] for s, ds in runs.items()}
                cap = CPU_TARGET_US if (handler, side) == ("noop", "client") else None
                ctx.add(_row(f"{case}, {side} CPU", "streams-worker", cpu["streams-worker"],
                             "µs/entry", cpu[CEILING], cap, at_most=True))  # fmt: skip
                ctx.add(_row(f"{case}, {side} CPU", CEILING, cpu[CEILING], "µs/entry"))
            if ctx.quick or procs != 2:
                continue
            ours = statistics.median(rate["streams-worker"])
            for other in ("taskiq-redis", "faststream"):
                try:
                    other_rate = measure(other, url, handler, procs, n_slow).rate
                except (TimeoutError, RuntimeError, OSError, ImportError) as exc:
                    ctx.notes.append(f"{other} ({case}) failed: {exc}")
                    print(f"  {other}: failed: {exc}", flush=True)
                    continue
                note = f"one run; streams-worker is x{ours / other_rate:.1f} this"
                ctx.add(Row("throughput", case, other, other_rate, "entries/s", CEILING,
                            statistics.median(rate[CEILING]), note=note))  # fmt: skip
