"""`streams-worker`: run a replica, run the demo, inspect and operate the group.

Settings are read here, once, and passed down. A bad setting prints one line
naming the variable and exits 2.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, NoReturn

import typer

from streams_worker.errors import ConfigurationError

app = typer.Typer(
    name="streams-worker",
    help="Redis Streams consumer-group worker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def config_error(exc: ConfigurationError, prog: str = "streams-worker") -> NoReturn:
    """One line, exit status 2: what every bad setting gets."""
    print(f"{prog}: configuration error: {exc}", file=sys.stderr)
    raise typer.Exit(2)


Opt = typer.Option


@app.command()
def run(
    redis_url: Annotated[str | None, Opt(help="REDIS_URL", show_default=False)] = None,
    stream: Annotated[str | None, Opt(help="WORKER_STREAM")] = None,
    group: Annotated[str | None, Opt(help="WORKER_GROUP")] = None,
    consumer: Annotated[str | None, Opt(help="WORKER_CONSUMER")] = None,
    handler: Annotated[str | None, Opt(help="WORKER_HANDLER (module:callable)")] = None,
    concurrency: Annotated[int | None, Opt(help="WORKER_CONCURRENCY")] = None,
    batch_size: Annotated[int | None, Opt(help="WORKER_BATCH_SIZE")] = None,
    block_ms: Annotated[int | None, Opt(help="WORKER_BLOCK_MS")] = None,
    claim_min_idle_ms: Annotated[int | None, Opt(help="WORKER_CLAIM_MIN_IDLE_MS")] = None,
    claim_interval_ms: Annotated[int | None, Opt(help="WORKER_CLAIM_INTERVAL_MS")] = None,
    max_deliveries: Annotated[int | None, Opt(help="WORKER_MAX_DELIVERIES")] = None,
    dead_letter_stream: Annotated[str | None, Opt(help="WORKER_DEAD_LETTER_STREAM")] = None,
    partitions: Annotated[int | None, Opt(help="WORKER_PARTITIONS")] = None,
    http_port: Annotated[int | None, Opt(help="WORKER_HTTP_PORT (0: no HTTP server)")] = None,
    shutdown_grace_s: Annotated[float | None, Opt(help="WORKER_SHUTDOWN_GRACE_S")] = None,
    handler_timeout_s: Annotated[
        float | None, Opt(help="WORKER_HANDLER_TIMEOUT_S (0: none)")
    ] = None,
    burst: Annotated[
        bool | None, Opt("--burst/--no-burst", help="WORKER_BURST: drain and exit")
    ] = None,
) -> None:
    """Run one worker replica until SIGTERM/SIGINT (or, with --burst, until drained)."""
    from streams_worker.runner import run_worker
    from streams_worker.settings import WorkerSettings, load

    overrides: dict[str, Any] = {k: v for k, v in locals().items() if k != "run_worker"}
    try:
        settings = load(WorkerSettings, **overrides)
    except ConfigurationError as exc:
        config_error(exc)
    code = run_worker(settings)
    raise typer.Exit(code)


def _register_extensions() -> None:
    # Each module adds its own commands; keeps this file free of their details.
    from streams_worker import demo, ops_cli
    from streams_worker.enrichment import cli as enrichment_cli

    ops_cli.register(app)
    demo.register(app)
    enrichment_cli.register(app)
    from streams_worker import trim_cli

    trim_cli.register(app)


_register_extensions()


def main() -> None:
    app()
