"""Connectivity as the loops see it: readiness, the read loop's heartbeat, reconnects."""

from __future__ import annotations

import time

from streams_worker.core.logs import Logger
from streams_worker.core.metrics import WorkerMetrics


class Health:
    """Connectivity as seen by the loops: drives readiness and reconnect counts."""

    def __init__(self, metrics: WorkerMetrics, log: Logger) -> None:
        self.connected = False
        self.group_ok = False
        self.heartbeat = time.monotonic()
        self._metrics = metrics
        self._log = log
        self._down_since: float | None = None

    def up(self) -> None:
        if self._down_since is not None:
            self._metrics.reconnects_c.inc()
            self._log.info(
                "redis_reconnected", down_s=round(time.monotonic() - self._down_since, 3)
            )
            self._down_since = None
        self.connected = True

    def recreated(self) -> None:
        self._metrics.group_recreated_c.inc()

    def down(self, operation: str, exc: BaseException) -> None:
        self._metrics.redis_error(operation)
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._log.warning("redis_unavailable", operation=operation, error=str(exc)[:200])
        self.connected = False
