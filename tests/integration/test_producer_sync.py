"""`sync` against the sample catalog: what is not enriched goes in, each article once."""

from __future__ import annotations

import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from producer.enqueue import Enqueuer
from producer.metrics import ProducerMetrics
from producer.sync import SyncFailed, SyncReport, sync_once
from streams_worker import Worker
from streams_worker.core.keys import StreamKeys
from streams_worker.core.settings import WorkerSettings
from streams_worker.dev.embedded import free_port
from streams_worker.enrichment.handler import build_handler, current_enricher, is_enriched
from streams_worker.enrichment.sample_catalog import DEFAULT_CLIENT_SECRET, SampleCatalog
from tests.support.catalog import client_for, settings_for
from tests.support.names import Names
from tests.support.wait import wait_for
from tests.support.workers import producer, spawn_producer, worker_env


@pytest.fixture
def catalog() -> Iterator[SampleCatalog]:
    with SampleCatalog.start() as c:
        yield c


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    async with Redis.from_url(redis_url) as c:
        yield c


def _is_done(catalog: SampleCatalog) -> Any:
    return partial(is_enriched, enricher=current_enricher(settings_for(catalog)))


async def _stream_ids(client: Redis, keys: StreamKeys) -> Counter[str]:
    seen: Counter[str] = Counter()
    for p in keys.partitions:
        for _, fields in await client.xrange(p.stream):
            seen[fields[b"article_id"].decode()] += 1
    return seen


def _env(redis_url: str, names: Names, catalog_url: str, **extra: str) -> dict[str, str]:
    return worker_env(
        redis_url, WORKER_STREAM=names.stream, WORKER_PARTITIONS="2", DATA_API_URL=catalog_url,
        KEYCLOAK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET, CATALOG_BACKOFF_MAX_S="0.05",
        CATALOG_MAX_RETRIES="1", **extra,
    )  # fmt: skip


async def test_sync_enqueues_what_is_not_enriched_and_nothing_once_enriched(
    catalog: SampleCatalog, client: Redis, names: Names, redis_url: str
) -> None:
    keys = StreamKeys.for_stream(names.stream, partitions=2)
    metrics = ProducerMetrics(CollectorRegistry(), stream=names.stream)
    enq = Enqueuer(client, keys, metrics=metrics)
    async with client_for(catalog) as source:
        first = await sync_once(source, _is_done(catalog), enq, page_size=50, metrics=metrics)
        assert (first.listed, first.enqueued, first.already_enriched) == (240, 240, 0)
        assert first.complete
        assert set(await _stream_ids(client, keys)) == set(catalog.urns)

        again = await sync_once(source, _is_done(catalog), enq, page_size=50)
        assert (again.enqueued, again.duplicates) == (0, 240)  # still waiting: not re-added

        settings = WorkerSettings(
            redis_url=redis_url, partitions=2, burst=True, http_port=0, block_ms=50,
            concurrency=32, **names.settings(),
        )  # fmt: skip
        with anyio.fail_after(60):
            await Worker(settings, build_handler(settings_for(catalog))).serve()
        after = await sync_once(source, _is_done(catalog), enq, page_size=50)
        assert (after.enqueued, after.already_enriched) == (0, 240)
    assert metrics.articles_seen._value.get() == 240  # only the first run was given metrics  # type: ignore[attr-defined]


def test_two_concurrent_sync_processes_enqueue_each_article_once(
    redis_url: str, names: Names, tmp_path: Path
) -> None:
    with SampleCatalog.start(latency_ms=2) as catalog:
        env = _env(redis_url, names, catalog.url, PRODUCER_SYNC_PAGE_SIZE="20")
        procs = [spawn_producer(env, tmp_path / f"sync-{i}.log", "sync") for i in range(2)]
        codes = [p.wait(60) for p in procs]
        outs = [p.log() for p in procs]
        assert codes == [0, 0], outs
        enqueued = [int(re.findall(r"enqueued (\d+), duplicates", o)[-1]) for o in outs]
        assert sum(enqueued) == 240
        seen = anyio.run(_count, redis_url, names)
        assert set(seen) == set(catalog.urns)
        assert max(seen.values()) == 1


