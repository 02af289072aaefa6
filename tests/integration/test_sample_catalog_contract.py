"""The sample catalog enforces the catalog's rules: each bad request gets the catalog's
status and error envelope, and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from streams_worker.enrichment.sample_catalog import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SampleCatalog,
)

URN = "urn:article:vitamin-d-and-bone-density"
PATH = f"/api/v1/articles/{URN}"
AGENT = "streams-worker-rules"


@pytest.fixture(scope="module")
def catalog() -> Iterator[SampleCatalog]:
    with SampleCatalog.start(articles=10) as running:
        yield running


@pytest.fixture(scope="module")
def http(catalog: SampleCatalog) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=catalog.url, timeout=5) as client:
        login = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
        token = client.post("/api/v1/system/mtm", json=login).json()["result"]["access_token"]
        client.headers["authorization"] = f"Bearer {token}"
        yield client


def assert_error(response: httpx.Response, status: int, *titles: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert set(body["error"]) == {"title", "detail", "code"}
    if titles:
        assert body["error"]["title"] in titles
    return dict(body["error"])


BAD_PATCHES: list[tuple[Any, str]] = [
    ({"colour": "blue"}, "colour: unknown field"),
    ({"ai_tags": ["x"]}, "ai_tags: unknown field"),
    ({"enhancements": []}, "enhancements: unknown field"),
    ({"urn": URN}, "system fields are read-only: urn"),
    ({"id": "x", "created_at": "2020-01-01"}, "created_at, id"),
    ({"creator": "me"}, "creator"),
    ({"updated_at": "2020-01-01"}, "updated_at"),
    ({"keywords": ["ok", "   "]}, "keywords.1"),
    ({"study_type": ""}, "study_type"),
    ({"keywords": [f"k{i}" for i in range(251)]}, "keywords"),
    ({"tags": [f"t{i}" for i in range(51)]}, "tags"),
    ({"tags": ["Dairy", "dairy"]}, "unique case-insensitively"),
    ({"tags": "Dairy"}, "tags"),
    ({"title": "x" * 2001}, "title"),
    ({"publication_year": 2019}, "publication_year"),
    ({"publication_year": "2019-06-01"}, "YYYY-01-01"),
    ({}, "nothing to update"),
    ([], "body"),
]


@pytest.mark.parametrize(("body", "detail"), BAD_PATCHES, ids=[d for _, d in BAD_PATCHES])
def test_bad_patch_is_422_in_the_envelope(
    http: httpx.Client, catalog: SampleCatalog, body: Any, detail: str
) -> None:
    before = catalog.store.get(URN)
    error = assert_error(http.patch(PATH, json=body), 422, "DataError", "RequestValidationError")
    assert detail in error["detail"]
    assert catalog.store.get(URN) == before


BAD_ENHANCES: list[tuple[Any, str]] = [
    ({"agent": "Streams Worker", "fields": {"ai_tags": ["x"]}}, "agent"),
    ({"agent": "-worker", "fields": {"ai_tags": ["x"]}}, "agent"),
    ({"agent": "worker--x", "fields": {"ai_tags": ["x"]}}, "agent"),
    ({"agent": AGENT, "fields": {}}, "must set at least one"),
    ({"agent": AGENT}, "fields"),
    ({"agent": AGENT, "fields": {"tags": ["x"]}}, "fields.tags: unknown field"),
    ({"agent": AGENT, "fields": {"ai_tags": [""]}}, "fields.ai_tags.0"),
    ({"agent": AGENT, "fields": {"ai_category": "  "}}, "fields.ai_category"),
    ({"agent": AGENT, "fields": {"ai_key_takeaways": "one"}}, "fields.ai_key_takeaways"),
    ({"agent": AGENT, "fields": {"ai_tags": ["x"]}, "run_id": "r"}, "run_id: unknown field"),
]


@pytest.mark.parametrize(("body", "detail"), BAD_ENHANCES, ids=[d for _, d in BAD_ENHANCES])
def test_bad_enhance_is_422_in_the_envelope(
    http: httpx.Client, catalog: SampleCatalog, body: Any, detail: str
) -> None:
    before = catalog.store.get(URN)
    response = http.patch(f"{PATH}/enhance", json=body)
    error = assert_error(response, 422, "DataError", "RequestValidationError")
    assert detail in error["detail"]
    assert catalog.store.get(URN) == before


def test_rule_breaking_data_is_a_data_error(http: httpx.Client) -> None:
    assert_error(http.patch(PATH, json={"tags": ["a", "A"]}), 422, "DataError")
    assert_error(http.patch(PATH, json={"colour": 1}), 422, "RequestValidationError")
    assert_error(http.patch(PATH, content=b"{not json"), 422, "RequestValidationError")


def test_good_enhance_answers_the_event_and_records_it(
    http: httpx.Client, catalog: SampleCatalog
) -> None:
    urn = catalog.urns[3]
    fields = {"ai_tags": [" Kefir "], "ai_category": "review", "ai_indexing_tier": "gold"}
    response = http.patch(
        f"/api/v1/articles/{urn}/enhance", json={"agent": "a_b-1", "fields": fields}
    )
    result = response.json()["result"]
    assert set(result) == {"urn", "run_id", "enhanced_fields", "agent"}
    assert result["enhanced_fields"] == ["ai_category", "ai_indexing_tier", "ai_tags"]
    article = catalog.store.get(urn)
    assert article is not None
    assert article["ai_tags"] == ["Kefir"]  # stripped
    event = article["enhancements"][-1]
    assert (event["agent"], event["run_id"]) == ("a_b-1", result["run_id"])
    assert event["before"]["ai_tags"] == []
    assert event["after"]["ai_tags"] == ["Kefir"]
    assert {"ai_tags", "ai_category"} <= set(article["ai_generated_fields"])


def test_other_errors_have_the_catalogs_statuses(
    http: httpx.Client, catalog: SampleCatalog
) -> None:
    assert_error(http.get("/api/v1/articles", params={"limit": 0}), 400)
    assert_error(http.get("/api/v1/articles", params={"offset": "x"}), 400)
    assert_error(http.get(PATH, headers={"authorization": ""}), 401)
    assert_error(http.get("/api/v1/articles/urn:article:nope"), 404)
    catalog.store.inject(429, retry_after_s=2)
    limited = http.get(PATH)
    assert_error(limited, 429)
    assert limited.headers["retry-after"] == "2"
    catalog.store.inject(503)
    assert_error(http.get(PATH), 503)
    assert catalog.stats()["rejected_requests"] >= 3
