"""The enrichment handler inside a real `Worker` over a Redis stream and the sample catalog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from redis.asyncio import Redis

from streams_worker import Worker, WorkerSettings
from streams_worker.core.handlers import load_handler
from streams_worker.enrichment.sample_catalog import DEFAULT_CLIENT_SECRET, SampleCatalog
from tests.support.names import Names


@pytest.fixture
def catalog() -> Iterator[SampleCatalog]:
    with SampleCatalog.start(articles=80, error_rate=0.05, rate_429=0.05, retry_after_s=0.01) as c:
        yield c


async def test_worker_enriches_every_article_once_and_dead_letters_the_hopeless(
    catalog: SampleCatalog, redis_url: str, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker builds the default handler from the environment, as in production.
    monkeypatch.setenv("DATA_API_URL", catalog.url)
    monkeypatch.setenv("KEYCLOAK_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    monkeypatch.setenv("CATALOG_BACKOFF_MAX_S", "0.05")
    handler = load_handler(WorkerSettings.model_fields["handler"].default)
    settings = WorkerSettings(
        **names.settings(redis_url=redis_url, burst=True, block_ms=100, concurrency=16, http_port=0)
    )
    r = Redis.from_url(redis_url)
    try:
        pipe = r.pipeline(transaction=False)
        for urn in [*catalog.urns, "urn:article:does-not-exist", "not-a-urn"]:
            pipe.xadd(names.stream, {"article_id": urn})
        pipe.xadd(names.stream, {"article_id": b"\xff"})  # not UTF-8: malformed
        await pipe.execute()
        worker = Worker(settings, handler)
        with anyio.fail_after(60):
            await worker.serve()  # burst: returns when drained
        dead: list[Any] = await r.xrange(settings.keys().partitions[0].dead_letter)
        pending = await r.xpending(names.stream, names.group)
    finally:
        await r.aclose()
    stats = catalog.stats()
    assert catalog.enriched_once(), stats
    assert stats["duplicates"] == 0
    assert stats["repatched"] == 0
    assert pending["pending"] == 0
    reasons = sorted(
        (f[b"payload.article_id"].decode(), f[b"reason"].decode(), f[b"error"].decode())
        for _, f in dead
        if f[b"reason"] != b"malformed"
    )
    assert [(a, why) for a, why, _ in reasons] == [
        ("not-a-urn", "permanent_error"),
        ("urn:article:does-not-exist", "permanent_error"),
    ]
    assert "404 Not Found" in reasons[1][2]
    # The canary metric: dead letters by reason and error class.
    labels = {"stream": names.stream, "group": names.group}
    by_class = {
        (reason, error): worker.registry.get_sample_value(
            "streams_worker_dead_letters_total", {**labels, "reason": reason, "error": error}
        )
        for reason, error in [
            ("permanent_error", "PermanentError"),
            ("permanent_error", "ArticleNotFound"),
            ("malformed", "MalformedEntryError"),
        ]
    }
    assert by_class == {k: 1.0 for k in by_class}


async def test_status_counts_articles_found_already_enriched(
    redis_url: str, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`enabled` and `skipped` in /status, as scripts written against the earlier worker read."""
    with SampleCatalog.start(articles=5) as small:
        monkeypatch.setenv("DATA_API_URL", small.url)
        monkeypatch.setenv("KEYCLOAK_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        handler = load_handler(WorkerSettings.model_fields["handler"].default)
        settings = WorkerSettings(
            **names.settings(redis_url=redis_url, burst=True, block_ms=100, concurrency=1)
        )
        r = Redis.from_url(redis_url)
        try:
            for urn in [*small.urns, *small.urns]:  # the second five find their work done
                await r.xadd(names.stream, {"article_id": urn})
            worker = Worker(settings, handler)
            with anyio.fail_after(30):
                await worker.serve()
        finally:
            await r.aclose()
        assert small.enriched_once()
    status = worker.status()
    assert (status["enabled"], status["enriched"], status["skipped"]) == (True, 5, 5)
    assert status["processed"] == 10
