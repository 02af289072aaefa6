"""Process-level wiring for the CLI: clients opened and closed, errors made one line."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import anyio
from prometheus_client import CollectorRegistry
from redis.exceptions import RedisError

from producer.api import connect, make_enqueuer
from producer.enqueue import EnqueueResult, describe, with_retry
from producer.metrics import ProducerMetrics
from producer.settings import ProducerSettings
from producer.sync import DoneElsewhere, IsDone, SyncReport, sync_every, sync_once
from streams_worker.core.connection import Client, create_client
from streams_worker.core.logs import get_logger
from streams_worker.enrichment.catalog import CatalogClient
from streams_worker.enrichment.handler import current_enricher, is_enriched
from streams_worker.enrichment.mapping import enhanced_by
from streams_worker.enrichment.settings import EnrichmentSettings


async def run_enqueue(
    settings: ProducerSettings, ids: Iterable[str], force: bool, trace_id: str | None
) -> EnqueueResult:
    client = await connect(settings)
    try:
        metrics = ProducerMetrics(CollectorRegistry(), stream=settings.stream)
        return await make_enqueuer(settings, client, metrics).enqueue(
            ids, force=force, trace_id=trace_id
        )
    finally:
        await client.aclose()


def catalog_pieces(esettings: EnrichmentSettings) -> tuple[CatalogClient, IsDone]:
    """The catalog client and the "already enriched" test: by the current enricher, or
    by an agent of ENRICHMENT_DONE_AGENTS (a migration from the earlier worker)."""
    enricher = current_enricher(esettings)
    agents = esettings.done_agent_set()

    def is_done(article: Mapping[str, Any]) -> bool:
        return is_enriched(article, enricher) or enhanced_by(article, agents)

    return CatalogClient(esettings), is_done


def done_set(settings: ProducerSettings, client: Client) -> DoneElsewhere | None:
    """Membership in `--done-set` (one SMISMEMBER per catalog page), or None when unset."""
    key = settings.sync_done_set
    if not key:
        return None

    async def members(urns: list[str]) -> set[str]:
        async def ask() -> list[Any]:
            return list(await client.smismember(key, urns))

        flags = await with_retry(ask, f"reading the done set {key!r}", retry_s=settings.retry_s)
        return {urn for urn, flag in zip(urns, flags, strict=True) if int(flag)}

    return members


async def run_sync(settings: ProducerSettings, esettings: EnrichmentSettings) -> SyncReport:
    client = await connect(settings)
    catalog, is_done = catalog_pieces(esettings)
    try:
        metrics = ProducerMetrics(CollectorRegistry(), stream=settings.stream)
        return await sync_once(
            catalog, is_done, make_enqueuer(settings, client, metrics),
            page_size=settings.sync_page_size, concurrency=settings.sync_concurrency,
            metrics=metrics, done_elsewhere=done_set(settings, client),
        )  # fmt: skip
    finally:
        await catalog.aclose()
        await client.aclose()


class SyncService:
    """`sync --every S`: the loop plus what /metrics, /healthz, /readyz and /status show."""

    def __init__(self, settings: ProducerSettings, esettings: EnrichmentSettings) -> None:
        self.settings = settings
        self.esettings = esettings
        self.registry = CollectorRegistry()
        self.metrics = ProducerMetrics(self.registry, stream=settings.stream)
        self.log = get_logger(component="producer", stream=settings.stream)
        self.running = False
        self.runs = 0
        self.last: dict[str, Any] | None = None
        self._client: Client | None = None

    def healthy(self) -> bool:
        """Liveness: the loop is running (a failing catalog or Redis is not a reason to restart)."""
        return self.running

    async def ready(self) -> bool:
        if self._client is None:
            return False
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    def status(self) -> dict[str, Any]:
        return {"running": self.running, "runs": self.runs, "last_run": self.last,
                "stream": self.settings.stream}  # fmt: skip

    def _record(self, report: SyncReport | None, error: BaseException | None) -> None:
        self.runs += 1
        self.last = {"finished_at": time.time(), "error": describe(error) if error else None}
        if report is not None:
            self.last["summary"] = report.summary()
            self.log.info("sync_run", summary=report.summary(), error=self.last["error"])
            for urn, reason in report.unchecked[:20]:
                self.log.warning("sync_article_not_checked", article_id=urn, reason=reason)
        else:
            self.log.error("sync_failed", error=self.last["error"])

    async def serve(self, every_s: float) -> None:
        from streams_worker.http.app import create_app, serve_http

        self._client = create_client(self.settings)
        catalog, is_done = catalog_pieces(self.esettings)
        enqueuer = make_enqueuer(self.settings, self._client, self.metrics)
        elsewhere = done_set(self.settings, self._client)
        s = self.settings

        async def one() -> SyncReport:
            return await sync_once(
                catalog, is_done, enqueuer, page_size=s.sync_page_size,
                concurrency=s.sync_concurrency, metrics=self.metrics,
                done_elsewhere=elsewhere,
            )  # fmt: skip

        try:
            async with anyio.create_task_group() as tg:
                if s.http_port:
                    port = await tg.start(serve_http, create_app(self), s.http_host, s.http_port)
                    self.log.info("http_listening", port=port)
                self.running = True
                await sync_every(every_s, one, self.metrics, self._record)
        finally:
            self.running = False
            with anyio.CancelScope(shield=True):
                await catalog.aclose()
                await self._client.aclose()
