"""Flags shared by every ops command, added once by a decorator.

Each ops command takes the same connection flags (mirroring REDIS_URL,
WORKER_STREAM, ...) and `--json`. `@connection_command` appends them to the
command's signature (typer reads `__signature__`), loads `CommonSettings` from
them plus the environment, and calls the command with `settings` and `as_json`.
A bad setting: one line, exit 2.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from streams_worker.errors import ConfigurationError
from streams_worker.settings import CommonSettings, load

Opt = typer.Option
R = TypeVar("R")

#: name -> annotation of the flags every ops command accepts.
CONNECTION_FLAGS: dict[str, Any] = {
    "redis_url": Annotated[str | None, Opt("--redis-url", help="REDIS_URL", show_default=False)],
    "stream": Annotated[str | None, Opt("--stream", help="WORKER_STREAM")],
    "group": Annotated[str | None, Opt("--group", help="WORKER_GROUP")],
    "partitions": Annotated[int | None, Opt("--partitions", help="WORKER_PARTITIONS")],
    "dead_letter_stream": Annotated[
        str | None, Opt("--dead-letter-stream", help="WORKER_DEAD_LETTER_STREAM")
    ],
    "redis_cluster": Annotated[bool | None, Opt("--cluster/--no-cluster", help="REDIS_CLUSTER")],
}
JSON_FLAG: Any = Annotated[bool, Opt("--json", help="print one JSON document (docs/cli.md)")]


def settings_from(**flags: Any) -> CommonSettings:
    """Settings from flags plus the environment; a bad one exits 2 with one line."""
    from streams_worker.cli import config_error

    try:
        return load(CommonSettings, **flags)
    except ConfigurationError as exc:
        config_error(exc)


def connection_command(fn: Callable[..., R]) -> Callable[..., R]:
    """Give `fn(settings, as_json, ...own flags)` the shared flags as CLI options."""
    sig = inspect.signature(fn, eval_str=True)
    own = [p for name, p in sig.parameters.items() if name not in ("settings", "as_json")]
    kw = inspect.Parameter.KEYWORD_ONLY
    shared = [
        inspect.Parameter(n, kw, default=None, annotation=a) for n, a in CONNECTION_FLAGS.items()
    ]
    shared.append(inspect.Parameter("as_json", kw, default=False, annotation=JSON_FLAG))
    params = own + shared

    @functools.wraps(fn)
    def command(**kwargs: Any) -> R:
        flags = {name: kwargs.pop(name) for name in CONNECTION_FLAGS}
        return fn(settings=settings_from(**flags), **kwargs)

    del command.__wrapped__  # typer must see `__signature__`, not the wrapped function
    command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command
