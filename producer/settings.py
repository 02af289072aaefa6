"""Producer settings: the shared connection/stream settings plus batching and sync.

Read once in the CLI and passed down. The producer reads the same REDIS_URL,
WORKER_STREAM and WORKER_PARTITIONS as the workers, so one ConfigMap serves both;
the catalog (DATA_API_URL, KEYCLOAK_*, CATALOG_*) and the enricher version that
`sync` compares against come from the enrichment settings, as the worker's do.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field

from streams_worker.core.settings import CommonSettings


class ProducerSettings(CommonSettings):
    """Everything `streams-producer` needs."""

    http_port: int = Field(
        8001, ge=0, le=65535, validation_alias=AliasChoices("PRODUCER_HTTP_PORT")
    )
    http_host: str = Field("0.0.0.0", validation_alias=AliasChoices("PRODUCER_HTTP_HOST"))  # noqa: S104 - a pod must be scrapable
    #: IDs sent per pipelined round trip.
    batch_size: int = Field(
        2000, ge=1, le=100_000, validation_alias=AliasChoices("PRODUCER_BATCH_SIZE")
    )
    #: IDs handled by one script call; bounds how long one call holds the server.
    script_batch: int = Field(
        100, ge=1, le=10_000, validation_alias=AliasChoices("PRODUCER_SCRIPT_BATCH")
    )
    sync_page_size: int = Field(
        100, ge=1, le=10_000, validation_alias=AliasChoices("PRODUCER_SYNC_PAGE_SIZE")
    )
    #: A Redis SET of article URNs finished elsewhere (the earlier worker's
    #: `enrichment:processed`): `sync` counts its members as done without a catalog read.
    sync_done_set: str | None = Field(
        None, min_length=1, validation_alias=AliasChoices("PRODUCER_DONE_SET")
    )
    #: The earlier worker's polling period: when set, `sync` runs as a service every
    #: that many seconds unless `--every` or `--once` says otherwise.
    poll_interval_s: float | None = Field(
        None, ge=0.1, le=86_400, validation_alias=AliasChoices("WORKER_POLL_INTERVAL")
    )
    #: How long a transient Redis refusal (connection lost, LOADING, BUSY, READONLY,
    #: OOM, ...) is retried with backoff before the command fails (exit 3).
    retry_s: float = Field(30.0, ge=0, le=3600, validation_alias=AliasChoices("PRODUCER_RETRY_S"))
    #: Catalog look-ups in flight while checking which articles are enriched.
    sync_concurrency: int = Field(
        8, ge=1, le=256, validation_alias=AliasChoices("PRODUCER_SYNC_CONCURRENCY")
    )
