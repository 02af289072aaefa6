"""What the application really offers, read from the code (not from the manifests).

Every module named here is on this branch: a failing import is a regression and
fails the test that asked, never a stand-in or a skip.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import AliasChoices

from streams_worker.core import settings as settings_module
from streams_worker.core.metrics import WorkerMetrics

#: (module, attribute) of every settings class whose variables may be set.
SETTINGS_CLASSES = (
    ("streams_worker.core.settings", "CommonSettings"),
    ("streams_worker.core.settings", "WorkerSettings"),
    ("streams_worker.enrichment.settings", "EnrichmentSettings"),
    ("producer.settings", "ProducerSettings"),
    ("streams_worker.console.settings", "ConsoleSettings"),
)
#: docs/http.md, the routes table.
CONTRACT_ROUTES = {"/metrics", "/healthz", "/readyz", "/status", "/health",
                   "/api/v1/worker/status"}  # fmt: skip


def _load(module: str, attr: str) -> Any:
    return getattr(importlib.import_module(module), attr)


def _aliases(cls: Any) -> set[str]:
    names: set[str] = set()
    for info in cls.model_fields.values():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, str):
            names.add(alias)
    return names


def setting_variables() -> set[str]:
    """Every environment variable some settings class reads."""
    names: set[str] = set()
    for module, attr in SETTINGS_CLASSES:
        names |= _aliases(_load(module, attr))
    # WORKER_CONSUMER's default comes from POD_NAME (downward API in the pod spec).
    if 'os.environ.get("POD_NAME")' in inspect.getsource(settings_module):
        names.add("POD_NAME")
    return names


def routes() -> set[str]:
    """Paths the worker's HTTP server answers."""
    http = _load("streams_worker.http.app", "create_app")

    class _Source:  # the StatusSource protocol, minimally
        registry = CollectorRegistry()

        def status(self) -> dict[str, Any]:
            return {}

        def healthy(self) -> bool:
            return True

        async def ready(self) -> bool:
            return True

    app = http(_Source())
    return {r.path for r in app.routes}


def _sample_names(registry: CollectorRegistry) -> set[str]:
    names: set[str] = set()
    for family in registry.collect():
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("_sum", "_count", "_created"),
            "gauge": ("",),
            "info": ("_info",),
        }.get(family.type, ("",))
        names |= {family.name + s for s in suffixes}
    return names


def exported_metrics() -> set[str]:
    """Every sample name the worker and the producer export (fresh registries)."""
    registry = CollectorRegistry()
    WorkerMetrics(registry, stream="articles", group="enrichment")
    names = _sample_names(registry)
    module = importlib.import_module("producer.metrics")
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == module.__name__ and "registry" in inspect.signature(cls).parameters:
            reg = CollectorRegistry()
            params = inspect.signature(cls).parameters
            kwargs = {k: "x" for k in ("stream", "group") if k in params}
            cls(reg, **kwargs)
            names |= _sample_names(reg)
    return names


METRIC_RE = re.compile(r"\bstreams_(?:worker|producer)_[a-zA-Z0-9_]+")
RECORDED_RE = re.compile(r"\bstreams_(?:worker|producer):[a-zA-Z0-9_:]+")


def metric_names(promql: Iterable[str]) -> set[str]:
    return {m for q in promql for m in METRIC_RE.findall(q)}


def recorded_names(promql: Iterable[str]) -> set[str]:
    return {m for q in promql for m in RECORDED_RE.findall(q)}
