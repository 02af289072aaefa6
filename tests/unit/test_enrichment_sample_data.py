"""The bundled sample articles: regenerable, varied, and what the catalog serves."""

from __future__ import annotations

import json
from importlib import resources

from streams_worker.enrichment.enrichers.base import STUDY_TYPES
from streams_worker.enrichment.sample_catalog import load_articles
from streams_worker.enrichment.sample_catalog.contract import MAX_ABSTRACT_CHARS, ServedArticle
from streams_worker.enrichment.sample_catalog.generate import generate


def bundled() -> dict[str, object]:
    text = (
        resources.files("streams_worker.enrichment.sample_catalog")
        .joinpath("articles.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, object] = json.loads(text)
    return data


def test_committed_file_is_what_the_generator_writes() -> None:
    assert bundled() == json.loads(json.dumps(generate()))


def test_sample_is_varied() -> None:
    articles, truth = load_articles()
    assert len(articles) >= 200
    assert {t["study_type"] for t in truth.values()} == set(STUDY_TYPES)
    assert len({a["urn"] for a in articles}) == len({a["title"] for a in articles}) == len(articles)
    assert all(a["urn"].startswith("urn:article:") for a in articles)
    assert articles[0]["urn"] == "urn:article:vitamin-d-and-bone-density"
    assert sum(1 for a in articles if not a.get("abstract")) >= 10
    assert len({t["population"] for t in truth.values()} - {None}) >= 10
    assert len({a["venue"] for a in articles}) >= 10
    assert len({a.get("publication_year") for a in articles}) >= 20
    assert any(not a["title"].isascii() for a in articles)
    assert any(not "".join(a["authors"]).isascii() for a in articles)


def test_more_articles_than_bundled_are_generated() -> None:
    articles, _ = load_articles(600)
    assert len(articles) == 600 == len({a["urn"] for a in articles})
    assert load_articles(5)[0] == load_articles()[0][:5]


def test_every_article_has_the_production_shape() -> None:
    for article in load_articles()[0]:
        ServedArticle.model_validate(article)
    years = {a["publication_year"] for a in load_articles()[0] if "publication_year" in a}
    assert all(isinstance(y, str) and y.endswith("-01-01") for y in years)


def test_sample_has_the_awkward_cases() -> None:
    articles, _ = load_articles()
    assert any("abstract" not in a for a in articles)
    assert any("abstract" in a and a["abstract"] is None for a in articles)
    assert max(len(a.get("abstract") or "") for a in articles) == MAX_ABSTRACT_CHARS
    assert max(len(a["authors"]) for a in articles) == 1000
    assert max(len(a["keywords"]) for a in articles) == 240
    assert any(len({k.casefold() for k in a["keywords"]}) < len(a["keywords"]) for a in articles)
    assert any(not "".join(a["keywords"]).isascii() for a in articles)
    newer = [a for a in articles if "reader_visibility" in a]
    assert {type(a["indexing_tier"]) for a in newer} == {int, str}
    assert any(a["enhancements"] for a in articles)
    assert any("publication_year" not in a for a in articles)