async def _count(redis_url: str, names: Names) -> Counter[str]:
    async with Redis.from_url(redis_url) as c:
        return await _stream_ids(c, StreamKeys.for_stream(names.stream, partitions=2))


def test_unreachable_catalog_is_one_line_and_enqueues_nothing(redis_url: str, names: Names) -> None:
    run = producer("sync", env=_env(redis_url, names, f"http://127.0.0.1:{free_port()}"))
    assert run.returncode == 3
    assert "catalog listing failed at offset 0" in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert anyio.run(_count, redis_url, names) == Counter()


def test_catalog_answering_errors_is_reported_not_swallowed(
    catalog: SampleCatalog, redis_url: str, names: Names
) -> None:
    catalog.store.inject(503, count=10)
    run = producer("sync", env=_env(redis_url, names, catalog.url))
    assert run.returncode == 3
    assert "catalog listing failed" in run.stderr
    assert "503" in run.stderr or "ServiceUnavailable" in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_catalog_setting_exits_2(redis_url: str, names: Names) -> None:
    run = producer("sync", env=_env(redis_url, names, "ftp://nowhere"))
    assert run.returncode == 2
    assert "DATA_API_URL" in run.stderr
    run = producer("sync", env=_env(redis_url, names, "http://c", WORKER_POLL_INTERVAL="soon"))
    assert run.returncode == 2
    assert "WORKER_POLL_INTERVAL" in run.stderr


def test_once_overrides_the_poll_interval(
    catalog: SampleCatalog, redis_url: str, names: Names
) -> None:
    env = _env(redis_url, names, catalog.url, WORKER_POLL_INTERVAL="0.3")
    run = producer("sync", "--once", env=env)
    assert run.returncode == 0, run.stderr
    assert "enqueued 240" in run.stdout


async def test_flaky_catalog_reports_what_it_could_not_check_and_reruns_complete_it(
    client: Redis, names: Names
) -> None:
    """Errors on some article reads: those are reported (not dropped, not guessed);
    re-running fills them in; no article ever enters the queue twice."""
    keys = StreamKeys.for_stream(names.stream, partitions=2)
    enq = Enqueuer(client, keys)
    reports: list[SyncReport] = []
    failures: list[str] = []
    with SampleCatalog.start(error_rate=0.05, seed=7) as catalog:
        urns = set(catalog.urns)
        async with client_for(catalog, max_retries=0) as source:
            for _ in range(10):
                try:
                    reports.append(await sync_once(source, _is_done(catalog), enq, page_size=60))
                except SyncFailed as exc:
                    failures.append(str(exc))
                    continue
                if set(await _stream_ids(client, keys)) == urns:
                    break
    assert all("catalog listing failed" in f for f in failures)
    incomplete = [r for r in reports if r.unchecked]
    assert incomplete, "with 5% errors some article reads failed"
    for r in incomplete:  # each one named, with the reason
        assert all(urn in urns and "HTTP 5" in reason for urn, reason in r.unchecked)
        assert r.enqueued + r.duplicates + len(r.unchecked) == r.listed
    seen = await _stream_ids(client, keys)
    assert set(seen) == urns
    assert max(seen.values()) == 1


@pytest.mark.parametrize("period", ["flag", "WORKER_POLL_INTERVAL"])
def test_sync_every_serves_metrics_and_health_and_stops_on_sigterm(
    catalog: SampleCatalog, redis_url: str, names: Names, tmp_path: Path, period: str
) -> None:
    """`--every`, or the earlier worker's WORKER_POLL_INTERVAL as its default period."""
    port = free_port()
    env = _env(redis_url, names, catalog.url, PRODUCER_HTTP_PORT=str(port),
               PRODUCER_HTTP_HOST="127.0.0.1")  # fmt: skip
    log = tmp_path / "producer.log"
    if period == "flag":
        proc = spawn_producer(env, log, "sync", "--every", "0.3")
    else:
        proc = spawn_producer({**env, "WORKER_POLL_INTERVAL": "0.3"}, log, "sync")
    try:

        def runs() -> float:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                return 0.0
            for line in text.splitlines():
                if line.startswith("streams_producer_sync_runs_total") and '"ok"' in line:
                    return float(line.rsplit(" ", 1)[1])
            return 0.0

        wait_for(lambda: runs() >= 2, timeout=30, interval=0.1, what="two sync runs")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        assert f'streams_producer_enqueued_total{{stream="{names.stream}"}} 240.0' in metrics
        assert "streams_producer_duplicates_skipped_total" in metrics
        proc.signal(signal.SIGTERM)
        code = proc.wait(15)
        assert code == 0, log.read_text()[-2000:]
        assert '"event": "sync_run"' in log.read_text()
    finally:
        proc.close()


