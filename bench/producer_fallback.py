"""Producer enqueue rate for 100,000 IDs, used while bench/bench_producer.py (the
producer branch's own benchmark) is not on main.

Ours: `streams-producer enqueue --file` (the public command: validation, de-dup
marks, partition routing, pipelined script calls), timed end to end including
its start-up. Baseline: pipelined XADDs of the same IDs, 1,000 per round trip.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import ROOT, Context, Row, bin_path, start_server, sync_client


def raw_xadd(url: str, stream: str, ids: list[str]) -> float:
    r = sync_client(url)
    start = time.perf_counter()
    for i in range(0, len(ids), 1000):
        pipe = r.pipeline(transaction=False)
        for aid in ids[i : i + 1000]:
            pipe.xadd(stream, {"article_id": aid, "enqueued_at": str(int(time.time() * 1000))})
        pipe.execute()
    took = time.perf_counter() - start
    r.close()
    return len(ids) / took


def producer_cli(url: str, stream: str, ids: list[str]) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(ids) + "\n")
        path = Path(f.name)
    try:
        env = {"REDIS_URL": url, "WORKER_STREAM": stream, "PATH": str(Path(bin_path("x")).parent)}
        start = time.perf_counter()
        done = subprocess.run(
            [bin_path("streams-producer"), "enqueue", "--file", str(path)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        took = time.perf_counter() - start
    finally:
        path.unlink()
    if done.returncode != 0:
        raise RuntimeError(
            f"streams-producer enqueue exited {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()[:200]}"
        )
    r = sync_client(url)
    added = r.xlen(stream)
    r.close()
    if added != len(ids):
        raise RuntimeError(f"streams-producer enqueued {added} of {len(ids)}")
    return len(ids) / took


def run(ctx: Context) -> None:
    n = 20_000 if ctx.quick else 100_000
    ids = [f"urn:article:bench-{uuid.uuid4().hex[:6]}-{i}" for i in range(n)]
    server = start_server()
    try:
        base = raw_xadd(server.url, f"prod-raw:{uuid.uuid4().hex[:8]}", ids)
        try:
            ours = producer_cli(server.url, f"prod:{uuid.uuid4().hex[:8]}", ids)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            ctx.notes.append(f"producer: {exc}")
            ctx.add(
                Row(
                    "producer",
                    f"enqueue {n:,} IDs",
                    "raw XADD pipeline",
                    base,
                    "IDs/s",
                    note="streams-producer unavailable in this build",
                )
            )
            return
        ctx.add(
            Row(
                "producer",
                f"enqueue {n:,} IDs",
                "streams-producer",
                ours,
                "IDs/s",
                "raw XADD pipeline",
                base,
                note="CLI end to end, incl. start-up (fallback bench)",
            )
        )
    finally:
        server.close()
