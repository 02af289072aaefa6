"""Scale-out cost: Redis commands/s and worker CPU for R replicas x N partitions.

    python -m bench.bench_scale --label after [--sizes 3x64,20x256,100x1024]

R `Worker` instances run in one process (each with its own clients, settings and
consumer name, exactly as separate replicas would talk to Redis) against one
private server, with production timings (5 s block, 5 s claim interval, 5 s
sampling). Two windows per size, after a warm-up:

- idle: nothing enqueued; Redis commands/s by command (INFO commandstats delta) and
  the worker process's CPU (user+system) per replica;
- load: a producer adds `--rate` entries/s round-robin over the partitions; the
  same figures plus enqueue-to-ack latency (p50/p99) measured per entry.

The figures go to bench/results/scale-<label>.json (every sample) and .md. The
method uses only the public API, so the same script measures an older checkout
(`PYTHONPATH=<old checkout> python bench/bench_scale.py --label before`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import redis.asyncio as aredis
from prometheus_client import CollectorRegistry

from streams_worker import StreamEntry, Worker, WorkerSettings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _server() -> Any:
    try:
        from streams_worker.dev.embedded import RedisProcess, default_binary
    except ImportError:  # an older checkout's layout
        from streams_worker.embedded import RedisProcess, default_binary  # type: ignore[no-redef]
    return RedisProcess(default_binary()).start()


async def _commandstats(r: Any) -> dict[str, int]:
    info = await r.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


def _delta(a: dict[str, int], b: dict[str, int], seconds: float) -> dict[str, float]:
    out = {k: (b.get(k, 0) - a.get(k, 0)) / seconds for k in b}
    return {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1]) if v > 0}


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def _window(r: Any, seconds: float) -> dict[str, Any]:
    c0, cpu0, t0 = await _commandstats(r), _cpu(), time.monotonic()
    await anyio.sleep(seconds)
    c1, cpu1, t1 = await _commandstats(r), _cpu(), time.monotonic()
    per_cmd = _delta(c0, c1, t1 - t0)
    # The probe's own INFO calls are not the workers'.
    per_cmd.pop("info", None)
    return {
        "seconds": round(t1 - t0, 2),
        "commands_per_s": round(sum(per_cmd.values()), 1),
        "by_command": per_cmd,
        "cpu_s_per_s": round((cpu1 - cpu0) / (t1 - t0), 4),
    }


async def measure(replicas: int, partitions: int, args: argparse.Namespace) -> dict[str, Any]:
    server = _server()
    latencies: list[float] = []

    async def handle(entry: StreamEntry) -> None:
        sent = float(entry.fields.get("sent", "0"))
        latencies.append(time.time() - sent)

    try:
        r = aredis.Redis.from_url(server.url, protocol=2)
        async with AsyncExitStack() as stack:
            for i in range(replicas):
                settings = WorkerSettings(
                    redis_url=server.url, stream="scale", group="g", consumer=f"w{i}",
                    partitions=partitions, http_port=0, concurrency=16,
                )  # fmt: skip
                worker = Worker(settings, handle, registry=CollectorRegistry())
                await stack.enter_async_context(worker.background())
            await anyio.sleep(args.warmup)
            idle = _summary([await _window(r, args.window) for _ in range(args.repeats)])
            idle["cpu_per_replica"] = round(idle["cpu_s_per_s"] / replicas, 4)
            stop = anyio.Event()

            async def produce() -> None:
                i = 0
                interval = 1 / args.rate
                nxt = time.monotonic()
                while not stop.is_set():
                    p = i % partitions
                    key = "scale" if partitions == 1 else f"scale:{{{p}}}"
                    await r.xadd(key, {"article_id": f"urn:article:{i}", "sent": repr(time.time())})
                    i += 1
                    nxt += interval
                    await anyio.sleep(max(0.0, nxt - time.monotonic()))

            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                await anyio.sleep(2)
                windows = []
                for _ in range(args.repeats):
                    latencies.clear()
                    w = await _window(r, args.window)
                    lat = sorted(latencies)
                    w["acked_per_s"] = round(len(lat) / w["seconds"], 1)
                    if lat:
                        w["latency_p50_ms"] = round(statistics.median(lat) * 1000, 1)
                        w["latency_p99_ms"] = round(lat[max(0, int(len(lat) * 0.99) - 1)] * 1000, 1)
                    windows.append(w)
                stop.set()
            load = _summary(windows)
            load["cpu_per_replica"] = round(load["cpu_s_per_s"] / replicas, 4)
        await r.aclose()
    finally:
        server.close()
    return {"replicas": replicas, "partitions": partitions, "idle": idle, "load": load}


def _summary(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """The median window (by commands/s) with the spread of every figure beside it."""
    mid = sorted(windows, key=lambda w: w["commands_per_s"])[len(windows) // 2]
    out = dict(mid)
    for key in ("commands_per_s", "cpu_s_per_s", "latency_p50_ms", "latency_p99_ms"):
        values = [w[key] for w in windows if key in w]
        if values:
            out[key] = statistics.median(values)
            out[key + "_range"] = [min(values), max(values)]
    out["windows"] = windows
    return out


def _rng(d: dict[str, Any], key: str, scale: float = 1.0, fmt: str = "{:.1f}") -> str:
    if key not in d:
        return "-"
    lo, hi = d.get(key + "_range", [d[key], d[key]])
    return f"{fmt.format(d[key] * scale)} ({fmt.format(lo * scale)}–{fmt.format(hi * scale)})"


def _md(label: str, results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# Scale-out cost ({label})",
        "",
        f"{meta['machine']}; {meta['server']}; median of {meta.get('repeats', 1)} windows of "
        f"{meta['window_s']} s (min–max in brackets); load {meta['rate']} entries/s; "
        f"commit {meta['commit']}.",
        "",
        "| replicas x partitions | idle cmd/s | idle cmd/s per partition | idle CPU/replica "
        "| load cmd/s | load CPU/replica | p50 ms | p99 ms | top idle commands |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for x in results:
        i, ld = x["idle"], x["load"]
        top = ", ".join(f"{k} {v}" for k, v in list(i["by_command"].items())[:3])
        lines.append(
            f"| {x['replicas']} x {x['partitions']} | {_rng(i, 'commands_per_s')} "
            f"| {i['commands_per_s'] / x['partitions']:.2f} | {i['cpu_per_replica'] * 100:.2f}% "
            f"| {_rng(ld, 'commands_per_s')} | {ld['cpu_per_replica'] * 100:.2f}% "
            f"| {_rng(ld, 'latency_p50_ms')} | {_rng(ld, 'latency_p99_ms')} | {top} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    ap.add_argument("--sizes", default="3x64,20x256,100x1024")
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=5, help="measured windows per figure")
    ap.add_argument("--warmup", type=float, default=8.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--append", action="store_true", help="keep the other sizes of the file")
    args = ap.parse_args(argv)
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path.cwd()).stdout.strip()  # fmt: skip
    meta = {
        "label": args.label, "commit": commit, "window_s": args.window, "rate": args.rate,
        "repeats": args.repeats,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "server": "valkey (embedded)", "date": time.strftime("%Y-%m-%d"),
        "code": str(Path(sys.modules["streams_worker"].__file__ or "").parent.parent),
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"scale-{args.label}.json"
    results: list[dict[str, Any]] = []
    if args.append and out.exists():
        results = json.loads(out.read_text())["results"]
    for size in args.sizes.split(","):
        rep, parts = (int(x) for x in size.split("x"))
        print(f"measuring {rep} x {parts} ...", file=sys.stderr, flush=True)
        results = [x for x in results if (x["replicas"], x["partitions"]) != (rep, parts)]
        results.append(anyio.run(measure, rep, parts, args))
        results.sort(key=lambda x: (x["partitions"], x["replicas"]))
        # Written after every size, so a long run keeps what it measured.
        out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
        (RESULTS / f"scale-{args.label}.md").write_text(_md(args.label, results, meta))
    print((RESULTS / f"scale-{args.label}.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
