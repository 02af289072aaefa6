"""`streams-worker run`: one replica as a process (logging, handler, signals, HTTP)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Annotated, Any

import anyio
import typer

from streams_worker.cli.common import config_error, env_help
from streams_worker.core import logs
from streams_worker.core.errors import ConfigurationError
from streams_worker.core.handlers import load_handler
from streams_worker.core.policy import describe, is_fatal, tls_verify_failure
from streams_worker.core.settings import WorkerSettings, load
from streams_worker.worker import Worker

Opt = typer.Option


def run(
    redis_url: Annotated[
        str | None, Opt(help=env_help("REDIS_URL", "Redis URL"), show_default=False)
    ] = None,
    stream: Annotated[str | None, Opt(help=env_help("WORKER_STREAM", "logical stream"))] = None,
    group: Annotated[str | None, Opt(help=env_help("WORKER_GROUP", "consumer group"))] = None,
    consumer: Annotated[str | None, Opt(help=env_help("WORKER_CONSUMER", "consumer name"))] = None,
    handler: Annotated[str | None, Opt(help=env_help("WORKER_HANDLER", "module:callable"))] = None,
    concurrency: Annotated[
        int | None, Opt(help=env_help("WORKER_CONCURRENCY", "handler slots"))
    ] = None,
    batch_size: Annotated[
        int | None, Opt(help=env_help("WORKER_BATCH_SIZE", "entries per read"))
    ] = None,
    block_ms: Annotated[
        int | None, Opt(help=env_help("WORKER_BLOCK_MS", "XREADGROUP block"))
    ] = None,
    claim_min_idle_ms: Annotated[
        int | None,
        Opt(
            help=env_help("WORKER_CLAIM_MIN_IDLE_MS", "idle time before a pending entry is claimed")
        ),
    ] = None,
    claim_interval_ms: Annotated[
        int | None, Opt(help=env_help("WORKER_CLAIM_INTERVAL_MS", "how often to claim"))
    ] = None,
    max_deliveries: Annotated[
        int | None, Opt(help=env_help("WORKER_MAX_DELIVERIES", "deliveries before dead-lettering"))
    ] = None,
    dead_letter_stream: Annotated[
        str | None, Opt(help=env_help("WORKER_DEAD_LETTER_STREAM", "dead-letter stream"))
    ] = None,
    partitions: Annotated[
        int | None, Opt(help=env_help("WORKER_PARTITIONS", "partitions of the stream"))
    ] = None,
    http_port: Annotated[
        int | None, Opt(help=env_help("WORKER_HTTP_PORT", "0: no HTTP server"))
    ] = None,
    shutdown_grace_s: Annotated[
        float | None, Opt(help=env_help("WORKER_SHUTDOWN_GRACE_S", "drain time on SIGTERM"))
    ] = None,
    handler_timeout_s: Annotated[
        float | None, Opt(help=env_help("WORKER_HANDLER_TIMEOUT_S", "0: none"))
    ] = None,
    burst: Annotated[
        bool | None, Opt("--burst/--no-burst", help=env_help("WORKER_BURST", "drain and exit"))
    ] = None,
) -> None:
    """Run one worker replica until SIGTERM/SIGINT (or, with --burst, until drained)."""
    overrides: dict[str, Any] = dict(locals())
    try:
        settings = load(WorkerSettings, **overrides)
    except ConfigurationError as exc:
        config_error(exc)
    code = run_worker(settings)
    raise typer.Exit(code)


def run_worker(settings: WorkerSettings) -> int:
    """Run until SIGTERM/SIGINT. Exit status: 0 clean, 2 bad configuration (a setting,
    or a refusal at start-up such as NOPERM or a wrong password), 1 TLS not verified."""
    logs.configure(settings.log_level, settings.log_format)
    try:
        handler = load_handler(settings.handler)
        worker = Worker(settings, handler)  # OTEL_* is read here (streams_worker/tracing.py)
    except ConfigurationError as exc:
        print(f"streams-worker: configuration error: {exc}", file=sys.stderr)
        return 2
    # Start-up's objects (modules, settings, models) live as long as the process: moved
    # out of the collector's sight, a full collection walks only what the work made,
    # which cuts its pauses (the tail latency) and its CPU per entry.
    gc.collect()
    gc.freeze()
    try:
        anyio.run(worker.run_async)
    except BaseException as exc:
        clash = _find(exc, lambda e: isinstance(e, ConfigurationError))
        if clash is not None:  # e.g. the consumer name is held by a live replica
            print(f"streams-worker: configuration error: {clash}", file=sys.stderr)
            return 2
        fatal = _find(exc, is_fatal)
        if fatal is None:
            raise
        where = settings.safe_redis_url()
        tls = tls_verify_failure(fatal)
        if tls is not None:
            why = tls.verify_message or tls.reason or str(tls)
            print(f"streams-worker: Redis TLS certificate did not verify ({why}); check "
                  f"REDIS_TLS_CA_FILE ({where})", file=sys.stderr)  # fmt: skip
            return 1
        # A refusal only an operator can fix (NOPERM, WRONGPASS, NOAUTH, WRONGTYPE, an
        # unknown command) before the worker started: docs/reliability.md.
        print(f"streams-worker: configuration error: Redis refused the worker at start-up: "
              f"{describe(fatal)} ({where})", file=sys.stderr)  # fmt: skip
        return 2
    return 0


def _find(exc: BaseException, what: Callable[[BaseException], bool]) -> BaseException | None:
    """The first error in `exc` that is `what`, looking inside exception groups."""
    if what(exc):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find(inner, what)
            if found is not None:
                return found
    return None
