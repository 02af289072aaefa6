"""`streams-worker run`: one replica as a process (logging, handler, signals, HTTP)."""

from __future__ import annotations

import sys

import anyio

from streams_worker import logs
from streams_worker.errors import ConfigurationError
from streams_worker.handlers import load_handler
from streams_worker.policy import is_fatal, tls_verify_failure
from streams_worker.settings import WorkerSettings
from streams_worker.worker import Worker


def run_worker(settings: WorkerSettings) -> int:
    """Run until SIGTERM/SIGINT. Exit status: 0 clean, 2 bad configuration, 1 fatal."""
    logs.configure(settings.log_level, settings.log_format)
    try:
        handler = load_handler(settings.handler)
    except ConfigurationError as exc:
        print(f"streams-worker: configuration error: {exc}", file=sys.stderr)
        return 2
    worker = Worker(settings, handler)
    try:
        anyio.run(worker._run_with_signals)
    except BaseException as exc:
        fatal = _find(exc)
        if fatal is None:
            raise
        where = settings.safe_redis_url()
        tls = tls_verify_failure(fatal)
        if tls is not None:
            why = tls.verify_message or tls.reason or str(tls)
            print(f"streams-worker: Redis TLS certificate did not verify ({why}); check "
                  f"REDIS_TLS_CA_FILE ({where})", file=sys.stderr)  # fmt: skip
        else:
            print(f"streams-worker: Redis refused the connection: {fatal} ({where})",
                  file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _find(exc: BaseException) -> BaseException | None:
    """The first fatal Redis error in `exc`, looking inside exception groups."""
    if is_fatal(exc):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find(inner)
            if found is not None:
                return found
    return None
