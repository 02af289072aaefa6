"""Producer enqueue rate: 100,000 IDs, pipelined, beside naive baselines.

    python -m bench.bench_producer [--n 100000] [--partitions 1]

Figures (each against a fresh private server, same IDs):

* `Enqueuer` (the library path `streams-producer enqueue` uses): validated IDs,
  the at-most-once script per partition and chunk, one pipelined round trip per
  `batch_size` IDs;
* `streams-producer enqueue --file` end to end, process start-up included;
* baseline: one plain XADD per round trip (no de-duplication), what a naive
  producer loop does; the ratio is ours / baseline.

`run(ctx)` plugs into `python -m bench` (bench/__main__.py) when that harness is there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from redis.asyncio import Redis

from producer.enqueue import Enqueuer
from streams_worker.core.keys import StreamKeys
from streams_worker.dev.embedded import RedisProcess

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ProducerFigures:
    n: int
    partitions: int
    pipelined_ids_per_s: float
    cli_ids_per_s: float
    naive_ids_per_s: float

    @property
    def ratio(self) -> float:
        return self.pipelined_ids_per_s / self.naive_ids_per_s

    def lines(self) -> list[str]:
        return [
            f"enqueue {self.n:,} IDs, {self.partitions} partition(s):",
            f"  Enqueuer (pipelined, at most once): {self.pipelined_ids_per_s:>10,.0f} IDs/s "
            f"({self.n / self.pipelined_ids_per_s:.2f} s)",
            f"  streams-producer enqueue --file:    {self.cli_ids_per_s:>10,.0f} IDs/s "
            f"({self.n / self.cli_ids_per_s:.2f} s, process start-up included)",
            f"  naive: one XADD per round trip:     {self.naive_ids_per_s:>10,.0f} IDs/s "
            f"({self.n / self.naive_ids_per_s:.2f} s)",
            f"  ratio pipelined / naive: {self.ratio:.1f}x",
        ]


async def _pipelined(url: str, ids: list[str], partitions: int) -> float:
    keys = StreamKeys.for_stream(f"bench:{uuid.uuid4().hex[:8]}", partitions=partitions)
    async with Redis.from_url(url) as client:
        start = time.perf_counter()
        result = await Enqueuer(client, keys).enqueue(ids)
        took = time.perf_counter() - start
    if result.enqueued != len(ids):
        raise RuntimeError(f"enqueued {result.enqueued} of {len(ids)}")
    return len(ids) / took


async def _naive(url: str, ids: list[str]) -> float:
    stream = f"bench-naive:{uuid.uuid4().hex[:8]}"
    async with Redis.from_url(url) as client:
        start = time.perf_counter()
        for aid in ids:
            now = str(int(time.time() * 1000))
            await client.xadd(stream, {"article_id": aid, "enqueued_at": now})
        took = time.perf_counter() - start
    return len(ids) / took


def _cli(url: str, ids: list[str], partitions: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ids.txt"
        path.write_text("\n".join(ids) + "\n")
        env = {**os.environ, "REDIS_URL": url, "WORKER_STREAM": f"bench-cli:{uuid.uuid4().hex[:8]}",
               "WORKER_PARTITIONS": str(partitions)}  # fmt: skip
        exe = Path(sys.executable).parent / "streams-producer"
        start = time.perf_counter()
        done = subprocess.run([str(exe), "enqueue", "--file", str(path)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
        took = time.perf_counter() - start
    if done.returncode != 0 or f"enqueued {len(ids)}," not in done.stdout:
        raise RuntimeError(f"streams-producer failed: {(done.stderr or done.stdout)[:300]}")
    return len(ids) / took


def measure(
    n: int = 100_000, *, partitions: int = 1, naive_n: int | None = None
) -> ProducerFigures:
    """Enqueue `n` fresh IDs three ways against a private server; returns the rates
    (the naive loop, at about 10,000 IDs/s, may take only the first `naive_n`)."""
    ids = [f"urn:article:bench-{uuid.uuid4().hex[:6]}-{i}" for i in range(n)]
    with RedisProcess() as server:
        pipelined = anyio.run(_pipelined, server.url, ids, partitions)
        cli = _cli(server.url, ids, partitions)
        naive = anyio.run(_naive, server.url, ids[:naive_n])
    return ProducerFigures(n, partitions, pipelined, cli, naive)


def run(ctx: Any) -> None:
    """Entry point for `python -m bench`: medians of 5 rounds (3 with --quick), each
    round the three ways one after the other on a fresh server, spreads kept."""
    import statistics

    from bench.common import Row  # type: ignore[import-not-found]

    n = 20_000 if ctx.quick else 100_000
    rounds = [measure(n, naive_n=min(n, 20_000)) for _ in range(3 if ctx.quick else 5)]
    naive = [f.naive_ids_per_s for f in rounds]
    base = "one XADD per round trip"
    for system, values, floor, note in (
        ("Enqueuer (pipelined)", [f.pipelined_ids_per_s for f in rounds], 150_000, ""),
        ("streams-producer enqueue --file", [f.cli_ids_per_s for f in rounds], 100_000,
         "CLI end to end, start-up included"),
    ):  # fmt: skip
        value = statistics.median(values)
        ctx.add(Row("producer", f"enqueue {n:,} IDs", system, value, "IDs/s", base,
                    statistics.median(naive), target=f">= {floor:,} IDs/s", met=value >= floor,
                    note=note, samples=values, baseline_samples=naive))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_producer")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--partitions", type=int, default=1)
    args = ap.parse_args()
    print("\n".join(measure(args.n, partitions=args.partitions).lines()))


if __name__ == "__main__":
    main()
