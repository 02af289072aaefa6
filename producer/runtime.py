"""Process-level wiring for the CLI: clients opened and closed, errors made one line."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry
from redis.exceptions import RedisError

from producer.enqueue import EnqueueError, Enqueuer, EnqueueResult, describe
from producer.metrics import ProducerMetrics
from producer.settings import ProducerSettings
from streams_worker.connection import Client, create_client


def make_enqueuer(
    settings: ProducerSettings, client: Client, metrics: ProducerMetrics | None = None
) -> Enqueuer:
    return Enqueuer(
        client,
        settings.keys(),
        metrics=metrics,
        batch_size=settings.batch_size,
        script_batch=settings.script_batch,
    )


async def connect(settings: ProducerSettings) -> Client:
    """A client that has answered PING, so an unreachable Redis fails early and clearly."""
    client = create_client(settings)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise EnqueueError(
            f"cannot reach Redis at {settings.safe_redis_url()}: {describe(exc)}"
        ) from exc
    return client


async def run_enqueue(
    settings: ProducerSettings, ids: Iterable[str], force: bool, trace_id: str | None
) -> EnqueueResult:
    client = await connect(settings)
    try:
        metrics = ProducerMetrics(CollectorRegistry(), stream=settings.stream)
        return await make_enqueuer(settings, client, metrics).enqueue(
            ids, force=force, trace_id=trace_id
        )
    finally:
        await client.aclose()
