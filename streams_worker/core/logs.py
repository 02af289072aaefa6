"""Logging: an event name plus fields, JSON in containers, readable on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    """Set up structlog once, from the CLI. `fmt` is auto (JSON unless a TTY), json, console."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


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
