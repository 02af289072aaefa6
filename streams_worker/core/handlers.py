"""Loading handlers (`module:callable`) and adapting plain functions to async."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import anyio

from streams_worker.core.entry import StreamEntry
from streams_worker.core.errors import ConfigurationError

AsyncHandler: TypeAlias = Callable[[StreamEntry], Awaitable[None]]
SyncHandler: TypeAlias = Callable[[StreamEntry], None]
Handler: TypeAlias = AsyncHandler | SyncHandler


def _required_positional(obj: Any) -> int:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in sig.parameters.values() if p.kind in kinds and p.default is p.empty)


def load_handler(spec: str) -> Handler:
    """Import `package.module:callable`; a zero-argument callable is a factory and is called."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(
            "WORKER_HANDLER", f"must look like package.module:callable (got {spec!r})"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            "WORKER_HANDLER", f"cannot import {module_name!r}: {exc}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ConfigurationError("WORKER_HANDLER", f"{module_name!r} has no {attr!r}")
    if not callable(obj):
        raise ConfigurationError("WORKER_HANDLER", f"{spec!r} is not callable")
    if _required_positional(obj) == 0:
        obj = obj()  # a factory: builds the handler (clients, configuration)
        if not callable(obj):
            raise ConfigurationError("WORKER_HANDLER", f"factory {spec!r} returned a non-callable")
    return obj  # type: ignore[no-any-return]


def is_async(handler: Handler) -> bool:
    call = getattr(handler, "__call__", None)  # noqa: B004 - instances with async __call__
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)


def as_async(handler: Handler, limiter: anyio.CapacityLimiter) -> AsyncHandler:
    """An async callable; plain functions run in worker threads, at most `limiter` at once."""
    if is_async(handler):
        return handler  # type: ignore[return-value]

    async def in_thread(entry: StreamEntry) -> None:
        await anyio.to_thread.run_sync(handler, entry, limiter=limiter, abandon_on_cancel=True)

    return in_thread
