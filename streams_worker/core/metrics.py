"""Prometheus metrics, registered on an explicit registry (a fresh one per test).

Names are a contract (docs/metrics.md): dashboards, alerts and the autoscaler use them.
Labels carry the logical stream, group and a few closed sets (outcome,
operation, partition); never an entry ID or payload value.
"""

from __future__ import annotations

import platform
from bisect import bisect_left
from collections.abc import Callable, Iterator
from importlib import metadata

import redis
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

OUTCOMES = ("acked", "failed", "dead_lettered", "skipped")
#: Redis operations whose errors are counted separately.
OPERATIONS = (
    "read", "ack", "claim", "renew", "dead_letter", "ensure_group", "cleanup", "sample", "ping",
    "retry", "rate_limit",
)  # fmt: skip
#: Milliseconds to minutes: enrichment calls take ~100 ms, LLM calls up to minutes.
HANDLER_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip

P = "streams_worker_"
#: Distinct `error` label values per replica before the rest are counted as "other".
MAX_ERROR_CLASSES = 20


def package_version() -> str:
    """The installed streams-worker version (the wheel's metadata, one source)."""
    try:
        return metadata.version("streams-worker")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def register_runtime(registry: CollectorRegistry, prefix: str) -> None:
    """The standard `process_*` and `python_*` series plus `<prefix>build_info`.

    Each collector is added once per registry: a registry that already has them
    (prometheus_client's default REGISTRY, a user's own) keeps its own copy. These
    collectors do not describe themselves, so the registry's duplicate check cannot
    see them: look at what the registry exports instead.
    """
    have = {family.name for family in registry.collect()}
    if not any(name.startswith("process_") for name in have):
        ProcessCollector(registry=registry)
    if "python_info" not in have:
        PlatformCollector(registry=registry)
    if "python_gc_objects_collected" not in have:
        GCCollector(registry=registry)
    Info(prefix + "build", "Versions this process runs: package, Python, redis-py.",
         registry=registry).info({
        "version": package_version(),
        "python": platform.python_version(),
        "redis_py": redis.__version__,
    })  # fmt: skip


#: Bucket labels exactly as prometheus_client writes them (typed here: not all of its
#: releases annotate it).
_go_float: Callable[[float], str] = floatToGoString


class LoopHistogram(Collector):
    """A histogram observed once per delivery from the event loop thread only.

    prometheus_client's Histogram takes a lock per bucket and per sum on every
    observation (about 6% of py-spy's samples of a worker with a no-op handler);
    here an observation is a bisect and two additions on plain numbers. The registry
    reads them at scrape time: `_count` is derived from the buckets, so a scrape that
    races an observation may see the sum lag its count by one, never a torn count.
    """

    def __init__(
        self, name: str, documentation: str, labels: dict[str, str], buckets: tuple[float, ...]
    ) -> None:
        self._name, self._doc, self._labels = name, documentation, labels
        self._bounds = buckets
        self._counts = [0] * (len(buckets) + 1)  # the last one: +Inf
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self._bounds, seconds)] += 1
        self._sum += seconds

    def collect(self) -> Iterator[Metric]:
        counts, total = list(self._counts), self._sum
        family = HistogramMetricFamily(self._name, self._doc, labels=list(self._labels))
        cumulative, buckets = 0, []
        for bound, n in zip((*self._bounds, float("inf")), counts, strict=True):
            cumulative += n
            buckets.append((_go_float(bound), float(cumulative)))
        family.add_metric(list(self._labels.values()), buckets, total)
        yield family

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self._name, self._doc, labels=list(self._labels))


