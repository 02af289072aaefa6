"""Settings of the enrichment application: the catalog, its login, the enricher.

Read from the environment once, when the handler is built; a bad value becomes a
`ConfigurationError` naming the variable (the CLI prints one line, exits 2).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, Self

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams_worker.core.errors import ConfigurationError

#: The catalog's agent slug, as `PATCH .../enhance` validates it.
AGENT_RE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")


class EnrichmentSettings(BaseSettings):
    """DATA_API_URL, KEYCLOAK_*, ENRICHER, OPENAI_*, CATALOG_* (see docs/enrichment.md)."""

    model_config = SettingsConfigDict(
        populate_by_name=True, extra="ignore", frozen=True, validate_default=True
    )

    data_api_url: str = Field(validation_alias=AliasChoices("DATA_API_URL"))
    client_id: str = Field(
        "streams-worker", min_length=1, validation_alias=AliasChoices("KEYCLOAK_CLIENT_ID")
    )
    client_secret: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("KEYCLOAK_CLIENT_SECRET")
    )
    enricher: Literal["rules", "openai"] = Field("rules", validation_alias=AliasChoices("ENRICHER"))
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL"))
    openai_model: str | None = Field(None, validation_alias=AliasChoices("OPENAI_MODEL"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_timeout_s: float = Field(
        60.0, gt=0, le=600, validation_alias=AliasChoices("OPENAI_TIMEOUT_S")
    )
    #: Provider options merged into each chat-completions request (a JSON object).
    openai_extra_body: str | None = Field(None, validation_alias=AliasChoices("OPENAI_EXTRA_BODY"))
    #: Agents whose enhancements count as done (a migration from the earlier worker).
    done_agents: str = Field("", validation_alias=AliasChoices("ENRICHMENT_DONE_AGENTS"))
    catalog_timeout_s: float = Field(
        10.0, gt=0, le=600, validation_alias=AliasChoices("CATALOG_TIMEOUT_S")
    )
    catalog_max_retries: int = Field(
        5, ge=0, le=50, validation_alias=AliasChoices("CATALOG_MAX_RETRIES")
    )
    #: Cap of one backoff sleep (and of an honoured Retry-After), in seconds.
    catalog_backoff_max_s: float = Field(
        10.0, gt=0, le=600, validation_alias=AliasChoices("CATALOG_BACKOFF_MAX_S")
    )

    @field_validator("data_api_url", "openai_base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith(("http://", "https://")) and len(v) > 8):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @field_validator("openai_extra_body")
    @classmethod
    def _json_object(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        try:
            parsed = json.loads(v)
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a JSON object: {exc.msg} at char {exc.pos}") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"must be a JSON object, not {type(parsed).__name__}")
        owned = sorted({"model", "messages"} & parsed.keys())
        if owned:
            raise ValueError(f"may not set {', '.join(owned)} (the enricher sends them)")
        return v

    @field_validator("done_agents")
    @classmethod
    def _agents(cls, v: str) -> str:
        for agent in (a.strip() for a in v.split(",") if a.strip()):
            if not AGENT_RE.fullmatch(agent):
                raise ValueError(f"not an agent slug (lowercase, digits, - or _): {agent!r}")
        return v

    def done_agent_set(self) -> frozenset[str]:
        """ENRICHMENT_DONE_AGENTS as a set (empty: none)."""
        return frozenset(a.strip() for a in self.done_agents.split(",") if a.strip())

    def extra_body(self) -> dict[str, Any]:
        """OPENAI_EXTRA_BODY parsed (validated at start-up), or an empty object."""
        return dict(json.loads(self.openai_extra_body)) if self.openai_extra_body else {}

    @model_validator(mode="after")
    def _openai_complete(self) -> Self:
        if self.enricher == "openai":
            if not self.openai_base_url:
                raise ValueError("OPENAI_BASE_URL: required when ENRICHER=openai")
            if not self.openai_model:
                raise ValueError("OPENAI_MODEL: required when ENRICHER=openai")
        return self

    def __repr_args__(self) -> Any:
        # SecretStr already masks; this keeps URLs with credentials out of reprs too.
        return [(k, v) for k, v in super().__repr_args__() if k != "data_api_url"]


def _variable(field: str) -> str:
    info = EnrichmentSettings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return field.upper()


def load_enrichment_settings(**overrides: Any) -> EnrichmentSettings:
    """The settings from the environment plus explicit overrides (None means not given).

    Raises `ConfigurationError` naming the first bad variable; never echoes a secret.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return EnrichmentSettings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = str(err["loc"][0]) if err["loc"] else ""
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not loc and ": " in msg:  # model-level check: "VARIABLE: message"
            variable, _, msg = msg.partition(": ")
            raise ConfigurationError(variable, msg) from None
        field = next((n for n in EnrichmentSettings.model_fields if loc in (n, _variable(n))), loc)
        variable = _variable(field) if field in EnrichmentSettings.model_fields else loc
        if err["type"] == "missing":
            msg = "is required"
        # URLs may carry credentials; secrets are secrets.
        secret = field in (
            "client_secret", "openai_api_key", "data_api_url", "openai_base_url",
            "openai_extra_body",  # provider options may carry keys of their own
        )  # fmt: skip
        got = err.get("input")
        shown = "" if secret or isinstance(got, dict) else f" (got {got!r})"
        raise ConfigurationError(variable, f"{msg}{shown}") from None
