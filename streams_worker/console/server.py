"""Run the console: one client, the app, uvicorn on CONSOLE_HOST:CONSOLE_PORT.

Binds first (so `CONSOLE_PORT=0` works and a taken port fails at once), prints the
URL, then serves until SIGTERM/SIGINT (uvicorn's own handlers).
"""

from __future__ import annotations

import socket
import sys

import uvicorn

from streams_worker.console.app import create_app
from streams_worker.console.settings import ConsoleSettings
from streams_worker.core.connection import create_client


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


async def serve(settings: ConsoleSettings, sock: socket.socket) -> None:
    client = create_client(settings)
    try:
        app = create_app(settings, client)
        config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning",
                                lifespan="on", timeout_graceful_shutdown=2)  # fmt: skip
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        await client.aclose()


def announce(settings: ConsoleSettings, sock: socket.socket) -> None:
    mode = "actions on" if settings.console_actions else "read-only"
    auth = "token required" if settings.token() else "no token: loopback only"
    print(f"streams-worker console: {url_of(sock)} ({mode}, {auth})", file=sys.stderr, flush=True)
