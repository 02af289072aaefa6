"""Group-level reads (XINFO, XPENDING, lag) as typed data.

Redis-version quirks of these reads live here and in `streams` only:

* XINFO GROUPS has `entries-read` and `lag` from Redis 7.0 (and in Valkey); on 6.2
  they are missing, and on 7.x `lag` is nil after XDEL/XTRIM removed entries the
  group has not read yet. We then count it ourselves with bounded XRANGE reads and
  say so (`lag_estimated`).
* XINFO CONSUMERS has `inactive` from 7.2 (and in Valkey).
* XINFO STREAM has `entries-added`, `max-deleted-entry-id` from 7.0.

Every function takes a `redis.asyncio` client created with `decode_responses=False`.
XPENDING replies are parsed here from the raw reply (`streams.use_raw_replies`), the
same way the worker's own clients read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ResponseError

from streams_worker.core.connection import Client
from streams_worker.core.streams import is_missing_key, is_nogroup, text, use_raw_replies

#: Most entries one lag count reads (per side); beyond it the lag is interpolated.
LAG_SCAN_LIMIT = 1000


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def id_ms(entry_id: str) -> int:
    """The millisecond timestamp part of an entry ID."""
    return int(entry_id.split("-", 1)[0])


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """XINFO STREAM, without the entries' bodies."""

    length: int
    first_id: str | None
    last_id: str | None
    last_generated_id: str
    groups: int
    entries_added: int | None = None  # 7.0+
    max_deleted_id: str | None = None  # 7.0+


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """One row of XINFO GROUPS as the server reports it (lag may be None)."""

    name: str
    consumers: int
    pending: int
    last_delivered_id: str
    entries_read: int | None = None  # 7.0+
    lag: int | None = None  # 7.0+; None when missing or invalid


@dataclass(frozen=True, slots=True)
class ConsumerInfo:
    """One row of XINFO CONSUMERS."""

    name: str
    pending: int
    idle_ms: int
    inactive_ms: int | None = None  # 7.2+; -1 from the server means "never read"


@dataclass(frozen=True, slots=True)
class PendingSummary:
    """XPENDING key group (the summary form)."""

    count: int
    min_id: str | None
    max_id: str | None
    consumers: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """One row of XPENDING's extended form."""

    id: str
    consumer: str
    idle_ms: int
    delivery_count: int


@dataclass(frozen=True, slots=True)
class Lag:
    value: int
    estimated: bool


async def stream_info(client: Client, key: str) -> StreamInfo | None:
    """XINFO STREAM, or None when the key does not exist."""
    try:
        raw: Mapping[str, Any] = await client.xinfo_stream(key)
    except ResponseError as exc:
        if is_missing_key(exc):
            return None
        raise
    first, last = raw.get("first-entry"), raw.get("last-entry")
    return StreamInfo(
        length=int(raw["length"]),
        first_id=text(first[0]) if first else None,
        last_id=text(last[0]) if last else None,
        last_generated_id=text(raw.get("last-generated-id", b"0-0")),
        groups=int(raw.get("groups", 0)),
        entries_added=_opt_int(raw.get("entries-added")),
        max_deleted_id=text(raw["max-deleted-entry-id"]) if "max-deleted-entry-id" in raw else None,
    )


async def group_infos(client: Client, key: str) -> list[GroupInfo]:
    """XINFO GROUPS; an empty list when the stream does not exist."""
    try:
        rows: Sequence[Mapping[str, Any]] = await client.xinfo_groups(key)
    except ResponseError as exc:
        if is_missing_key(exc):
            return []
        raise
    return [
        GroupInfo(
            name=text(r["name"]),
            consumers=int(r["consumers"]),
            pending=int(r["pending"]),
            last_delivered_id=text(r["last-delivered-id"]),
            entries_read=_opt_int(r.get("entries-read")),
            lag=_opt_int(r.get("lag")),
        )
        for r in rows
    ]


async def group_info(client: Client, key: str, group: str) -> GroupInfo | None:
    return next((g for g in await group_infos(client, key) if g.name == group), None)


