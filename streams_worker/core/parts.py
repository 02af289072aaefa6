"""What a serving worker is made of: its components, for `status()` and tests."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from streams_worker.core.acker import Acker
from streams_worker.core.processor import Processor
from streams_worker.core.ratelimit import RateLimiter
from streams_worker.core.reader import Reader
from streams_worker.core.reclaim import Leases, Reclaimer
from streams_worker.core.replica_leases import ReplicaLeases
from streams_worker.core.retries import Retries

#: `service(worker, *, task_status)`: beside the worker in `run()`, until cancelled.
Service = Callable[..., Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Parts:
    """The components of a serving worker, for `status()` and tests."""

    acker: Acker
    reclaimer: Reclaimer
    reader: Reader
    processor: Processor
    leases: Leases
    replica: ReplicaLeases | None
    retries: Retries
    limiter: RateLimiter

    def samples(self) -> bool:
        return self.replica is None or self.replica.sampler
