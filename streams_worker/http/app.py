"""The health, status and metrics server: starlette routes, uvicorn inside our task group.

Liveness (`/healthz`) comes from `source.healthy()` only (the loops' heartbeats),
never from Redis: a Redis outage must turn replicas unready, not restart them all.
Readiness (`/readyz`) is `await source.ready()`, bounded by a timeout so a probe
never hangs on a dead connection. uvicorn runs on a socket we bind ourselves (so
port 0 works and a busy port raises instead of `sys.exit`), and never installs
signal handlers: the process owner (the worker) handles SIGTERM.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import anyio
import uvicorn
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry, make_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

#: A readiness check slower than this counts as not ready.
READY_TIMEOUT_S = 2.0
#: Keys never shown in /status, whatever a source puts there.
_SECRET_WORDS = ("password", "secret", "token", "credential")


class StatusSource(Protocol):
    """What the HTTP server needs from a worker (or the producer's sync service)."""

    @property
    def registry(self) -> CollectorRegistry: ...

    def status(self) -> Mapping[str, Any]: ...

    def healthy(self) -> bool: ...

    async def ready(self) -> bool: ...


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): _redact(v)
            for k, v in value.items()
            if not any(w in str(k).lower() for w in _SECRET_WORDS)
        }
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


class _Metrics:
    """prometheus_client's own ASGI app (OpenMetrics when the scraper asks for it, gzip
    when it accepts it, `?name[]=` filters) as a route: a class, because starlette
    would treat a plain function as a request/response endpoint."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._app = make_asgi_app(registry)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)


def create_app(source: StatusSource) -> Starlette:
    """The ASGI app; only these routes answer, everything else is a 404."""

    async def healthz(_: Request) -> Response:
        ok = source.healthy()
        return JSONResponse({"status": "ok" if ok else "unhealthy"}, 200 if ok else 503)

    async def health(_: Request) -> Response:
        # The earlier worker's /health: liveness plus the worker's summary.
        ok = source.healthy()
        body = {"status": "ok" if ok else "unhealthy", "worker": _redact(source.status())}
        return JSONResponse(body, 200 if ok else 503)

    async def readyz(_: Request) -> Response:
        ok = False
        with anyio.move_on_after(READY_TIMEOUT_S), contextlib.suppress(Exception):
            ok = await source.ready()
        return JSONResponse({"status": "ready" if ok else "not ready"}, 200 if ok else 503)

    async def status(_: Request) -> Response:
        return JSONResponse(_redact(source.status()))

    return Starlette(
        routes=[
            Route("/metrics", _Metrics(source.registry), methods=["GET", "HEAD"]),
            Route("/healthz", healthz),
            Route("/health", health),
            Route("/readyz", readyz),
            Route("/status", status),
            Route("/api/v1/worker/status", status),
        ]
    )


class _Server(uvicorn.Server):
    """uvicorn without signal handling: our owner handles SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; raises OSError if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def serve_http(
    app: Any,
    host: str,
    port: int,
    *,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` until cancelled; `task_status.started(bound_port)` once listening."""
    sock = bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        log_level="warning",
    )
    server = _Server(config)
    bound = int(sock.getsockname()[1])
    done = anyio.Event()

    async def run_server() -> None:
        # Shielded: uvicorn shuts down by its own flag, not by cancellation.
        try:
            with anyio.CancelScope(shield=True):
                await server.serve(sockets=[sock])
        finally:
            done.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_server)
            try:
                while not server.started:
                    if done.is_set():
                        raise RuntimeError("HTTP server stopped during start-up")
                    await anyio.sleep(0.01)
                task_status.started(bound)
                await done.wait()
            finally:
                # Before the task group waits for run_server: uvicorn then drains and stops.
                server.should_exit = True
    finally:
        sock.close()
