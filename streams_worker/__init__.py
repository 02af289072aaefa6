"""streams-worker: a Redis Streams consumer-group worker.

The public API is what this module exports (`__all__`): `Worker`, `StreamEntry`,
the handler errors, the settings, and the helpers that run a worker inside an ASGI
app (`worker_lifespan`). Every other module (`core`, `ops`, `cli`,
`http`, `dev`, `enrichment`) is internal and may change without notice
(docs/architecture.md).
"""

from streams_worker.core.entry import StreamEntry
from streams_worker.core.errors import (
    ConfigurationError,
    MalformedEntryError,
    PermanentError,
    RateLimited,
    RetryableError,
    StreamError,
    StreamsWorkerError,
)
from streams_worker.core.metrics import package_version
from streams_worker.core.settings import CommonSettings, WorkerSettings
from streams_worker.embed import embedded_worker, worker_lifespan, worker_status
from streams_worker.worker import Worker

__all__ = [
    "CommonSettings",
    "ConfigurationError",
    "MalformedEntryError",
    "PermanentError",
    "RateLimited",
    "RetryableError",
    "StreamEntry",
    "StreamError",
    "StreamsWorkerError",
    "Worker",
    "WorkerSettings",
    "embedded_worker",
    "worker_lifespan",
    "worker_status",
]
__version__ = package_version()
