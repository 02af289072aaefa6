"""Samples the group's figures on an interval and sets the group gauges.

One replica at a time samples: the holder of the `sampler` lease
(core/replica_leases.py), so the group gauges are exported once, not once per
replica. A replica that loses the lease removes its group series at once. A
Redis error is counted and logged, never fatal: the loop goes on and the gauges
keep their last values until the next good sample.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from anyio.abc import TaskStatus

from streams_worker.core import group_state
from streams_worker.core.connection import Client
from streams_worker.core.group_state import GroupState
from streams_worker.core.keys import StreamKeys
from streams_worker.core.logs import get_logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.policy import REDIS_ERRORS, Trouble


@dataclass(frozen=True, slots=True)
class GroupSample:
    """One sample of every partition, plus the totals /status shows."""

    sampled_at: float  # unix seconds
    partitions: tuple[GroupState, ...]

    @property
    def length(self) -> int:
        return sum(p.length for p in self.partitions)

    @property
    def pending(self) -> int:
        return sum(p.pending for p in self.partitions)

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def lag_estimated(self) -> bool:
        return any(p.lag_estimated for p in self.partitions)

    @property
    def backlog(self) -> int:
        return self.lag + self.pending

    @property
    def dead_letter_length(self) -> int:
        return sum(p.dead_letter_length for p in self.partitions)

    @property
    def consumers(self) -> int:
        return max((p.consumers for p in self.partitions), default=0)

    @property
    def oldest_pending_age_s(self) -> float:
        return max((p.oldest_pending_age_s for p in self.partitions), default=0.0)

    @property
    def oldest_undelivered_age_s(self) -> float:
        return max((p.oldest_undelivered_age_s for p in self.partitions), default=0.0)

    def as_dict(self) -> dict[str, object]:
        return {
            "sampled_at": self.sampled_at,
            "length": self.length,
            "pending": self.pending,
            "lag": self.lag,
            "lag_estimated": self.lag_estimated,
            "backlog": self.backlog,
            "consumers": self.consumers,
            "oldest_pending_age_seconds": self.oldest_pending_age_s,
            "oldest_undelivered_age_seconds": self.oldest_undelivered_age_s,
            "dead_letter_length": self.dead_letter_length,
        }


class GroupSampler:
    """Reads the group's state from Redis and publishes it as gauges."""

    def __init__(
        self,
        client: Client,
        keys: StreamKeys,
        group: str,
        metrics: WorkerMetrics,
        *,
        on_sample: Callable[[GroupSample], None] | None = None,
        active: Callable[[], bool] = lambda: True,
        trouble: Trouble | None = None,
    ) -> None:
        self.client = client
        self.trouble = trouble
        self.active = active
        self._published = False
        self.on_sample = on_sample
        self.keys = keys
        self.group = group
        self.metrics = metrics
        self.last: GroupSample | None = None
        self._log = get_logger(component="sampler", stream=keys.stream, group=group)

    async def sample(self) -> GroupSample:
        """One sample of every partition; sets the gauges. Raises Redis errors."""
        now_ms = int(time.time() * 1000)
        states = []
        for partition in self.keys.partitions:
            states.append(
                await group_state.group_state(self.client, partition, self.group, now_ms=now_ms)
            )
        result = GroupSample(now_ms / 1000.0, tuple(states))
        self._publish(result)
        self.last = result
        if self.on_sample is not None:
            self.on_sample(result)
        return result

    def _publish(self, sample: GroupSample) -> None:
        self._published = True
        m = self.metrics
        for s in sample.partitions:
            lv = {"stream": self.keys.stream, "group": self.group, "partition": str(s.partition)}
            m.stream_length.labels(**lv).set(s.length)
            m.group_pending.labels(**lv).set(s.pending)
            m.group_lag.labels(**lv).set(s.lag)
            m.group_lag_estimated.labels(**lv).set(1 if s.lag_estimated else 0)
            m.group_backlog.labels(**lv).set(s.backlog)
            m.oldest_pending_age.labels(**lv).set(s.oldest_pending_age_s)
            m.oldest_undelivered_age.labels(**lv).set(s.oldest_undelivered_age_s)
            m.group_consumers.labels(**lv).set(s.consumers)
            m.dead_letter_length.labels(**lv).set(s.dead_letter_length)

    async def sample_safely(self) -> GroupSample | None:
        """`sample()`, with a Redis error counted and logged instead of raised."""
        try:
            return await self.sample()
        except REDIS_ERRORS as exc:
            if self.trouble is not None:
                self.trouble.report("sample", exc)
            else:
                self.metrics.redis_error("sample")
            self._log.warning("group_sample_failed", error=f"{type(exc).__name__}: {exc}")
            return None

    async def run(
        self, interval_s: float, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Sample every `interval_s` until cancelled; started after the first attempt."""
        await self._round()
        task_status.started()
        while True:
            await anyio.sleep(interval_s)
            await self._round()

    async def _round(self) -> None:
        if self.active():
            await self.sample_safely()
        elif self._published:
            self.withdraw()

    def withdraw(self) -> None:
        """Remove this replica's group series: another replica exports them now."""
        m = self.metrics
        for s in self.keys.partitions:
            lv = (self.keys.stream, self.group, str(s.index))
            for gauge in (m.stream_length, m.group_pending, m.group_lag, m.group_lag_estimated,
                          m.group_backlog, m.oldest_pending_age, m.oldest_undelivered_age,
                          m.group_consumers, m.dead_letter_length):  # fmt: skip
                with contextlib.suppress(KeyError):  # never published for this partition
                    gauge.remove(*lv)
        self._published = False
        self.last = None
