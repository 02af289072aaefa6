"""Optional enricher: any OpenAI-compatible chat-completions endpoint.

Asks for one strict JSON object, validates it with pydantic, and on invalid output
asks once more with the validation errors (one repair). Provider options
(`OPENAI_EXTRA_BODY`, e.g. Groq's `reasoning_effort` and a `max_tokens` budget) are
merged into every request; a reasoning model that spends the whole budget on hidden
reasoning answers with empty or truncated content (`finish_reason: length`), so such
an answer is asked again once with the budget doubled before it counts as a failure.
429 (Retry-After) and 5xx are retried by the shared policy; an answer that stays
invalid is retryable (the entry is redelivered later), a 4xx other than auth/rate
limits is permanent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams_worker.core.errors import PermanentError, RetryableError
from streams_worker.enrichment.enrichers.base import STUDY_TYPES, Article, Enrichment
from streams_worker.enrichment.retry import RetryPolicy, send_with_retries
from streams_worker.enrichment.settings import EnrichmentSettings

PROMPT_VERSION = "1"
MAX_ABSTRACT_CHARS = 12_000

StudyType = Literal[
    "meta-analysis", "systematic review", "randomized controlled trial", "non-randomized trial",
    "cohort study", "case-control study", "cross-sectional study", "case report",
    "qualitative study", "animal study", "in vitro study", "review", "other",
]  # fmt: skip
assert set(StudyType.__args__) == set(STUDY_TYPES)  # type: ignore[attr-defined]

SYSTEM_PROMPT = (
    "You classify food-science and nutrition articles. Reply with ONE JSON object and "
    "nothing else, with exactly these keys: "
    '"keywords" (1-10 short lowercase phrases), "tags" (3-8 short topic labels), '
    f'"study_type" (one of: {", ".join(STUDY_TYPES)}), '
    '"key_takeaways" (0-3 sentences stating the findings, taken from the abstract), '
    '"population" (the human group studied, or null when not stated).'
)


class LLMAnswer(BaseModel):
    """The JSON the model must return; anything else is invalid."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(min_length=1, max_length=10)
    tags: list[str] = Field(min_length=3, max_length=8)
    study_type: StudyType
    key_takeaways: list[str] = Field(max_length=3)
    population: str | None


class EnricherOutputError(RetryableError):
    """The model's answer stayed invalid after the repair attempt."""


#: The request keys that hold a completion budget, newest name first.
BUDGET_KEYS = ("max_completion_tokens", "max_tokens")


class Completion(NamedTuple):
    content: str
    truncated: bool  # empty, or cut off by the token budget (`finish_reason: length`)


def _completion(response: httpx.Response) -> Completion:
    try:
        choice = response.json()["choices"][0]
        content = choice["message"].get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise EnricherOutputError("chat completion without choices[0].message") from None
    if content is None:  # reasoning models answer null when the budget ran out
        content = ""
    if not isinstance(content, str):
        raise EnricherOutputError("chat completion content is not text")
    truncated = not content.strip() or choice.get("finish_reason") == "length"
    return Completion(content, truncated)


def _doubled_budget(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request again, with each token budget it names doubled."""
    again = dict(body)
    for key in BUDGET_KEYS:
        if isinstance(again.get(key), int):
            again[key] *= 2
    return again


def _parse(content: str) -> LLMAnswer:
    text = content.strip()
    if text.startswith("```"):  # tolerate a fenced block around the object
        text = text.strip("`").removeprefix("json").strip()
    return LLMAnswer.model_validate_json(text)


class OpenAIEnricher:
    """Enrich through `POST {base_url}/chat/completions` with `response_format=json_object`."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 60.0,
        policy: RetryPolicy | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.version = f"{PROMPT_VERSION}:{model}"  # a new model re-enriches
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout_s
        self._policy = policy or RetryPolicy(max_retries=5, max_delay_s=30.0)
        self._http: httpx.AsyncClient | None = None
        self.requests = 0  # chat-completion calls answered, for tests and metrics
        self._json_mode = True
        self._extra = dict(extra_body or {})

    @classmethod
    def from_settings(cls, settings: EnrichmentSettings) -> OpenAIEnricher:
        if not (settings.openai_base_url and settings.openai_model):
            raise ValueError("OPENAI_BASE_URL and OPENAI_MODEL are required")  # validated earlier
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return cls(
            settings.openai_base_url,
            settings.openai_model,
            key,
            timeout_s=settings.openai_timeout_s,
            extra_body=settings.extra_body(),
        )

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def _complete(self, messages: list[dict[str, str]]) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0}
        if self._json_mode:
            body["response_format"] = {"type": "json_object"}
        body.update(self._extra)
        answer = await self._post(body)
        if answer.truncated:
            answer = await self._post(_doubled_budget(body))
            if answer.truncated:
                raise EnricherOutputError(
                    "LLM answer empty or cut off by the token budget, also with it doubled"
                )
        return answer.content

    async def _post(self, body: dict[str, Any]) -> Completion:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout, headers=self._headers)
        http = self._http
        response = await send_with_retries(
            lambda: http.post(self._url, json=body), self._policy, service="llm"
        )
        self.requests += 1
        if response.status_code == 400 and self._json_mode and "response_format" in response.text:
            # A server without JSON mode: the prompt and the validation still hold us to JSON.
            self._json_mode = False
            body = {k: v for k, v in body.items() if k != "response_format"}
            return await self._post(body)
        if response.status_code in (401, 403):
            raise RetryableError(f"LLM endpoint refused the credentials ({response.status_code})")
        if response.is_error:
            raise PermanentError(f"LLM endpoint {response.status_code}: {response.text[:200]}")
        return _completion(response)

    async def enrich(self, article: Article) -> Enrichment:
        abstract = (article.abstract or "").strip()[:MAX_ABSTRACT_CHARS]
        user = json.dumps({"title": article.title, "abstract": abstract or None})
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user},
        ]
        content = await self._complete(messages)
        try:
            answer = _parse(content)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in exc.errors()
            )
            messages += [
                {"role": "assistant", "content": content[:4000]},
                {
                    "role": "user",
                    "content": f"That reply was invalid ({problems[:1000]}). "
                    "Reply again with only the corrected JSON object.",
                },
            ]
            content = await self._complete(messages)
            try:
                answer = _parse(content)
            except ValidationError as again:
                raise EnricherOutputError(
                    f"LLM answer invalid after one repair: {again.error_count()} errors"
                ) from None
        source = "abstract" if abstract else "title_only"
        return Enrichment(
            keywords=answer.keywords,
            tags=answer.tags,
            study_type=answer.study_type,
            key_takeaways=answer.key_takeaways,
            population=answer.population,
            extras={"source": source, "model": self.model},
        )
