"""One log format for the whole process: a worker run through a failing catalog and a
Redis restart, with WORKER_LOG_FORMAT=json, prints nothing but JSON lines with the
same keys (our events and those of uvicorn, redis-py, httpx, asyncio alike)."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from streams_worker.dev.embedded import RedisProcess, free_port
from streams_worker.enrichment.sample_catalog import DEFAULT_CLIENT_SECRET, SampleCatalog
from tests.support.wait import wait_for
from tests.support.workers import spawn_worker, worker_env

#: Every line carries these, whoever logged it.
COMMON_KEYS = {"event", "level", "timestamp", "logger"}


@pytest.fixture
def failing_catalog() -> Iterator[SampleCatalog]:
    # Half the API calls answer 5xx: the handler fails, retries, and logs about it.
    with SampleCatalog.start(articles=12, error_rate=0.5, seed=7) as catalog:
        yield catalog


def _records(log: str) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(log.splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"line {number} is not JSON: {line!r}")
        assert isinstance(record, dict), line
        missing = COMMON_KEYS - record.keys()
        assert not missing, f"line {number} lacks {missing}: {line!r}"
        out.append(record)
    return out


def _events(path: Path) -> list[str]:
    events = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            events.append(str(json.loads(line).get("event")))
        except (json.JSONDecodeError, AttributeError):
            continue
    return events


def test_every_line_is_json_through_a_failing_catalog_and_a_redis_restart(
    failing_catalog: SampleCatalog,
    private_redis: Callable[..., RedisProcess],
    tmp_path: Path,
) -> None:
    server = private_redis()
    stream = "logs-test"
    env = worker_env(
        server.url,
        stream=stream, group="g", consumer="c1", block_ms=100, claim_min_idle_ms=200,
        claim_interval_ms=100, retry_delays_ms="50", max_deliveries=3,
        group_sample_interval_ms=200, http_port=free_port(), log_level="INFO",
        WORKER_HANDLER="streams_worker.enrichment.handler:build_handler",
        DATA_API_URL=failing_catalog.url, KEYCLOAK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        CATALOG_BACKOFF_MAX_S="0.05",
    )  # fmt: skip
    client = Redis.from_url(server.url)
    log_path = tmp_path / "worker.log"
    worker = spawn_worker(env, log_path)
    try:
        for urn in failing_catalog.urns:
            client.xadd(stream, {"article_id": urn})
        wait_for(lambda: "worker_started" in _events(log_path), timeout=30, what="start-up")
        # A port scanner's garbage: uvicorn logs "Invalid HTTP request received."
        with socket.create_connection(("127.0.0.1", int(env["WORKER_HTTP_PORT"])), 5) as sock:
            sock.sendall(b"\x16\x03\x01 not http\r\n\r\n")
            sock.recv(1024)
        # Both failures and successes, then Redis goes away and comes back.
        wait_for(lambda: client.xlen(f"{stream}:dead") + _acked(client, stream) > 3, timeout=60,
                 what="some entries finished")  # fmt: skip
        client.close()
        server.restart(kill=True)
        # Without persistence the group is gone: the worker notices and recreates it.
        wait_for(lambda: "group_recreated" in _events(log_path), timeout=60, what="recreated")
        client = Redis.from_url(server.url)
        client.xadd(stream, {"article_id": failing_catalog.urns[0]})
        worker.signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    finally:
        client.close()
        worker.close()
    records = _records(log_path.read_text(errors="replace"))
    loggers = {r["logger"] for r in records}
    events = {r["event"] for r in records}
    assert {"worker_started", "handler_failed", "group_recreated", "worker_stopped"} <= events
    assert "streams_worker" in loggers
    assert "uvicorn.error" in loggers  # a stdlib logger's line, in the same format
    # httpx's per-request INFO lines are raised to WARNING: one per catalog call is noise
    assert not [r for r in records if r["logger"].startswith("httpx") and r["level"] == "info"]
    assert all(r["level"] in {"debug", "info", "warning", "error", "critical"} for r in records)


def _acked(client: Redis, stream: str) -> int:
    try:
        groups = client.xinfo_groups(stream)
    except Exception:  # noqa: BLE001 - the stream may not exist yet
        return 0
    return sum(int(g.get("entries-read") or 0) for g in groups)
