"""From an `Enrichment` to the catalog's fields (docs/enrichment.md, "What the handler does").

Pure functions, no I/O. Two writes per article: the plain fields (PATCH) carry the
"done" marker, `extras.enriched_at` + enricher name and version, and a digest of
the AI fields that the second write (PATCH /enhance) sets. `is_enriched` needs both
to agree, so an article whose second write was lost is enriched again, not skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from streams_worker.core.errors import PermanentError
from streams_worker.enrichment.enrichers.base import Article, Enrichment

URN_PATTERN = re.compile(r"urn:article:[A-Za-z0-9][A-Za-z0-9._~:%()+,;=!*'@$-]{0,500}")
ANALYSIS_KEY = "enrichment"  # extras[ANALYSIS_KEY]: the rest of the analysis
MAX_TAG_CHARS = 100
MAX_PLAIN_TAGS = 50  # labels an enricher adds, and the catalog's limit on `tags`
MAX_KEYWORDS = 250  # the catalog's limit on `keywords`: an article may already hold 240
MAX_AI_TAGS = 20
MAX_TAKEAWAYS = 3
MAX_TAKEAWAY_CHARS = 1000
MAX_CATEGORY_CHARS = 64


class Versioned(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...


def parse_article_id(value: str | None) -> str:
    """The entry's article URN, or `PermanentError`: a bad ID never gets better."""
    if value is None:
        raise PermanentError("entry has no article_id field")
    urn = value.strip()
    if not URN_PATTERN.fullmatch(urn):
        raise PermanentError(f"article_id is not an article URN: {value[:120]!r}")
    return urn


def agent_slug(enricher: Versioned) -> str:
    """The `/enhance` agent: lowercase letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"streams-worker-{enricher.name}".lower()).strip("-")
    return slug[:64]


def clean_labels(items: Iterable[Any], limit: int, max_chars: int = MAX_TAG_CHARS) -> list[str]:
    """Trimmed, non-empty strings, unique case-insensitively (first spelling kept)."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        label = " ".join(item.split())[:max_chars].strip()
        key = label.casefold()
        if label and key not in seen:
            seen.add(key)
            out.append(label)
            if len(out) >= limit:
                break
    return out


def category(enrichment: Enrichment) -> str:
    """The study type as the catalog accepts it: one trimmed line, 1-64 characters."""
    cleaned = clean_labels([enrichment.study_type], 1, MAX_CATEGORY_CHARS)
    return cleaned[0] if cleaned else "other"


def ai_fields(enrichment: Enrichment) -> dict[str, Any]:
    """`ai_tags` ← keywords then tags; `ai_category` ← study type; takeaways ← first three."""
    return {
        "ai_tags": clean_labels([*enrichment.keywords, *enrichment.tags], MAX_AI_TAGS),
        "ai_category": category(enrichment),
        "ai_key_takeaways": clean_labels(
            enrichment.key_takeaways, MAX_TAKEAWAYS, MAX_TAKEAWAY_CHARS
        ),
    }


def ai_digest(
    tags: Iterable[str] | None, category: str | None, takeaways: Iterable[str] | None
) -> str:
    """A fingerprint of the AI fields, tolerant of case and tag order."""
    normal = [
        sorted({str(t).casefold().strip() for t in tags or ()}),
        str(category or "").casefold().strip(),
        [str(t).casefold().strip() for t in takeaways or ()],
    ]
    return hashlib.sha256(json.dumps(normal).encode()).hexdigest()[:16]


def _merge(
    existing: list[str], ours: list[str], previously_ours: Iterable[Any], limit: int
) -> tuple[list[str], list[str]]:
    """Existing labels (minus what an earlier enrichment added) + ours; and what we added."""
    old = {p.casefold() for p in previously_ours if isinstance(p, str)}
    kept = clean_labels([e for e in existing if e.casefold() not in old], limit)
    merged = clean_labels([*kept, *ours], limit)
    kept_keys = {k.casefold() for k in kept}
    return merged, [m for m in merged if m.casefold() not in kept_keys]


@dataclass(frozen=True)
class WritePlan:
    """The two writes, in order: `fields` (PATCH), then `agent` + `ai` (PATCH /enhance)."""

    fields: dict[str, Any]
    agent: str
    ai: dict[str, Any]


def plan_writes(
    article: Article, enrichment: Enrichment, enricher: Versioned, *, now: datetime | None = None
) -> WritePlan:
    ai = ai_fields(enrichment)
    extras = dict(article.extras)
    previous = extras.get(ANALYSIS_KEY)
    previous = previous if isinstance(previous, dict) else {}
    keywords, added_keywords = _merge(
        article.keywords,
        clean_labels(enrichment.keywords, MAX_PLAIN_TAGS),
        previous.get("added_keywords") or (),
        MAX_KEYWORDS,
    )
    tags, added_tags = _merge(
        article.tags,
        clean_labels(enrichment.tags, MAX_PLAIN_TAGS),
        previous.get("added_tags") or (),
        MAX_PLAIN_TAGS,
    )
    analysis = {
        **enrichment.extras,
        "population": enrichment.population,
        "added_keywords": added_keywords,
        "added_tags": added_tags,
        "ai_digest": ai_digest(ai["ai_tags"], ai["ai_category"], ai["ai_key_takeaways"]),
    }
    when = (now or datetime.now(UTC)).astimezone(UTC)
    extras.update(
        {
            "enriched_at": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "enricher": enricher.name,
            "enricher_version": enricher.version,
            ANALYSIS_KEY: analysis,
        }
    )
    fields = {
        "keywords": keywords,
        "tags": tags,
        "study_type": ai["ai_category"],
        "extras": extras,
    }
    return WritePlan(fields=fields, agent=agent_slug(enricher), ai=ai)


def enhanced_by(article: Mapping[str, Any], agents: frozenset[str]) -> bool:
    """True when one of `agents` enhanced the article (its `enhancements` audit events).

    An article the earlier worker enriched (agent `foodscholar-v1`) carries its AI
    fields but not our `extras.enriched_at`; listing that agent in
    `ENRICHMENT_DONE_AGENTS` keeps a migration from paying for the model twice.
    """
    if not agents:
        return False
    events = article.get("enhancements")
    if not isinstance(events, list):
        return False
    return any(isinstance(e, Mapping) and e.get("agent") in agents for e in events)


def is_enriched(article: Article | Mapping[str, Any], enricher: Versioned) -> bool:
    """True when the article carries this enricher's name and version and its AI fields landed."""
    data = article.model_dump() if isinstance(article, Article) else article
    extras = data.get("extras")
    if not isinstance(extras, Mapping) or not extras.get("enriched_at"):
        return False
    if (
        extras.get("enricher") != enricher.name
        or str(extras.get("enricher_version")) != enricher.version
    ):
        return False
    analysis = extras.get(ANALYSIS_KEY)
    digest = analysis.get("ai_digest") if isinstance(analysis, Mapping) else None
    if digest is None:
        return True  # marked by a writer that keeps no digest: trust the marker
    return bool(
        digest
        == ai_digest(data.get("ai_tags"), data.get("ai_category"), data.get("ai_key_takeaways"))
    )
