"""The enricher interface: an article in, an `Enrichment` out.

Enrichers are pluggable (`ENRICHER=rules|openai`); each has a `name` and a
`version`, and an article whose `extras` carry both (plus `enriched_at`) is done.
Bump `version` when the output would change, so the catalog is re-enriched.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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


#: "2019", "2019-01-01", "2019-01-01T00:00:00Z", "2019-01-01 00:00:00+02:00".
_YEAR = re.compile(r"(\d{4})(?:-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)?$")


def _year(value: Any) -> int | None:
    """A year from any shape the catalog has used: 2019, "2019", "2019-01-01", a datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 9999 else None
    if isinstance(value, str):
        match = _YEAR.match(value.strip())
        return int(match[1]) if match else None
    return None


def _strings(value: Any) -> list[str]:
    """The strings of a list; anything else in it (or a non-list) is dropped."""
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def _author(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    return None


def _authors(value: Any) -> list[str]:
    """Authors as strings or objects with a `name` (both shapes exist in the wild)."""
    if not isinstance(value, list):
        return []
    return [a for a in map(_author, value) if a is not None]


def _strings_or_none(value: Any) -> list[str] | None:
    return _strings(value) if isinstance(value, list) else None


def _events(value: Any) -> list[dict[str, Any]]:
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


Text = Annotated[str | None, BeforeValidator(lambda v: v if isinstance(v, str) else None)]
Strings = Annotated[list[str], BeforeValidator(_strings)]
MaybeStrings = Annotated[list[str] | None, BeforeValidator(_strings_or_none)]


class Article(BaseModel):
    """The catalog's article, read tolerantly: enrichment must not fail on a field it
    does not need (issue 18: an ISO-date `publication_year` dead-lettered the catalog).

    Each field enrichment reads is taken in every shape the catalog has used, and a
    value of an unexpected type becomes empty (None, "", [] or {}) instead of an
    error; unknown fields of any type are kept and ignored. Whether the article is
    usable at all (a title or an abstract) is the handler's call, not the model's.
    """

    model_config = ConfigDict(extra="allow")

    urn: str
    title: Annotated[str, BeforeValidator(lambda v: v if isinstance(v, str) else "")] = ""
    abstract: Text = None
    authors: Annotated[list[str], BeforeValidator(_authors)] = Field(default_factory=list)
    venue: Text = None
    publication_year: Annotated[int | None, BeforeValidator(_year)] = None
    doi: Text = None
    keywords: Strings = Field(default_factory=list)
    tags: Strings = Field(default_factory=list)
    extras: Annotated[
        dict[str, Any], BeforeValidator(lambda v: v if isinstance(v, dict) else {})
    ] = Field(default_factory=dict)
    ai_tags: MaybeStrings = None
    ai_category: Text = None
    ai_key_takeaways: MaybeStrings = None
    #: The audit events of earlier enhancements (agent, run_id, enhanced_at, fields, ...).
    enhancements: Annotated[list[dict[str, Any]], BeforeValidator(_events)] = Field(
        default_factory=list
    )

    @property
    def has_abstract(self) -> bool:
        return bool(self.abstract and self.abstract.strip())

    @property
    def has_title(self) -> bool:
        return bool(self.title.strip())


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
