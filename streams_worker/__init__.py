"""streams-worker: a Redis Streams consumer-group worker.

Public API: `Worker`, `StreamEntry`, the handler errors, and settings.
"""

from streams_worker.entry import StreamEntry
from streams_worker.errors import (
    ConfigurationError,
    MalformedEntryError,
    PermanentError,
    RetryableError,
    StreamError,
    StreamsWorkerError,
)
from streams_worker.settings import CommonSettings, WorkerSettings
from streams_worker.worker import Worker

__all__ = [
    "CommonSettings",
    "ConfigurationError",
    "MalformedEntryError",
    "PermanentError",
    "RetryableError",
    "StreamEntry",
    "StreamError",
    "StreamsWorkerError",
    "Worker",
    "WorkerSettings",
]
__version__ = "0.1.0"
