"""The OpenAI-compatible enricher against a fake chat-completions server on loopback."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from streams_worker.core.errors import PermanentError, RateLimited
from streams_worker.enrichment.enrichers.base import Article
from streams_worker.enrichment.enrichers.openai import EnricherOutputError, OpenAIEnricher
from streams_worker.enrichment.handler import EnrichmentHandler, current_enricher, is_enriched
from streams_worker.enrichment.retry import RetryPolicy
from streams_worker.enrichment.sample_catalog import SampleCatalog, ServerThread
from tests.support.catalog import client_for, entry, settings_for

GOOD = {
    "keywords": ["vitamin d", "bone density"],
    "tags": ["Micronutrients", "bone health", "older adults"],
    "study_type": "randomized controlled trial",
    "key_takeaways": ["Vitamin D improved bone density."],
    "population": "older adults",
}
ARTICLE = Article(urn="urn:article:x", title="Vitamin D and bone", abstract="We randomised 80.")


class FakeChat:
    """Answers `POST /v1/chat/completions` from a script; records what it was asked."""

    def __init__(self) -> None:
        self.script: list[Response] = []
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    def reply(self, content: Any, finish_reason: str = "stop") -> None:
        text = content if isinstance(content, str | None) else json.dumps(content)
        body = {"id": "c1", "object": "chat.completion", "model": "tiny",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish_reason}]}  # fmt: skip
        self.script.append(JSONResponse(body))

    def status(self, code: int, **headers: str) -> None:
        self.script.append(JSONResponse({"error": {"message": "nope"}}, code, headers=headers))

    async def chat(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(await request.json())
            self.times.append(time.monotonic())
            if request.headers.get("authorization") != "Bearer test-key":
                return JSONResponse({"error": "unauthorized"}, 401)
            return self.script.pop(0) if self.script else JSONResponse({"error": "empty"}, 500)


@pytest.fixture
def fake() -> Iterator[tuple[FakeChat, str]]:
    chat = FakeChat()
    server = ServerThread(chat.app)
    url = server.start()
    yield chat, f"{url}/v1"
    server.stop()


def enricher(url: str, retries: int = 3, extra: dict[str, Any] | None = None) -> OpenAIEnricher:
    policy = RetryPolicy(max_retries=retries, base_delay_s=0.005, rng=random.Random(1))
    return OpenAIEnricher(url, "tiny", "test-key", timeout_s=5, policy=policy, extra_body=extra)


async def test_valid_json_becomes_an_enrichment(fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.reply(GOOD)
    llm = enricher(url)
    try:
        result = await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()
    assert result.study_type == "randomized controlled trial"
    assert result.tags == GOOD["tags"]
    assert result.extras == {"source": "abstract", "model": "tiny"}
    sent = chat.requests[0]
    assert sent["model"] == "tiny"
    assert sent["response_format"] == {"type": "json_object"}
    assert json.loads(sent["messages"][1]["content"])["title"] == "Vitamin D and bone"


async def test_invalid_answer_is_repaired_once(fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.reply({**GOOD, "study_type": "vibes", "extra": 1})
    chat.reply(f"```json\n{json.dumps(GOOD)}\n```")  # fenced, but valid
    llm = enricher(url)
    try:
        result = await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()
    assert result.population == "older adults"
    assert len(chat.requests) == 2
    repair = chat.requests[1]["messages"]
    assert repair[2]["role"] == "assistant"
    assert "study_type" in repair[3]["content"]
    assert "extra" in repair[3]["content"]


async def test_answer_invalid_twice_is_retryable(fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.reply("not json at all")
    chat.reply({"keywords": []})
    llm = enricher(url)
    try:
        with pytest.raises(EnricherOutputError) as info:
            await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()
    assert not isinstance(info.value, PermanentError)
    assert len(chat.requests) == 2  # one repair, no more


async def test_rate_limit_honours_retry_after(fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.status(429, **{"retry-after": "0.3"})
    chat.status(503)
    chat.reply(GOOD)
    llm = enricher(url)
    try:
        await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()
    assert len(chat.times) == 3
    assert chat.times[1] - chat.times[0] >= 0.3


async def test_a_long_429_from_the_model_pauses_the_group(fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.status(429, **{"retry-after": "20"})
    llm = enricher(url)
    try:
        with pytest.raises(RateLimited) as info:
            await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()
    assert info.value.retry_after == 20
    assert len(chat.times) == 1


async def test_bad_request_is_permanent(fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.status(400)
    llm = enricher(url)
    try:
        with pytest.raises(PermanentError, match="400"):
            await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()


async def test_handler_with_the_openai_enricher(fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.reply(GOOD)
    with SampleCatalog.start(articles=3) as catalog:
        settings = settings_for(
            catalog, enricher="openai", openai_base_url=url, openai_model="tiny",
            openai_api_key="test-key",
        )  # fmt: skip
        llm = current_enricher(settings)
        assert llm.name == "openai"
        assert llm.version == "1:tiny"
        handler = EnrichmentHandler(client_for(catalog), llm)
        urn = catalog.urns[0]
        try:
            await handler(entry(urn))
            await handler(entry(urn, delivery_count=2))  # done: no second LLM call
        finally:
            await handler.aclose()
        article = catalog.store.get(urn)
    assert article is not None
    assert is_enriched(article, llm)
    assert article["ai_category"] == "randomized controlled trial"
    assert article["ai_tags"][:2] == ["vitamin d", "bone density"]
    assert article["extras"]["enrichment"]["model"] == "tiny"
    assert catalog.write_counts(urn).enhances == 1
    assert len(chat.requests) == 1


async def test_server_without_json_mode_is_asked_again_without_it(
    fake: tuple[FakeChat, str],
) -> None:
    chat, url = fake
    chat.script.append(JSONResponse({"error": {"message": "response_format not supported"}}, 400))
    chat.reply(GOOD)
    chat.reply(GOOD)
    llm = enricher(url)
    try:
        await llm.enrich(ARTICLE)
        await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()
    assert ["response_format" in r for r in chat.requests] == [True, False, False]


async def test_extra_body_reaches_every_request(fake: tuple[FakeChat, str]) -> None:
    """OPENAI_EXTRA_BODY, as the earlier worker called gpt-oss-20b on Groq."""
    chat, url = fake
    chat.reply({**GOOD, "study_type": "vibes"})
    chat.reply(GOOD)
    with SampleCatalog.start(articles=1) as catalog:
        settings = settings_for(
            catalog, enricher="openai", openai_base_url=url, openai_model="tiny",
            openai_api_key="test-key",
            openai_extra_body='{"reasoning_effort": "low", "max_tokens": 300}',
        )  # fmt: skip
        llm = OpenAIEnricher.from_settings(settings)
        try:
            await llm.enrich(ARTICLE)
        finally:
            await llm.aclose()
    assert len(chat.requests) == 2  # the repair carries the options too
    for sent in chat.requests:
        assert sent["reasoning_effort"] == "low"
        assert sent["max_tokens"] == 300
        assert sent["temperature"] == 0


@pytest.mark.parametrize(
    ("content", "finish_reason"),
    [(None, "length"), ("", "stop"), ('{"keywords": ["vitamin', "length")],
    ids=["null-content", "empty-content", "cut-off"],
)
async def test_a_spent_budget_is_asked_again_once_with_double(
    fake: tuple[FakeChat, str], content: str | None, finish_reason: str
) -> None:
    chat, url = fake
    chat.reply(content, finish_reason)
    chat.reply(GOOD)
    llm = enricher(url, extra={"max_completion_tokens": 256, "max_tokens": 128})
    try:
        result = await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()
    assert result.study_type == "randomized controlled trial"
    budgets = [(r["max_completion_tokens"], r["max_tokens"]) for r in chat.requests]
    assert budgets == [(256, 128), (512, 256)]


async def test_a_budget_spent_twice_is_a_retryable_failure(fake: tuple[FakeChat, str]) -> None:
    chat, url = fake
    chat.reply(None, "length")
    chat.reply("", "length")
    chat.reply(GOOD)  # never asked for: one retry with a doubled budget, no more
    llm = enricher(url, extra={"max_tokens": 100})
    try:
        with pytest.raises(EnricherOutputError, match="token budget") as info:
            await llm.enrich(ARTICLE)
    finally:
        await llm.aclose()
    assert not isinstance(info.value, PermanentError)
    assert [r["max_tokens"] for r in chat.requests] == [100, 200]
