"""Memory: peak RSS of one worker process at concurrency 16 and 256 (psutil),
beside the pipelined redis-py loop (the ceiling) doing the same work at the same concurrency.

The handler sleeps 100 ms so every slot stays occupied for the whole run.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from subprocess import Popen

import psutil

from bench.common import (
    Context,
    Row,
    bin_path,
    create_group,
    fill,
    running,
    spawn,
    start_server,
    watch_drain,
    worker_env,
)


def _peak_rss(proc: Popen[bytes], stop: threading.Event, out: list[int]) -> None:
    p = psutil.Process(proc.pid)
    peak = 0
    while not stop.is_set():
        try:
            peak = max(peak, p.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    out.append(peak)


def measure(system: str, url: str, concurrency: int, n: int) -> float:
    tag = uuid.uuid4().hex[:8]
    stream, group = f"mem:{tag}", f"g-{tag}"
    create_group(url, stream, group)
    fill(url, stream, n)
    if system == "streams-worker":
        proc = spawn(
            [bin_path("streams-worker"), "run", "--burst"],
            worker_env(
                url,
                stream,
                group,
                "mem",
                "bench.handlers:sleep_100ms",
                concurrency=concurrency,
                batch_size=min(concurrency, 50),
            ),
        )
    else:
        proc = spawn(
            [
                sys.executable,
                "-m",
                "bench.baseline",
                url,
                stream,
                group,
                "mem",
                "sleep_100ms",
                str(concurrency),
            ]
        )
    stop, out = threading.Event(), []  # type: list[int]
    sampler = threading.Thread(target=_peak_rss, args=(proc, stop, out))
    sampler.start()
    with running([proc]):
        watch_drain(url, stream, group, n, timeout=120, procs=[proc])
        stop.set()
        sampler.join()
    return out[0] / 2**20


def run(ctx: Context) -> None:
    server = start_server()
    try:
        for concurrency in (16, 256):
            n = concurrency * (20 if ctx.quick else 50)  # 2 s / 5 s of full slots
            ours = measure("streams-worker", server.url, concurrency, n)
            base = measure("pipelined loop", server.url, concurrency, n)
            ctx.add(
                Row(
                    "memory",
                    f"peak RSS, concurrency {concurrency}",
                    "streams-worker",
                    ours,
                    "MiB",
                    "pipelined loop",
                    base,
                    target="<= 1.5 x ceiling" if concurrency == 256 else "",
                    met=(ours / base <= 1.5) if concurrency == 256 else None,
                    note="one run; 100 ms handler, slots full",
                )
            )
    finally:
        server.close()
