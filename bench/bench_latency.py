"""Latency: enqueue-to-ack p50 / p99 / max at 50% of the measured peak rate.

Each figure is the median of 5 runs (3 with --quick) per system, ours and the
ceiling interleaved, with min - max beside it. A producer paces XADDs (every 10 ms,
`enqueued_at` set); a probe thread reads the
group's state every 2 ms in one MULTI (XINFO GROUPS last-delivered-id, XPENDING
summary). An entry is acked by the first sample in which it was delivered and is
below the lowest pending ID (or nothing is pending). So the figures are upper
bounds, quantised to the probe's 2 ms, and identical in method for ours and the
pipelined redis-py loop (bench/baseline.py, the ceiling) beside it.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass

from bench.common import (
    Context,
    Row,
    bin_path,
    create_group,
    fill,
    running,
    spawn,
    start_server,
    sync_client,
    watch_drain,
    worker_env,
)

PROCS = 1  # the paced producer and the probe need the other core of this 2-core box
CONCURRENCY = 50


def _id(raw: bytes | str) -> tuple[int, int]:
    s = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = s.partition("-")
    return int(ms), int(seq or 0)


@dataclass
class Sample:
    at: float
    delivered: tuple[int, int]
    low_pending: tuple[int, int] | None  # None: nothing pending


class Probe(threading.Thread):
    def __init__(self, url: str, stream: str, group: str) -> None:
        super().__init__(daemon=True)
        self.r = sync_client(url)
        self.stream, self.group = stream, group
        self.samples: list[Sample] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            pipe = self.r.pipeline(transaction=True)
            pipe.xinfo_groups(self.stream)
            pipe.xpending(self.stream, self.group)
            groups, pending = pipe.execute()
            now = time.time()
            g = next(g for g in groups if g["name"] in (self.group, self.group.encode()))
            low = _id(pending["min"]) if pending["pending"] else None
            self.samples.append(Sample(now, _id(g["last-delivered-id"]), low))
            time.sleep(0.002)


def _start(system: str, url: str, stream: str, group: str, handler: str) -> list:  # type: ignore[type-arg]
    if system == "streams-worker":
        return [
            spawn(
                [bin_path("streams-worker"), "run"],
                worker_env(
                    url,
                    stream,
                    group,
                    f"lat-{i}",
                    f"bench.handlers:{handler}",
                    concurrency=CONCURRENCY,
                    batch_size=CONCURRENCY,
                    block_ms=1000,
                ),
            )
            for i in range(PROCS)
        ]
    argv = [sys.executable, "-m", "bench.baseline", url, stream, group]
    return [
        spawn([*argv, f"base-{i}", handler, str(CONCURRENCY), "--forever"]) for i in range(PROCS)
    ]


def peak(system: str, url: str, n: int) -> float:
    tag = uuid.uuid4().hex[:8]
    stream, group = f"peak:{tag}", f"g-{tag}"
    create_group(url, stream, group)
    fill(url, stream, n)
    with running(_start(system, url, stream, group, "noop")) as ps:
        return watch_drain(url, stream, group, n, timeout=60, procs=ps).rate


def paced(system: str, url: str, rate: float, seconds: float) -> list[float]:
    """Enqueue at `rate` for `seconds`; return each entry's enqueue-to-ack in ms."""
    tag = uuid.uuid4().hex[:8]
    stream, group = f"lat:{tag}", f"g-{tag}"
    create_group(url, stream, group)
    r = sync_client(url)
    sent: list[tuple[tuple[int, int], float]] = []
    with running(_start(system, url, stream, group, "noop")):
        time.sleep(1.5)  # let the consumers connect and block on the stream
        probe = Probe(url, stream, group)
        probe.start()
        per_tick = max(1, round(rate * 0.01))
        start = time.time()
        tick = 0
        while time.time() - start < seconds:
            pipe = r.pipeline(transaction=False)
            now = time.time()
            for _ in range(per_tick):
                pipe.xadd(
                    stream,
                    {"article_id": f"urn:article:lat-{tick}", "enqueued_at": str(int(now * 1000))},
                )
            sent.extend((_id(eid), now) for eid in pipe.execute())
            tick += 1
            time.sleep(max(0.0, start + tick * 0.01 - time.time()))
        watch_drain(url, stream, group, len(sent), timeout=30)
        time.sleep(0.01)
        probe.stopping.set()
        probe.join()
    r.close()
    return _latencies(sent, probe.samples)


def _latencies(sent: list[tuple[tuple[int, int], float]], samples: list[Sample]) -> list[float]:
    out: list[float] = []
    j = 0
    for eid, at in sent:  # sent and samples are both in time order
        while j < len(samples) and not (
            samples[j].at >= at
            and eid <= samples[j].delivered
            and (samples[j].low_pending is None or eid < samples[j].low_pending)
        ):
            j += 1
        if j == len(samples):
            break
        out.append((samples[j].at - at) * 1000)
    return out


def run(ctx: Context) -> None:
    server = start_server()
    seconds = 4 if ctx.quick else 8
    rounds = 3 if ctx.quick else 5
    try:
        # Both systems get the same load: half of our own measured peak.
        top = peak("streams-worker", server.url, 10_000 if ctx.quick else 40_000)
        ctx.notes.append(
            f"latency: streams-worker peak {top:,.0f}/s; both paced at {top / 2:,.0f}/s, "
            f"{seconds} s a run, {rounds} runs each, interleaved"
        )
        systems = ["streams-worker", "pipelined loop"]
        runs: dict[str, list[list[float]]] = {s: [] for s in systems}
        for k in range(rounds):  # A B, B A, A B, ...: drift on a shared box hits both
            for system in systems[k % 2 :] + systems[: k % 2]:
                runs[system].append(paced(system, server.url, top / 2, seconds))
        for name, q in (("p50", 50), ("p99", 99), ("max", 100)):
            ours = [_pct(r, q) for r in runs["streams-worker"]]
            base = [_pct(r, q) for r in runs["pipelined loop"]]
            row = Row("latency", f"enqueue->ack {name}, 50% peak", "streams-worker",
                      statistics.median(ours), "ms", "pipelined loop", statistics.median(base),
                      note=f"{sum(map(len, runs['streams-worker'])):,} entries in all",
                      samples=ours, baseline_samples=base)  # fmt: skip
            if q == 99:
                row.target = "<= 1.5 x ceiling"
                row.met = row.value <= 1.5 * (row.baseline_value or 0)
            ctx.add(row)
            ctx.add(Row("latency", row.case, "pipelined loop", row.baseline_value or 0.0, "ms",
                        samples=base))  # fmt: skip
    finally:
        server.close()


def _pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if q == 100:
        return max(values)
    return statistics.quantiles(values, n=100)[q - 1]
