"""`Worker.run()` from a library user's script: HTTP endpoints, signals, clean exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx

from streams_worker.dev.embedded import free_port
from tests.support.names import Names
from tests.support.wait import wait_for
from tests.support.workers import ROOT, worker_env

SCRIPT = """
from streams_worker import StreamEntry, Worker

async def handle(entry: StreamEntry) -> None:
    pass

raise SystemExit(Worker.from_env(handle).run())
"""


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=1)
    except httpx.TransportError:
        return None


def test_worker_run_serves_probes_and_metrics_and_exits_zero_on_sigterm(
    redis_url: str, names: Names
) -> None:
    port = free_port()
    env = worker_env(redis_url, stream=names.stream, group=names.group, block_ms=100,
                     http_port=port, http_host="127.0.0.1", log_level="WARNING")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        ready = wait_for(lambda: (r := _get(f"{base}/readyz")) is not None and r.status_code == 200
                         and r, timeout=20, what="ready")  # fmt: skip
        assert ready.json() == {"status": "ready"}
        status = httpx.get(f"{base}/status", timeout=2).json()
        assert (status["stream"], status["group"]) == (names.stream, names.group)
        metrics = httpx.get(f"{base}/metrics", timeout=2).text
        assert "streams_worker_concurrency" in metrics
        assert httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=10)
    # WORKER_LOG_FORMAT=json, WORKER_LOG_LEVEL=WARNING: JSON lines, nothing below warning
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    assert all(line["level"] in ("warning", "error", "critical") for line in lines), lines
