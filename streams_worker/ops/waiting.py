"""Failed entries waiting for their next delivery (core/retries.py), as data.

A waiting entry is pending, held by the consumer `(waiting)`, with its due time (ms,
the server's clock) in the partition's waiting set. `pending` and `info` add these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams_worker.core.connection import Client
from streams_worker.core.keys import Partition, StreamKeys


@dataclass(slots=True)
class Waiting:
    partition: int
    count: int
    #: When the earliest waiting entry is due (unix ms, server clock), None if none.
    next_attempt_ms: int | None
    #: Milliseconds from the server's now to the next attempt (negative: overdue).
    next_attempt_in_ms: int | None
    #: Due time (unix ms) of the entries asked about that are waiting.
    due_ms: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "next_attempt_ms": self.next_attempt_ms,
            "next_attempt_in_ms": self.next_attempt_in_ms,
        }


async def server_now_ms(client: Client) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def waiting(
    client: Client, p: Partition, ids: list[str] | None = None, *, now_ms: int | None = None
) -> Waiting:
    """Size and earliest due time of `p`'s waiting set, and the due times of `ids`."""
    now = now_ms if now_ms is not None else await server_now_ms(client)
    count = int(await client.zcard(p.waiting))
    first = await client.zrange(p.waiting, 0, 0, withscores=True)
    nxt = int(first[0][1]) if first else None
    due: dict[str, int] = {}
    if ids:
        scores = await client.zmscore(p.waiting, ids)
        due = {i: int(s) for i, s in zip(ids, scores, strict=True) if s is not None}
    return Waiting(p.index, count, nxt, None if nxt is None else nxt - now, due)


async def all_waiting(client: Client, keys: StreamKeys) -> list[Waiting]:
    now = await server_now_ms(client)
    return [await waiting(client, p, now_ms=now) for p in keys.partitions]