class WorkerMetrics:
    """Everything one worker replica exports. Group gauges are set by the sampler."""

    def __init__(self, registry: CollectorRegistry, *, stream: str, group: str) -> None:
        self.registry = registry
        register_runtime(registry, P)
        base = ["stream", "group"]
        self.entries = Counter(
            P + "entries", "Entries finished, by outcome.", [*base, "outcome"], registry=registry
        )
        # The canary: "every entry fails the same way" shows as one line and one alert.
        self.dead_letters = Counter(
            P + "dead_letters", "Entries dead-lettered, by reason and the error's class name.",
            [*base, "reason", "error"], registry=registry,
        )  # fmt: skip
        self.handler_timer = LoopHistogram(
            P + "handler_seconds", "Time spent in the handler per delivery.",
            {"stream": stream, "group": group}, HANDLER_BUCKETS,
        )  # fmt: skip
        registry.register(self.handler_timer)
        self.in_flight = Gauge(P + "in_flight", "Handlers running now.", base, registry=registry)
        self.concurrency = Gauge(
            P + "concurrency", "Configured handler slots.", base, registry=registry
        )
        self.claimed = Counter(
            P + "claimed", "Entries claimed from other (dead or slow) consumers.", base,
            registry=registry,
        )  # fmt: skip
        self.lease_renewals = Counter(
            P + "lease_renewals", "Pending entries whose idle time was reset while running.",
            base, registry=registry,
        )  # fmt: skip
        self.lease_lost = Counter(
            P + "lease_lost", "Acks or renewals for entries another consumer had claimed.",
            base, registry=registry,
        )  # fmt: skip
        self.deleted_pending = Counter(
            P + "deleted_pending", "Pending entries found deleted from the stream.", base,
            registry=registry,
        )  # fmt: skip
        self.redis_errors = Counter(
            P + "redis_errors", "Redis errors, by operation.", [*base, "operation"],
            registry=registry,
        )  # fmt: skip
        self.reconnects = Counter(
            P + "reconnects", "Successful recoveries after a lost connection.", base,
            registry=registry,
        )  # fmt: skip
        self.group_recreated = Counter(
            P + "group_recreated", "Times the group or stream had vanished and was recreated.",
            base, registry=registry,
        )  # fmt: skip
        self.consumers_deleted = Counter(
            P + "consumers_deleted", "Idle consumers holding nothing, removed from the group.",
            base, registry=registry,
        )  # fmt: skip
        self.owned_partitions = Gauge(
            P + "owned_partitions",
            "Partitions this replica owns and reads (0 while sharing one, or not assigned).",
            base, registry=registry,
        )  # fmt: skip
        self.paused = Gauge(
            P + "paused", "1 while reads are paused by the operator flag.", base, registry=registry
        )
        # Backoff between deliveries (core/retries.py) and the group's rate limit.
        self.delayed = Counter(
            P + "delayed", "Failed entries set to wait before their next delivery.", base,
            registry=registry,
        )  # fmt: skip
        self.rate_limit_permits = Counter(
            P + "rate_limit_permits", "Handler starts granted by the group's rate limit.",
            base, registry=registry,
        )  # fmt: skip
        self.rate_limit_wait = Counter(
            P + "rate_limit_wait_seconds", "Time the read loop waited for rate-limit permits "
            "(or for an upstream's pause).", base, registry=registry,
        )  # fmt: skip
        self.rate_limit_pauses = Counter(
            P + "rate_limit_pauses", "Upstream rate limits (RateLimited) that paused the group.",
            base, registry=registry,
        )  # fmt: skip
        # Group-level figures, sampled on an interval by every replica (use max()).
        gbase = [*base, "partition"]
        self.delayed_entries = Gauge(
            P + "delayed_entries", "Failed entries waiting for their next delivery.", gbase,
            registry=registry,
        )  # fmt: skip
        self.delayed_next_attempt = Gauge(
            P + "delayed_next_attempt_timestamp_seconds",
            "When the earliest waiting entry is due (unix time; 0: none waiting).", gbase,
            registry=registry,
        )  # fmt: skip
        self.stream_length = Gauge(P + "stream_length", "XLEN of the stream.", gbase,
                                   registry=registry)  # fmt: skip
        self.group_pending = Gauge(P + "group_pending", "Entries delivered but not acked.", gbase,
                                   registry=registry)  # fmt: skip
        self.group_lag = Gauge(P + "group_lag", "Entries not yet delivered to the group.", gbase,
                               registry=registry)  # fmt: skip
        self.group_lag_estimated = Gauge(
            P + "group_lag_estimated",
            "1 when lag is computed by us because the server's figure is missing or invalid.",
            gbase, registry=registry,
        )  # fmt: skip
        self.group_backlog = Gauge(P + "group_backlog", "Lag plus pending: work not yet done.",
                                   gbase, registry=registry)  # fmt: skip
        self.oldest_pending_age = Gauge(
            P + "oldest_pending_age_seconds", "Idle time of the oldest pending entry.", gbase,
            registry=registry,
        )  # fmt: skip
        self.oldest_undelivered_age = Gauge(
            P + "oldest_undelivered_age_seconds", "Age of the oldest entry not yet delivered.",
            gbase, registry=registry,
        )  # fmt: skip
        self.group_consumers = Gauge(P + "group_consumers", "Consumers in the group.", gbase,
                                     registry=registry)  # fmt: skip
        self.dead_letter_length = Gauge(
            P + "dead_letter_length", "Entries in the dead-letter stream.", gbase,
            registry=registry,
        )  # fmt: skip

        # Children bound once: the hot path does one attribute lookup, not labels().
        lv = {"stream": stream, "group": group}
        self.acked = self.entries.labels(**lv, outcome="acked")
        self.failed = self.entries.labels(**lv, outcome="failed")
        self.dead_lettered = self.entries.labels(**lv, outcome="dead_lettered")
        self.skipped = self.entries.labels(**lv, outcome="skipped")
        self.in_flight_g = self.in_flight.labels(**lv)
        self.concurrency_g = self.concurrency.labels(**lv)
        self.claimed_c = self.claimed.labels(**lv)
        self.lease_renewals_c = self.lease_renewals.labels(**lv)
        self.lease_lost_c = self.lease_lost.labels(**lv)
        self.deleted_pending_c = self.deleted_pending.labels(**lv)
        self.reconnects_c = self.reconnects.labels(**lv)
        self.group_recreated_c = self.group_recreated.labels(**lv)
        self.consumers_deleted_c = self.consumers_deleted.labels(**lv)
        self.paused_g = self.paused.labels(**lv)
        self.delayed_c = self.delayed.labels(**lv)
        self.permits_c = self.rate_limit_permits.labels(**lv)
        self.rate_wait_c = self.rate_limit_wait.labels(**lv)
        self.pauses_c = self.rate_limit_pauses.labels(**lv)
        self.group_labels = dict(lv)
        self.owned_partitions_g = self.owned_partitions.labels(**lv)
        self._errors = {op: self.redis_errors.labels(**lv, operation=op) for op in OPERATIONS}
        self._lv = lv
        self._error_classes: set[str] = set()

    def redis_error(self, operation: str) -> None:
        self._errors[operation].inc()

    def dead_letter(self, reason: str, error_class: str) -> None:
        """Count one dead letter; class names are code, not data, but stay bounded anyway."""
        if error_class not in self._error_classes:
            if len(self._error_classes) >= MAX_ERROR_CLASSES:
                error_class = "other"
            else:
                self._error_classes.add(error_class)
        self.dead_lettered.inc()
        self.dead_letters.labels(**self._lv, reason=reason, error=error_class).inc()
