"""Console page load times with 1,000,000 pending entries.

    python -m bench.bench_console [--entries N] [--runs R]

Starts a private server, fills a stream with N entries quickly (pipelined XADD in
batches of 10,000), makes every one of them pending (XREADGROUP COUNT 100,000 over
four consumers), adds 20,000 dead letters, starts `streams-worker console` and
times each page over HTTP (R runs after a warm-up; median and max, wall clock,
server render included). Writes bench/results/console.json and console.md, and the
table between the markers in docs/console.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis

from streams_worker.core.deadletter import Reason, build_fields
from streams_worker.dev.embedded import RedisProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "console.md"
BEGIN, END = "<!-- bench:console:begin -->", "<!-- bench:console:end -->"
STREAM, GROUP = "bench", "g"


def fill(r: redis.Redis, entries: int, dead: int) -> dict[str, float]:
    t0 = time.monotonic()
    batch = 10_000
    for start in range(0, entries, batch):
        pipe = r.pipeline(transaction=False)
        for i in range(start, min(start + batch, entries)):
            pipe.xadd(STREAM, {"article_id": f"urn:article:{i}", "enqueued_at": "0"})
        pipe.execute()
    t_add = time.monotonic() - t0
    r.xgroup_create(STREAM, GROUP, "0")
    t1, read, c = time.monotonic(), 0, 0
    while read < entries:
        got = r.xreadgroup(GROUP, f"consumer-{c % 4}", {STREAM: ">"}, count=100_000)
        read += len(got[0][1]) if got else 0
        c += 1
        if not got:
            break
    t_read = time.monotonic() - t1
    pipe = r.pipeline(transaction=False)
    for i in range(dead):
        raw = {b"article_id": f"urn:article:dead-{i}".encode()}
        fields = build_fields(reason=Reason.MAX_DELIVERIES, error=f"timeout {i % 7}",
                              stream=STREAM, entry_id=f"{i + 1}-0", group=GROUP,
                              consumer="consumer-0", delivery_count=3, raw=raw)  # fmt: skip
        pipe.xadd(f"{STREAM}:dead", dict(zip(fields[::2], fields[1::2], strict=True)))  # type: ignore[arg-type]
    pipe.execute()
    return {"xadd_s": round(t_add, 1), "xreadgroup_s": round(t_read, 1)}


def pages(r: redis.Redis) -> dict[str, str]:
    mid = r.xrange(STREAM, count=1)[0][0].decode()
    dl = r.xrange(f"{STREAM}:dead", count=1)[0][0].decode()
    near_end = r.xrevrange(STREAM, count=51)[-1][0].decode()
    return {
        "healthz (no Redis, no template: the HTTP floor)": "/healthz",
        "overview": "/",
        "consumers": "/consumers",
        "pending (first page)": "/pending",
        "pending (last page: cursor near the end)": f"/pending?after={near_end}",
        "pending, consumer filter": "/pending?consumer=consumer-3",
        "pending, min deliveries 2 (no match: bounded scan)": "/pending?min_deliveries=2",
        "pending entry detail": f"/pending/0/{mid}",
        "dead letters (first page)": "/dead-letters",
        "dead letters, error filter": "/dead-letters?error=timeout+3",
        "dead letter detail": f"/dead-letters/0/{dl}",
        "replay-all confirmation (counts every dead letter)":
            "/dead-letters/confirm?op=replay&scope=matching",
        "actions": "/actions",
        "trim dry run": "/actions/trim",
    }


def measure(url: str, paths: dict[str, str], runs: int) -> list[dict[str, Any]]:
    out = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for name, path in paths.items():
            assert http.get(path).status_code == 200, path  # warm-up
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                resp = http.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, path
            out.append({"page": name, "path": path.split("?")[0], "median_ms": round(
                statistics.median(times), 1), "max_ms": round(max(times), 1),
                "bytes": len(resp.content)})  # fmt: skip
    return out


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['entries']:,} entries, all pending ({result['consumers']} consumers), "
        f"{result['dead_letters']:,} dead letters; {result['server']}; {result['machine']}; "
        f"median of {result['runs']} loads after a warm-up (wall clock, HTTP on loopback).",
        "",
        "| page | median | max | size |",
        "|---|---:|---:|---:|",
    ]
    for p in result["pages"]:
        lines.append(f"| {p['page']} | {p['median_ms']} ms | {p['max_ms']} ms | "
                     f"{p['bytes'] / 1024:.0f} KiB |")  # fmt: skip
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "console.json").write_text(json.dumps(result, indent=2) + "\n")
    md = "# Console page load times\n\nGenerated by `python -m bench.bench_console`.\n\n"
    (RESULTS / "console.md").write_text(md + table(result))
    if DOC.exists():
        text = DOC.read_text()
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        note = "\n<!-- generated from bench/results/console.json by bench/bench_console.py -->\n"
        DOC.write_text(f"{head}{BEGIN}{note}{table(result)}{END}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--dead", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--docs-only", action="store_true", help="rewrite docs from console.json")
    args = ap.parse_args()
    if args.docs_only:
        write(json.loads((RESULTS / "console.json").read_text()))
        return
    with RedisProcess() as server:
        r = redis.Redis.from_url(server.url)
        filled = fill(r, args.entries, args.dead)
        info = r.info("server")
        port = free_port()
        env = {**os.environ, "REDIS_URL": server.url, "WORKER_STREAM": STREAM,
               "WORKER_GROUP": GROUP, "CONSOLE_PORT": str(port),
               "CONSOLE_ACTIONS": "true"}  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-m", "streams_worker", "console"], env=env)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            measured = measure(f"http://127.0.0.1:{port}", pages(r), args.runs)
        finally:
            proc.terminate()
            proc.wait(10)
        pending = r.xpending(STREAM, GROUP)["pending"]
    name = "valkey" if "valkey_version" in info else "redis"
    result = {
        "entries": args.entries, "pending": pending, "consumers": 4, "dead_letters": args.dead,
        "runs": args.runs, "fill": filled, "pages": measured,
        "server": f"{name} {info.get('valkey_version', info['redis_version'])}",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                   f"Python {platform.python_version()}",
    }  # fmt: skip
    write(result)
    print(table(result))


if __name__ == "__main__":
    main()
