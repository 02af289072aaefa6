"""The catalog client against the sample catalog over real HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import pytest

from streams_worker.core.errors import PermanentError, RateLimited, RetryableError
from streams_worker.enrichment.catalog import (
    ArticleNotFound,
    CatalogAuthError,
    CatalogClient,
    CatalogRequestError,
)
from streams_worker.enrichment.retry import ServiceUnavailable, UpstreamRateLimited
from streams_worker.enrichment.sample_catalog import SampleCatalog
from tests.support.catalog import client_for, settings_for

URN = "urn:article:vitamin-d-and-bone-density"


@pytest.fixture
def catalog() -> Iterator[SampleCatalog]:
    with SampleCatalog.start(articles=20) as running:
        yield running


async def test_lists_pages_and_gets_articles(catalog: SampleCatalog) -> None:
    async with client_for(catalog) as client:
        page = await client.list_articles(limit=5, offset=5)
        every = [urn async for urn in client.iter_articles(page_size=7)]
        article = await client.get_article(URN)
    assert page == catalog.urns[5:10]
    assert every == catalog.urns
    assert len(every) == 20
    assert article["urn"] == URN
    assert article["title"].startswith("Vitamin D")
    assert catalog.stats()["logins"] == 1  # one token served every call


async def test_token_is_renewed_before_it_expires(catalog: SampleCatalog) -> None:
    catalog.config.token_ttl_s = 0.5
    async with client_for(catalog) as client:
        await client.get_article(URN)
        await anyio.sleep(0.6)  # the behaviour under test is the passing of time
        await client.get_article(URN)
    stats = catalog.stats()
    assert stats["logins"] == 2
    assert "401" not in stats["responses"]  # renewed ahead of expiry, never refused


async def test_token_refused_with_401_is_renewed_once(catalog: SampleCatalog) -> None:
    async with client_for(catalog) as client:
        await client.get_article(URN)
        catalog.store.revoke_tokens()  # the catalog forgets it while we think it valid
        article = await client.get_article(URN)
    assert article["urn"] == URN
    stats = catalog.stats()
    assert stats["logins"] == 2
    assert stats["responses"]["401"] == 1


async def test_expired_token_on_the_server_is_renewed(catalog: SampleCatalog) -> None:
    catalog.config.token_ttl_s = 0.2
    settings = settings_for(catalog)
    async with CatalogClient(settings) as client:
        await client.get_article(URN)
        client._renew_at = time.monotonic() + 3600  # a client clock that trusts the token too long
        await anyio.sleep(0.3)
        await client.get_article(URN)
    stats = catalog.stats()
    assert stats["responses"]["401"] == 1
    assert stats["logins"] == 2


async def test_refused_credentials_are_retryable_and_keep_the_secret_out(
    catalog: SampleCatalog,
) -> None:
    async with client_for(catalog, client_secret="wrong-secret-value") as client:
        with pytest.raises(CatalogAuthError) as info:
            await client.get_article(URN)
    assert isinstance(info.value, RetryableError)
    assert "wrong-secret-value" not in str(info.value)
    assert "invalid client credentials" in str(info.value)


async def test_an_empty_secret_is_refused_with_one_line_naming_the_fix(
    catalog: SampleCatalog,
) -> None:
    async with client_for(catalog, client_secret="") as client:
        with pytest.raises(CatalogAuthError) as info:
            await client.get_article("urn:article:anything")
    assert "KEYCLOAK_CLIENT_SECRET is empty" in str(info.value)
    assert "sample-secret" in str(info.value)


async def test_429_waits_for_retry_after(catalog: SampleCatalog) -> None:
    async with client_for(catalog) as client:
        await client.list_articles(limit=1)
        catalog.store.inject(429, count=2, retry_after_s=0.2)
        started = time.monotonic()
        article = await client.get_article(URN)
        elapsed = time.monotonic() - started
    assert article["urn"] == URN
    assert elapsed >= 0.4  # two Retry-After: 0.2 honoured
    assert catalog.stats()["responses"]["429"] == 2


async def test_5xx_burst_is_survived(catalog: SampleCatalog) -> None:
    catalog.store.inject(503, count=4)
    async with client_for(catalog, max_retries=5) as client:
        article = await client.get_article(URN)
    assert article["urn"] == URN
    assert catalog.stats()["responses"]["503"] == 4


async def test_endless_5xx_is_retryable_not_permanent(catalog: SampleCatalog) -> None:
    catalog.store.inject(502, count=50)
    async with client_for(catalog, max_retries=3) as client:
        with pytest.raises(ServiceUnavailable) as info:
            await client.list_articles()
    assert not isinstance(info.value, PermanentError)
    assert info.value.attempts == 4
    assert "HTTP 502" in str(info.value)


async def test_unreachable_catalog_is_retryable() -> None:
    catalog = SampleCatalog.start(articles=1)
    catalog.stop()  # nothing listens on that port any more
    async with client_for(catalog, max_retries=2) as client:
        with pytest.raises(ServiceUnavailable, match="ConnectError"):
            await client.list_articles()


async def test_rejected_patch_is_permanent_with_the_catalogs_reason(catalog: SampleCatalog) -> None:
    async with client_for(catalog) as client:
        with pytest.raises(CatalogRequestError) as info:
            await client.patch_article(URN, {"keywords": ["a"], "colour": "blue"})
    assert isinstance(info.value, PermanentError)
    assert info.value.status == 422
    assert info.value.title == "RequestValidationError"
    assert "colour: unknown field" in str(info.value)
    assert catalog.write_counts(URN).rejected == 1
    assert catalog.write_counts(URN).patches == 0


async def test_duplicate_tags_are_rejected(catalog: SampleCatalog) -> None:
    async with client_for(catalog) as client:
        with pytest.raises(CatalogRequestError, match="unique case-insensitively"):
            await client.patch_article(URN, {"tags": ["Dairy", "dairy"]})


async def test_missing_article_is_permanent(catalog: SampleCatalog) -> None:
    async with client_for(catalog) as client:
        with pytest.raises(ArticleNotFound) as info:
            await client.get_article("urn:article:no-such-article")
    assert isinstance(info.value, PermanentError)
    assert info.value.status == 404
    assert "no-such-article" in str(info.value)


async def test_enhance_writes_ai_fields(catalog: SampleCatalog) -> None:
    async with client_for(catalog) as client:
        await client.enhance(
            URN, "streams-worker-rules", {"ai_tags": ["x"], "ai_category": "review"}
        )
        article = await client.get_article(URN)
        with pytest.raises(CatalogRequestError, match="agent"):
            await client.enhance(URN, "Not A Slug", {"ai_tags": []})
    assert article["ai_tags"] == ["x"]
    assert article["ai_category"] == "review"
    assert catalog.write_counts(URN).enhances == 1


async def test_in_process_server_variant() -> None:
    catalog = SampleCatalog(articles=3)
    async with catalog.serving() as url, client_for(catalog) as client:
        assert url == catalog.url
        assert await client.list_articles() == catalog.urns


async def test_base_url_may_already_end_in_api_v1(catalog: SampleCatalog) -> None:
    settings = settings_for(catalog, data_api_url=f"{catalog.url}/api/v1/")
    async with CatalogClient(settings) as client:
        assert len(await client.list_articles(limit=3)) == 3


async def test_429_with_a_long_retry_after_pauses_the_group_instead_of_sleeping(
    catalog: SampleCatalog,
) -> None:
    async with client_for(catalog) as client:
        await client.list_articles(limit=1)
        catalog.store.inject(429, count=1, retry_after_s=30)
        started = time.monotonic()
        with pytest.raises(UpstreamRateLimited) as info:
            await client.get_article(URN)
    assert time.monotonic() - started < 5  # raised at once, not slept through
    assert isinstance(info.value, RateLimited)  # the worker pauses the whole group
    assert info.value.retry_after == 30
    assert catalog.stats()["responses"]["429"] == 1
