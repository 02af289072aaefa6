"""The tolerant reader: every shape the catalog has used is read, nothing unneeded fails."""

from __future__ import annotations

from typing import Any

import pytest

from streams_worker import PermanentError
from streams_worker.enrichment.handler import parse_article

URN = "urn:article:x"
BASE: dict[str, Any] = {"urn": URN, "title": "Kefir and gut health", "abstract": "Some text."}


@pytest.mark.parametrize(
    ("served", "year"),
    [
        (2019, 2019),
        ("2019", 2019),
        ("2019-01-01", 2019),
        ("2019-01-01T00:00:00Z", 2019),
        ("2019-01-01T00:00:00.000+02:00", 2019),
        (" 2019-01-01 ", 2019),
        (None, None),
        ("", None),
        ("sometime", None),
        (True, None),
        (2019.5, None),
        ({"year": 2019}, None),
    ],
)
def test_publication_year_in_every_shape(served: Any, year: int | None) -> None:
    assert parse_article(URN, {**BASE, "publication_year": served}).publication_year == year


def test_publication_year_missing_is_none() -> None:
    assert parse_article(URN, BASE).publication_year is None


def test_authors_as_strings_or_objects_with_a_name() -> None:
    served = ["Ada Lovelace", {"name": "Émile Zola", "orcid": "0000"}, {"given": "X"}, 7, None]
    assert parse_article(URN, {**BASE, "authors": served}).authors == ["Ada Lovelace", "Émile Zola"]


@pytest.mark.parametrize(
    "odd",
    [
        {"venue": 12, "doi": ["10.1/x"], "language": {"code": "en"}},
        {"keywords": "not a list", "tags": [1, "Dairy", None], "ai_tags": {"a": 1}},
        {"extras": "[]", "enhancements": {"agent": "x"}, "ai_category": 3},
        {"reader_visibility": ["public"], "indexing_tier": 2, "ai_indexing_tier": {"t": 1}},
        {"status": None, "content": 42, "artifacts": "none", "created_at": 1_700_000_000},
    ],
)
def test_unneeded_fields_of_any_type_never_fail(odd: dict[str, Any]) -> None:
    article = parse_article(URN, {**BASE, **odd})
    assert article.title == BASE["title"]
    assert isinstance(article.keywords, list)
    assert isinstance(article.tags, list)
    assert all(isinstance(t, str) for t in article.tags)
    assert isinstance(article.extras, dict)


def test_unknown_fields_are_kept() -> None:
    article = parse_article(URN, {**BASE, "reader_visibility": {"level": 3}})
    assert article.model_dump()["reader_visibility"] == {"level": 3}


def test_title_only_and_abstract_only_are_usable() -> None:
    assert parse_article(URN, {"title": "T", "abstract": None}).has_title
    assert parse_article(URN, {"title": None, "abstract": "A"}).has_abstract


@pytest.mark.parametrize("data", [{}, {"title": "  ", "abstract": None}, {"title": 5}])
def test_no_title_and_no_abstract_is_permanent_naming_the_fields(data: dict[str, Any]) -> None:
    with pytest.raises(PermanentError, match="title, abstract"):
        parse_article(URN, data)


def test_urn_mismatch_is_permanent_naming_the_field() -> None:
    with pytest.raises(PermanentError, match="urn: the catalog answered 'urn:article:y'"):
        parse_article(URN, {**BASE, "urn": "urn:article:y"})
