"""The console's own sampling: a few minutes of figures per partition, for sparklines.

Every `interval_s` the console reads the group's figures (`ops.admin.info`) and keeps
the last `keep` samples in memory, so the overview can draw trends and rates
without Prometheus. Rates are differences between samples: delivered per second
from the group's entries-read (Redis 7.0+; absent on 6.2), dead-lettered per
second from the dead-letter stream's length.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass

import anyio
from redis.exceptions import RedisError

from streams_worker.core.connection import Client
from streams_worker.core.keys import StreamKeys
from streams_worker.core.logs import get_logger
from streams_worker.ops import admin


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    length: int
    pending: int
    backlog: int
    dead: int
    entries_read: int | None


class Sampler:
    """Keeps the last `keep` samples per partition; `run()` samples until cancelled."""

    def __init__(
        self, client: Client, keys: StreamKeys, group: str, interval_s: float, keep: int = 60
    ) -> None:
        self._client, self._keys, self._group = client, keys, group
        self.interval_s = interval_s
        self.history: dict[int, deque[Sample]] = {
            p.index: deque(maxlen=keep) for p in keys.partitions
        }
        self._log = get_logger(component="console_sampler", stream=keys.stream, group=group)

    async def sample_once(self) -> None:
        now = time.time()
        for part in await admin.info(self._client, self._keys, self._group):
            g = part.groups[0] if part.groups else None
            self.history[part.partition].append(
                Sample(
                    now,
                    part.length,
                    g.pending if g else 0,
                    g.backlog if g else part.length,
                    part.dead_letter_length,
                    g.entries_read if g else None,
                )
            )

    async def run(self) -> None:
        while True:
            try:
                await self.sample_once()
            except (RedisError, OSError) as exc:
                self._log.warning("console_sample_failed", error=type(exc).__name__)
            await anyio.sleep(self.interval_s)

    def series(self, partition: int) -> dict[str, list[float]]:
        """Backlog, pending, delivered/s and dead-lettered/s over the kept samples."""
        s = list(self.history.get(partition, ()))
        out: dict[str, list[float]] = {
            "backlog": [x.backlog for x in s],
            "pending": [x.pending for x in s],
            "delivered_per_s": [],
            "dead_per_s": [],
        }
        for a, b in itertools.pairwise(s):
            dt = max(b.t - a.t, 1e-6)
            if a.entries_read is not None and b.entries_read is not None:
                out["delivered_per_s"].append(max(b.entries_read - a.entries_read, 0) / dt)
            out["dead_per_s"].append(max(b.dead - a.dead, 0) / dt)
        return out


def sparkline(values: list[float], width: int = 160, height: int = 32) -> str:
    """SVG polyline points for `values` scaled into width x height ('' when < 2 values)."""
    if len(values) < 2:
        return ""
    top = max(values) or 1.0
    step = width / (len(values) - 1)
    pts = (f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in
           enumerate(values))  # fmt: skip
    return " ".join(pts)
