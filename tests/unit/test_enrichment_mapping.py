"""Mapping an enrichment onto catalog fields, the done-check, URNs, retries, settings."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams_worker.core.errors import ConfigurationError, PermanentError
from streams_worker.enrichment.enrichers.base import Article, Enrichment
from streams_worker.enrichment.enrichers.rules import RulesEnricher
from streams_worker.enrichment.mapping import (
    agent_slug,
    is_enriched,
    parse_article_id,
    plan_writes,
)
from streams_worker.enrichment.retry import RetryPolicy, parse_retry_after
from streams_worker.enrichment.sample_catalog.contract import ArticlePatch, EnhanceBody
from streams_worker.enrichment.settings import load_enrichment_settings

RULES = RulesEnricher()
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ENRICHMENT = Enrichment(
    keywords=["vitamin d", "Bone density", "placebo"],
    tags=["micronutrients", "Vitamin D", "randomized controlled trial"],
    study_type="randomized controlled trial",
    key_takeaways=["One.", "Two.", "Three."],
    population="older adults",
    extras={"source": "abstract", "sample_size": 80},
)


def article(**fields: object) -> Article:
    return Article.model_validate({"urn": "urn:article:a", "title": "T", **fields})


def test_plan_maps_fields_as_designed() -> None:
    plan = plan_writes(
        article(keywords=["Vitamin D"], tags=["MICRONUTRIENTS", "Editor's pick"], extras={"k": 1}),
        ENRICHMENT,
        RULES,
        now=NOW,
    )
    assert plan.agent == "streams-worker-rules"
    assert plan.ai == {
        "ai_tags": ["vitamin d", "Bone density", "placebo", "micronutrients",
                    "randomized controlled trial"],
        "ai_category": "randomized controlled trial",
        "ai_key_takeaways": ["One.", "Two.", "Three."],
    }  # fmt: skip
    assert plan.fields["keywords"] == ["Vitamin D", "Bone density", "placebo"]
    assert plan.fields["tags"] == [
        "MICRONUTRIENTS", "Editor's pick", "Vitamin D", "randomized controlled trial",
    ]  # fmt: skip
    assert plan.fields["study_type"] == "randomized controlled trial"
    extras = plan.fields["extras"]
    assert extras["k"] == 1  # other extras kept
    assert extras["enriched_at"] == "2026-01-02T03:04:05Z"
    assert (extras["enricher"], extras["enricher_version"]) == ("rules", RULES.version)
    analysis = extras["enrichment"]
    assert analysis["population"] == "older adults"
    assert analysis["sample_size"] == 80
    assert analysis["added_tags"] == ["Vitamin D", "randomized controlled trial"]
    assert set(plan.fields) == {"keywords", "tags", "study_type", "extras"}


def test_labels_are_trimmed_bounded_and_never_empty() -> None:
    messy = Enrichment(keywords=["  a  b ", "", "x" * 300], tags=["   ", "A B"], study_type="other")
    plan = plan_writes(article(), messy, RULES, now=NOW)
    assert plan.fields["keywords"] == ["a b", "x" * 100]
    assert plan.fields["tags"] == ["A B"]
    assert plan.ai["ai_tags"] == ["a b", "x" * 100]


def done(plan_article: Article, enrichment: Enrichment = ENRICHMENT) -> dict[str, object]:
    plan = plan_writes(plan_article, enrichment, RULES, now=NOW)
    return {**plan_article.model_dump(), **plan.fields, **plan.ai}


def test_is_enriched_needs_marker_version_and_the_ai_fields() -> None:
    finished = done(article())
    assert is_enriched(finished, RULES)
    assert is_enriched(Article.model_validate(finished), RULES)
    assert not is_enriched(article().model_dump(), RULES)
    assert not is_enriched({**finished, "ai_category": None}, RULES)  # /enhance lost

    class Newer:
        name, version = "rules", "999"

    assert not is_enriched(finished, Newer())
    tolerant = {**finished, "ai_tags": [t.upper() for t in reversed(finished["ai_tags"])]}  # type: ignore[call-overload]
    assert is_enriched(tolerant, RULES)  # a catalog that re-cases or re-orders tags


def test_is_enriched_trusts_a_marker_without_digest() -> None:
    extras = {"enriched_at": "2025-01-01T00:00:00Z", "enricher": "rules",
              "enricher_version": RULES.version}  # fmt: skip
    assert is_enriched({"extras": extras}, RULES)
    assert not is_enriched({"extras": {**extras, "enriched_at": None}}, RULES)
    assert not is_enriched({"extras": "junk"}, RULES)


def test_re_enrichment_replaces_only_its_own_labels() -> None:
    first = done(article(tags=["Editor's pick"]))
    second = plan_writes(
        Article.model_validate(first),
        Enrichment(tags=["dairy"], keywords=["kefir"], study_type="review"),
        RULES,
        now=NOW,
    )
    assert second.fields["tags"] == ["Editor's pick", "dairy"]
    assert second.fields["keywords"] == ["kefir"]


@pytest.mark.parametrize(
    "value",
    ["urn:article:vitamin-d-and-bone-density", " urn:article:x ", "urn:article:A.b_c~1:2"],
)
def test_article_urns_accepted(value: str) -> None:
    assert parse_article_id(value) == value.strip()


@pytest.mark.parametrize(
    "value",
    [None, "", "urn:article:", "urn:dataset:x", "urn:article:a b", "urn:article:a/b",
     "urn:article:-x", "urn:article:" + "x" * 600, "urn:article:x\ty"],
)  # fmt: skip
def test_bad_article_ids_are_permanent(value: str | None) -> None:
    with pytest.raises(PermanentError):
        parse_article_id(value)


def test_agent_slug_is_a_slug() -> None:
    class Odd:
        name, version = "OpenAI / GPT 4o", "1"

    assert agent_slug(Odd()) == "streams-worker-openai-gpt-4o"


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.25 ") == 0.25
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after(None) is None


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=1.0, rng=random.Random(3))
    delays = [[policy.backoff(attempt) for _ in range(200)] for attempt in range(8)]
    for attempt, sample in enumerate(delays):
        ceiling = min(1.0, 0.1 * 2**attempt)
        assert all(0 <= d <= ceiling for d in sample)
        assert max(sample) > ceiling * 0.8  # jitter spans the range
    assert len(set(delays[3])) > 150


def test_settings_name_the_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATA_API_URL", "ENRICHER", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError) as info:
        load_enrichment_settings()
    assert info.value.variable == "DATA_API_URL"
    monkeypatch.setenv("DATA_API_URL", "http://catalog:8080")
    monkeypatch.setenv("CATALOG_TIMEOUT_S", "-1")
    with pytest.raises(ConfigurationError) as info:
        load_enrichment_settings()
    assert info.value.variable == "CATALOG_TIMEOUT_S"
    monkeypatch.delenv("CATALOG_TIMEOUT_S")
    monkeypatch.setenv("ENRICHER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm/v1")
    with pytest.raises(ConfigurationError) as info:
        load_enrichment_settings()
    assert info.value.variable == "OPENAI_MODEL"
    monkeypatch.setenv("ENRICHER", "magic")
    with pytest.raises(ConfigurationError) as info:
        load_enrichment_settings()
    assert info.value.variable == "ENRICHER"


def test_openai_extra_body_is_a_json_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_API_URL", "http://catalog:8080")
    monkeypatch.setenv("OPENAI_EXTRA_BODY", '{"reasoning_effort": "low", "max_tokens": 512}')
    assert load_enrichment_settings().extra_body() == {"reasoning_effort": "low", "max_tokens": 512}
    for bad, why in (
        ('{"reasoning_effort": ', "JSON object"),
        ('["low"]', "not list"),
        ('{"model": "other"}', "model"),
    ):
        monkeypatch.setenv("OPENAI_EXTRA_BODY", bad)
        with pytest.raises(ConfigurationError, match=why) as info:
            load_enrichment_settings()
        assert info.value.variable == "OPENAI_EXTRA_BODY"
    monkeypatch.setenv("OPENAI_EXTRA_BODY", "")
    assert load_enrichment_settings().extra_body() == {}


def test_settings_never_show_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_API_URL", "http://catalog:8080")
    monkeypatch.setenv("KEYCLOAK_CLIENT_SECRET", "s3cr3t-value")
    settings = load_enrichment_settings()
    assert settings.client_secret.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in str(settings)


labels = st.lists(st.text(max_size=150), max_size=70)


@settings(max_examples=200, deadline=None)
@given(
    keywords=labels,
    tags=labels,
    existing=labels,
    study_type=st.text(max_size=100),
    takeaways=st.lists(st.text(min_size=0, max_size=1200), max_size=3),
)
def test_writes_are_never_rejected_by_the_catalog(
    keywords: list[str], tags: list[str], existing: list[str], study_type: str,
    takeaways: list[str],
) -> None:  # fmt: skip
    """Whatever an enricher says, the plan passes the sample catalog's validation."""
    enrichment = Enrichment(
        keywords=keywords, tags=tags, study_type=study_type, key_takeaways=takeaways
    )
    plan = plan_writes(article(tags=existing, keywords=existing), enrichment, RULES, now=NOW)
    ArticlePatch.model_validate(json.loads(json.dumps(plan.fields)))
    EnhanceBody.model_validate(json.loads(json.dumps({"agent": plan.agent, "fields": plan.ai})))
