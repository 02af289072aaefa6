"""The sample catalog's state: articles, tokens, injected faults, and write counters.

Thread-safe (one lock): the server runs in its own thread or process while tests
and the demo read the counters. Validation mirrors what the real catalog rejects:
unknown fields, wrong types, tags not unique case-insensitively.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

DEFAULT_CLIENT_ID = "streams-worker"
DEFAULT_CLIENT_SECRET = "sample-secret"  # noqa: S105 - the sample catalog's documented demo secret

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _unique_ci(values: list[str] | None) -> list[str] | None:
    if values is not None and len({v.casefold() for v in values}) != len(values):
        raise ValueError("must be unique case-insensitively")
    return values


class ArticlePatch(BaseModel):
    """PATCH /articles/{urn}: the plain fields; anything else is rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    abstract: str | None = None
    authors: list[str] | None = None
    venue: str | None = None
    publication_year: int | None = None
    doi: str | None = None
    keywords: Annotated[list[Label], Field(max_length=50)] | None = None
    tags: Annotated[list[Label], Field(max_length=50)] | None = None
    study_type: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    extras: dict[str, Any] | None = None

    _tags_unique = field_validator("tags")(_unique_ci)


class EnhanceFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    ai_tags: Annotated[list[Label], Field(max_length=50)] | None = None
    ai_category: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    ai_key_takeaways: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]],
            Field(max_length=5),
        ]
        | None
    ) = None

    _tags_unique = field_validator("ai_tags")(_unique_ci)


class EnhanceBody(BaseModel):
    """PATCH /articles/{urn}/enhance."""

    model_config = ConfigDict(extra="forbid", strict=True)

    agent: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    fields: EnhanceFields


@dataclass
class CatalogConfig:
    """The knobs. Rates are per API request; mutable while serving."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_429: float = 0.0
    retry_after_s: float = 1.0
    token_ttl_s: float = 300.0
    seed: int = 0
    articles: int | None = None  # how many bundled (or generated) articles to serve


@dataclass
class WriteCounts:
    patches: int = 0
    enhances: int = 0
    rejected: int = 0


def load_articles(count: int | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The bundled articles (and their ground truth); more than bundled are generated."""
    raw = resources.files(__package__).joinpath("articles.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    if count is not None and count > len(data["articles"]):
        from streams_worker.enrichment.sample_catalog.generate import generate

        data = generate(count)
    articles = data["articles"] if count is None else data["articles"][:count]
    return articles, data["truth"]


@dataclass
class CatalogStore:
    config: CatalogConfig = field(default_factory=CatalogConfig)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        records, self.truth = load_articles(self.config.articles)
        self.articles: dict[str, dict[str, Any]] = {a["urn"]: copy.deepcopy(a) for a in records}
        self.tokens: dict[str, float] = {}
        self.rng = random.Random(self.config.seed)
        self.faults: deque[tuple[int, float | None]] = deque()
        self.logins = 0
        self.responses: Counter[int] = Counter()
        self.writes: dict[str, WriteCounts] = {}

    # -- auth ---------------------------------------------------------------------

    def login(self, client_id: Any, client_secret: Any) -> tuple[str, float] | None:
        if not (
            isinstance(client_id, str)
            and isinstance(client_secret, str)
            and secrets.compare_digest(client_id.encode(), self.config.client_id.encode())
            and secrets.compare_digest(client_secret.encode(), self.config.client_secret.encode())
        ):
            return None
        token, ttl = secrets.token_urlsafe(24), self.config.token_ttl_s
        with self.lock:
            self.tokens[token] = time.monotonic() + ttl
            self.logins += 1
        return token, ttl

    def check_token(self, token: str | None) -> str | None:
        """None if valid, else the reason it is not."""
        if not token:
            return "missing bearer token"
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None:
            return "unknown or revoked token"
        if time.monotonic() >= expires:
            return "token expired"
        return None

    def revoke_tokens(self) -> None:
        """Invalidate every issued token (the next call gets 401)."""
        with self.lock:
            self.tokens.clear()

    # -- faults -------------------------------------------------------------------

    def inject(self, status: int, count: int = 1, retry_after_s: float | None = None) -> None:
        """The next `count` API requests answer `status` (a burst, deterministic)."""
        with self.lock:
            self.faults.extend([(status, retry_after_s)] * count)

    def next_fault(self) -> tuple[int, float | None] | None:
        with self.lock:
            if self.faults:
                return self.faults.popleft()
            roll = self.rng.random()
            if roll < self.config.rate_429:
                return 429, self.config.retry_after_s
            if roll < self.config.rate_429 + self.config.error_rate:
                return self.rng.choice((500, 502, 503)), None
        return None

    def record(self, status: int) -> None:
        with self.lock:
            self.responses[status] += 1

    # -- articles -----------------------------------------------------------------

    def list(self, limit: int, offset: int) -> list[str]:
        with self.lock:
            return list(self.articles)[offset : offset + limit]

    def get(self, urn: str) -> dict[str, Any] | None:
        with self.lock:
            article = self.articles.get(urn)
            return copy.deepcopy(article) if article is not None else None

    def _counts(self, urn: str) -> WriteCounts:
        return self.writes.setdefault(urn, WriteCounts())

    def reject(self, urn: str) -> None:
        with self.lock:
            self._counts(urn).rejected += 1

    def patch(self, urn: str, patch: ArticlePatch) -> dict[str, Any]:
        with self.lock:
            article = self.articles[urn]
            article.update(copy.deepcopy(patch.model_dump(exclude_unset=True)))
            self._counts(urn).patches += 1
            return copy.deepcopy(article)

    def enhance(self, urn: str, body: EnhanceBody) -> dict[str, Any]:
        with self.lock:
            article = self.articles[urn]
            article.update(copy.deepcopy(body.fields.model_dump(exclude_unset=True)))
            self._counts(urn).enhances += 1
            return copy.deepcopy(article)

    # -- what tests and the demo check --------------------------------------------

    def _snapshot(self, urn: str) -> WriteCounts:
        c = self.writes.get(urn, WriteCounts())
        return WriteCounts(c.patches, c.enhances, c.rejected)

    def write_counts(self, urn: str) -> WriteCounts:
        with self.lock:
            return self._snapshot(urn)

    def enriched_once(self, *, strict: bool = True) -> bool:
        """Every article got exactly one /enhance and no rejected write.

        `strict` also wants exactly one PATCH; a worker killed between the two writes
        legitimately leaves a second PATCH behind (its redelivery redoes the first).
        """
        with self.lock:
            counts = [self._snapshot(urn) for urn in self.articles]
        return all(
            c.enhances == 1 and c.rejected == 0 and (c.patches == 1 if strict else c.patches >= 1)
            for c in counts
        )

    def stats(self) -> dict[str, Any]:
        """Counters for reports: `enriched_once` counts articles with exactly one /enhance."""
        with self.lock:
            counts = [self._snapshot(urn) for urn in self.articles]
            responses = {str(k): v for k, v in sorted(self.responses.items())}
            logins = self.logins
        return {
            "articles": len(counts),
            "logins": logins,
            "responses": responses,
            "enriched": sum(1 for c in counts if c.enhances > 0),
            "enriched_once": sum(1 for c in counts if c.enhances == 1),
            "duplicates": sum(1 for c in counts if c.enhances > 1),
            "repatched": sum(1 for c in counts if c.patches > 1),
            "rewritten": sum(1 for c in counts if c.patches > 1 or c.enhances > 1),
            "patches": sum(c.patches for c in counts),
            "enhances": sum(c.enhances for c in counts),
            "rejected": sum(c.rejected for c in counts),
        }
