"""Logging: an event name plus fields, JSON in containers, readable on a terminal.

One format for everything the process logs. Our events go through structlog; the
standard library's loggers (uvicorn, redis-py, httpx, asyncio, `warnings`) go through
one root handler whose structlog `ProcessorFormatter` renders them with the same
renderer, so every line has the same keys: `event`, `level`, `timestamp`, `logger`
(`streams_worker` for ours, the stdlib logger's name otherwise) plus fields.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

#: Our own events' `logger` key (a stdlib record brings its logger's name).
LOGGER_NAME = "streams_worker"
#: Libraries whose INFO lines are one per request: noise at our volumes.
QUIET_AT_INFO = ("httpx", "httpcore")


def _our_logger(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    event.setdefault("logger", LOGGER_NAME)
    return event


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    """Set up structlog and the stdlib's root logger once, from the CLI.

    `fmt` is auto (JSON unless stderr is a TTY), json or console.
    """
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    # The console renderer formats exceptions itself (and warns if they arrive as text).
    exc: list[Processor] = [structlog.processors.format_exc_info] if use_json else []
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    numeric = getattr(logging, level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            _our_logger,
            *exc,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.stdlib.add_logger_name,
                timestamper,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *exc, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):  # configure() owns the root handler (idempotent)
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in QUIET_AT_INFO:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)  # `warnings.warn` lines too, as py.warnings records


def configure_unless_configured(level: str, fmt: str) -> bool:
    """`configure` for a library user's `Worker.run()`: only if nothing configured
    structlog before (an application's own set-up wins). True if it configured."""
    if structlog.is_configured():
        return False
    configure(level, fmt)
    return True


Logger = structlog.typing.FilteringBoundLogger


def get_logger(**bound: Any) -> Logger:
    """A logger with fields bound once per component (stream, group, consumer)."""
    logger: Logger = structlog.get_logger().bind(**bound)
    return logger
