"""Worker throughput with 1 vs 4 partitions (one in-process replica, no-op handler).

    python -m bench.bench_partitions [--n 50000]

The same IDs are enqueued by the producer (so they spread by the stable hash) into
a fresh stream; the worker then drains it in burst mode. Time from start to
drained, start-up of the worker included (milliseconds).
"""

from __future__ import annotations

import argparse
import time
import uuid

import anyio
from redis.asyncio import Redis

from producer.enqueue import Enqueuer
from streams_worker import StreamEntry, Worker
from streams_worker.core.settings import WorkerSettings
from streams_worker.dev.embedded import RedisProcess


async def _drain(url: str, n: int, partitions: int) -> float:
    settings = WorkerSettings(
        redis_url=url, stream=f"bench-part:{uuid.uuid4().hex[:8]}", partitions=partitions,
        burst=True, http_port=0, block_ms=100, concurrency=64, batch_size=64,
        consumer="bench", log_level="WARNING",
    )  # fmt: skip
    ids = [f"urn:article:p-{i}" for i in range(n)]
    async with Redis.from_url(url) as client:
        await Enqueuer(client, settings.keys()).enqueue(ids)
    handled = 0

    async def handle(entry: StreamEntry) -> None:
        nonlocal handled
        handled += 1

    start = time.perf_counter()
    await Worker(settings, handle).serve()
    took = time.perf_counter() - start
    if handled != n:
        raise RuntimeError(f"handled {handled} of {n}")
    return n / took


def measure(n: int = 50_000) -> dict[int, float]:
    """Entries per second for 1 and 4 partitions, same server, same count."""
    from streams_worker.core import logs

    logs.configure("WARNING", "console")
    with RedisProcess() as server:
        return {p: anyio.run(_drain, server.url, n, p) for p in (1, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_partitions")
    ap.add_argument("--n", type=int, default=50_000)
    n = ap.parse_args().n
    rates = measure(n)
    for p, rate in rates.items():
        print(f"{p} partition(s): {rate:>10,.0f} entries/s ({n / rate:.2f} s for {n:,})")
    print(f"ratio 4 / 1: {rates[4] / rates[1]:.2f}")


if __name__ == "__main__":
    main()
