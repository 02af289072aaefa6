"""The enricher interface: an article in, an `Enrichment` out.

Enrichers are pluggable (`ENRICHER=rules|openai`); each has a `name` and a
`version`, and an article whose `extras` carry both (plus `enriched_at`) is done.
Bump `version` when the output would change, so the catalog is re-enriched.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Study types an enricher may answer (`study_type` and `ai_category`).
STUDY_TYPES: tuple[str, ...] = (
    "meta-analysis",
    "systematic review",
    "randomized controlled trial",
    "non-randomized trial",
    "cohort study",
    "case-control study",
    "cross-sectional study",
    "case report",
    "qualitative study",
    "animal study",
    "in vitro study",
    "review",
    "other",
)


class Article(BaseModel):
    """The catalog's article, as much of it as enrichment reads; other fields are kept."""

    model_config = ConfigDict(extra="allow")

    urn: str
    title: str = ""
    abstract: str | None = None
    authors: list[Any] = Field(default_factory=list)
    venue: str | None = None
    publication_year: int | None = None
    doi: str | None = None
    keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    extras: dict[str, Any] = Field(default_factory=dict)
    ai_tags: list[str] | None = None
    ai_category: str | None = None
    ai_key_takeaways: list[str] | None = None

    @field_validator("title", mode="before")
    @classmethod
    def _none_title(cls, v: Any) -> Any:
        return "" if v is None else v

    @field_validator("keywords", "tags", "extras", "authors", mode="before")
    @classmethod
    def _none_collection(cls, v: Any, info: Any) -> Any:
        if v is None:
            return {} if info.field_name == "extras" else []
        return v

    @property
    def has_abstract(self) -> bool:
        return bool(self.abstract and self.abstract.strip())


class Enrichment(BaseModel):
    """What an enricher found. The handler maps it onto catalog fields (mapping.py)."""

    keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    study_type: str = "other"
    key_takeaways: list[str] = Field(default_factory=list, max_length=3)
    population: str | None = None
    #: The rest of the analysis (e.g. `source`: "abstract" | "title_only", sample size).
    extras: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class Enricher(Protocol):
    """One strategy of enrichment. `aclose()` releases its clients, if any."""

    name: str
    version: str

    async def enrich(self, article: Article) -> Enrichment: ...

    async def aclose(self) -> None: ...
