"""Inspection and operations as data: what the ops CLI shows, without printing it.

Every function takes a client and the `StreamKeys` and returns plain dataclasses
(or dicts ready for `--json`). Dead letters are in `streams_worker.ops.dead_letters`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from streams_worker.core import group_state, groups, ownership
from streams_worker.core.connection import Client
from streams_worker.core.defaults import DEFAULT_DEDUP_FIELD
from streams_worker.core.groups import ConsumerInfo, PendingSummary
from streams_worker.core.keys import Partition, StreamKeys
from streams_worker.core.ownership import Holder
from streams_worker.core.presence import live_consumers
from streams_worker.core.streams import is_missing_key, is_nogroup, lua_source, text

#: Pending entries read at most, per partition, to apply --min-deliveries.
PENDING_SCAN_LIMIT = 10_000
_PAGE = 500


def load_script(client: Client, name: str) -> AsyncScript:
    """A Lua script from `streams_worker/core/lua/` registered on `client` (EVALSHA, reloads)."""
    script: AsyncScript = client.register_script(lua_source(name))
    return script


@dataclass(frozen=True, slots=True)
class PendingRow:
    id: str
    consumer: str
    idle_ms: int
    delivery_count: int
    #: The entry's dedup field (WORKER_DEDUP_FIELD), None if deleted or absent.
    dedup_value: str | None


@dataclass(frozen=True, slots=True)
class PartitionPending:
    partition: int
    stream: str
    summary: PendingSummary
    entries: list[PendingRow]
    dedup_field: str = DEFAULT_DEDUP_FIELD

    def as_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "stream": self.stream,
            "pending": self.summary.count,
            "min_id": self.summary.min_id,
            "max_id": self.summary.max_id,
            "consumers": [{"name": n, "pending": c} for n, c in self.summary.consumers.items()],
            # The dedup value appears under its field's name ("article_id" by default).
            "entries": [
                {
                    "id": e.id,
                    "consumer": e.consumer,
                    "idle_ms": e.idle_ms,
                    "delivery_count": e.delivery_count,
                    **({self.dedup_field: e.dedup_value} if self.dedup_field else {}),
                }
                for e in self.entries
            ],
        }


async def _dedup_values(
    client: Client, key: str, ids: list[str], field: str
) -> dict[str, str | None]:
    """`field` of each entry still in the stream (None if deleted or absent)."""
    if not ids:
        return {}
    async with client.pipeline(transaction=False) as pipe:
        for eid in ids:
            pipe.xrange(key, min=eid, max=eid, count=1)
        replies = await pipe.execute()
    out: dict[str, str | None] = {}
    for eid, rows in zip(ids, replies, strict=True):
        fields = rows[0][1] if rows else {}
        raw = fields.get(field.encode())
        out[eid] = text(raw) if raw is not None else None
    return out


async def pending(
    client: Client,
    keys: StreamKeys,
    group: str,
    *,
    count: int = 10,
    consumer: str | None = None,
    older_than_ms: int | None = None,
    min_deliveries: int | None = None,
    dedup_field: str = DEFAULT_DEDUP_FIELD,
) -> list[PartitionPending]:
    """XPENDING summary per partition and the oldest `count` entries matching the filters."""
    out = []
    for p in keys.partitions:
        try:
            summary = await groups.pending_summary(client, p.stream, group)
        except ResponseError as exc:
            if not is_nogroup(exc):
                raise
            summary = PendingSummary(0, None, None, {})
        rows: list[groups.PendingEntry] = []
        start, scanned = "-", 0
        while summary.count and len(rows) < count and scanned < PENDING_SCAN_LIMIT:
            page = await groups.pending_entries(
                client,
                p.stream,
                group,
                count=_PAGE if min_deliveries else count,
                start=start,
                consumer=consumer,
                min_idle_ms=older_than_ms,
            )
            scanned += len(page)
            rows += [e for e in page if e.delivery_count >= (min_deliveries or 0)]
            if not min_deliveries or len(page) < _PAGE:
                break
            start = "(" + page[-1].id
        rows = rows[:count]
        values = (
            await _dedup_values(client, p.stream, [r.id for r in rows], dedup_field)
            if dedup_field
            else {}
        )
        entries = [
            PendingRow(r.id, r.consumer, r.idle_ms, r.delivery_count, values.get(r.id))
            for r in rows
        ]
        out.append(PartitionPending(p.index, p.stream, summary, entries, dedup_field))
    return out


@dataclass(slots=True)
class GroupReport:
    name: str
    consumer_count: int
    pending: int
    last_delivered_id: str
    entries_read: int | None
    lag: int
    lag_estimated: bool
    backlog: int
    oldest_pending_age_seconds: float
    oldest_undelivered_age_seconds: float
    consumers: list[ConsumerInfo] = field(default_factory=list)
    #: The consumer whose replica owns this partition (partition assignment), if any.
    owner: str | None = None


@dataclass(slots=True)
class PartitionInfo:
    partition: int
    stream: str
    exists: bool
    length: int
    first_id: str | None
    last_id: str | None
    last_generated_id: str | None
    dead_letter_stream: str
    dead_letter_length: int
    groups: list[GroupReport] = field(default_factory=list)


async def _group_report(client: Client, p: Partition, g: groups.GroupInfo) -> GroupReport:
    state = await group_state.group_state(client, p, g.name)
    consumers = await groups.consumer_infos(client, p.stream, g.name)
    return GroupReport(
        g.name,
        g.consumers,
        g.pending,
        g.last_delivered_id,
        g.entries_read,
        state.lag,
        state.lag_estimated,
        state.backlog,
        state.oldest_pending_age_s,
        state.oldest_undelivered_age_s,
        consumers,
    )


async def info(client: Client, keys: StreamKeys, group: str | None = None) -> list[PartitionInfo]:
    """Per partition: the stream, every group (or just `group`) with lag, ages and
    the replica owning the partition (docs/leases.md)."""
    out = []
    owners: dict[str, dict[int, str]] = {}
    for p in keys.partitions:
        s = await groups.stream_info(client, p.stream)
        dl_len = int(await client.xlen(p.dead_letter))
        part = PartitionInfo(
            p.index,
            p.stream,
            s is not None,
            s.length if s else 0,
            s.first_id if s else None,
            s.last_id if s else None,
            s.last_generated_id if s else None,
            p.dead_letter,
            dl_len,
        )
        for g in await groups.group_infos(client, p.stream):
            if group is None or g.name == group:
                report = await _group_report(client, p, g)
                if g.name not in owners:
                    owners[g.name] = await partition_owners(client, keys, g.name)
                report.owner = owners[g.name].get(p.index)
                part.groups.append(report)
        out.append(part)
    return out


async def consumers(client: Client, keys: StreamKeys, group: str) -> dict[int, list[ConsumerInfo]]:
    """XINFO CONSUMERS per partition index."""
    return {p.index: await groups.consumer_infos(client, p.stream, group) for p in keys.partitions}


async def holders(client: Client, keys: StreamKeys, group: str) -> dict[str, Holder]:
    """Consumer name -> the live replica holding its lease (docs/leases.md)."""
    prefix = "consumer:"
    return {
        h.name[len(prefix) :]: h
        for h in await ownership.holders(client, keys.leases(group))
        if h.live and h.name.startswith(prefix)
    }


async def partition_owners(client: Client, keys: StreamKeys, group: str) -> dict[int, str]:
    """Partition index -> the consumer name of the live replica that owns it."""
    prefix = "partition:"
    return {
        int(h.name[len(prefix) :]): str(h.info.get("consumer", h.info.get("host", "?")))
        for h in await ownership.holders(client, keys.leases(group))
        if h.live and h.name.startswith(prefix)
    }


async def prune_consumers(
    client: Client, keys: StreamKeys, group: str, *, min_idle_ms: int
) -> dict[int, list[str]]:
    """Delete consumers holding nothing and idle ≥ min_idle_ms (checked atomically, in
    Lua), never one whose name a live replica holds (a paused replica is idle too)."""
    keep = sorted(await holders(client, keys, group))
    # A paused replica that has not taken a lease yet still publishes its state.
    keep = sorted(set(keep) | set(await live_consumers(client, keys.replicas)))
    script = load_script(client, "prune_consumers.lua")
    out: dict[int, list[str]] = {}
    for p in keys.partitions:
        try:
            names = await script(keys=[p.stream], args=[group, min_idle_ms, *keep])
        except ResponseError as exc:
            if is_nogroup(exc) or is_missing_key(exc):
                names = []
            else:
                raise
        out[p.index] = [text(n) for n in names]
    return out


async def pause(client: Client, keys: StreamKeys) -> None:
    """Set the pause flag: every replica stops reading new entries."""
    await client.set(keys.paused, "1")


async def resume(client: Client, keys: StreamKeys) -> bool:
    """Clear the pause flag; True if it was set."""
    return bool(await client.delete(keys.paused))


async def is_paused(client: Client, keys: StreamKeys) -> bool:
    return bool(await client.exists(keys.paused))


def now_ms() -> int:
    return int(time.time() * 1000)
