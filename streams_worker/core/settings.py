"""Settings from the environment (and CLI flags), validated once at start-up.

Read in the CLI and passed down; nothing else in the package reads `os.environ`.
`CommonSettings` is what the producer and the ops commands share with the worker,
so one ConfigMap serves them all.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar
from urllib.parse import quote, urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from streams_worker.core.defaults import (
    DEFAULT_DEDUP_FIELD,
    DEFAULT_GROUP,
    DEFAULT_HANDLER,
    DEFAULT_STREAM,
)
from streams_worker.core.errors import ConfigurationError
from streams_worker.core.keys import WAITING_CONSUMER, StreamKeys
from streams_worker.core.schedule import Rate, parse_delays_ms, parse_rate
from streams_worker.core.sentinel_settings import SentinelSettings

DEFAULT_REDIS_URL = "redis://localhost:6379/0"


def _env(name: str, *more: str) -> Any:
    return AliasChoices(name, *more)


PositiveInt = Annotated[int, Field(ge=1)]


class CommonSettings(SentinelSettings):
    """Connection and stream naming, shared by worker, producer and ops CLI."""

    model_config = SettingsConfigDict(
        populate_by_name=True, extra="ignore", frozen=True, validate_default=True
    )

    redis_url: SecretStr = Field(SecretStr(DEFAULT_REDIS_URL), validation_alias=_env("REDIS_URL"))
    redis_host: str | None = Field(None, validation_alias=_env("REDIS_HOST"))
    redis_port: int | None = Field(None, ge=1, le=65535, validation_alias=_env("REDIS_PORT"))
    redis_username: str | None = Field(None, validation_alias=_env("REDIS_USERNAME"))
    redis_password: SecretStr | None = Field(None, validation_alias=_env("REDIS_PASSWORD"))
    redis_password_file: Path | None = Field(None, validation_alias=_env("REDIS_PASSWORD_FILE"))
    redis_tls_ca_file: Path | None = Field(None, validation_alias=_env("REDIS_TLS_CA_FILE"))
    redis_tls_cert_file: Path | None = Field(None, validation_alias=_env("REDIS_TLS_CERT_FILE"))
    redis_tls_key_file: Path | None = Field(None, validation_alias=_env("REDIS_TLS_KEY_FILE"))
    redis_cluster: bool = Field(False, validation_alias=_env("REDIS_CLUSTER"))
    redis_socket_timeout_s: float = Field(
        10.0, gt=0, le=3600, validation_alias=_env("REDIS_SOCKET_TIMEOUT_S")
    )
    stream: str = Field(DEFAULT_STREAM, min_length=1, validation_alias=_env("WORKER_STREAM"))
    group: str = Field(DEFAULT_GROUP, min_length=1, validation_alias=_env("WORKER_GROUP"))
    #: The field naming what an entry is about: keys the producer's in-queue mark.
    dedup_field: str = Field(DEFAULT_DEDUP_FIELD, validation_alias=_env("WORKER_DEDUP_FIELD"))
    dead_letter_stream: str | None = Field(
        None, min_length=1, validation_alias=_env("WORKER_DEAD_LETTER_STREAM")
    )
    partitions: int = Field(1, ge=1, le=1024, validation_alias=_env("WORKER_PARTITIONS"))
    log_level: str = Field("INFO", validation_alias=_env("WORKER_LOG_LEVEL", "LOG_LEVEL"))
    log_format: str = Field("auto", validation_alias=_env("WORKER_LOG_FORMAT", "LOG_FORMAT"))

    @field_validator("redis_port", mode="before")
    @classmethod
    def _plain_port_only(cls, v: Any) -> Any:
        # Kubernetes service links put REDIS_PORT=tcp://10.0.0.1:6379 in every pod of a
        # namespace with a Service named `redis`: not ours, so ignored, never fatal
        # (anything else that is not a port is still a configuration error).
        if isinstance(v, str) and "://" in v:
            logging.getLogger(__name__).debug("REDIS_PORT ignored (not a plain port): %r", v)
            return None
        return v

    @field_validator("redis_url")
    @classmethod
    def _check_url(cls, v: SecretStr) -> SecretStr:
        parts = urlsplit(v.get_secret_value())
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must start with redis://, rediss:// or unix://")
        if parts.scheme != "unix":
            if not parts.hostname:
                raise ValueError("has no host")
            try:
                _ = parts.port
            except ValueError:
                raise ValueError("has an invalid port") from None
        return v

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, v: str) -> str:
        if v.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return v.upper()

    @field_validator("log_format")
    @classmethod
    def _check_format(cls, v: str) -> str:
        if v.lower() not in ("auto", "json", "console"):
            raise ValueError("must be one of auto, json, console")
        return v.lower()

    @model_validator(mode="after")
    def _legacy_redis_host(self) -> Self:
        # The earlier worker was configured with REDIS_HOST/PORT/PASSWORD; honour
        # them when REDIS_URL itself was not given.
        if "redis_url" not in self.model_fields_set and self.redis_host:
            auth = ""
            if self.redis_password is not None:
                auth = ":" + quote(self.redis_password.get_secret_value(), safe="") + "@"
            url = f"redis://{auth}{self.redis_host}:{self.redis_port or 6379}/0"
            object.__setattr__(self, "redis_url", SecretStr(url))
        return self

    def check_files(self) -> None:
        """The files named by settings exist and are readable (called at start-up).

        Kept out of validation so a manifest can be checked where its mounted secrets
        are absent; a process that needs them stops with one line instead of a
        traceback at the first connection. TLS files matter only with rediss://.
        """
        wanted = {"redis_password_file": self.redis_password_file}
        if self.redis_url.get_secret_value().startswith("rediss://"):
            wanted |= {
                "redis_tls_ca_file": self.redis_tls_ca_file,
                "redis_tls_cert_file": self.redis_tls_cert_file,
                "redis_tls_key_file": self.redis_tls_key_file,
            }
        for name, path in wanted.items():
            if path is not None and not (path.is_file() and os.access(path, os.R_OK)):
                raise ConfigurationError(
                    env_name(type(self), name), f"is not a readable file (got {str(path)!r})"
                )

    def password(self) -> str | None:
        """The password from REDIS_PASSWORD_FILE (a mounted secret) or REDIS_PASSWORD."""
        if self.redis_password_file is not None:
            return self.redis_password_file.read_text().strip()
        if self.redis_password is not None:
            return self.redis_password.get_secret_value()
        return None

    def safe_redis_url(self) -> str:
        """The Redis URL with any password replaced, for logs and /status."""
        if self.redis_sentinels:
            db = urlsplit(self.redis_url.get_secret_value()).path
            return f"sentinel://{self.redis_sentinels}/{self.redis_sentinel_master}{db}"
        parts = urlsplit(self.redis_url.get_secret_value())
        host = parts.hostname or ""
        netloc = f"{parts.username + ':***@' if parts.username else ''}{host}"
        if parts.password and not parts.username:
            netloc = f":***@{host}"
        if parts.port:
            netloc += f":{parts.port}"
        return f"{parts.scheme}://{netloc}{parts.path}"

    def keys(self) -> StreamKeys:
        return StreamKeys.for_stream(
            self.stream,
            partitions=self.partitions,
            dead_letter=self.dead_letter_stream,
            cluster=self.redis_cluster,
        )


def _default_consumer() -> str:
    pod = os.environ.get("POD_NAME")
    return pod or f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(CommonSettings):
    """Everything `streams-worker run` needs (docs/operations.md, "Configure")."""

    consumer: str = Field(
        default_factory=_default_consumer, min_length=1, validation_alias=_env("WORKER_CONSUMER")
    )
    handler: str = Field(DEFAULT_HANDLER, validation_alias=_env("WORKER_HANDLER"))
    concurrency: int = Field(16, ge=1, le=10_000, validation_alias=_env("WORKER_CONCURRENCY"))
    batch_size: int = Field(50, ge=1, le=10_000, validation_alias=_env("WORKER_BATCH_SIZE"))
    block_ms: int = Field(5000, ge=1, le=600_000, validation_alias=_env("WORKER_BLOCK_MS"))
    claim_min_idle_ms: int = Field(
        60_000, ge=0, le=86_400_000, validation_alias=_env("WORKER_CLAIM_MIN_IDLE_MS")
    )
    claim_interval_ms: int = Field(
        5000, ge=1, le=3_600_000, validation_alias=_env("WORKER_CLAIM_INTERVAL_MS")
    )
    max_deliveries: int = Field(3, ge=1, le=1000, validation_alias=_env("WORKER_MAX_DELIVERIES"))
    http_port: int = Field(8000, ge=0, le=65535, validation_alias=_env("WORKER_HTTP_PORT"))
    http_host: str = Field("0.0.0.0", validation_alias=_env("WORKER_HTTP_HOST"))  # noqa: S104 - a pod must be scrapable
    shutdown_grace_s: float = Field(
        25.0, ge=0, le=3600, validation_alias=_env("WORKER_SHUTDOWN_GRACE_S")
    )
    lease_renewal: bool = Field(True, validation_alias=_env("WORKER_LEASE_RENEWAL"))
    consumer_idle_expiry_ms: int = Field(
        3_600_000, ge=1000, validation_alias=_env("WORKER_CONSUMER_IDLE_EXPIRY_MS")
    )
    group_sample_interval_ms: int = Field(
        5000, ge=100, le=3_600_000, validation_alias=_env("WORKER_GROUP_SAMPLE_INTERVAL_MS")
    )
    #: Lifetime of the ownership leases (consumer name, sampler), renewed every third.
    #: 0 turns them off: no consumer-name check, every replica samples the group.
    ownership_ttl_ms: int = Field(
        15_000, ge=0, le=600_000, validation_alias=_env("WORKER_OWNERSHIP_TTL_MS")
    )
    burst: bool = Field(False, validation_alias=_env("WORKER_BURST"))
    #: Honoured where the worker is embedded in an application (`worker_lifespan`), as
    #: the earlier worker did: off unless switched on. `streams-worker run` ignores it.
    background_worker: bool = Field(False, validation_alias=_env("ENABLE_BACKGROUND_WORKER"))
    handler_timeout_s: float = Field(
        0.0, ge=0, le=86_400, validation_alias=_env("WORKER_HANDLER_TIMEOUT_S")
    )
    trim_interval_ms: int = Field(
        60_000, ge=0, le=86_400_000, validation_alias=_env("WORKER_TRIM_INTERVAL_MS")
    )
    #: Waits before the 2nd, 3rd, ... delivery of a failed entry (docs/retries.md).
    retry_delays_ms: str = Field("", validation_alias=_env("WORKER_RETRY_DELAYS_MS"))
    #: Handler starts per group: N/s, N/min or N/h; empty: no limit.
    rate_limit: str = Field("", validation_alias=_env("WORKER_RATE_LIMIT"))

    @field_validator("retry_delays_ms")
    @classmethod
    def _check_delays(cls, v: str) -> str:
        return ",".join(map(str, parse_delays_ms(v)))

    @field_validator("rate_limit")
    @classmethod
    def _check_rate(cls, v: str) -> str:
        parse_rate(v)
        return v.strip()

    @field_validator("consumer")
    @classmethod
    def _check_consumer(cls, v: str) -> str:
        if v == WAITING_CONSUMER:
            raise ValueError(f"{WAITING_CONSUMER!r} is reserved for entries waiting to retry")
        return v

    def retry_schedule_ms(self) -> tuple[int, ...]:
        return parse_delays_ms(self.retry_delays_ms)

    def rate(self) -> Rate | None:
        return parse_rate(self.rate_limit)

    @model_validator(mode="after")
    def _check_claims(self) -> Self:
        if self.batch_size > self.concurrency:
            # Never read more than there are free slots; a bigger batch is just capped.
            object.__setattr__(self, "batch_size", self.concurrency)
        return self


S = TypeVar("S", bound=CommonSettings)


def env_name(cls: type[CommonSettings], field: str) -> str:
    """The environment variable behind a settings field, for error messages."""
    info = cls.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and alias.choices:
        first = alias.choices[0]
        return first if isinstance(first, str) else field.upper()
    return field.upper()


def load(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment plus explicit overrides (CLI flags).

    Raises `ConfigurationError` naming the first bad variable; the CLI turns that
    into one line and exit status 2.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = cls(**given)
        settings.check_files()
        return settings
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        if field not in cls.model_fields:
            field = next((name for name in cls.model_fields if env_name(cls, name) == field), field)
        variable = env_name(cls, field) if field in cls.model_fields else field
        got = err.get("input")
        secret = field in ("redis_url", "redis_password") or isinstance(got, dict)
        shown = "" if secret else f" (got {got!r})"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(variable, f"{msg}{shown}") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError("settings", str(exc)) from None
