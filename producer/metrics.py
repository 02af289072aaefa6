"""The producer's Prometheus metrics, on an explicit registry (a fresh one per test).

Names are a contract (docs/metrics.md). Labels: the logical stream, and a closed set of
error reasons; never an article ID.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from streams_worker.core.metrics import register_runtime

#: Why something went wrong: a rejected ID, Redis, the catalog (listing or a check).
ERROR_REASONS = ("invalid_id", "redis", "catalog")
#: Outcomes of one sync run.
SYNC_OUTCOMES = ("ok", "failed")

P = "streams_producer_"


class ProducerMetrics:
    """Everything one producer process exports."""

    def __init__(self, registry: CollectorRegistry, *, stream: str) -> None:
        self.registry = registry
        register_runtime(registry, P)
        lv = {"stream": stream}
        base = ["stream"]
        self.enqueued = Counter(
            P + "enqueued", "Entries added to the stream.", base, registry=registry
        ).labels(**lv)
        self.duplicates = Counter(
            P + "duplicates_skipped",
            "IDs not added because they were already waiting or pending.",
            base,
            registry=registry,
        ).labels(**lv)
        errors = Counter(P + "errors", "Errors, by reason.", [*base, "reason"], registry=registry)
        self._errors = {r: errors.labels(**lv, reason=r) for r in ERROR_REASONS}
        runs = Counter(
            P + "sync_runs", "Catalog sync runs, by outcome.", [*base, "outcome"], registry=registry
        )
        self._runs = {o: runs.labels(**lv, outcome=o) for o in SYNC_OUTCOMES}
        self.last_sync = Gauge(
            P + "last_sync_timestamp_seconds",
            "When the last successful sync run finished (Unix time).",
            base,
            registry=registry,
        ).labels(**lv)
        self.sync_seconds = Histogram(
            P + "sync_seconds",
            "Duration of one sync run.",
            base,
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
            registry=registry,
        ).labels(**lv)
        self.articles_seen = Counter(
            P + "sync_articles_seen", "Articles listed by the catalog during syncs.", base,
            registry=registry,
        ).labels(**lv)  # fmt: skip
        self.already_enriched = Counter(
            P + "sync_already_enriched",
            "Articles skipped by sync because they are enriched with the current version.",
            base,
            registry=registry,
        ).labels(**lv)

    def error(self, reason: str, amount: int = 1) -> None:
        self._errors[reason].inc(amount)

    def sync_run(self, outcome: str) -> None:
        self._runs[outcome].inc()
