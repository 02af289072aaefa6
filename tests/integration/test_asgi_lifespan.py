"""The worker inside an ASGI app's lifespan, served by a real uvicorn on loopback."""

from __future__ import annotations

import anyio
import httpx
import pytest
import uvicorn
from redis.asyncio import Redis

from examples.asgi_app import create_app
from streams_worker import WorkerSettings
from streams_worker.dev.embedded import free_port
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually


async def test_worker_runs_in_the_apps_lifespan_and_drains_on_shutdown(
    redis_url: str, names: Names
) -> None:
    r = Redis.from_url(redis_url)
    rec = Recorder()
    settings = WorkerSettings(
        **names.settings(redis_url=redis_url, block_ms=100, background_worker=True)
    )
    app = create_app(settings, rec)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        await eventually(lambda: _status(port), timeout=10, what="app up")
        for i in range(5):
            await r.xadd(names.stream, {"article_id": f"urn:article:x-{i}"})
        await eventually(lambda: _handled(rec, 5))
        doc = await _status(port)
        assert doc["running"] is True
        assert doc["enabled"] is True
        assert doc["consumer"] == names.consumer
        await eventually(lambda: _processed(port, 5))
        server.should_exit = True
    worker = app.state.worker
    assert not worker.running  # lifespan shutdown drained and stopped it
    assert (await r.xpending(names.stream, names.group))["pending"] == 0
    await r.aclose()


async def test_the_worker_is_off_unless_enable_background_worker(
    redis_url: str, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in the earlier worker: the app starts, its status says `enabled: false`."""
    monkeypatch.delenv("ENABLE_BACKGROUND_WORKER", raising=False)
    rec = Recorder()
    app = create_app(WorkerSettings(**names.settings(redis_url=redis_url, block_ms=100)), rec)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    r = Redis.from_url(redis_url)
    await r.xadd(names.stream, {"article_id": "urn:article:x-0"})
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        doc = await eventually(lambda: _status(port), timeout=10, what="app up")
        server.should_exit = True
    assert doc == {"enabled": False, "running": False}
    assert app.state.worker is None
    assert rec.calls == []
    assert await r.xinfo_groups(names.stream) == []  # no replica ever joined
    await r.aclose()
    monkeypatch.setenv("ENABLE_BACKGROUND_WORKER", "true")
    assert WorkerSettings().background_worker is True


async def _status(port: int) -> dict | None:  # type: ignore[type-arg]
    try:
        async with httpx.AsyncClient() as c:
            resp = await c.get(f"http://127.0.0.1:{port}/api/v1/worker/status", timeout=1)
    except httpx.TransportError:
        return None
    return resp.json() if resp.status_code == 200 else None


async def _handled(rec: Recorder, n: int) -> bool:
    return len(rec.calls) >= n


async def _processed(port: int, n: int) -> bool:
    doc = await _status(port)
    return bool(doc and doc["processed"] >= n)
