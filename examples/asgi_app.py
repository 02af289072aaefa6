"""Running the worker inside an existing ASGI application (Starlette or FastAPI).

The earlier worker ran as a thread inside a FastAPI app, started only when
`ENABLE_BACKGROUND_WORKER=true`; `streams_worker.worker_lifespan` is the supported
way to keep that shape: the worker lives in the app's lifespan, in the app's event
loop, and drains when the server shuts down. With FastAPI:
`FastAPI(lifespan=worker_lifespan(handle))`.

    ENABLE_BACKGROUND_WORKER=true uvicorn examples.asgi_app:app   # REDIS_URL etc. from the env
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from streams_worker import StreamEntry, WorkerSettings, worker_lifespan, worker_status


async def handle(entry: StreamEntry) -> None:
    print("enriching", entry.fields.get("article_id"), "delivery", entry.delivery_count)


def create_app(settings: WorkerSettings | None = None, handler=handle) -> Starlette:  # type: ignore[no-untyped-def]
    async def status(request: Request) -> JSONResponse:
        return JSONResponse(worker_status(request.app.state.worker))

    return Starlette(
        routes=[Route("/api/v1/worker/status", status)],
        lifespan=worker_lifespan(handler, settings),  # honours ENABLE_BACKGROUND_WORKER
    )


def __getattr__(name: str) -> Starlette:
    # `uvicorn examples.asgi_app:app` builds the app on first access, not at import.
    if name == "app":
        return create_app()
    raise AttributeError(name)
