"""The dead-letter streams as data: list, show, replay, purge.

A dead-letter entry (written by the worker, docs/contracts.md) has `reason`, `error`,
`source_stream`, `source_id`, `group`, `consumer`, `delivery_count`,
`dead_lettered_at` (ms) and every original field as `payload.<name>`. Replay runs
`lua/dlq_replay.lua`: the payload goes back onto the source stream with provenance
and the dead letter is removed in the same script, so nothing is lost or doubled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams_worker.core.connection import Client
from streams_worker.core.deadletter import PAYLOAD_PREFIX, payload_of
from streams_worker.core.defaults import DEFAULT_DEDUP_FIELD
from streams_worker.core.groups import xrange
from streams_worker.core.keys import Partition, StreamKeys
from streams_worker.core.streams import text
from streams_worker.ops.admin import load_script, now_ms

_BATCH = 100


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-letter entry, decoded for display (payload shown as text)."""

    id: str
    partition: int
    dead_letter_stream: str
    reason: str | None
    error: str | None
    source_stream: str | None
    source_id: str | None
    group: str | None
    consumer: str | None
    delivery_count: int | None
    dead_lettered_at: int | None
    payload: dict[str, str] = field(default_factory=dict)


def parse(entry_id: Any, raw: Mapping[Any, Any], partition: Partition) -> DeadLetter:
    fields = {text(k): text(v) for k, v in raw.items() if not text(k).startswith(PAYLOAD_PREFIX)}
    return DeadLetter(
        id=text(entry_id),
        partition=partition.index,
        dead_letter_stream=partition.dead_letter,
        delivery_count=_int(fields.get("delivery_count")),
        dead_lettered_at=_int(fields.get("dead_lettered_at")),
        payload={text(k): text(v) for k, v in payload_of(raw).items()},
        reason=fields.get("reason"),
        error=fields.get("error"),
        source_stream=fields.get("source_stream"),
        source_id=fields.get("source_id"),
        group=fields.get("group"),
        consumer=fields.get("consumer"),
    )


async def lengths(client: Client, keys: StreamKeys) -> dict[int, int]:
    return {p.index: int(await client.xlen(p.dead_letter)) for p in keys.partitions}


async def list_entries(
    client: Client, keys: StreamKeys, *, count: int = 20, reason: str | None = None
) -> list[DeadLetter]:
    """The oldest `count` dead letters of each partition (optionally of one reason)."""
    out: list[DeadLetter] = []
    for p in keys.partitions:
        start, found = "-", 0
        while found < count:
            rows = await xrange(client, p.dead_letter, start, "+", _BATCH)
            for eid, raw in rows:
                d = parse(eid, raw, p)
                if (reason is None or d.reason == reason) and found < count:
                    out.append(d)
                    found += 1
            if len(rows) < _BATCH or reason is None:
                break
            start = "(" + rows[-1][0]
    return out


async def count_reason(client: Client, keys: StreamKeys, reason: str) -> int:
    """How many dead letters of every partition have this reason (reads them all)."""
    total = 0
    for p in keys.partitions:
        start = "-"
        while True:
            rows = await xrange(client, p.dead_letter, start, "+", _BATCH)
            total += sum(1 for eid, raw in rows if parse(eid, raw, p).reason == reason)
            if len(rows) < _BATCH:
                break
            start = "(" + rows[-1][0]
    return total


async def show(client: Client, keys: StreamKeys, entry_id: str) -> list[DeadLetter]:
    """The dead letter(s) with this ID (one per partition where it exists)."""
    out = []
    for p in keys.partitions:
        for eid, raw in await xrange(client, p.dead_letter, entry_id, entry_id):
            out.append(parse(eid, raw, p))
    return out


@dataclass(slots=True)
class ReplayResult:
    replayed: list[dict[str, Any]] = field(default_factory=list)  # {id, new_id, partition}
    missing: list[str] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)  # {id, partition, why}


async def _all_ids(client: Client, p: Partition) -> list[str]:
    ids, start = [], "-"
    while True:
        rows = await xrange(client, p.dead_letter, start, "+", 1000)
        ids += [r[0] for r in rows]
        if len(rows) < 1000:
            return ids
        start = "(" + ids[-1]


async def replay(
    client: Client,
    keys: StreamKeys,
    ids: Iterable[str] | None = None,
    *,
    dedup_field: str = DEFAULT_DEDUP_FIELD,
) -> ReplayResult:
    """Re-enqueue the given dead letters (all of them when `ids` is None); the
    replayed entry's in-queue mark (keyed by `dedup_field`) points at the new entry."""
    script = load_script(client, "dlq_replay.lua")
    wanted = None if ids is None else list(dict.fromkeys(ids))
    result, seen = ReplayResult(), set()
    for p in keys.partitions:
        todo = wanted if wanted is not None else await _all_ids(client, p)
        for i in range(0, len(todo), _BATCH):
            batch = todo[i : i + _BATCH]
            replies = await script(
                keys=[p.dead_letter, p.stream, p.queued], args=[now_ms(), dedup_field, *batch]
            )
            for dl_id, reply in zip(batch, replies, strict=True):
                if reply == 0:
                    continue
                seen.add(dl_id)
                answer = text(reply)
                if answer.startswith("!"):
                    result.refused.append({"id": dl_id, "partition": p.index, "why": answer[1:]})
                else:
                    result.replayed.append({"id": dl_id, "new_id": answer, "partition": p.index})
    result.missing = [i for i in (wanted or []) if i not in seen]
    return result


async def purge(client: Client, keys: StreamKeys, ids: Iterable[str] | None = None) -> int:
    """Delete the given dead letters, or all of them (XTRIM MAXLEN 0); returns how many."""
    wanted = None if ids is None else list(dict.fromkeys(ids))
    removed = 0
    for p in keys.partitions:
        if wanted is None:
            removed += int(await client.xtrim(p.dead_letter, maxlen=0, approximate=False))
        elif wanted:
            removed += int(await client.xdel(p.dead_letter, *wanted))
    return removed
