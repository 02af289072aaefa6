"""The public `Worker`: the core worker plus its HTTP endpoints when it can serve them.

The core (`streams_worker.core`) knows nothing of HTTP. This adds the probes,
`/status` and `/metrics` on `WORKER_HTTP_PORT` (0: none) as a service of `run()`
when the `[server]` extra (starlette, uvicorn) is installed; a bare install runs
the same worker without them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import anyio
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry

from streams_worker import tracing
from streams_worker.core.handlers import Handler
from streams_worker.core.settings import WorkerSettings, load
from streams_worker.core.worker import Worker as CoreWorker

__all__ = ["Worker"]

_http: ModuleType | None
try:
    from streams_worker.http import app as _http
except ModuleNotFoundError as exc:  # a bare install: no [server] extra
    if exc.name not in ("starlette", "uvicorn"):
        raise
    _http = None


async def http_endpoints(
    worker: CoreWorker, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED
) -> None:
    """Serve the HTTP endpoints of `worker` until cancelled."""
    assert _http is not None
    s = worker.settings
    app = _http.create_app(worker)
    await _http.serve_http(app, s.http_host, s.http_port, task_status=task_status)


class Worker(CoreWorker):
    __doc__ = CoreWorker.__doc__

    def __init__(
        self,
        settings: WorkerSettings,
        handler: Handler,
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(settings, handler, registry=registry)
        if tracing.enabled():  # else OpenTelemetry is never imported
            tracing.configure("streams-worker")
            self.tracer = tracing.DeliveryTracer(settings.group, settings.consumer)
        if settings.http_port:
            if _http is not None:
                self.services.append(http_endpoints)
            else:
                self.log.warning("http_endpoints_off", reason="the [server] extra is not installed")

    @classmethod
    def from_env(cls, handler: Handler, **overrides: Any) -> Worker:
        """Settings from the environment (plus overrides), as `streams-worker run` does."""
        return cls(load(WorkerSettings, **overrides), handler)
