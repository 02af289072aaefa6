"""The enrichment client against the catalog's contract, separately from the sample server.

Recorded real-shaped article payloads (tests/fixtures/catalog/, one per awkward case)
and every shape each field has been served in go through the real handler against
`StrictCatalog`, which validates the bodies with the catalog's rules
(`sample_catalog.contract`). Issue 18: one field served as an ISO date sent a whole
catalog to dead letters; these tests fail on the next such mismatch.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from streams_worker import PermanentError
from streams_worker.enrichment.enrichers.rules import RulesEnricher
from streams_worker.enrichment.handler import EnrichmentHandler, is_enriched
from streams_worker.enrichment.sample_catalog.contract import ArticlePatch, EnhanceBody
from tests.support.catalog import entry
from tests.support.strict_catalog import StrictCatalog

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
CASES = sorted(p.stem for p in FIXTURES.glob("*.json"))
BASE: dict[str, Any] = json.loads((FIXTURES / "production_article.json").read_text("utf-8"))
MISSING = object()


async def enrich(article: dict[str, Any], deliveries: int = 1) -> StrictCatalog:
    """Deliver the article's entry `deliveries` times; the catalog as left afterwards."""
    catalog = StrictCatalog.serving(article)
    handler = EnrichmentHandler(catalog.client(), RulesEnricher())
    try:
        for n in range(deliveries):
            await handler(entry(article["urn"], delivery_count=n + 1))
    finally:
        await handler.aclose()
    return catalog


def assert_enriched_within_the_contract(catalog: StrictCatalog, urn: str) -> None:
    assert catalog.rejected == []
    assert len(catalog.patches) == len(catalog.enhances) == 1
    for body in catalog.patches:
        ArticlePatch.model_validate(body)
    for body in catalog.enhances:
        EnhanceBody.model_validate(body)
    after = catalog.articles[urn]
    assert is_enriched(after, RulesEnricher())
    assert after["enhancements"][-1]["agent"] == catalog.enhances[0]["agent"]


def test_there_is_a_fixture_per_awkward_case() -> None:
    assert {
        "production_article", "null_abstract", "missing_abstract", "long_abstract",
        "thousand_authors", "non_ascii", "case_variant_labels", "newer_fields",
        "author_objects", "earlier_enhancement", "title_only", "keywords_near_limit",
    } <= set(CASES)  # fmt: skip


@pytest.mark.parametrize("case", CASES)
async def test_recorded_article_is_enriched_within_the_contract(case: str) -> None:
    article = json.loads((FIXTURES / f"{case}.json").read_text("utf-8"))
    catalog = await enrich(article, deliveries=2)  # the second delivery writes nothing
    assert_enriched_within_the_contract(catalog, article["urn"])
    after = catalog.articles[article["urn"]]
    # What the client does not own survives: unknown fields, and every existing label.
    for key in article.keys() - {"keywords", "tags", "study_type", "extras", "updated_at"}:
        if not key.startswith("ai_") and key != "enhancements":
            assert after[key] == article[key], key
    kept = {k.casefold() for k in after["keywords"]}
    assert {k.casefold() for k in article["keywords"]} <= kept
    assert {t.casefold() for t in article["tags"]} <= {t.casefold() for t in after["tags"]}


SHAPES: list[tuple[str, Any]] = [
    ("publication_year", 2019),
    ("publication_year", "2019"),
    ("publication_year", "2019-01-01"),
    ("publication_year", "2019-01-01T00:00:00Z"),
    ("publication_year", None),
    ("publication_year", MISSING),
    ("authors", ["Ada Lovelace", "Émile Zola"]),
    ("authors", [{"name": "Ada Lovelace"}, {"name": "Émile Zola", "orcid": None}]),
    ("authors", []),
    ("authors", None),
    ("abstract", None),
    ("abstract", MISSING),
    ("abstract", "A short one."),
    ("abstract", "Long. " * 2500),
    ("keywords", None),
    ("tags", []),
    ("extras", None),
    ("ai_tags", None),
    ("ai_key_takeaways", None),
    ("enhancements", None),
    ("ai_indexing_tier", "gold"),
    ("reader_visibility", {"level": 3, "groups": ["a"]}),
]


@pytest.mark.parametrize(("field", "value"), SHAPES, ids=[f"{f}={v!r}"[:50] for f, v in SHAPES])
async def test_every_shape_a_field_was_served_in_is_enriched(field: str, value: Any) -> None:
    article = copy.deepcopy(BASE)
    if value is MISSING:
        article.pop(field, None)
    else:
        article[field] = value
    catalog = await enrich(article)
    assert_enriched_within_the_contract(catalog, article["urn"])


async def test_an_article_without_title_and_abstract_is_permanent_naming_them() -> None:
    article = {**BASE, "title": None, "abstract": None}
    with pytest.raises(PermanentError, match="title, abstract"):
        await enrich(article)


async def test_a_urn_mismatch_is_permanent_naming_the_field() -> None:
    catalog = StrictCatalog({BASE["urn"]: {**BASE, "urn": "urn:article:another"}})
    handler = EnrichmentHandler(catalog.client(), RulesEnricher())
    try:
        with pytest.raises(PermanentError, match="urn: the catalog answered"):
            await handler(entry(BASE["urn"]))
    finally:
        await handler.aclose()
    assert catalog.patches == catalog.enhances == []
