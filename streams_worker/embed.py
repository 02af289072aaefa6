"""Running the worker inside an existing ASGI application (FastAPI, Starlette, Quart).

The earlier worker ran as a thread of a FastAPI app and started only when
`ENABLE_BACKGROUND_WORKER` was true; this keeps that shape, supported: the worker
lives in the app's lifespan, in the app's event loop, and drains (in-flight handlers
finish, acks flushed) when the server shuts down. No web framework is imported here.

    app = FastAPI(lifespan=worker_lifespan(handle))          # ENABLE_BACKGROUND_WORKER=true

    @app.get("/api/v1/worker/status")
    def status(request: Request) -> dict:
        return worker_status(request.app.state.worker)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from streams_worker.core.handlers import Handler
from streams_worker.core.logs import get_logger
from streams_worker.core.settings import WorkerSettings, load
from streams_worker.worker import Worker

__all__ = ["embedded_worker", "worker_lifespan", "worker_status"]


@asynccontextmanager
async def embedded_worker(
    handler: Handler, settings: WorkerSettings | None = None, *, enabled: bool | None = None
) -> AsyncIterator[Worker | None]:
    """A serving worker for the block, or None when switched off.

    `enabled` defaults to `ENABLE_BACKGROUND_WORKER` (false, as in the earlier worker),
    so the same app image can run with and without a worker. Settings default to the
    environment; a bad value raises `ConfigurationError` naming it.
    """
    s = settings if settings is not None else load(WorkerSettings)
    if not (s.background_worker if enabled is None else enabled):
        get_logger(stream=s.stream, group=s.group).info(
            "background_worker_disabled", hint="set ENABLE_BACKGROUND_WORKER=true to run it"
        )
        yield None
        return
    worker = Worker(s, handler)
    async with worker.background():
        yield worker


def worker_lifespan(
    handler: Handler, settings: WorkerSettings | None = None, *, enabled: bool | None = None
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """An ASGI lifespan running `embedded_worker`; the worker (or None) is `app.state.worker`."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with embedded_worker(handler, settings, enabled=enabled) as worker:
            state = getattr(app, "state", None)
            if state is not None:
                state.worker = worker
            yield

    return lifespan


def worker_status(worker: Worker | None) -> dict[str, Any]:
    """The earlier worker's status document: `enabled: false` when it is switched off."""
    return worker.status() if worker is not None else {"enabled": False, "running": False}
