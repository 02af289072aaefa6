"""Enqueue article IDs: validate, route to a partition, add at most once, pipelined.

The check "is this article already waiting or pending?" and the XADD are one
server-side script (`producer/lua/enqueue.lua`) per partition and chunk, so
two producers never both add the same article. Chunks for every partition go out
in one pipeline per batch: one round trip per `batch_size` IDs, not per ID.

Redis refusals are classified by `streams_worker.core.policy`: a transient one (a
connection lost, LOADING, BUSY, READONLY, OOM, ...) re-sends the batch with backoff
for up to `retry_s` (re-sending is safe: the in-queue marks turn what already went
in into counted duplicates); a configuration refusal (NOPERM, WRONGPASS, ...) is
`RedisRefused` at once, which the CLI turns into exit 2.
"""

from __future__ import annotations

import functools
import re
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeVar

import anyio

from producer.metrics import ProducerMetrics
from streams_worker import tracing
from streams_worker.core.connection import Client
from streams_worker.core.defaults import DEFAULT_DEDUP_FIELD as ARTICLE_ID_FIELD
from streams_worker.core.entry import ENQUEUED_AT_FIELD, TRACE_ID_FIELD
from streams_worker.core.keys import Partition, StreamKeys
from streams_worker.core.policy import REDIS_ERRORS, Backoff, Kind, classify, is_refusal

T = TypeVar("T")
#: Kinds worth re-sending as they are (routing and script-cache ones that surface).
RETRIED = frozenset({Kind.TRANSIENT, Kind.ROUTING, Kind.SCRIPT})

