"""The Sentinel settings, a base of `CommonSettings` (core/settings.py).

With `REDIS_SENTINELS` set the sentinels name the primary, and `REDIS_URL` supplies
only credentials, database and TLS (docs/operations.md, "Redis Sentinel").
"""

from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from streams_worker.core.errors import ConfigurationError


def parse_addresses(value: str) -> list[tuple[str, int]]:
    """`host:port,...` (IPv6 as `[::1]:26379`); ValueError names a bad one."""
    out = []
    for address in (a.strip() for a in value.split(",")):
        if not address:
            continue
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{address!r} is not host:port")
        out.append((host.strip("[]"), int(port)))
    return out


class SentinelSettings(BaseSettings):
    redis_sentinels: str = Field("", validation_alias=AliasChoices("REDIS_SENTINELS"))
    redis_sentinel_master: str | None = Field(
        None, min_length=1, validation_alias=AliasChoices("REDIS_SENTINEL_MASTER")
    )
    #: Only when the sentinels themselves require a password (`requirepass` or an ACL
    #: user in sentinel.conf): theirs is usually not the data nodes'.
    redis_sentinel_username: str | None = Field(
        None, validation_alias=AliasChoices("REDIS_SENTINEL_USERNAME")
    )
    redis_sentinel_password: SecretStr | None = Field(
        None, validation_alias=AliasChoices("REDIS_SENTINEL_PASSWORD")
    )

    @field_validator("redis_sentinels")
    @classmethod
    def _check_sentinels(cls, v: str) -> str:
        parse_addresses(v)
        return ",".join(a.strip() for a in v.split(",") if a.strip())

    @model_validator(mode="after")
    def _sentinel_or_cluster(self) -> Self:
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise ConfigurationError(
                "REDIS_SENTINEL_MASTER", "is required with REDIS_SENTINELS (the master's name)"
            )
        if self.redis_sentinels and getattr(self, "redis_cluster", False):
            raise ConfigurationError(
                "REDIS_SENTINELS", "and REDIS_CLUSTER exclude each other: choose one"
            )
        return self

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return parse_addresses(self.redis_sentinels)
