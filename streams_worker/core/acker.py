"""Batched, ownership-checked acknowledgements.

Handlers hand finished entries to `Acker.add`; one task flushes whatever has
accumulated in a single script call per stream, so under load acks batch by
themselves and at rest each ack goes out at once. With one partition outside a
cluster, the read loop carries the fresh acks of a batch with its next read (one
round trip for both, like the pipelined ceiling in bench/); the acker sends what it
has not taken within CARRY_WAIT_S. A failed flush or carry keeps the acks and
retries: nothing finished is forgotten, and XACK is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import anyio.lowlevel

from streams_worker.core.connection import Client
from streams_worker.core.inflight import Delivery, Tracker
from streams_worker.core.keys import Partition
from streams_worker.core.logs import Logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.policy import REDIS_ERRORS, Backoff, Kind, Trouble
from streams_worker.core.streams import RawEntry, ScriptResult, Streams

MAX_PER_CALL = 512
#: How long fresh acks wait for the read loop to carry them before the acker sends them.
CARRY_WAIT_S = 0.002


class Acker:
    def __init__(
        self, streams: Streams, tracker: Tracker, metrics: WorkerMetrics, log: Logger,
        trouble: Trouble,
    ) -> None:  # fmt: skip
        self._streams = streams
        self._trouble = trouble
        self._tracker = tracker
        self._metrics = metrics
        self._log = log
        #: Keyed by (stream, fresh): a str key hashes once, a Partition on every add.
        self._queue: dict[tuple[str, bool], list[tuple[Delivery, str]]] = {}
        self._partitions: dict[str, Partition] = {}
        self._wake = anyio.Event()
        self._backoff = Backoff()
        self._flushing = 0
        self.acked = 0
        #: Set by the read loop while its next read will carry fresh acks (it is not
        #: blocked in a read): the acker then leaves them to it, for CARRY_WAIT_S at most.
        self.carrier_waiting = False

    def add(self, delivery: Delivery, mark: str | None, *, fresh: bool = False) -> None:
        """Queue an ack; `mark` is the entry's in-queue mark to clear (its dedup field's
        value), if any. `fresh`: delivered or renewed too recently to have been claimed
        by anyone else, so the cheaper ack without an ownership check is safe."""
        key = (delivery.partition.stream, fresh)
        queue = self._queue.get(key)
        if queue is None:
            queue = self._queue[key] = []
            self._partitions[delivery.partition.stream] = delivery.partition
        queue.append((delivery, mark or ""))
        if not self._wake.is_set():
            self._wake.set()

    # -- acks carried by the read loop (outside a cluster, one partition) ---------
    async def carry(self, client: Client, p: Partition, count: int) -> list[RawEntry] | None:
        """Send the queued fresh acks of `p` with the read loop's next read of `p`
        (`Streams.ack_and_read`, no BLOCK: acks must not wait for new entries); None if
        there were none. Acks whose fate is unknown go back to the queue, as any failed
        ack does."""
        self.carrier_waiting = True
        items = self._queue.pop((p.stream, True), None)
        if not items:
            return None
        if len(items) > MAX_PER_CALL:
            self._queue[(p.stream, True)] = items[MAX_PER_CALL:]
            items = items[:MAX_PER_CALL]
        acked: int | BaseException = ConnectionError("the read carrying the acks failed")
        try:
            pairs = [(d.entry_id, mark) for d, mark in items]
            acked, raw = await self._streams.ack_and_read(client, p.stream, p.queued, pairs, count)
            return raw
        finally:
            if isinstance(acked, BaseException):
                self._requeue(p.stream, items)
                self._wake.set()
            else:
                self._settled(p.stream, items, ScriptResult(acked, []))

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The read loop is blocked in a read: acks go out at once, not with it."""
        self.carrier_waiting = False
        try:
            yield
        finally:
            self.carrier_waiting = True

    def __len__(self) -> int:
        return sum(len(v) for v in self._queue.values())

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            # Let handlers that finish in this same turn of the loop add theirs first.
            await anyio.lowlevel.checkpoint()
            self._wake = anyio.Event()
            if self.carrier_waiting and all(fresh for _, fresh in self._queue):
                # The read loop is about to read: it carries these with that read. Flush
                # whatever it has not taken by then (a stalled read, a long wait).
                await anyio.sleep(CARRY_WAIT_S)
            await self.flush_once()

    async def drain(self, within_s: float) -> None:
        """Shutdown: flush what is queued and wait out a flush already under way, for at
        most `within_s` seconds. (A flush swaps the queue out first, so an empty queue
        alone does not mean every ack has reached Redis.)"""
        with anyio.move_on_after(within_s):
            while len(self) or self._flushing:
                if self._flushing:
                    await anyio.sleep(0.005)
                else:
                    await self.flush_once()

    async def flush_once(self) -> None:
        self._flushing += 1
        try:
            await self._flush()
        finally:
            self._flushing -= 1

    async def _flush(self) -> None:
        batch, self._queue = self._queue, {}
        failed = False
        for (stream, fresh), items in batch.items():
            for i in range(0, len(items), MAX_PER_CALL):
                chunk = items[i : i + MAX_PER_CALL]
                if not await self._ack(self._partitions[stream], chunk, fresh):
                    self._requeue(stream, chunk)
                    failed = True
        if failed:
            await self._backoff.sleep()
        else:
            self._backoff.reset()
        if len(self):  # failed, or new acks arrived while this flush was in flight
            self._wake.set()

    async def _ack(
        self, partition: Partition, chunk: list[tuple[Delivery, str]], fresh: bool
    ) -> bool:
        stream = partition.stream
        items = [(d.entry_id, mark) for d, mark in chunk]
        try:
            if fresh:
                res = ScriptResult(
                    await self._streams.ack_fresh(stream, partition.queued, items), []
                )
            else:
                res = await self._streams.ack(stream, partition.queued, items)
        except REDIS_ERRORS as exc:
            # Every refusal keeps the acks queued for the next flush (BUSY, OOM never
            # apply to XACK but may to the script, READONLY, NOPERM until fixed...).
            if self._trouble.report("ack", exc) is not Kind.MISSING_GROUP:
                return False
            # The group vanished (Redis restarted empty, key deleted): these entries
            # are gone with it and cannot be acked; the read loop recreates the group.
            self._metrics.skipped.inc(len(chunk))
            self._log.warning("ack_dropped_group_missing", stream=stream, entries=len(chunk))
            self._tracker.release_all(d for d, _ in chunk)
            return True
        self._settled(stream, chunk, res)
        return True

    def _requeue(self, stream: str, items: list[tuple[Delivery, str]]) -> None:
        # Retried first, in order; a retried ack is no longer "fresh" (ownership-checked).
        self._queue.setdefault((stream, False), [])[:0] = items

    def _settled(self, stream: str, chunk: list[tuple[Delivery, str]], res: ScriptResult) -> None:
        self._metrics.acked.inc(res.count)
        self.acked += res.count
        if res.lost:
            self._metrics.lease_lost_c.inc(len(res.lost))
            self._log.warning(
                "ack_lease_lost", stream=stream, entry_ids=res.lost[:20], count=len(res.lost)
            )
        self._tracker.release_all(d for d, _ in chunk)
