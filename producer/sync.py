"""`sync`: page through the catalog and enqueue the articles not yet enriched.

Each page is checked (one GET per article, a few in flight) against the current
enricher's name and version, and what is not done goes through the same
at-most-once enqueue as `enqueue`, so two syncs running at once, or a sync that
overlaps articles already waiting, add each article once.

Nothing is dropped silently: an article the catalog lists but will not show is
reported (URN and reason) and counted; the next run tries again. A listing that
fails ends the run with `SyncFailed`, carrying what was done so far.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import httpx

from producer.enqueue import Enqueuer, ProducerError, describe, invalid_reason
from producer.metrics import ProducerMetrics
from streams_worker.core.errors import StreamsWorkerError

#: What a catalog call may raise once its own retries are spent.
CATALOG_ERRORS = (StreamsWorkerError, httpx.HTTPError, OSError)


class ArticleSource(Protocol):
    """The two catalog calls sync needs (the enrichment `CatalogClient` has them)."""

    async def list_articles(self, limit: int = 100, offset: int = 0) -> list[str]: ...

    async def get_article(self, urn: str) -> dict[str, Any]: ...


IsDone = Callable[[Mapping[str, Any]], bool]
#: Which of these URNs are recorded as done elsewhere (the earlier worker's set).
DoneElsewhere = Callable[[list[str]], Awaitable[set[str]]]


@dataclass
class SyncReport:
    """What one run saw and did."""

    listed: int = 0
    already_enriched: int = 0
    enqueued: int = 0
    duplicates: int = 0
    #: (URN, reason) for articles that could not be checked, and listed IDs that are invalid.
    unchecked: list[tuple[str, str]] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.unchecked and not self.invalid

    def summary(self) -> str:
        return (
            f"listed {self.listed}, already enriched {self.already_enriched}, "
            f"enqueued {self.enqueued}, duplicates skipped {self.duplicates}, "
            f"not checked {len(self.unchecked)}, invalid {len(self.invalid)}"
        )


class SyncFailed(ProducerError):
    """The catalog listing failed; `report` holds what was enqueued before that."""

    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(message)
        self.report = report


async def sync_once(
    source: ArticleSource,
    is_done: IsDone,
    enqueuer: Enqueuer,
    *,
    page_size: int = 100,
    concurrency: int = 8,
    metrics: ProducerMetrics | None = None,
    done_elsewhere: DoneElsewhere | None = None,
) -> SyncReport:
    """One pass over the catalog. Raises `SyncFailed` if a page cannot be listed."""
    report = SyncReport()
    started = time.monotonic()
    limiter = anyio.CapacityLimiter(concurrency)
    offset = 0
    while True:
        try:
            page = await source.list_articles(limit=page_size, offset=offset)
        except CATALOG_ERRORS as exc:
            if metrics:
                metrics.error("catalog")
            report.seconds = time.monotonic() - started
            raise SyncFailed(
                f"catalog listing failed at offset {offset}: {describe(exc)}", report
            ) from exc
        report.listed += len(page)
        if metrics:
            metrics.articles_seen.inc(len(page))
        recorded = await done_elsewhere(page) if done_elsewhere and page else set()
        if recorded:
            report.already_enriched += len(recorded)
            if metrics:
                metrics.already_enriched.inc(len(recorded))
        unseen = [urn for urn in page if urn not in recorded]
        todo = await _check_page(unseen, source, is_done, limiter, report, metrics)
        if todo:
            result = await enqueuer.enqueue(todo)
            report.enqueued += result.enqueued
            report.duplicates += result.duplicates
        if len(page) < page_size:
            break
        offset += len(page)
    report.seconds = time.monotonic() - started
    return report


async def _check_page(
    page: list[str],
    source: ArticleSource,
    is_done: IsDone,
    limiter: anyio.CapacityLimiter,
    report: SyncReport,
    metrics: ProducerMetrics | None,
) -> list[str]:
    """The URNs on `page` that need enriching, in catalog order."""
    needs: dict[str, bool] = {}

    async def check(urn: str) -> None:
        async with limiter:
            try:
                article = await source.get_article(urn)
            except CATALOG_ERRORS as exc:
                report.unchecked.append((urn, describe(exc)))
                if metrics:
                    metrics.error("catalog")
                return
        done = is_done(article)
        needs[urn] = not done
        if done:
            report.already_enriched += 1
            if metrics:
                metrics.already_enriched.inc()

    async with anyio.create_task_group() as tg:
        for urn in dict.fromkeys(page):  # a page listing an URN twice checks it once
            reason = invalid_reason(urn)
            if reason:
                report.invalid.append((urn, reason))
                if metrics:
                    metrics.error("invalid_id")
                continue
            tg.start_soon(check, urn)
    return [urn for urn in dict.fromkeys(page) if needs.get(urn)]


async def sync_every(
    every_s: float,
    run: Callable[[], Awaitable[SyncReport]],
    metrics: ProducerMetrics,
    on_report: Callable[[SyncReport | None, BaseException | None], None],
) -> None:
    """Run `run` now and then every `every_s` seconds until cancelled; a failed run
    is counted and reported, and the next one starts on schedule."""
    while True:
        started = time.monotonic()
        report: SyncReport | None = None
        error: BaseException | None = None
        try:
            report = await run()
        except (ProducerError, *CATALOG_ERRORS) as exc:
            error = exc
        if report is not None and report.complete:
            metrics.sync_run("ok")
            metrics.last_sync.set(time.time())
        else:
            metrics.sync_run("failed")
        if report is not None:
            metrics.sync_seconds.observe(report.seconds)
        on_report(report, error)
        await anyio.sleep(max(0.0, every_s - (time.monotonic() - started)))
