"""`Producer`: enqueue article IDs from application code (bare install, no CLI needed).

The same path as `streams-producer enqueue`: IDs validated (`urn:article:...`), routed
to their partition by the stable hash, added at most once in the queue by the
enqueue script (`force=True` adds anyway), refusals classified and transient ones
retried for `PRODUCER_RETRY_S`, the `streams_producer_*` metrics counted, standalone
or Redis Cluster as the settings say. Async first; `BlockingProducer` is its twin for
synchronous code (a private event loop in a thread, via anyio's blocking portal).

    async with Producer.from_env() as producer:
        summary = await producer.enqueue(["urn:article:vitamin-d-and-bone-density"])
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any, Self

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from prometheus_client import CollectorRegistry

from producer.enqueue import (
    EnqueueError,
    Enqueuer,
    RedisRefused,
    describe,
    invalid_reason,
    with_retry,
)
from producer.metrics import ProducerMetrics
from producer.settings import ProducerSettings
from streams_worker.core.connection import Client, create_client
from streams_worker.core.settings import load

__all__ = ["BlockingProducer", "EnqueueSummary", "Producer", "connect", "make_enqueuer"]


@dataclass(frozen=True)
class EnqueueSummary:
    """What one `enqueue` call did: counts, and why each rejected ID was refused."""

    enqueued: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: dict[str, str] = field(default_factory=dict)  # rejected ID -> reason
    entry_ids: dict[str, str] = field(default_factory=dict)  # added ID -> entry ID


def make_enqueuer(
    settings: ProducerSettings, client: Client, metrics: ProducerMetrics | None = None
) -> Enqueuer:
    return Enqueuer(
        client,
        settings.keys(),
        metrics=metrics,
        batch_size=settings.batch_size,
        script_batch=settings.script_batch,
        retry_s=settings.retry_s,
    )


async def connect(settings: ProducerSettings) -> Client:
    """A client that has answered PING (transient refusals retried for `retry_s`), so
    an unreachable Redis fails early and clearly, and a refusal names itself."""
    client = create_client(settings)
    where = settings.safe_redis_url()
    try:
        await with_retry(client.ping, f"the connection at {where}", retry_s=settings.retry_s)
    except RedisRefused:
        await client.aclose()
        raise
    except EnqueueError as exc:
        await client.aclose()
        cause = exc.__cause__ or exc
        raise EnqueueError(f"cannot reach Redis at {where}: {describe(cause)}") from exc
    return client


class Producer:
    """Enqueues article IDs; connects on first use, `aclose()` (or `async with`) when done.

    Raises `EnqueueError` when Redis stays unreachable past the retry budget and
    `RedisRefused` on a configuration refusal (NOPERM, WRONGPASS, ...); both are
    `ProducerError`. Re-sending after either is safe: what went in counts as duplicates.
    """

    def __init__(
        self, settings: ProducerSettings, *, registry: CollectorRegistry | None = None
    ) -> None:
        self.settings = settings
        #: The `streams_producer_*` metrics; pass a registry of yours to export them.
        self.metrics = ProducerMetrics(registry or CollectorRegistry(), stream=settings.stream)
        self._client: Client | None = None
        self._enqueuer: Enqueuer | None = None
        self._lock = anyio.Lock()

    @classmethod
    def from_env(cls, *, registry: CollectorRegistry | None = None, **overrides: Any) -> Self:
        """Settings from the environment (`REDIS_URL`, `WORKER_STREAM`, `WORKER_PARTITIONS`,
        `REDIS_CLUSTER`, ...) plus overrides; a bad value raises `ConfigurationError`."""
        return cls(load(ProducerSettings, **overrides), registry=registry)

    async def enqueue(
        self, article_ids: Iterable[str], *, force: bool = False, trace_id: str | None = None
    ) -> EnqueueSummary:
        """Add each valid ID unless it is already waiting or pending (`force`: add anyway)."""
        reasons: dict[str, str] = {}
        valid: list[str] = []
        for raw in article_ids:
            article_id = raw.strip() if isinstance(raw, str) else raw
            reason = invalid_reason(article_id) if isinstance(article_id, str) else "not a string"
            if reason:
                reasons[str(raw)] = reason
                self.metrics.error("invalid_id")
            else:
                valid.append(article_id)
        if not valid:
            return EnqueueSummary(rejected=len(reasons), reasons=reasons)
        enqueuer = await self._connected()
        result = await enqueuer.enqueue(valid, force=force, trace_id=trace_id)
        return EnqueueSummary(
            enqueued=result.enqueued,
            duplicates=result.duplicates,
            rejected=len(reasons),
            reasons=reasons,
            entry_ids=result.entry_ids,
        )

    async def _connected(self) -> Enqueuer:
        async with self._lock:
            if self._enqueuer is None:
                self._client = await connect(self.settings)
                self._enqueuer = make_enqueuer(self.settings, self._client, self.metrics)
            return self._enqueuer

    async def aclose(self) -> None:
        client, self._client, self._enqueuer = self._client, None, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class BlockingProducer:
    """`Producer` for synchronous code (a Flask view, a script, a Celery task).

    Owns a private event loop in a thread; `close()` (or `with`) stops it. Thread-safe:
    calls from several threads are serialised onto that loop.
    """

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self._cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal: BlockingPortal | None = self._cm.__enter__()

    @classmethod
    def from_env(cls, *, registry: CollectorRegistry | None = None, **overrides: Any) -> Self:
        return cls(Producer.from_env(registry=registry, **overrides))

    def enqueue(
        self, article_ids: Iterable[str], *, force: bool = False, trace_id: str | None = None
    ) -> EnqueueSummary:
        if self._portal is None:
            raise RuntimeError("BlockingProducer is closed")
        call = partial(self.producer.enqueue, list(article_ids), force=force, trace_id=trace_id)
        return self._portal.call(call)

    def close(self) -> None:
        if self._portal is None:
            return
        portal, self._portal = self._portal, None
        try:
            portal.call(self.producer.aclose)
        finally:
            self._cm.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
