"""`streams-worker console`: the web console (docs/console.md).

Reads CONSOLE_* plus the shared REDIS_URL / WORKER_* settings once; a bad setting,
or a non-loopback CONSOLE_HOST without a token, is one line and exit 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import anyio
import typer

from streams_worker.cli.common import config_error
from streams_worker.core.errors import ConfigurationError
from streams_worker.core.logs import configure
from streams_worker.core.settings import load
from streams_worker.http.app import bind

Opt = typer.Option


def console(
    host: Annotated[str | None, Opt("--host", help="CONSOLE_HOST", show_default=False)] = None,
    port: Annotated[int | None, Opt("--port", help="CONSOLE_PORT", show_default=False)] = None,
    actions: Annotated[
        bool | None, Opt("--actions/--read-only", help="CONSOLE_ACTIONS", show_default=False)
    ] = None,
    redis_url: Annotated[
        str | None, Opt("--redis-url", help="REDIS_URL", show_default=False)
    ] = None,
    stream: Annotated[str | None, Opt("--stream", help="WORKER_STREAM")] = None,
    group: Annotated[str | None, Opt("--group", help="WORKER_GROUP")] = None,
    partitions: Annotated[int | None, Opt("--partitions", help="WORKER_PARTITIONS")] = None,
) -> None:
    """Serve the web console: overview, consumers, pending, dead letters, actions."""
    try:
        from streams_worker.console.server import announce, serve
        from streams_worker.console.settings import ConsoleSettings
    except ImportError as exc:  # jinja2 missing: the [console] extra is not installed
        print(f"streams-worker console needs: pip install 'streams-worker[console]' ({exc.name})",
              file=sys.stderr)  # fmt: skip
        raise typer.Exit(2) from None
    try:
        settings = load(
            ConsoleSettings, console_host=host, console_port=port, console_actions=actions,
            redis_url=redis_url, stream=stream, group=group, partitions=partitions,
        )  # fmt: skip
        settings.check_bind()
    except ConfigurationError as exc:
        config_error(exc)
    configure(settings.log_level, settings.log_format)
    try:
        sock = bind(settings.console_host, settings.console_port)
    except OSError as exc:
        where = f"{settings.console_host}:{settings.console_port}"
        print(f"streams-worker console: cannot listen on {where}: {exc.strerror}", file=sys.stderr)
        raise typer.Exit(2) from None
    announce(settings, sock)
    anyio.run(serve, settings, sock)


def register(app: typer.Typer) -> None:
    app.command("console")(console)
