"""Helpers for the enrichment tests: settings and a fast retry policy for the sample catalog."""

from __future__ import annotations

import random
from typing import Any

from streams_worker.core.entry import StreamEntry
from streams_worker.enrichment.catalog import CatalogClient
from streams_worker.enrichment.retry import RetryPolicy
from streams_worker.enrichment.sample_catalog import DEFAULT_CLIENT_SECRET, SampleCatalog
from streams_worker.enrichment.settings import EnrichmentSettings


def settings_for(catalog: SampleCatalog, **overrides: Any) -> EnrichmentSettings:
    values: dict[str, Any] = {
        "data_api_url": catalog.url,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "catalog_timeout_s": 5.0,
        "catalog_backoff_max_s": 0.05,
        **overrides,
    }
    return EnrichmentSettings(**values)


def fast_policy(max_retries: int = 5) -> RetryPolicy:
    """Real backoff, tiny delays: retries stay visible without slowing the suite."""
    return RetryPolicy(
        max_retries=max_retries, base_delay_s=0.005, max_delay_s=2.0, rng=random.Random(1)
    )


def client_for(catalog: SampleCatalog, *, max_retries: int = 5, **overrides: Any) -> CatalogClient:
    return CatalogClient(settings_for(catalog, **overrides), policy=fast_policy(max_retries))


def entry(article_id: str | None, *, delivery_count: int = 1, entry_id: str = "1-0") -> StreamEntry:
    fields = {} if article_id is None else {"article_id": article_id}
    return StreamEntry(id=entry_id, stream="articles", fields=fields, delivery_count=delivery_count)
