"""The producer: `Producer` (the library API, bare install) and `streams-producer` (the
[server] extra). `Producer` and its blocking twin are what application code may rely on;
the modules beside this one are internal."""

from __future__ import annotations

from producer.api import BlockingProducer, EnqueueSummary, Producer
from producer.enqueue import EnqueueError, ProducerError, RedisRefused
from streams_worker.cli.entry import run_cli

__all__ = [
    "BlockingProducer",
    "EnqueueError",
    "EnqueueSummary",
    "Producer",
    "ProducerError",
    "RedisRefused",
    "main",
]


def main() -> None:
    """Entry point of `streams-producer`."""
    run_cli("streams-producer", "producer.cli", "main")
