"""The catalog's rules (docs/contracts.md, docs/enrichment.md) as pydantic models: the one copy.

The sample catalog validates request bodies with these, and so do the client's
contract tests (tests/contract/test_catalog_client.py), so the fake can be no
more lenient than the real catalog and the two cannot drift apart:

    ArticlePatch    PATCH /articles/{urn}: known plain fields only, no system fields
    EnhanceBody     PATCH /articles/{urn}/enhance: slug `agent`, non-empty AI `fields`
    ServedArticle   an article as the catalog serves it (checks the bundled data)

Violations raise `ValidationError`; `error_title()` tells the catalog's two 422
titles apart (a body of the wrong shape, or data breaking a rule).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

MAX_TITLE_CHARS = 2_000
MAX_ABSTRACT_CHARS = 15_000
MAX_KEYWORDS = 250
MAX_TAGS = 50
AGENT_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"
#: Written by the catalog itself; a client that sends one gets 422.
SYSTEM_FIELDS = frozenset({"urn", "id", "creator", "created_at", "updated_at"})
#: What `/enhance` accepts in `fields` (`ai_indexing_tier` since a newer version).
AI_FIELDS = frozenset({"ai_tags", "ai_category", "ai_key_takeaways", "ai_indexing_tier"})
#: `publication_year` as stored: an ISO date normalised to January 1st.
YEAR_DATE = re.compile(r"^\d{4}-01-01$")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _unique_ci(values: list[str]) -> list[str]:
    if len({v.casefold() for v in values}) != len(values):
        raise ValueError("must be unique case-insensitively")
    return values


def _year_date(value: str) -> str:
    if not YEAR_DATE.match(value):
        raise ValueError("must be an ISO date normalised to YYYY-01-01")
    return value


Keywords = Annotated[list[Text], Field(max_length=MAX_KEYWORDS)]
Tags = Annotated[list[Text], Field(max_length=MAX_TAGS), AfterValidator(_unique_ci)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_system_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            sent = sorted(SYSTEM_FIELDS & data.keys())
            if sent:
                raise ValueError(f"system fields are read-only: {', '.join(sent)}")
        return data


class ArticlePatch(_Strict):
    """PATCH /articles/{urn}: a shallow merge of the sent plain fields; nothing else."""

    title: Annotated[Text, StringConstraints(max_length=MAX_TITLE_CHARS)] | None = None
    abstract: Annotated[Text, StringConstraints(max_length=MAX_ABSTRACT_CHARS)] | None = None
    content: Text | None = None
    authors: list[Text] | None = None
    venue: Text | None = None
    doi: Text | None = None
    external_id: Text | None = None
    url: Text | None = None
    publication_year: Annotated[Text, AfterValidator(_year_date)] | None = None
    language: Text | None = None
    type: Text | None = None
    status: Text | None = None
    keywords: Keywords | None = None
    tags: Tags | None = None
    topics: list[Text] | None = None
    study_type: Text | None = None
    population_group: Text | None = None
    extras: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to update")
        return self


class EnhanceFields(_Strict):
    ai_tags: list[Text] | None = None
    ai_category: Text | None = None
    ai_key_takeaways: list[Text] | None = None
    ai_indexing_tier: Text | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError(f"must set at least one of {', '.join(sorted(AI_FIELDS))}")
        return self


class EnhanceBody(_Strict):
    """PATCH /articles/{urn}/enhance: `{"agent": "<slug>", "fields": {...}}`."""

    agent: Annotated[str, StringConstraints(pattern=AGENT_PATTERN, max_length=100)]
    fields: EnhanceFields


class EnhancementEvent(BaseModel):
    """One audit event in an article's `enhancements`."""

    model_config = ConfigDict(extra="forbid")

    agent: Annotated[str, StringConstraints(pattern=AGENT_PATTERN)]
    run_id: str
    enhanced_at: str
    fields: list[str]
    before: dict[str, Any]
    after: dict[str, Any]


class ServedArticle(BaseModel):
    """An article as the catalog serves it; newer fields of any type are allowed."""

    model_config = ConfigDict(extra="allow", strict=True)

    urn: Annotated[str, StringConstraints(pattern=r"^urn:article:")]
    id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")]
    title: Annotated[Text, StringConstraints(max_length=MAX_TITLE_CHARS)]
    abstract: Annotated[Text, StringConstraints(max_length=MAX_ABSTRACT_CHARS)] | None = None
    content: str
    authors: list[str]
    publication_year: Annotated[str, AfterValidator(_year_date)] | None = None
    status: str
    keywords: Keywords
    tags: Tags
    extras: dict[str, Any]
    ai_tags: list[str]
    ai_category: str | None
    ai_key_takeaways: list[str]
    enhancements: list[EnhancementEvent]
    ai_generated_fields: list[str]
    artifacts: list[Any]
    creator: str
    created_at: str
    updated_at: str


def error_title(exc: ValidationError) -> str:
    """ "DataError" when the data breaks a rule, "RequestValidationError" for a wrong shape."""
    if all(e["type"] == "value_error" for e in exc.errors()):
        return "DataError"
    return "RequestValidationError"


def describe(exc: ValidationError, limit: int = 5) -> str:
    """`field: problem; ...`, as the catalog words its 422 `detail`."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)
