"""`streams-worker dlq list | show ID | replay [IDs | --all] | purge [IDs | --all --yes]`."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated, Any

import typer

from streams_worker.cli import tables
from streams_worker.cli.common import connection_command, emit, run
from streams_worker.core.connection import Client
from streams_worker.core.settings import CommonSettings
from streams_worker.ops import dead_letters as dlq

ENTRY_ID = re.compile(r"\d+(-\d+)?")
dlq_app = typer.Typer(help="Dead letters: list, show, replay, purge.", no_args_is_help=True)
Opt = typer.Option
Ids = Annotated[list[str] | None, typer.Argument(help="dead-letter entry IDs", show_default=False)]
All = Annotated[bool, Opt("--all", help="every dead letter")]


@dlq_app.command("list")
@connection_command
def list_cmd(
    settings: CommonSettings,
    as_json: bool,
    count: Annotated[int, Opt("--count", "-n", min=1, help="oldest N per partition")] = 20,
    reason: Annotated[str | None, Opt(help="only this reason (max_deliveries, ...)")] = None,
) -> None:
    """The oldest dead letters with reason, error and the dedup field (WORKER_DEDUP_FIELD)."""
    s = settings

    async def fetch(c: Client) -> dict[str, Any]:
        lengths = await dlq.lengths(c, s.keys())
        entries = await dlq.list_entries(c, s.keys(), count=count, reason=reason)
        total = sum(lengths.values())
        if reason is not None:
            total = await dlq.count_reason(c, s.keys(), reason)
        return {
            "stream": s.stream,
            "total": total,
            "lengths": {str(i): n for i, n in lengths.items()},
            "entries": [asdict(e) for e in entries],
        }

    payload = run(s, fetch)
    emit(as_json, payload, lambda: tables.dead_letters(payload, settings.dedup_field))


@dlq_app.command("show")
@connection_command
def show_cmd(
    entry_id: Annotated[str, typer.Argument(help="dead-letter entry ID")],
    settings: CommonSettings,
    as_json: bool,
) -> None:
    """One dead letter in full (every field and the original payload). Exit 1 if absent."""
    s = settings
    if not ENTRY_ID.fullmatch(entry_id):
        raise typer.BadParameter(f"{entry_id!r} is not an entry ID like 1700000000000-0")
    found = run(s, lambda c: dlq.show(c, s.keys(), entry_id))
    payload = {"entries": [asdict(e) for e in found]}
    emit(as_json, payload, lambda: tables.dead_letter_detail(payload))
    if not found:
        raise typer.Exit(1)


@dlq_app.command("replay")
@connection_command
def replay_cmd(
    ids: Ids = None,
    all_: All = False,
    *,
    settings: CommonSettings,
    as_json: bool,
) -> None:
    """Re-enqueue dead letters onto their stream, with provenance, removing them atomically.

    Exit 1 if an ID was not found or an entry could not be replayed.
    """
    if bool(ids) == all_:
        raise typer.BadParameter("give dead-letter IDs or --all (not both)")
    s = settings
    result = run(
        s, lambda c: dlq.replay(c, s.keys(), None if all_ else ids, dedup_field=s.dedup_field)
    )
    payload = asdict(result)
    emit(as_json, payload, lambda: tables.replay(payload))
    if result.missing or result.refused:
        raise typer.Exit(1)


@dlq_app.command("purge")
@connection_command
def purge_cmd(
    ids: Ids = None,
    all_: All = False,
    yes: Annotated[bool, Opt("--yes", help="confirm --all")] = False,
    *,
    settings: CommonSettings,
    as_json: bool,
) -> None:
    """Delete dead letters: the given IDs, or all of them with --all --yes."""
    if bool(ids) == all_:
        raise typer.BadParameter("give dead-letter IDs or --all (not both)")
    if all_ and not yes:
        raise typer.BadParameter("--all deletes every dead letter: add --yes to confirm")
    s = settings
    removed = run(s, lambda c: dlq.purge(c, s.keys(), None if all_ else ids))
    emit(as_json, {"removed": removed}, lambda: print(f"removed {removed} dead letter(s)"))
