"""The standard collectors and build info on the worker's and producer's registries."""

from __future__ import annotations

import platform

import redis
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

from producer.metrics import ProducerMetrics
from streams_worker import __version__
from streams_worker.core.metrics import WorkerMetrics


def _samples(registry: CollectorRegistry, name: str) -> list[dict[str, str]]:
    return [s.labels for f in registry.collect() for s in f.samples if s.name == name]


def test_worker_and_producer_registries_carry_runtime_series_and_build_info() -> None:
    for make, prefix in (
        (lambda r: WorkerMetrics(r, stream="s", group="g"), "streams_worker_"),
        (lambda r: ProducerMetrics(r, stream="s"), "streams_producer_"),
    ):
        registry = CollectorRegistry()
        make(registry)
        text = generate_latest(registry).decode()
        for series in ("process_cpu_seconds_total", "process_open_fds", "python_info{",
                       "python_gc_collections_total"):  # fmt: skip
            assert series in text, (prefix, series)
        assert _samples(registry, prefix + "build_info") == [
            {"version": __version__, "python": platform.python_version(),
             "redis_py": redis.__version__},
        ]  # fmt: skip


def test_a_registry_that_already_has_the_collectors_keeps_one_copy() -> None:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    WorkerMetrics(registry, stream="s", group="g")
    assert len(_samples(registry, "process_cpu_seconds_total")) == 1
    assert len(_samples(registry, "python_info")) == 1
