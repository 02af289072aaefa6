"""Serving an ASGI app on loopback: in a background thread, or inside an anyio task group.

`SampleCatalog.start(...)` is what tests and the demo use: a real HTTP server on a
free port (the socket is bound before the server starts, so there is no race for
the port), `.url`, the store's counters, and `.stop()`.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

import anyio
import uvicorn
from starlette.types import ASGIApp

from streams_worker.enrichment.sample_catalog.app import create_app
from streams_worker.enrichment.sample_catalog.store import CatalogConfig, CatalogStore, WriteCounts


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only then;
    # without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def server_config(app: ASGIApp) -> uvicorn.Config:
    return uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", ws="none", timeout_keep_alive=30
    )


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class ServerThread:
    """One uvicorn server in a daemon thread; `start()` returns once it accepts requests."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = bind_socket(host, port)
        self.url = url_of(self._sock)
        self._server = uvicorn.Server(server_config(app))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True, name="asgi"
        )

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.005)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()


@asynccontextmanager
async def serving(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `app` inside the caller's event loop; yields the base URL."""
    sock = bind_socket(host, port)
    server = uvicorn.Server(server_config(app))
    try:
        async with anyio.create_task_group() as tg:
            # _serve, not serve: serve() would take over the caller's SIGINT/SIGTERM.
            tg.start_soon(server._serve, [sock])
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
                await anyio.sleep(0.005)
            try:
                yield url_of(sock)
            finally:
                server.should_exit = True
    finally:
        sock.close()


def serve_until_signalled(app: ASGIApp, sock: socket.socket) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then stop gracefully (the CLI)."""

    async def main() -> None:
        server = uvicorn.Server(server_config(app))
        async with anyio.create_task_group() as tg:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                tg.start_soon(server._serve, [sock])
                async for _ in signals:
                    server.should_exit = True
                    break

    try:
        anyio.run(main)
    finally:
        sock.close()


class SampleCatalog:
    """The sample catalog, its store (articles, counters, knobs) and, once started, `.url`."""

    def __init__(self, config: CatalogConfig | None = None, **knobs: Any) -> None:
        self.config = config or CatalogConfig(**knobs)
        self.store = CatalogStore(self.config)
        self.app = create_app(self.store)
        self.url = ""
        self._thread: ServerThread | None = None

    @classmethod
    def start(cls, *, host: str = "127.0.0.1", port: int = 0, **knobs: Any) -> SampleCatalog:
        """A running catalog in a background thread; `knobs` are `CatalogConfig` fields."""
        catalog = cls(**knobs)
        catalog._thread = ServerThread(catalog.app, host, port)
        catalog.url = catalog._thread.start()
        return catalog

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @asynccontextmanager
    async def serving(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """The in-process variant: serve inside the caller's anyio loop."""
        async with serving(self.app, host, port) as url:
            self.url = url
            yield url

    # conveniences over the store
    @property
    def urns(self) -> list[str]:
        return self.store.list(limit=len(self.store.articles), offset=0)

    def write_counts(self, urn: str) -> WriteCounts:
        return self.store.write_counts(urn)

    def enriched_once(self, *, strict: bool = True) -> bool:
        return self.store.enriched_once(strict=strict)

    def stats(self) -> dict[str, Any]:
        return self.store.stats()
