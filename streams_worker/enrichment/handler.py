"""The enrichment handler: one stream entry in, one article enriched in the catalog.

`build_handler()` is the default `WORKER_HANDLER`. Per entry: validate the article
URN, fetch the article, skip it if already enriched by the current enricher
version, enrich, then write back (plain fields first, then `/enhance`). Delivered
twice, the second delivery finds the article done and writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from streams_worker.core.defaults import DEFAULT_DEDUP_FIELD as ARTICLE_ID_FIELD
from streams_worker.core.entry import StreamEntry
from streams_worker.core.errors import PermanentError
from streams_worker.core.logs import get_logger
from streams_worker.enrichment.catalog import CatalogClient
from streams_worker.enrichment.enrichers.base import Article, Enricher
from streams_worker.enrichment.enrichers.rules import RulesEnricher
from streams_worker.enrichment.mapping import is_enriched, parse_article_id, plan_writes
from streams_worker.enrichment.settings import EnrichmentSettings, load_enrichment_settings

__all__ = ["EnrichmentHandler", "build_handler", "current_enricher", "is_enriched"]


def current_enricher(settings: EnrichmentSettings) -> Enricher:
    """The enricher `ENRICHER` selects (its name and version mark enriched articles)."""
    if settings.enricher == "openai":
        from streams_worker.enrichment.enrichers.openai import OpenAIEnricher

        return OpenAIEnricher.from_settings(settings)
    return RulesEnricher()


def parse_article(urn: str, data: Mapping[str, Any]) -> Article:
    """The catalog's article, read tolerantly (see `Article`); only an article enrichment
    cannot use at all is a `PermanentError`, and its message names the field."""
    served = data.get("urn")
    if served is not None and served != urn:
        raise PermanentError(f"article {urn} is unusable: urn: the catalog answered {served!r}")
    try:
        article = Article.model_validate({**data, "urn": urn})
    except ValidationError as exc:  # only `urn` can fail; kept so a future field cannot crash
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PermanentError(f"article {urn} is malformed: {where}: {first['msg']}") from None
    if not article.has_title and not article.has_abstract:
        raise PermanentError(f"article {urn} is unusable: title, abstract: both missing or empty")
    return article


class EnrichmentHandler:
    """An async callable handler holding one catalog client and one enricher."""

    def __init__(self, catalog: CatalogClient, enricher: Enricher) -> None:
        self.catalog = catalog
        self.enricher = enricher
        self._log = get_logger(component="enrichment", enricher=enricher.name)
        self.enriched = 0
        self.skipped = 0  # found already enriched: no catalog write

    async def __call__(self, entry: StreamEntry) -> None:
        urn = parse_article_id(entry.fields.get(ARTICLE_ID_FIELD))
        article = parse_article(urn, await self.catalog.get_article(urn))
        if is_enriched(article, self.enricher):
            self._log.debug("already_enriched", entry_id=entry.id, article_id=urn)
            self.skipped += 1
            return
        started = time.monotonic()
        enrichment = await self.enricher.enrich(article)
        plan = plan_writes(article, enrichment, self.enricher)
        await self.catalog.patch_article(urn, plan.fields)
        await self.catalog.enhance(urn, plan.agent, plan.ai)
        self.enriched += 1
        self._log.debug(
            "enriched",
            entry_id=entry.id,
            article_id=urn,
            delivery_count=entry.delivery_count,
            study_type=enrichment.study_type,
            seconds=round(time.monotonic() - started, 4),
        )

    def status(self) -> dict[str, Any]:
        """Counts for the worker's /status (the earlier worker's `skipped` among them)."""
        return {"enriched": self.enriched, "skipped": self.skipped, "enricher": self.enricher.name}

    async def aclose(self) -> None:
        """Close the catalog's connection pool and the enricher's clients."""
        try:
            await self.enricher.aclose()
        finally:
            await self.catalog.aclose()


def build_handler(settings: EnrichmentSettings | None = None) -> EnrichmentHandler:
    """The default `WORKER_HANDLER` factory; reads `EnrichmentSettings` unless given."""
    settings = settings or load_enrichment_settings()
    return EnrichmentHandler(CatalogClient(settings), current_enricher(settings))