async def consumer_infos(client: Client, key: str, group: str) -> list[ConsumerInfo]:
    """XINFO CONSUMERS; empty when the stream or group does not exist."""
    try:
        rows: Sequence[Mapping[str, Any]] = await client.xinfo_consumers(key, group)
    except ResponseError as exc:
        if is_missing_key(exc) or is_nogroup(exc):
            return []
        raise
    return [
        ConsumerInfo(
            name=text(r["name"]),
            pending=int(r["pending"]),
            idle_ms=int(r["idle"]),
            inactive_ms=_opt_int(r.get("inactive")),
        )
        for r in rows
    ]


async def pending_summary(client: Client, key: str, group: str) -> PendingSummary:
    """XPENDING key group (raw reply: the worker's clients parse XPENDING themselves)."""
    raw = await use_raw_replies(client).execute_command("XPENDING", key, group)
    count, min_id, max_id, per_consumer = raw
    return PendingSummary(
        count=int(count or 0),
        min_id=text(min_id) if min_id else None,
        max_id=text(max_id) if max_id else None,
        consumers={text(name): int(n) for name, n in per_consumer or []},
    )


async def pending_entries(
    client: Client,
    key: str,
    group: str,
    *,
    count: int,
    start: str = "-",
    end: str = "+",
    consumer: str | None = None,
    min_idle_ms: int | None = None,
) -> list[PendingEntry]:
    """XPENDING's extended form, oldest entry ID first."""
    args: list[Any] = ["XPENDING", key, group]
    if min_idle_ms is not None:
        args += ["IDLE", min_idle_ms]
    args += [start, end, count]
    if consumer is not None:
        args.append(consumer)
    rows = await use_raw_replies(client).execute_command(*args)
    return [
        PendingEntry(
            id=text(r[0]), consumer=text(r[1]), idle_ms=int(r[2]), delivery_count=int(r[3])
        )
        for r in rows or []
    ]


async def xrange(
    client: Client, key: str, start: str, end: str = "+", count: int | None = None
) -> list[tuple[str, Mapping[Any, Any]]]:
    """XRANGE with IDs as text (an absent key is an empty range)."""
    rows = await client.xrange(key, min=start, max=end, count=count) or []
    return [(text(eid), fields or {}) for eid, fields in rows]


async def _count_range(client: Client, key: str, start: str, end: str) -> int | None:
    """Entries in [start, end] if fewer than LAG_SCAN_LIMIT, else None (too many to count)."""
    rows = await xrange(client, key, start, end, LAG_SCAN_LIMIT)
    return len(rows) if len(rows) < LAG_SCAN_LIMIT else None


async def lag(client: Client, key: str, group: GroupInfo, stream: StreamInfo) -> Lag:
    """Entries the group has not been delivered yet.

    The server's figure when it has a valid one; otherwise counted from
    last-delivered-id with at most two XRANGE reads of LAG_SCAN_LIMIT entries. Beyond
    that: on 7.0+ `entries-added - entries-read` (over by the entries XDEL'd after
    last-delivered-id, which is why the server gave up), else interpolated by ID time.
    """
    if group.lag is not None and 0 <= group.lag <= stream.length:
        return Lag(group.lag, estimated=False)
    if stream.length == 0 or stream.last_id is None or stream.first_id is None:
        return Lag(0, estimated=True)
    ld = group.last_delivered_id
    if _id_key(ld) >= _id_key(stream.last_id):
        return Lag(0, estimated=True)
    if _id_key(ld) < _id_key(stream.first_id):
        return Lag(stream.length, estimated=True)
    after = await _count_range(client, key, "(" + ld, "+")
    if after is not None:
        return Lag(after, estimated=True)
    before = await _count_range(client, key, "-", ld)
    if before is not None:
        return Lag(max(stream.length - before, 0), estimated=True)
    if stream.entries_added is not None and group.entries_read is not None:
        upper = stream.entries_added - group.entries_read
        if upper >= LAG_SCAN_LIMIT:
            return Lag(min(upper, stream.length), estimated=True)
    span = max(id_ms(stream.last_id) - id_ms(stream.first_id), 1)
    share = (id_ms(stream.last_id) - id_ms(ld)) / span
    return Lag(max(LAG_SCAN_LIMIT, round(stream.length * share)), estimated=True)
