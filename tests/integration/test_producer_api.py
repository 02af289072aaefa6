"""`from producer import Producer`: the library API applications enqueue with."""

from __future__ import annotations

from collections import Counter

import anyio
import httpx
import pytest
from redis.asyncio import Redis

from examples.enqueue_app import create_app
from producer import BlockingProducer, EnqueueError, Producer
from producer.enqueue import partition_index
from streams_worker.core.keys import StreamKeys
from streams_worker.dev.embedded import free_port
from tests.support.names import Names

A, B, C = (f"urn:article:api-{x}" for x in "abc")


async def _stream_ids(redis_url: str, stream: str, partitions: int) -> Counter[str]:
    seen: Counter[str] = Counter()
    async with Redis.from_url(redis_url, decode_responses=True) as r:
        for index, part in enumerate(
            StreamKeys.for_stream(stream, partitions=partitions).partitions
        ):
            for _, fields in await r.xrange(part.stream):
                seen[fields["article_id"]] += 1
                assert partition_index(fields["article_id"], partitions) == index
    return seen


async def test_enqueue_validates_routes_and_deduplicates(redis_url: str, names: Names) -> None:
    async with Producer.from_env(redis_url=redis_url, stream=names.stream, partitions=3) as p:
        first = await p.enqueue([A, B, "not a urn", A, f" {C} "])
        again = await p.enqueue([A, B])
        forced = await p.enqueue([A], force=True)
        metrics = p.metrics.registry
    assert (first.enqueued, first.duplicates, first.rejected) == (3, 1, 1)
    assert first.reasons.keys() == {"not a urn"}
    assert set(first.entry_ids) == {A, B, C}
    assert (again.enqueued, again.duplicates) == (0, 2)
    assert (forced.enqueued, forced.duplicates) == (1, 0)
    assert await _stream_ids(redis_url, names.stream, 3) == Counter({A: 2, B: 1, C: 1})
    labels = {"stream": names.stream}
    assert metrics.get_sample_value("streams_producer_enqueued_total", labels) == 4
    assert metrics.get_sample_value("streams_producer_duplicates_skipped_total", labels) == 3
    errors = {**labels, "reason": "invalid_id"}
    assert metrics.get_sample_value("streams_producer_errors_total", errors) == 1


def test_the_blocking_twin_for_synchronous_code(redis_url: str, names: Names) -> None:
    with BlockingProducer.from_env(redis_url=redis_url, stream=names.stream) as p:
        summary = p.enqueue([A, B])
        assert p.enqueue([B]).duplicates == 1
    assert (summary.enqueued, summary.rejected) == (2, 0)
    assert anyio.run(_stream_ids, redis_url, names.stream, 1) == Counter({A: 1, B: 1})
    with pytest.raises(RuntimeError, match="closed"):
        p.enqueue([C])


async def test_an_unreachable_redis_is_an_enqueue_error(names: Names) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    async with Producer.from_env(redis_url=url, stream=names.stream, retry_s=0.3) as p:
        with pytest.raises(EnqueueError, match="cannot reach Redis"):
            await p.enqueue([A])
        assert (await p.enqueue(["bad"])).rejected == 1  # validation needs no connection


async def test_the_example_app_enqueues_on_a_catalog_event(redis_url: str, names: Names) -> None:
    producer = Producer.from_env(redis_url=redis_url, stream=names.stream)
    app = create_app(producer)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://app") as client,
    ):
        created = await client.post("/catalog/events", json={"event": "article.created", "urn": A})
        other = await client.post("/catalog/events", json={"event": "article.deleted", "urn": B})
        bad = await client.post("/catalog/events", json={"event": "article.created", "urn": "x"})
        only = await client.post("/articles/enqueue", json={"ids": [A, C]})
    assert created.status_code == 202
    assert created.json() == {"enqueued": 1, "duplicates": 0, "rejected": 0, "reasons": {}}
    assert other.json() == {"ignored": True}
    assert bad.status_code == 422
    assert bad.json()["rejected"] == 1
    assert only.json()["enqueued"] == 1
    assert only.json()["duplicates"] == 1
    assert await _stream_ids(redis_url, names.stream, 1) == Counter({A: 1, C: 1})
