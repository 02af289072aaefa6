"""Inspection and operations commands: pending, info, dlq, consumers, pause, capabilities.

Each command gets `CommonSettings` from the shared flags (`cli.common`),
calls `ops.admin`/`ops.dead_letters`/`ops.capabilities` for data, and prints a rich table or, with
`--json`, one JSON document (shapes in docs/cli.md). A bad setting: one line, exit
2. Redis unreachable or refusing: one line, exit 1, no traceback.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, TypeVar

import typer

from streams_worker.cli import tables
from streams_worker.cli.common import connection_command, emit, parse_duration_ms, run
from streams_worker.core.connection import Client
from streams_worker.core.ownership import Holder
from streams_worker.core.settings import CommonSettings
from streams_worker.ops import admin, capabilities, pausing, waiting

T = TypeVar("T")
Opt = typer.Option


@connection_command
def pending(
    settings: CommonSettings,
    as_json: bool,
    count: Annotated[int, Opt("--count", "-n", min=1, help="oldest N entries")] = 10,
    consumer: Annotated[str | None, Opt(help="only this consumer's entries")] = None,
    older_than: Annotated[str | None, Opt(help="idle at least this long (30s, 5m)")] = None,
    min_deliveries: Annotated[int | None, Opt(min=1, help="delivered at least N times")] = None,
) -> None:
    """The pending entries: summary per consumer and the oldest N with idle time."""
    s = settings
    idle = parse_duration_ms(older_than) if older_than else None

    async def fetch(c: Client) -> tuple[list[admin.PartitionPending], list[waiting.Waiting]]:
        parts = await admin.pending(
            c, s.keys(), s.group, count=count, consumer=consumer, older_than_ms=idle,
            min_deliveries=min_deliveries, dedup_field=s.dedup_field,
        )  # fmt: skip
        now = await waiting.server_now_ms(c)
        keyed = s.keys().partitions
        waits = [
            await waiting.waiting(c, keyed[p.partition], [e.id for e in p.entries], now_ms=now)
            for p in parts
        ]
        return parts, waits

    parts, waits = run(s, fetch)
    payload = {
        "stream": s.stream,
        "group": s.group,
        "total_pending": sum(p.summary.count for p in parts),
        "total_waiting": sum(w.count for w in waits),
        "partitions": [_with_waiting(p.as_dict(), w) for p, w in zip(parts, waits, strict=True)],
    }
    emit(as_json, payload, lambda: tables.pending(payload, s.dedup_field))


def _with_waiting(part: dict[str, Any], w: waiting.Waiting) -> dict[str, Any]:
    """A partition's pending document plus its waiting set and each entry's due time."""
    for e in part["entries"]:
        e["next_attempt_ms"] = w.due_ms.get(e["id"])
    return {**part, "waiting": w.as_dict()}


@connection_command
def info(
    settings: CommonSettings,
    as_json: bool,
    all_groups: Annotated[
        bool, Opt("--all-groups", help="every group, not just WORKER_GROUP")
    ] = False,
) -> None:
    """The stream, its groups (lag, backlog, oldest ages) and their consumers."""
    s = settings
    only = None if all_groups else s.group

    async def fetch(c: Client) -> tuple[list[admin.PartitionInfo], bool, list[waiting.Waiting]]:
        return (
            await admin.info(c, s.keys(), only),
            await admin.is_paused(c, s.keys()),
            await waiting.all_waiting(c, s.keys()),
        )

    parts, paused, waits = run(s, fetch)
    payload = {
        "stream": s.stream,
        "group": only,
        "paused": paused,
        "partitions": [
            {**asdict(p), "waiting": w.as_dict()} for p, w in zip(parts, waits, strict=True)
        ],
    }
    emit(as_json, payload, lambda: tables.info(payload))


@connection_command
def consumers(
    settings: CommonSettings,
    as_json: bool,
    prune: Annotated[
        bool, Opt("--prune", help="delete consumers holding nothing, idle long")
    ] = False,
    min_idle: Annotated[str, Opt(help="with --prune: idle at least this long")] = "1h",
) -> None:
    """The group's consumers; --prune removes those idle past --min-idle that hold nothing."""
    s = settings
    idle = parse_duration_ms(min_idle)

    async def fetch(c: Client) -> dict[str, Any]:
        pruned = (
            await admin.prune_consumers(c, s.keys(), s.group, min_idle_ms=idle) if prune else {}
        )
        listed = await admin.consumers(c, s.keys(), s.group)
        held = await admin.holders(c, s.keys(), s.group)
        return {
            "stream": s.stream,
            "group": s.group,
            "consumers": [
                {"partition": i, **asdict(ci), "holder": _holder(held.get(ci.name))}
                for i, cs in listed.items()
                for ci in cs
            ],
            "pruned": [{"partition": i, "name": n} for i, ns in pruned.items() for n in ns],
        }

    payload = run(s, fetch)
    emit(as_json, payload, lambda: tables.consumers(payload, prune))


def _holder(h: Holder | None) -> dict[str, Any] | None:
    """The live replica holding a consumer name, as shown: host, pid, since (ms)."""
    if h is None:
        return None
    return {"host": h.info.get("host"), "pid": h.info.get("pid"), "since_ms": h.since_ms}


@connection_command
def pause(
    settings: CommonSettings,
    as_json: bool,
    wait: Annotated[
        str, Opt("--wait", help="how long to wait for every live replica to confirm")
    ] = "30s",
) -> None:
    """Stop every replica from reading new entries (in-flight work finishes).

    Returns once every live replica has confirmed it reads nothing more (docs/cli.md);
    exit 1 if some did not confirm within --wait (the flag stays set).
    """
    s = settings
    wait_s = parse_duration_ms(wait) / 1000
    done = run(s, lambda c: pausing.pause_and_confirm(c, s.keys(), wait_s=wait_s))
    line = f"paused ({s.keys().paused}): {len(done.confirmed)} replica(s) confirmed"
    if done.unconfirmed:
        line += f"; not confirmed within {wait}: {', '.join(done.unconfirmed)}"
    emit(as_json, {"paused": True, "key": s.keys().paused, **asdict(done)}, lambda: print(line))
    if done.unconfirmed:
        raise typer.Exit(1)


@connection_command
def resume(
    settings: CommonSettings,
    as_json: bool,
) -> None:
    """Let replicas read new entries again."""
    s = settings
    was = run(s, lambda c: admin.resume(c, s.keys()))
    emit(
        as_json,
        {"paused": False, "was_paused": was, "key": s.keys().paused},
        lambda: print("resumed" if was else "was not paused"),
    )


@connection_command
def capabilities_cmd(
    settings: CommonSettings,
    as_json: bool,
) -> None:
    """The server (Redis or Valkey, version), its stream features, the worker's strategy."""
    s = settings
    caps = run(s, capabilities.detect)
    payload = caps.as_dict()
    emit(as_json, payload, lambda: tables.capabilities(payload))
    if not caps.supported:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ops commands to the main CLI."""
    app.command()(pending)
    app.command()(info)
    app.command()(consumers)
    app.command()(pause)
    app.command()(resume)
    app.command("capabilities")(capabilities_cmd)
