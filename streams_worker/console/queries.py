"""What the console's lists read: one page at a time, through Redis cursors.

Every list is a window: XPENDING (pending entries) or XRANGE (dead letters) from an
exclusive cursor, `count` rows, with filters applied while reading at most
`SCAN_LIMIT` entries per request, so a page costs the same with ten or a million
entries behind it. The cursor of the next page is the last entry ID read.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ResponseError

from streams_worker.core import groups
from streams_worker.core.connection import Client
from streams_worker.core.groups import PendingEntry, xrange
from streams_worker.core.keys import Partition, StreamKeys
from streams_worker.core.streams import is_missing_key, is_nogroup
from streams_worker.ops import dead_letters
from streams_worker.ops.dead_letters import DeadLetter

#: Entries read at most per request while filtering (a page may come back short).
SCAN_LIMIT = 5000
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    next_cursor: str | None  # None: nothing after this page
    scanned: int = 0


def after(cursor: str | None) -> str:
    """The exclusive XRANGE/XPENDING start for a cursor ('-' for the first page)."""
    return "(" + cursor if cursor else "-"


def one_partition(keys: StreamKeys, index: int) -> StreamKeys:
    """`keys` narrowed to one partition (ops functions iterate `keys.partitions`)."""
    return dataclasses.replace(keys, partitions=(keys.partitions[index],))


Fetch = Callable[[str, int], Awaitable[list[tuple[str, Any]]]]


async def _scan(
    fetch: Fetch, keep: Callable[[Any], bool], *, cursor: str | None, count: int, filtered: bool
) -> Page:
    """Read from `cursor` in chunks until `count` rows pass `keep` or SCAN_LIMIT is read."""
    rows: list[Any] = []
    start, scanned, last = after(cursor), 0, cursor
    while scanned < SCAN_LIMIT:
        want = _CHUNK if filtered else count - len(rows)
        chunk = await fetch(start, want)
        for i, (eid, item) in enumerate(chunk):
            scanned += 1
            last = eid
            if keep(item):
                rows.append(item)
                if len(rows) == count:
                    end_of_data = i == len(chunk) - 1 and len(chunk) < want
                    return Page(rows, None if end_of_data else last, scanned)
        if len(chunk) < want:
            return Page(rows, None, scanned)
        start = "(" + (last or "0-0")
    return Page(rows, last, scanned)


async def pending_page(
    client: Client,
    partition: Partition,
    group: str,
    *,
    cursor: str | None,
    count: int,
    consumer: str | None = None,
    min_idle_ms: int | None = None,
    min_deliveries: int | None = None,
) -> Page:
    """Up to `count` pending entries after `cursor`, oldest first, matching the filters."""

    async def fetch(start: str, want: int) -> list[tuple[str, Any]]:
        try:
            rows = await groups.pending_entries(
                client, partition.stream, group, count=want, start=start,
                consumer=consumer, min_idle_ms=min_idle_ms,
            )  # fmt: skip
        except ResponseError as exc:
            if is_nogroup(exc) or is_missing_key(exc):
                return []  # no stream or no group yet: nothing pending
            raise
        return [(e.id, e) for e in rows]

    def keep(e: PendingEntry) -> bool:
        return e.delivery_count >= (min_deliveries or 0)

    return await _scan(fetch, keep, cursor=cursor, count=count, filtered=bool(min_deliveries))


@dataclass(frozen=True, slots=True)
class PendingDetail:
    id: str
    partition: int
    stream: str
    pending: PendingEntry | None  # None: acknowledged meanwhile
    fields: Mapping[Any, Any] | None  # None: deleted from the stream


async def pending_detail(
    client: Client, partition: Partition, group: str, entry_id: str
) -> PendingDetail:
    try:
        rows = await groups.pending_entries(
            client, partition.stream, group, count=1, start=entry_id, end=entry_id
        )
    except ResponseError as exc:
        if not (is_nogroup(exc) or is_missing_key(exc)):
            raise
        rows = []
    found = await xrange(client, partition.stream, entry_id, entry_id, 1)
    return PendingDetail(
        entry_id, partition.index, partition.stream,
        rows[0] if rows else None, found[0][1] if found else None,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Reason (exact), error text (substring, any case), older than (ms)."""

    reason: str = ""
    error: str = ""
    min_age_ms: int = 0

    def end(self, now_ms: int) -> str:
        """XRANGE end: entry IDs carry their time, so the age filter is a range bound."""
        return str(max(now_ms - self.min_age_ms, 0)) if self.min_age_ms else "+"

    def matches(self, d: DeadLetter) -> bool:
        if self.reason and d.reason != self.reason:
            return False
        return not self.error or self.error.lower() in (d.error or "").lower()

    @property
    def active(self) -> bool:
        return bool(self.reason or self.error or self.min_age_ms)

    def query(self) -> dict[str, str]:
        out = {"reason": self.reason, "error": self.error}
        out["min_age_s"] = str(self.min_age_ms // 1000) if self.min_age_ms else ""
        return {k: v for k, v in out.items() if v}


def _now_ms() -> int:
    return int(time.time() * 1000)


async def dead_letter_page(
    client: Client, partition: Partition, *, cursor: str | None, count: int, flt: DeadLetterFilter
) -> Page:
    """Up to `count` dead letters after `cursor`, oldest first, matching `flt`."""
    end = flt.end(_now_ms())

    async def fetch(start: str, want: int) -> list[tuple[str, Any]]:
        rows = await xrange(client, partition.dead_letter, start, end, want)
        return [(eid, dead_letters.parse(eid, raw, partition)) for eid, raw in rows]

    filtered = bool(flt.reason or flt.error)
    return await _scan(fetch, flt.matches, cursor=cursor, count=count, filtered=filtered)


@dataclass(slots=True)
class Matching:
    """The dead letters a bulk action would touch."""

    ids: list[str] = field(default_factory=list)
    scanned: int = 0


async def matching_dead_letters(
    client: Client, partition: Partition, flt: DeadLetterFilter, *, batch: int = 1000
) -> Matching:
    """Every dead letter of the partition matching `flt` (IDs only kept), in batches."""
    out, start, end = Matching(), "-", flt.end(_now_ms())
    while True:
        chunk = await xrange(client, partition.dead_letter, start, end, batch)
        for eid, raw in chunk:
            out.scanned += 1
            if not (flt.reason or flt.error) or flt.matches(
                dead_letters.parse(eid, raw, partition)
            ):
                out.ids.append(eid)
        if len(chunk) < batch:
            return out
        start = "(" + chunk[-1][0]


async def existing_dead_letters(client: Client, partition: Partition, ids: list[str]) -> list[str]:
    """Which of `ids` are still in the partition's dead-letter stream."""
    if not ids:
        return []
    async with client.pipeline(transaction=False) as pipe:
        for eid in ids:
            pipe.xrange(partition.dead_letter, min=eid, max=eid, count=1)
        replies = await pipe.execute()
    return [eid for eid, rows in zip(ids, replies, strict=True) if rows]