#: A catalog URN: `urn:article:` and a slug of letters, digits, `-`, `_`, `.`.
ARTICLE_ID_RE = re.compile(r"urn:article:[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class ProducerError(Exception):
    """Base of the producer's runtime failures; the message is one readable line."""


class EnqueueError(ProducerError):
    """Redis could not be reached, or failed, for longer than the retry budget."""


class RedisRefused(ProducerError):
    """A configuration refusal (NOPERM, WRONGPASS, NOAUTH, ...): retrying cannot fix it."""


async def with_retry(
    fn: Callable[[], Awaitable[T]], what: str, *, retry_s: float,
    on_retry: Callable[[BaseException], None] = lambda exc: None,
) -> T:  # fmt: skip
    """`fn()`, re-run after each transient refusal (capped backoff with jitter) until
    `retry_s` has passed; then `EnqueueError`. A configuration refusal: `RedisRefused`."""
    backoff = Backoff()
    began = time.monotonic()
    while True:
        try:
            return await fn()
        except REDIS_ERRORS as exc:
            kind = classify(exc)
            if kind is None:
                raise
            if is_refusal(exc):
                raise RedisRefused(f"Redis refused {what}: {describe(exc)}") from exc
            on_retry(exc)
            delay = backoff.next_delay()
            if kind not in RETRIED or time.monotonic() - began + delay > retry_s:
                raise EnqueueError(f"Redis error while {what}: {describe(exc)}") from exc
            await anyio.sleep(delay)


@functools.cache
def _enqueue_lua() -> str:
    """The producer's own script, read once per process."""
    return resources.files("producer").joinpath("lua/enqueue.lua").read_text()


def invalid_reason(article_id: str) -> str | None:
    """Why `article_id` is not a catalog URN, or None if it is one."""
    if not article_id:
        return "empty ID"
    if ARTICLE_ID_RE.fullmatch(article_id) is None:
        shown = article_id if len(article_id) <= 80 else article_id[:77] + "..."
        return f"not an article URN (urn:article:<slug>): {shown!r}"
    return None


def partition_index(article_id: str, partitions: int) -> int:
    """The partition an article always lands in: CRC-32 of its UTF-8 bytes mod N.

    Stable across processes, machines and Python versions (unlike `hash()`), so the
    same article always meets its own in-queue mark.
    """
    return zlib.crc32(article_id.encode("utf-8")) % partitions


@dataclass
class EnqueueResult:
    """What one call did. `entry_ids` maps each added article to its entry ID."""

    enqueued: int = 0
    duplicates: int = 0
    entry_ids: dict[str, str] = field(default_factory=dict)

    def merge(self, other: EnqueueResult) -> None:
        self.enqueued += other.enqueued
        self.duplicates += other.duplicates
        self.entry_ids.update(other.entry_ids)


class Enqueuer:
    """Adds validated article IDs to their partitions, at most once in the queue."""

    def __init__(
        self,
        client: Client,
        keys: StreamKeys,
        *,
        metrics: ProducerMetrics | None = None,
        batch_size: int = 2000,
        script_batch: int = 100,
        retry_s: float = 30.0,
    ) -> None:
        self.client = client
        self.keys = keys
        self.metrics = metrics
        self.batch_size = batch_size
        self.script_batch = script_batch
        self.retry_s = retry_s
        # OpenTelemetry only when on (streams_worker/tracing.py): else never imported.
        self._tracer = (
            tracing.EnqueueTracer(keys.stream)
            if tracing.enabled() and tracing.configure("streams-producer")
            else None
        )

    def partition_for(self, article_id: str) -> Partition:
        return self.keys.partitions[partition_index(article_id, len(self.keys.partitions))]

    async def enqueue(
        self, article_ids: Iterable[str], *, force: bool = False, trace_id: str | None = None
    ) -> EnqueueResult:
        """Add every ID (already validated) unless it is waiting or pending.

        Raises `EnqueueError` on a Redis failure that outlasts the retry budget, or
        `RedisRefused` on a configuration refusal; IDs of earlier batches stay added,
        and retrying is safe: the marks turn a repeat into a counted duplicate.
        """
        total = EnqueueResult()
        batch: list[str] = []
        try:
            for article_id in article_ids:
                batch.append(article_id)
                if len(batch) >= self.batch_size:
                    total.merge(await self._send(batch, force, trace_id))
                    batch = []
            if batch:
                total.merge(await self._send(batch, force, trace_id))
        except (EnqueueError, RedisRefused) as exc:
            raise type(exc)(
                f"{exc} ({total.enqueued} added before the failure; running the same "
                "command again without --force adds only what is missing)"
            ) from exc
        return total

    async def _send(self, batch: Sequence[str], force: bool, trace_id: str | None) -> EnqueueResult:
        by_partition: dict[int, list[str]] = {}
        n = len(self.keys.partitions)
        for article_id in batch:
            by_partition.setdefault(partition_index(article_id, n), []).append(article_id)
        common = [ENQUEUED_AT_FIELD, str(int(time.time() * 1000))]
        if trace_id:
            common += [TRACE_ID_FIELD, trace_id]
        if self._tracer is None:
            return await self._send_with(by_partition, force, common)
        with self._tracer.batch(len(batch)) as context:
            for field, value in context.items():  # traceparent, tracestate
                common += [field, value]
            return await self._send_with(by_partition, force, common)

    async def _send_with(
        self, by_partition: dict[int, list[str]], force: bool, common: list[str]
    ) -> EnqueueResult:
        head = ["1" if force else "0", ARTICLE_ID_FIELD, str(len(common) // 2), *common]
        calls: list[list[str]] = []
        evals: list[tuple[Partition, list[Any]]] = []
        for index, ids in by_partition.items():
            part = self.keys.partitions[index]
            for start in range(0, len(ids), self.script_batch):
                chunk = ids[start : start + self.script_batch]
                evals.append((part, [*head, *chunk]))
                calls.append(chunk)

        async def send() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)  # a fresh one per attempt
            for part, args in evals:
                pipe.eval(_enqueue_lua(), 2, part.stream, part.queued, *args)
            return list(await pipe.execute())

        replies = await with_retry(send, "enqueueing", retry_s=self.retry_s,
                                   on_retry=self._count_error)  # fmt: skip
        result = EnqueueResult()
        for chunk, reply in zip(calls, replies, strict=True):
            for article_id, entry_id in zip(chunk, reply, strict=True):
                if entry_id == 0:
                    result.duplicates += 1
                else:
                    result.enqueued += 1
                    eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                    result.entry_ids[article_id] = eid
        if self.metrics:
            self.metrics.enqueued.inc(result.enqueued)
            self.metrics.duplicates.inc(result.duplicates)
        return result

    def _count_error(self, exc: BaseException) -> None:
        if self.metrics:
            self.metrics.error("redis")


def describe(exc: BaseException) -> str:
    """One line for an exception, without a traceback (and without credentials)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
