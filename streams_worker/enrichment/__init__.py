"""The article-enrichment application: catalog client, enrichers, handler, sample catalog.

Public API (the sample catalog lives in `streams_worker.enrichment.sample_catalog`):

    build_handler(settings=None) -> EnrichmentHandler   the default WORKER_HANDLER
    current_enricher(settings) -> Enricher               what ENRICHER selects
    is_enriched(article, enricher) -> bool               done with this name+version?
    CatalogClient(settings)                              list/iter/get/patch/enhance
    EnrichmentSettings, load_enrichment_settings()       DATA_API_URL, KEYCLOAK_*, ...
"""

from streams_worker.enrichment.catalog import (
    ArticleNotFound,
    CatalogAuthError,
    CatalogClient,
    CatalogProtocolError,
    CatalogRequestError,
)
from streams_worker.enrichment.enrichers import (
    STUDY_TYPES,
    Article,
    Enricher,
    Enrichment,
    RulesEnricher,
)
from streams_worker.enrichment.handler import (
    EnrichmentHandler,
    build_handler,
    current_enricher,
    is_enriched,
)
from streams_worker.enrichment.retry import RetryPolicy, ServiceUnavailable
from streams_worker.enrichment.settings import EnrichmentSettings, load_enrichment_settings

__all__ = [
    "STUDY_TYPES",
    "Article",
    "ArticleNotFound",
    "CatalogAuthError",
    "CatalogClient",
    "CatalogProtocolError",
    "CatalogRequestError",
    "Enricher",
    "Enrichment",
    "EnrichmentHandler",
    "EnrichmentSettings",
    "RetryPolicy",
    "RulesEnricher",
    "ServiceUnavailable",
    "build_handler",
    "current_enricher",
    "is_enriched",
    "load_enrichment_settings",
]
