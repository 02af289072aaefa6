"""Enqueueing from an existing web application (Starlette here; FastAPI is the same).

Two endpoints an application typically needs:

- `POST /catalog/events`: the catalog's webhook. When it reports a new (or changed)
  article, the article is enqueued at once instead of waiting for the next
  `streams-producer sync` pass.
- `POST /articles/enqueue` with `{"ids": [...], "force": false}`: process only
  specific articles (the earlier worker's FAQ), e.g. from an admin page.

The `Producer` is opened in the app's lifespan and shared by all requests; its
settings come from the environment (`REDIS_URL`, `WORKER_STREAM`, `WORKER_PARTITIONS`,
`REDIS_CLUSTER`), the same ConfigMap the workers read.

    uvicorn examples.enqueue_app:app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from producer import Producer

#: Catalog events that mean "this article needs (re-)enrichment".
ENRICH_ON = {"article.created", "article.updated"}


def create_app(producer: Producer | None = None) -> Starlette:
    shared = producer or Producer.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with shared:
            yield

    async def catalog_event(request: Request) -> JSONResponse:
        event = await request.json()
        if not isinstance(event, dict) or event.get("event") not in ENRICH_ON:
            return JSONResponse({"ignored": True}, 202)
        summary = await shared.enqueue([str(event.get("urn", ""))])
        status = 422 if summary.rejected else 202
        return JSONResponse(_public(summary), status)

    async def enqueue(request: Request) -> JSONResponse:
        body = await request.json()
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            return JSONResponse({"error": "give a non-empty list of article IDs as `ids`"}, 422)
        summary = await shared.enqueue([str(i) for i in ids], force=bool(body.get("force")))
        return JSONResponse(_public(summary), 422 if summary.rejected else 202)

    return Starlette(
        routes=[
            Route("/catalog/events", catalog_event, methods=["POST"]),
            Route("/articles/enqueue", enqueue, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def _public(summary: object) -> dict[str, object]:
    data = asdict(summary)  # type: ignore[call-overload]
    return {k: data[k] for k in ("enqueued", "duplicates", "rejected", "reasons")}


def __getattr__(name: str) -> Starlette:
    # `uvicorn examples.enqueue_app:app` builds the app on first access, not at import.
    if name == "app":
        return create_app()
    raise AttributeError(name)
