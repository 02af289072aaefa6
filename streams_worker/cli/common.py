"""What every command shares: connection flags, one-line errors, output.

Each ops command takes the same connection flags (mirroring REDIS_URL,
WORKER_STREAM, ...) and `--json`. `@connection_command` appends them to the
command's signature (typer reads `__signature__`), loads `CommonSettings` from
them plus the environment, and calls the command with `settings` and `as_json`.
A bad setting: one line, exit 2.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import anyio
import typer
from redis.exceptions import RedisError

from streams_worker.core.connection import Client, create_client
from streams_worker.core.errors import ConfigurationError
from streams_worker.core.metrics import package_version
from streams_worker.core.settings import CommonSettings, load

Opt = typer.Option
R = TypeVar("R")
T = TypeVar("T")


def env_help(variable: str, text: str = "") -> str:
    """Help text naming the environment variable a flag mirrors, as click would show it.

    Not click's own `envvar=`: click would then parse the variable itself and a bad
    value would end in a usage box instead of our one line (the settings, read by
    pydantic, validate flags and environment alike). The bracket is escaped for rich.
    """
    return f"{text} \\[env var: {variable}]".strip()


def version_option(prog: str) -> Any:
    """A `--version` flag for the root command: prints `prog VERSION` and exits 0."""

    def show(value: bool) -> None:
        if value:
            print(f"{prog} {package_version()}")
            raise typer.Exit(0)

    return Opt("--version", callback=show, is_eager=True, help="Show the version and exit.")


#: name -> annotation of the flags every ops command accepts.
CONNECTION_FLAGS: dict[str, Any] = {
    "redis_url": Annotated[
        str | None, Opt("--redis-url", help=env_help("REDIS_URL", "Redis URL"), show_default=False)
    ],
    "stream": Annotated[
        str | None, Opt("--stream", help=env_help("WORKER_STREAM", "logical stream"))
    ],
    "group": Annotated[str | None, Opt("--group", help=env_help("WORKER_GROUP", "consumer group"))],
    "partitions": Annotated[
        int | None,
        Opt("--partitions", help=env_help("WORKER_PARTITIONS", "partitions of the stream")),
    ],
    "dead_letter_stream": Annotated[
        str | None,
        Opt(
            "--dead-letter-stream", help=env_help("WORKER_DEAD_LETTER_STREAM", "dead-letter stream")
        ),
    ],
    "redis_cluster": Annotated[
        bool | None, Opt("--cluster/--no-cluster", help=env_help("REDIS_CLUSTER", "Redis Cluster"))
    ],
}
JSON_FLAG: Any = Annotated[bool, Opt("--json", help="print one JSON document (docs/cli.md)")]


def config_error(exc: ConfigurationError, prog: str = "streams-worker") -> NoReturn:
    """One line, exit status 2: what every bad setting gets."""
    print(f"{prog}: configuration error: {exc}", file=sys.stderr)
    raise typer.Exit(2)


_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """'500ms', '30s', '5m', '2h', '1d'; a bare number is seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", text)
    if not m:
        raise typer.BadParameter(f"{text!r} is not a duration like 30s, 5m, 2h")
    return int(float(m[1]) * _UNITS[m[2] or "s"])


def run(settings: CommonSettings, fn: Callable[[Client], Awaitable[T]]) -> T:
    """Run `fn(client)` on a fresh client; Redis failures become one line and exit 1."""

    async def main() -> T:
        client = create_client(settings)
        try:
            return await fn(client)
        finally:
            await client.aclose()

    try:
        return anyio.run(main)
    except (RedisError, OSError) as exc:
        where = settings.safe_redis_url()
        print(
            f"streams-worker: Redis error at {where}: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        raise typer.Exit(1) from None


def emit(as_json: bool, payload: Any, render: Callable[[], None]) -> None:
    if as_json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        render()


def settings_from(**flags: Any) -> CommonSettings:
    """Settings from flags plus the environment; a bad one exits 2 with one line."""
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
