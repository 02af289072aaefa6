"""Running the worker inside an existing ASGI application (Starlette or FastAPI).

The earlier worker ran as a thread inside a FastAPI app; this is the supported way
to keep that shape: the worker lives in the app's lifespan, in the app's event
loop, and drains when the server shuts down.

    uvicorn examples.asgi_app:app          # REDIS_URL etc. from the environment
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from streams_worker import StreamEntry, Worker, WorkerSettings


async def handle(entry: StreamEntry) -> None:
    print("enriching", entry.fields.get("article_id"), "delivery", entry.delivery_count)


def create_app(settings: WorkerSettings | None = None, handler=handle) -> Starlette:  # type: ignore[no-untyped-def]
    worker = Worker(settings or WorkerSettings(), handler)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with worker.background():
            yield

    async def status(request: Request) -> JSONResponse:
        return JSONResponse(worker.status())

    app = Starlette(routes=[Route("/api/v1/worker/status", status)], lifespan=lifespan)
    app.state.worker = worker
    return app


def __getattr__(name: str) -> Starlette:
    # `uvicorn examples.asgi_app:app` builds the app on first access, not at import.
    if name == "app":
        return create_app()
    raise AttributeError(name)
