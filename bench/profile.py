"""Where the worker's CPU goes: `py-spy` samples one `streams-worker run --burst`
draining N entries with the no-op handler, and this writes bench/results/profile.md
(share of samples per function, and per area of the code).

    python -m bench.profile [--n 200000]      (needs py-spy: the [bench] extra)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.common import (
    RESULTS,
    ROOT,
    bin_path,
    create_group,
    fill,
    machine,
    start_server,
    worker_env,
)

#: Areas of the code, by the file a sampled frame is in (first match wins).
AREAS = [
    ("start-up (imports)", ("<frozen importlib", "importlib/")),
    ("our read loop", ("core/reader.py", "core/streams.py", "core/inflight.py")),
    ("our handler slots", ("core/processor.py", "core/worker.py", "core/entry.py")),
    ("our acks", ("core/acker.py",)),
    ("our metrics", ("prometheus_client/",)),
    ("redis-py", ("redis/",)),
    ("anyio", ("anyio/",)),
    ("asyncio and the socket", ("asyncio/", "selectors.py")),
]


def _area(stack: list[str]) -> str:
    for frame in reversed(stack):  # the innermost frame that belongs to an area
        for name, needles in AREAS:
            if any(n in frame for n in needles):
                return name
    return "other"


HANDLER = "bench.handlers:noop"


def record(n: int, out: Path) -> None:
    server = start_server()
    try:
        stream, group = "profile", "g"
        fill(server.url, stream, n)
        create_group(server.url, stream, group)
        env = worker_env(server.url, stream, group, "p-0", HANDLER,
                         concurrency=50, batch_size=50, block_ms=500)  # fmt: skip
        argv = [bin_path("py-spy"), "record", "-r", "200", "-f", "raw", "-o", str(out),
                "--", bin_path("streams-worker"), "run", "--burst"]  # fmt: skip
        subprocess.run(argv, env={**os.environ, **env}, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    finally:
        server.close()


def summarize(raw: Path, n: int) -> str:
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        stack = stack_text.split(";")
        k = int(count)
        total += k
        own[stack[-1].split(" (")[0] + " (" + stack[-1].split("(")[-1].split(":")[0] + ")"] += k
        areas[_area(stack)] += k
    m = machine()
    lines = [
        "# Where the worker's CPU goes (no-op handler)",
        "",
        f"`python -m bench.profile --n {n}`, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: "
        f"py-spy at 200 Hz on one `streams-worker run --burst` draining {n:,} entries "
        f"(concurrency 50), {total:,} samples, start-up included. {m['nproc']} cores "
        f"({m['cpu']}), Python {m['python']}, redis-py {m['redis-py']}.",
        "",
        "| area (innermost frame) | share of samples |",
        "|---|---:|",
        *[f"| {a} | {k / total:.0%} |" for a, k in areas.most_common()],
        "",
        "| function (self time) | share |",
        "|---|---:|",
        *[f"| `{f}` | {k / total:.1%} |" for f, k in own.most_common(20)],
        "",
    ]
    return "\n".join(lines)


GC_PROBE = """
import gc, json, statistics, time
import streams_worker.cli.app, streams_worker.worker, bench.handlers
def pause():
    t = time.perf_counter(); gc.collect(); return (time.perf_counter() - t) * 1000
gc.collect()
before = [pause() for _ in range(5)]
n = len(gc.get_objects())
gc.freeze()
after = [pause() for _ in range(5)]
print(json.dumps({"objects": n, "before": statistics.median(before),
                  "after": statistics.median(after)}))
"""


def gc_pauses() -> str:
    """A full collection's pause in a worker process after start-up, with and without
    `gc.freeze()` (what `streams-worker run` does before it starts serving)."""
    out = subprocess.run([sys.executable, "-c", GC_PROBE], check=True, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout  # fmt: skip
    got = json.loads(out)
    return (
        f"A full garbage collection after start-up walks {got['objects']:,} objects and "
        f"pauses the event loop {got['before']:.1f} ms (median of 5); after `gc.freeze()`, "
        f"which `streams-worker run` calls before serving, {got['after']:.2f} ms.\n"
    )


RSS_PROBE = """
import json
def rss():  # VmHWM: this process's own peak (ru_maxrss would include the parent's, pre-exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
steps = [("Python itself", rss())]
import redis.asyncio, anyio, hiredis
steps.append(("redis-py (asyncio, hiredis) and anyio: what the baseline loop imports", rss()))
import pydantic, pydantic_settings
steps.append(("pydantic and pydantic-settings (the settings)", rss()))
import prometheus_client
steps.append(("prometheus-client", rss()))
import streams_worker.worker
steps.append(("the worker (core, HTTP server for /metrics and /health, logs)", rss()))
import streams_worker.cli.app
steps.append(("the CLI (typer, click, rich)", rss()))
print(json.dumps(steps))
"""


def rss_steps() -> str:
    """Peak RSS after each group of imports of `streams-worker run`: where the
    worker's memory beyond the baseline loop's goes before it handles anything."""
    out = subprocess.run([sys.executable, "-c", RSS_PROBE], check=True, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout  # fmt: skip
    steps = json.loads(out)
    lines = ["| imported | peak RSS after | added |", "|---|---:|---:|"]
    before = 0.0
    for what, mib in steps:
        lines.append(f"| {what} | {mib:.1f} MiB | {mib - before:+.1f} MiB |")
        before = mib
    return "\n".join(["## Memory: where the worker's RSS goes at start-up", "", *lines, ""])


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.profile")
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        record(args.n, raw)
        text = summarize(raw, args.n) + "\n" + gc_pauses() + "\n" + rss_steps()
    (RESULTS / "profile.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