class _OddCatalog:
    """A catalog edge that lists an invalid ID, one URN twice, and an article it will not show."""

    def __init__(self) -> None:
        self.pages = [["urn:article:ok-1", "not a urn", "urn:article:ok-1"], ["urn:article:gone"]]

    async def list_articles(self, limit: int = 100, offset: int = 0) -> list[str]:
        return self.pages[offset // limit] if offset // limit < len(self.pages) else []

    async def get_article(self, urn: str) -> dict[str, Any]:
        if urn.endswith("gone"):
            raise httpx.ConnectError("connection refused")
        return {"urn": urn, "extras": {}}


async def test_odd_listings_are_reported_not_enqueued_or_dropped(
    client: Redis, names: Names
) -> None:
    keys = StreamKeys.for_stream(names.stream)
    metrics = ProducerMetrics(CollectorRegistry(), stream=names.stream)
    report = await sync_once(
        _OddCatalog(), lambda article: False, Enqueuer(client, keys), page_size=3, metrics=metrics
    )
    assert report.listed == 4
    assert report.enqueued == 1  # ok-1, once, although listed twice
    assert [urn for urn, _ in report.invalid] == ["not a urn"]
    assert report.unchecked == [("urn:article:gone", "ConnectError: connection refused")]
    assert not report.complete
    assert "not checked 1, invalid 1" in report.summary()
    assert await client.xlen(names.stream) == 1
    errors = metrics.registry.get_sample_value(
        "streams_producer_errors_total", {"stream": names.stream, "reason": "catalog"}
    )
    assert errors == 1


async def test_a_migration_from_the_earlier_worker_enriches_nothing_twice(
    catalog: SampleCatalog, client: Redis, redis_url: str, names: Names
) -> None:
    """Articles in the earlier worker's done set, or enhanced by its agent, are done."""
    by_agent, in_set = catalog.urns[:5], catalog.urns[5:12]
    api = client_for(catalog)
    try:
        for urn in by_agent:  # what the earlier worker wrote, through the catalog's own route
            ai = {"ai_tags": ["legacy"], "ai_category": "review", "ai_key_takeaways": ["Old."]}
            await api.enhance(urn, "foodscholar-v1", ai)
    finally:
        await api.aclose()
    done_key = f"{names.stream}:earlier:processed"
    await client.sadd(done_key, *in_set, "urn:article:not-in-this-catalog")
    env = _env(redis_url, names, catalog.url, ENRICHMENT_DONE_AGENTS="foodscholar-v1")
    writes_before = {urn: catalog.write_counts(urn).enhances for urn in by_agent + in_set}
    run = await anyio.to_thread.run_sync(partial(producer, "sync", "--done-set", done_key, env=env))
    assert run.returncode == 0, run.stderr
    assert "already enriched 12, enqueued 228" in run.stdout
    seen = await _stream_ids(client, StreamKeys.for_stream(names.stream, partitions=2))
    assert set(seen) == set(catalog.urns) - set(by_agent) - set(in_set)
    assert {urn: catalog.write_counts(urn).enhances for urn in writes_before} == writes_before
    # A bad agent name stops the command with one line naming the variable.
    bad = await anyio.to_thread.run_sync(
        partial(producer, "sync", env={**env, "ENRICHMENT_DONE_AGENTS": "Food Scholar"})
    )
    assert bad.returncode == 2
    assert "ENRICHMENT_DONE_AGENTS" in bad.stderr
