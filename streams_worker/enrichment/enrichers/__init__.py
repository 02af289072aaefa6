"""Enrichers: the `Enricher` interface and its implementations (rules, openai)."""

from streams_worker.enrichment.enrichers.base import STUDY_TYPES, Article, Enricher, Enrichment
from streams_worker.enrichment.enrichers.rules import RulesEnricher

__all__ = ["STUDY_TYPES", "Article", "Enricher", "Enrichment", "RulesEnricher"]
