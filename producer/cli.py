"""`streams-producer`: enqueue article IDs; sync from the catalog.

Exit status: 0 all good; 1 some IDs were rejected (or some articles could not be
checked); 2 a bad setting, or Redis refused the configuration (NOPERM, WRONGPASS,
...); 3 Redis (after `PRODUCER_RETRY_S` of retries) or the catalog failed. Always one
line, no traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import anyio
import typer

from streams_worker.cli.common import config_error, env_help, version_option
from streams_worker.core.errors import ConfigurationError

app = typer.Typer(
    name="streams-producer",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
PROG = "streams-producer"
Opt = typer.Option

EXIT_REJECTED = 1
EXIT_REFUSED = 2
EXIT_FAILED = 3

RedisUrl = Annotated[str | None, Opt(help=env_help("REDIS_URL", "Redis URL"), show_default=False)]
Stream = Annotated[str | None, Opt(help=env_help("WORKER_STREAM", "logical stream"))]
Partitions = Annotated[
    int | None, Opt(help=env_help("WORKER_PARTITIONS", "partitions of the stream"))
]
Cluster = Annotated[
    bool | None, Opt("--cluster/--no-cluster", help=env_help("REDIS_CLUSTER", "Redis Cluster"))
]


@app.callback()
def _root(
    version: Annotated[bool, version_option(PROG)] = False,
) -> None:
    """Push article IDs onto the stream."""


def _settings(**overrides: Any) -> Any:
    from producer.settings import ProducerSettings
    from streams_worker import tracing
    from streams_worker.core.settings import load

    try:
        settings = load(ProducerSettings, **overrides)
        tracing.configure(PROG)  # OTEL_* with the [otel] extra; a bad value exits 2 here
    except ConfigurationError as exc:
        config_error(exc, PROG)
    return settings


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return typer.Exit(code)


def _lines(handle: TextIO, where: str, rejected: list[str]) -> Iterator[str]:
    """Valid IDs from a file or stdin; blank lines skipped, bad ones reported by line."""
    from producer.enqueue import invalid_reason

    for number, line in enumerate(handle, start=1):
        article_id = line.strip()
        if not article_id:
            continue
        reason = invalid_reason(article_id)
        if reason:
            rejected.append(f"{where} line {number}: {reason}")
            print(f"{PROG}: rejected: {where} line {number}: {reason}", file=sys.stderr)
            continue
        yield article_id


def _arguments(ids: list[str], rejected: list[str]) -> Iterator[str]:
    from producer.enqueue import invalid_reason

    for number, article_id in enumerate(ids, start=1):
        reason = invalid_reason(article_id.strip())
        if reason:
            rejected.append(f"argument {number}: {reason}")
            print(f"{PROG}: rejected: argument {number}: {reason}", file=sys.stderr)
            continue
        yield article_id.strip()


@app.command()
def enqueue(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Article URNs; `-` reads one per line from stdin")
    ] = None,
    file: Annotated[Path | None, Opt("--file", "-f", help="Read one ID per line")] = None,
    force: Annotated[bool, Opt(help="Add even if the ID is waiting or pending")] = False,
    trace_id: Annotated[str | None, Opt(help="trace_id field for every entry")] = None,
    redis_url: RedisUrl = None,
    stream: Stream = None,
    partitions: Partitions = None,
    redis_cluster: Cluster = None,
) -> None:
    """Add article IDs, each at most once in the queue (unless --force)."""
    settings = _settings(
        redis_url=redis_url, stream=stream, partitions=partitions, redis_cluster=redis_cluster
    )
    args = list(ids or [])
    use_stdin = "-" in args
    args = [a for a in args if a != "-"]
    if not args and file is None and not use_stdin:
        raise fail("give article IDs, --file FILE, or - for stdin", 2)
    rejected: list[str] = []

    def source() -> Iterator[str]:
        yield from _arguments(args, rejected)
        if file is not None:
            with file.open(encoding="utf-8") as handle:
                yield from _lines(handle, str(file), rejected)
        if use_stdin:
            yield from _lines(sys.stdin, "stdin", rejected)

    if file is not None and not file.is_file():
        raise fail(f"cannot read {file}: no such file", 2)
    from producer.enqueue import ProducerError, RedisRefused
    from producer.runtime import run_enqueue

    try:
        result = anyio.run(run_enqueue, settings, source(), force, trace_id)
    except UnicodeDecodeError as exc:
        raise fail(f"input is not UTF-8 text: {exc.reason}", 2) from None
    except RedisRefused as exc:
        raise fail(str(exc), EXIT_REFUSED) from None
    except ProducerError as exc:
        raise fail(str(exc)) from None
    print(
        f"enqueued {result.enqueued}, duplicates skipped {result.duplicates}, "
        f"rejected {len(rejected)}"
    )
    raise typer.Exit(EXIT_REJECTED if rejected else 0)


def _show(items: list[tuple[str, str]], what: str) -> None:
    for urn, reason in items[:20]:
        print(f"{PROG}: {what}: {urn}: {reason}", file=sys.stderr)
    if len(items) > 20:
        print(f"{PROG}: {what}: ... and {len(items) - 20} more", file=sys.stderr)


@app.command()
def sync(
    every: Annotated[
        float | None,
        Opt(
            help=env_help(
                "WORKER_POLL_INTERVAL", "Run every SECONDS as a service (/metrics, /healthz)"
            ),
            min=0.1,
        ),
    ] = None,
    once: Annotated[bool, Opt("--once", help="One pass, even if WORKER_POLL_INTERVAL is set")] = (
        False
    ),
    data_api_url: Annotated[
        str | None, Opt(help=env_help("DATA_API_URL", "catalog base URL"), show_default=False)
    ] = None,
    done_set: Annotated[
        str | None,
        Opt(
            "--done-set",
            help=env_help("PRODUCER_DONE_SET", "Redis SET of URNs already enriched elsewhere"),
            show_default=False,
        ),
    ] = None,
    page_size: Annotated[
        int | None, Opt(help=env_help("PRODUCER_SYNC_PAGE_SIZE", "catalog page size"))
    ] = None,
    http_port: Annotated[
        int | None, Opt(help=env_help("PRODUCER_HTTP_PORT", "with --every; 0: none"))
    ] = None,
    redis_url: RedisUrl = None,
    stream: Stream = None,
    partitions: Partitions = None,
    redis_cluster: Cluster = None,
) -> None:
    """Enqueue every catalog article not yet enriched by the current enricher."""
    from streams_worker.core import logs
    from streams_worker.enrichment.settings import load_enrichment_settings

    settings = _settings(
        redis_url=redis_url, stream=stream, partitions=partitions, redis_cluster=redis_cluster,
        sync_page_size=page_size, http_port=http_port, sync_done_set=done_set,
    )  # fmt: skip
    try:
        esettings = load_enrichment_settings(data_api_url=data_api_url)
    except ConfigurationError as exc:
        config_error(exc, PROG)
    logs.configure(settings.log_level, settings.log_format)
    from producer.enqueue import ProducerError, RedisRefused
    from producer.runtime import SyncService, run_sync
    from producer.sync import SyncFailed

    if every is None and not once:
        every = settings.poll_interval_s
    if every is not None and not once:
        try:
            anyio.run(_serve_until_signal, SyncService(settings, esettings), every)
        except (OSError, BaseExceptionGroup) as exc:
            from producer.enqueue import describe

            while isinstance(exc, BaseExceptionGroup):
                exc = exc.exceptions[0]
            raise fail(f"sync service stopped: {describe(exc)}") from None
        raise typer.Exit(0)
    try:
        report = anyio.run(run_sync, settings, esettings)
    except SyncFailed as exc:
        print(f"partial: {exc.report.summary()}")
        raise fail(str(exc)) from None
    except RedisRefused as exc:
        raise fail(str(exc), EXIT_REFUSED) from None
    except ProducerError as exc:
        raise fail(str(exc)) from None
    _show(report.unchecked, "not checked")
    _show(report.invalid, "invalid ID listed by the catalog")
    print(report.summary())
    raise typer.Exit(0 if report.complete else EXIT_REJECTED)


async def _serve_until_signal(service: Any, every: float) -> None:
    import signal

    async with anyio.create_task_group() as tg:
        tg.start_soon(service.serve, every)
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                tg.cancel_scope.cancel()
                return


def main() -> None:
    app()
