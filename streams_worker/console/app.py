"""The console's ASGI application: routes, templates, the shared context.

`create_app(settings, client)` builds it; nothing happens at import time. The
sampler runs in the app's lifespan. Routes are GETs that read (pages) and POSTs
that act (`actions`), each POST checked for its CSRF token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from streams_worker.console import actions, pages
from streams_worker.console.context import HERE, Console, templates
from streams_worker.console.sampling import Sampler
from streams_worker.console.security import Guard, GuardMiddleware
from streams_worker.console.settings import ConsoleSettings
from streams_worker.core.connection import Client
from streams_worker.core.logs import get_logger


async def _redis_error(request: Request, exc: Exception) -> Response:
    # The error's type only: messages may carry addresses; never credentials.
    get_logger(component="console").warning("console_redis_error", error=type(exc).__name__)
    body = f"<!doctype html><title>503</title><h1>Redis error: {type(exc).__name__}</h1>"
    return HTMLResponse(body, 503)


def create_app(settings: ConsoleSettings, client: Client) -> Starlette:
    keys = settings.keys()
    sampler = Sampler(client, keys, settings.group, settings.console_sample_interval_s)
    guard = Guard(settings.token())
    console = Console(settings, client, keys, guard, sampler, templates())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sampler.run)
            yield
            tg.cancel_scope.cancel()

    app = Starlette(
        routes=[*pages.routes(), *actions.routes(), Route("/healthz", _healthz),
                Mount("/static", StaticFiles(directory=HERE / "static"), name="static")],
        middleware=[Middleware(GuardMiddleware, guard=guard)],
        exception_handlers={RedisError: _redis_error, OSError: _redis_error},
        lifespan=lifespan,
    )  # fmt: skip
    app.state.console = console
    return app


async def _healthz(request: Request) -> Response:
    return HTMLResponse("ok")
