"""One group's state on one partition: what the sampler exports and `info` shows.

Composes the reads in `groups` (where the Redis-version differences are handled):
length, pending, lag (server's or counted), oldest pending and undelivered ages,
consumers and the dead-letter length.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from streams_worker.core import groups
from streams_worker.core.connection import Client
from streams_worker.core.groups import id_ms, xrange
from streams_worker.core.keys import Partition


@dataclass(frozen=True, slots=True)
class GroupState:
    """Everything the sampler exports for one partition and group."""

    partition: int
    stream: str
    group_exists: bool
    length: int
    pending: int
    lag: int
    lag_estimated: bool
    consumers: int
    oldest_pending_age_s: float
    oldest_undelivered_age_s: float
    dead_letter_length: int
    last_delivered_id: str | None = None

    @property
    def backlog(self) -> int:
        return self.lag + self.pending


async def oldest_undelivered_age_s(
    client: Client, key: str, last_delivered_id: str | None, now_ms: int
) -> float:
    """Age of the first entry after last-delivered-id (0 when there is none)."""
    start = "-" if last_delivered_id is None else "(" + last_delivered_id
    rows = await xrange(client, key, start, "+", 1)
    if not rows:
        return 0.0
    return max(now_ms - id_ms(rows[0][0]), 0) / 1000.0


async def group_state(
    client: Client, partition: Partition, group: str, *, now_ms: int | None = None
) -> GroupState:
    """The group's figures on one partition (a missing stream or group reads as empty)."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    key = partition.stream
    dead_letter_length = int(await client.xlen(partition.dead_letter))
    info = await groups.stream_info(client, key)
    ginfo = await groups.group_info(client, key, group) if info is not None else None
    if info is None or ginfo is None:
        length = info.length if info else 0
        undelivered = await oldest_undelivered_age_s(client, key, None, now) if length else 0.0
        return GroupState(
            partition.index,
            key,
            False,
            length,
            0,
            length,
            False,
            0,
            0.0,
            undelivered,
            dead_letter_length,
        )
    computed = await groups.lag(client, key, ginfo, info)
    oldest_pending = 0.0
    if ginfo.pending:
        first = await groups.pending_entries(client, key, group, count=1)
        oldest_pending = first[0].idle_ms / 1000.0 if first else 0.0
    undelivered = 0.0
    if computed.value:
        undelivered = await oldest_undelivered_age_s(client, key, ginfo.last_delivered_id, now)
    return GroupState(
        partition=partition.index,
        stream=key,
        group_exists=True,
        length=info.length,
        pending=ginfo.pending,
        lag=computed.value,
        lag_estimated=computed.estimated,
        consumers=ginfo.consumers,
        oldest_pending_age_s=oldest_pending,
        oldest_undelivered_age_s=undelivered,
        dead_letter_length=dead_letter_length,
        last_delivered_id=ginfo.last_delivered_id,
    )
