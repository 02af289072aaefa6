"""The HTTP server: routes, no secrets, port 0, clean shutdown, and probes of a real Worker."""

from __future__ import annotations

import gzip
import signal
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from streams_worker import WorkerSettings
from streams_worker.dev.embedded import RedisProcess, free_port
from streams_worker.http.app import create_app, serve_http
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually, wait_for
from tests.support.workers import serving, spawn_worker, worker_env


class FakeSource:
    """A StatusSource we control; the real Worker is tested below."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        Counter("demo_things", "Things.", registry=self.registry).inc(3)
        self.alive = True
        self.is_ready = True

    def status(self) -> Mapping[str, Any]:
        return {"consumer": "c1", "redis_password": "hunter2", "nested": {"api_token": "x", "n": 1}}

    def healthy(self) -> bool:
        return self.alive

    async def ready(self) -> bool:
        if self.is_ready is None:
            await anyio.sleep(30)  # a hung check must not hang the probe
        return bool(self.is_ready)


async def test_routes_answer_and_hide_secrets() -> None:
    src = FakeSource()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    async with anyio.create_task_group() as tg:
        port = await tg.start(serve_http, create_app(src), "127.0.0.1", 0)
        assert port > 0
        # uvicorn must leave signal handling to the worker
        assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            metrics = await c.get("/metrics")
            assert metrics.status_code == 200
            assert "demo_things_total 3.0" in metrics.text
            assert metrics.headers["content-type"].startswith("text/plain")
            assert (await c.get("/healthz")).json() == {"status": "ok"}
            # The earlier worker's /health carried the worker's summary too.
            health = await c.get("/health")
            summary = {"consumer": "c1", "nested": {"n": 1}}
            assert health.json() == {"status": "ok", "worker": summary}
            assert "hunter2" not in health.text
            assert (await c.get("/readyz")).status_code == 200
            for path in ("/status", "/api/v1/worker/status"):
                body = (await c.get(path)).json()
                assert body == {"consumer": "c1", "nested": {"n": 1}}
                assert "hunter2" not in (await c.get(path)).text
            assert (await c.get("/nope")).status_code == 404

            src.alive, src.is_ready = False, False
            assert (await c.get("/healthz")).status_code == 503
            assert (await c.get("/health")).status_code == 503
            assert (await c.get("/readyz")).status_code == 503
            src.is_ready = None
            with anyio.fail_after(5):
                assert (await c.get("/readyz")).status_code == 503
        tg.cancel_scope.cancel()
    async with httpx.AsyncClient() as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


async def test_metrics_negotiate_openmetrics_and_gzip() -> None:
    src = FakeSource()
    async with anyio.create_task_group() as tg:
        port = await tg.start(serve_http, create_app(src), "127.0.0.1", 0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            plain = await c.get("/metrics", headers={"Accept-Encoding": "identity"})
            assert plain.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert "content-encoding" not in plain.headers
            assert "# EOF" not in plain.text

            om = await c.get("/metrics", headers={"Accept": "application/openmetrics-text"})
            assert om.headers["content-type"].startswith("application/openmetrics-text")
            assert om.text.rstrip().endswith("# EOF")
            assert "demo_things_total 3.0" in om.text

            # httpx decodes gzip itself: read the raw bytes to see the encoding on the wire
            async with c.stream("GET", "/metrics", headers={"Accept-Encoding": "gzip"}) as r:
                raw = b"".join([chunk async for chunk in r.aiter_raw()])
            assert r.headers["content-encoding"] == "gzip"
            assert gzip.decompress(raw).decode() == plain.text
        tg.cancel_scope.cancel()


async def test_a_busy_port_raises_instead_of_exiting() -> None:
    async with anyio.create_task_group() as tg:
        port = await tg.start(serve_http, create_app(FakeSource()), "127.0.0.1", 0)
        with pytest.raises(OSError, match="in use"):
            await serve_http(create_app(FakeSource()), "127.0.0.1", port)
        tg.cancel_scope.cancel()


async def test_readyz_follows_redis_while_healthz_stays_true(
    private_redis: Callable[..., RedisProcess], names: Names
) -> None:
    server = private_redis()
    settings = WorkerSettings(
        **names.settings(
            redis_url=server.url,
            block_ms=100,
            claim_interval_ms=100,
            http_port=0,
            redis_socket_timeout_s=1,
            group_sample_interval_ms=200,
        )
    )
    async with serving(settings, Recorder()) as worker, anyio.create_task_group() as tg:
        port = await tg.start(serve_http, create_app(worker), "127.0.0.1", 0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:

            async def ready_is(expected: int) -> bool:
                assert (await c.get("/healthz")).status_code == 200
                return (await c.get("/readyz")).status_code == expected

            await eventually(lambda: ready_is(200), timeout=10, what="ready at start")
            server.stop()
            t0 = anyio.current_time()
            await eventually(lambda: ready_is(503), timeout=10, what="not ready without Redis")
            went_down = anyio.current_time() - t0
            server.start()
            await eventually(lambda: ready_is(200), timeout=15, what="ready again")
            # readiness pings Redis itself (bounded by 1 s): it must not wait for a sample
            # or a reconnect loop to notice
            assert went_down < 2.5, f"readiness took {went_down:.1f}s to notice Redis was down"
            status = (await c.get("/status")).json()
            assert status["consumer"] == names.consumer
            assert "redis_url" not in status
        tg.cancel_scope.cancel()


def test_streams_worker_run_serves_http(redis_url: str, names: Names, tmp_path: Any) -> None:
    port = free_port()
    env = worker_env(
        redis_url, **names.settings(http_port=port, block_ms=100, group_sample_interval_ms=200)
    )
    proc = spawn_worker(env, tmp_path / "worker.log")
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=20, what=f"worker ready; log: {proc.log_path}")
        text = httpx.get(f"{url}/metrics", timeout=2).text
        assert f'streams_worker_group_backlog{{group="{names.group}",partition="0"' in text
        assert httpx.get(f"{url}/status", timeout=2).json()["consumer"] == names.consumer
    finally:
        proc.close()
