"""The leases a replica keeps while it serves: its consumer name, and the sampler.

- `consumer:<name>`: one live replica per consumer name. A second live replica
  with the same `WORKER_CONSUMER` would re-read and ack the other's pending
  entries as its own; it refuses to start instead (`ConsumerNameInUse`, exit 2).
  A replica restarted in place (a StatefulSet pod, a SIGKILLed process) finds its
  dead predecessor's lease, sees it is not renewed, and takes it once it expires.
- `sampler`: the group gauges are sampled and exported by one replica at a time,
  so series do not multiply by replicas; handed over when that replica stops
  (released) or dies (expires).

Reads are fenced by the consumer lease (`may_read_for_s`): a replica frozen past
its lease stops reading before anyone else can take the name.
"""

from __future__ import annotations

import time

import anyio

from streams_worker.core.assignment import PartitionOwner
from streams_worker.core.connection import Client
from streams_worker.core.errors import ConfigurationError
from streams_worker.core.logs import Logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.ownership import Holder, Ownership, replica_info, sweep
from streams_worker.core.policy import REDIS_ERRORS, Backoff, Trouble
from streams_worker.core.reader import Reader
from streams_worker.core.settings import WorkerSettings

SAMPLER = "sampler"
#: Leases expired this long ago are dropped (every SWEEP_EVERY renewal rounds).
SWEEP_AFTER_MS = 3_600_000
SWEEP_EVERY = 60


class ConsumerNameInUse(ConfigurationError):
    """Another live replica holds this consumer name."""

    def __init__(self, consumer: str, holder: Holder) -> None:
        super().__init__(
            "WORKER_CONSUMER",
            f"{consumer!r} is in use by a live replica ({holder.describe()}); "
            "give each replica its own name (e.g. the pod name)",
        )


class ReplicaLeases:
    """Takes, renews and hands back one replica's leases."""

    def __init__(
        self,
        ownership: Ownership,
        consumer: str,
        metrics: WorkerMetrics,
        log: Logger,
        trouble: Trouble,
        partitions: PartitionOwner | None = None,
    ) -> None:
        self.own = ownership
        self._trouble = trouble
        #: Partition assignment, with more than one partition (None: read them all).
        self.partitions = partitions
        self.consumer_lease = f"consumer:{consumer}"
        self._consumer = consumer
        self._metrics = metrics
        self._log = log
        self.renew_every_s = ownership.ttl_ms / 3000

    @classmethod
    def for_settings(
        cls, client: Client, settings: WorkerSettings, metrics: WorkerMetrics, log: Logger,
        trouble: Trouble,
    ) -> ReplicaLeases | None:  # fmt: skip
        """None when ownership leases are off (`WORKER_OWNERSHIP_TTL_MS=0`)."""
        s = settings
        if not s.ownership_ttl_ms:
            return None
        key = s.keys().leases(s.group)
        own = Ownership(client, key, s.ownership_ttl_ms, replica_info(consumer=s.consumer))
        keys = s.keys()
        parts = PartitionOwner(own, keys, metrics, log) if len(keys.partitions) > 1 else None
        return cls(own, s.consumer, metrics, log, trouble, parts)

    def attach(self, reader: Reader) -> None:
        """Fence the reader by the consumer-name lease and give it its partitions."""
        reader.may_read_for_s = self.may_read_for_s
        if self.partitions is not None:
            reader.partitions = self.partitions.readable

    @property
    def sampler(self) -> bool:
        return self.own.holds(SAMPLER)

    def may_read_for_s(self) -> float:
        """Seconds this replica may go on reading under its consumer name (0: none)."""
        return max(0.0, self.own.deadline(self.consumer_lease) - time.monotonic())

    async def start(self) -> None:
        """Take the consumer name, waiting out a dead predecessor's lease; then try
        for the sampler. Raises `ConsumerNameInUse` if the holder is alive."""
        first: Holder | None = None
        while True:
            others = await self.own.acquire([self.consumer_lease, SAMPLER])
            holder = others.get(self.consumer_lease)
            if holder is None:
                if first is not None:
                    self._log.info("consumer_name_taken_over", previous=first.describe())
                if self.partitions is not None:
                    await self.partitions.step()
                return
            if first is None:
                first = holder
                self._log.warning(
                    "consumer_name_held_waiting", consumer=self._consumer,
                    holder=holder.describe(),
                )  # fmt: skip
            elif holder.token != first.token or holder.renewals != first.renewals:
                raise ConsumerNameInUse(self._consumer, holder)
            await anyio.sleep(self.renew_every_s / 2)

    async def run(self) -> None:
        """Renew everything held; take back what was lost and the sampler if free.
        Never ends on a Redis error: it retries, sooner than the fence."""
        backoff = Backoff(base_s=0.1, cap_s=self.renew_every_s)
        delay = self.renew_every_s
        rounds = 0
        while True:
            await anyio.sleep(delay)
            try:
                lost = await self.own.renew()
                wanted = [n for n in (self.consumer_lease, SAMPLER) if not self.own.holds(n)]
                others = await self.own.acquire(wanted)
                if self.partitions is not None:
                    await self.partitions.step()
            except REDIS_ERRORS as exc:
                self._trouble.report("renew", exc)  # OOM, BUSY, NOPERM...: retried
                delay = backoff.next_delay()
                continue
            backoff.reset()
            delay = self.renew_every_s
            rounds += 1
            if rounds % SWEEP_EVERY == 0:  # names of replicas long gone
                await self._sweep()
            if self.consumer_lease in lost or self.consumer_lease in others:
                holder = others.get(self.consumer_lease)
                self._log.error(
                    "consumer_name_lost", consumer=self._consumer,
                    holder=holder.describe() if holder else None,
                )  # fmt: skip

    async def _sweep(self) -> None:
        try:
            gone = await sweep(self.own.client, self.own.key, older_than_ms=SWEEP_AFTER_MS)
        except REDIS_ERRORS as exc:
            self._trouble.report("cleanup", exc)  # housekeeping; the next round retries
            self._log.warning("leases_sweep_failed", error=f"{type(exc).__name__}: {exc}")
            return
        if gone:
            self._log.info("leases_swept", count=gone)

    async def stop(self) -> None:
        """Hand every lease back at once, so a successor need not wait for expiry."""
        try:
            with anyio.fail_after(2.0):
                if self.partitions is not None:
                    await self.partitions.release()
                await self.own.release()
        except Exception as exc:  # noqa: BLE001 - they expire on their own anyway
            self._log.warning("leases_release_failed", error=f"{type(exc).__name__}: {exc}")
