"""The sample catalog's state: articles, tokens, injected faults, and write counters.

Thread-safe (one lock): the server runs in its own thread or process while tests
and the demo read the counters. Bodies arrive validated by `contract` (the app
does it); the store applies them as the catalog does: PATCH is a shallow merge,
`/enhance` sets the AI fields and appends an audit event to `enhancements`.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from streams_worker.enrichment.sample_catalog.contract import ArticlePatch, EnhanceBody

DEFAULT_CLIENT_ID = "streams-worker"
DEFAULT_CLIENT_SECRET = "sample-secret"  # noqa: S105 - the sample catalog's documented demo secret

#: Statuses that mean "your request was wrong" (401 renewals and 429 back-offs are normal).
REJECTED_STATUSES = frozenset({400, 404, 422})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
            article["updated_at"] = _now()
            self._counts(urn).patches += 1
            return copy.deepcopy(article)

    def enhance(self, urn: str, body: EnhanceBody) -> dict[str, Any]:
        """Set the AI fields, record who did it; the answer is the event, not the article."""
        fields = copy.deepcopy(body.fields.model_dump(exclude_unset=True))
        names = sorted(fields)
        with self.lock:
            article = self.articles[urn]
            run_id, when = str(uuid.uuid4()), _now()
            event = {
                "agent": body.agent, "run_id": run_id, "enhanced_at": when, "fields": names,
                "before": {k: copy.deepcopy(article.get(k)) for k in names},
                "after": copy.deepcopy(fields),
            }  # fmt: skip
            article["enhancements"] = [*(article.get("enhancements") or []), event]
            article.update(fields)
            generated = set(article.get("ai_generated_fields") or ())
            article["ai_generated_fields"] = sorted(generated | set(names))
            article["updated_at"] = when
            self._counts(urn).enhances += 1
        return {"urn": urn, "run_id": run_id, "enhanced_fields": names, "agent": body.agent}

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
            rejected_requests = sum(
                n for status, n in self.responses.items() if status in REJECTED_STATUSES
            )
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
            "rejected_requests": rejected_requests,
        }
