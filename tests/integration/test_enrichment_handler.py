"""The enrichment handler over the sample catalog, called directly with stream entries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from streams_worker.core.errors import PermanentError
from streams_worker.enrichment.enrichers.base import STUDY_TYPES, Article
from streams_worker.enrichment.enrichers.rules import RulesEnricher
from streams_worker.enrichment.handler import (
    EnrichmentHandler,
    build_handler,
    current_enricher,
    is_enriched,
)
from streams_worker.enrichment.mapping import clean_labels, plan_writes
from streams_worker.enrichment.sample_catalog import (
    DEFAULT_CLIENT_SECRET,
    SampleCatalog,
    WriteCounts,
)
from tests.support.catalog import client_for, entry, fast_policy, settings_for

URN = "urn:article:vitamin-d-and-bone-density"


@pytest.fixture
def catalog() -> Iterator[SampleCatalog]:
    with SampleCatalog.start(articles=60) as running:
        yield running


def handler_for(catalog: SampleCatalog, **overrides: Any) -> EnrichmentHandler:
    handler = build_handler(settings_for(catalog, **overrides))
    handler.catalog._policy = fast_policy()
    return handler


async def run_all(handler: EnrichmentHandler, urns: list[str], concurrency: int = 16) -> None:
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(index: int, urn: str) -> None:
        async with limiter:
            await handler(entry(urn, entry_id=f"{index}-0"))

    async with anyio.create_task_group() as tg:
        for index, urn in enumerate(urns):
            tg.start_soon(one, index, urn)


def assert_mapping(before: dict[str, Any], after: dict[str, Any]) -> None:
    enrichment = RulesEnricher().analyse(before["title"], before.get("abstract"))
    assert after["study_type"] == after["ai_category"] == enrichment.study_type
    assert after["ai_tags"] == clean_labels([*enrichment.keywords, *enrichment.tags], 20)
    assert after["ai_key_takeaways"] == clean_labels(enrichment.key_takeaways, 3, 1000)
    tags = after["tags"]
    assert len({t.casefold() for t in tags}) == len(tags)
    assert {t.casefold() for t in before["tags"] + enrichment.tags} == {t.casefold() for t in tags}
    extras = after["extras"]
    assert extras["enricher"] == "rules"
    assert extras["enricher_version"] == RulesEnricher.version
    assert extras["enriched_at"].endswith("Z")
    source = "abstract" if (before.get("abstract") or "").strip() else "title_only"
    assert extras["enrichment"]["source"] == source


async def test_every_article_enriched_once_with_the_mapping_right(catalog: SampleCatalog) -> None:
    before = {urn: catalog.store.get(urn) for urn in catalog.urns}
    handler = handler_for(catalog)
    try:
        await run_all(handler, catalog.urns)
    finally:
        await handler.aclose()
    assert catalog.enriched_once()
    for urn, original in before.items():
        after = catalog.store.get(urn)
        assert original is not None
        assert after is not None
        assert_mapping(original, after)
        assert is_enriched(after, RulesEnricher())
    categories = {catalog.store.get(u)["ai_category"] for u in catalog.urns}  # type: ignore[index]
    assert categories == set(STUDY_TYPES)  # the sample covers every study type


async def test_second_delivery_writes_nothing(catalog: SampleCatalog) -> None:
    handler = handler_for(catalog)
    try:
        await handler(entry(URN))
        first = catalog.stats()
        await handler(entry(URN, delivery_count=2))
        second = catalog.stats()
    finally:
        await handler.aclose()
    assert catalog.write_counts(URN) == WriteCounts(patches=1, enhances=1, rejected=0)
    assert (second["patches"], second["enhances"]) == (first["patches"], first["enhances"])
    assert second["responses"]["200"] == first["responses"]["200"] + 1  # only the GET


async def test_existing_tags_in_another_case_are_not_duplicated(catalog: SampleCatalog) -> None:
    async with client_for(catalog) as client:
        await client.patch_article(URN, {"tags": ["Vitamin D", "Micronutrients", "Editor's pick"]})
    handler = handler_for(catalog)
    try:
        await handler(entry(URN))
    finally:
        await handler.aclose()
    tags = catalog.store.get(URN)["tags"]  # type: ignore[index]
    assert tags[:3] == ["Vitamin D", "Micronutrients", "Editor's pick"]  # theirs first, as spelt
    assert [t.casefold() for t in tags].count("vitamin d") == 1
    assert catalog.write_counts(URN).rejected == 0


async def test_title_only_article_is_enriched_and_marked(catalog: SampleCatalog) -> None:
    urn = next(u for u in catalog.urns if not (catalog.store.get(u) or {}).get("abstract"))
    handler = handler_for(catalog)
    try:
        await handler(entry(urn))
    finally:
        await handler.aclose()
    article = catalog.store.get(urn)
    assert article is not None
    assert article["extras"]["enrichment"]["source"] == "title_only"
    assert len(article["tags"]) >= 3
    assert article["ai_category"] in STUDY_TYPES


@pytest.mark.parametrize(
    ("article_id", "reason"),
    [
        (None, "no article_id"),
        ("", "not an article URN"),
        ("vitamin-d", "not an article URN"),
        ("urn:article:", "not an article URN"),
        ("urn:article:a/b", "not an article URN"),
    ],
)
async def test_bad_article_id_is_permanent(
    catalog: SampleCatalog, article_id: str | None, reason: str
) -> None:
    handler = handler_for(catalog)
    try:
        with pytest.raises(PermanentError, match=reason):
            await handler(entry(article_id))
    finally:
        await handler.aclose()
    assert catalog.stats()["responses"] == {}  # rejected before any request


async def test_missing_article_is_permanent_and_writes_nothing(catalog: SampleCatalog) -> None:
    handler = handler_for(catalog)
    try:
        with pytest.raises(PermanentError, match="404 Not Found: no article urn:article:gone"):
            await handler(entry("urn:article:gone"))
    finally:
        await handler.aclose()
    assert catalog.stats()["patches"] == 0


async def test_faulty_catalog_is_survived_without_permanent_errors(catalog: SampleCatalog) -> None:
    catalog.config.error_rate = 0.2
    catalog.config.rate_429 = 0.1
    catalog.config.retry_after_s = 0.01
    handler = handler_for(catalog)
    handler.catalog._policy = fast_policy(max_retries=12)
    try:
        await run_all(handler, catalog.urns[:30])
    finally:
        await handler.aclose()
    stats = catalog.stats()
    assert stats["enriched_once"] == 30
    assert stats["duplicates"] == 0
    assert stats["repatched"] == 0
    assert stats["responses"].get("429", 0) > 0
    assert sum(v for k, v in stats["responses"].items() if k.startswith("5")) > 0


async def test_lost_second_write_is_redone_not_skipped(catalog: SampleCatalog) -> None:
    """A crash between PATCH and /enhance: the redelivery must finish the job."""
    enricher = RulesEnricher()
    async with client_for(catalog) as client:
        article = Article.model_validate(await client.get_article(URN))
        plan = plan_writes(article, enricher.analyse(article.title, article.abstract), enricher)
        await client.patch_article(URN, plan.fields)  # ... and the process dies here
        assert not is_enriched(await client.get_article(URN), enricher)
    handler = handler_for(catalog)
    try:
        await handler(entry(URN, delivery_count=2))
    finally:
        await handler.aclose()
    after = catalog.store.get(URN)
    assert after is not None
    assert is_enriched(after, enricher)
    assert catalog.write_counts(URN) == WriteCounts(patches=2, enhances=1, rejected=0)
    assert catalog.stats()["enriched"] == 1
    assert catalog.stats()["duplicates"] == 0  # what the demo reports: one /enhance each


async def test_new_enricher_version_re_enriches_and_replaces_its_own_tags(
    catalog: SampleCatalog,
) -> None:
    handler = handler_for(catalog)
    try:
        await handler(entry(URN))
        old = catalog.store.get(URN)
        assert old is not None
        old_tags = list(old["tags"])
        handler.enricher.version = "2"  # type: ignore[misc]
        await handler(entry(URN))
    finally:
        await handler.aclose()
    new = catalog.store.get(URN)
    assert new is not None
    assert new["extras"]["enricher_version"] == "2"
    assert new["tags"] == old_tags  # same analysis: its own tags replaced, not appended
    assert catalog.write_counts(URN).patches == 2


def test_build_handler_reads_the_environment(
    catalog: SampleCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_API_URL", catalog.url)
    monkeypatch.setenv("KEYCLOAK_CLIENT_SECRET", "sample-secret")
    monkeypatch.setenv("ENRICHER", "rules")
    handler = build_handler()
    assert handler.catalog._base_url == catalog.url
    assert current_enricher(settings_for(catalog)).name == "rules"

    async def go() -> None:
        try:
            await handler(entry(URN))
        finally:
            await handler.aclose()

    anyio.run(go)
    assert catalog.write_counts(URN).enhances == 1


async def test_logs_never_carry_the_secret_or_a_token(catalog: SampleCatalog) -> None:
    handler = handler_for(catalog)
    try:
        with capture_logs() as logs:
            await handler(entry(catalog.urns[0]))
            first_token = handler.catalog._token
            catalog.store.revoke_tokens()  # a 401, a renewal
            catalog.store.inject(429, count=1, retry_after_s=0.01)  # a retry
            await handler(entry(catalog.urns[1]))
    finally:
        await handler.aclose()
    events = [e["event"] for e in logs]
    assert {"catalog_login", "catalog_token_refused", "http_retry", "enriched"} <= set(events)
    text = repr(logs)
    assert DEFAULT_CLIENT_SECRET not in text
    tokens = [first_token, handler.catalog._token]
    assert all(t is not None and t not in text for t in tokens)
