"""`streams-worker trim [--dry-run] [--json]`: safe trimming from the command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import anyio
import typer
from redis.exceptions import RedisError

from streams_worker.cli.common import connection_command
from streams_worker.core.connection import create_client
from streams_worker.core.policy import is_refusal
from streams_worker.core.settings import CommonSettings
from streams_worker.core.trim import TrimResult, safe_trim

Opt = typer.Option


async def _trim(settings: CommonSettings, dry_run: bool) -> TrimResult:
    client = create_client(settings)
    try:
        return await safe_trim(client, settings.keys(), dry_run=dry_run)
    finally:
        await client.aclose()


def _table(result: TrimResult) -> None:
    from rich.console import Console
    from rich.table import Table

    title = "trim (dry run: nothing removed)" if result.dry_run else "trim"
    table = Table(title=title)
    for col in ("partition", "stream", "kept from", "would trim" if result.dry_run else "trimmed"):
        table.add_column(col)
    for p in result.partitions:
        note = " REFUSED: pending entry below boundary" if p.refused else ""
        table.add_row(str(p.partition), p.stream, p.boundary or "-", f"{p.trimmed}{note}")
    Console().print(table)
    print(f"total: {result.trimmed}")


@connection_command
def trim(
    dry_run: Annotated[bool, Opt("--dry-run", help="Report what would go; remove nothing")] = False,
    *,
    settings: CommonSettings,
    as_json: bool,
) -> None:
    """Remove entries no group needs any more (never pending, never undelivered)."""
    try:
        result = anyio.run(_trim, settings, dry_run)
    except (RedisError, OSError) as exc:
        where = settings.safe_redis_url()
        msg = f"streams-worker: trim failed: {type(exc).__name__}: {exc} ({where})"
        print(msg, file=sys.stderr)
        raise typer.Exit(2 if is_refusal(exc) else 3) from None
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        _table(result)
    raise typer.Exit(1 if result.refused else 0)


def register(app: typer.Typer) -> None:
    """Add `trim` to the main CLI."""
    app.command(name="trim")(trim)
