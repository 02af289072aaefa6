"""A sample data catalog: a real HTTP server over bundled fictitious articles.

with SampleCatalog.start(latency_ms=5, error_rate=0.1) as catalog:
    catalog.url, catalog.stats(), catalog.write_counts(urn), catalog.enriched_once()
"""

from streams_worker.enrichment.sample_catalog.server import SampleCatalog, ServerThread, serving
from streams_worker.enrichment.sample_catalog.store import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    CatalogConfig,
    CatalogStore,
    WriteCounts,
    load_articles,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "CatalogConfig",
    "CatalogStore",
    "SampleCatalog",
    "ServerThread",
    "WriteCounts",
    "load_articles",
    "serving",
]
