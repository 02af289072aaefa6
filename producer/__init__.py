"""The producer: `Enqueuer` (library, bare install) and `streams-producer` (the [server] extra)."""

from __future__ import annotations

from streams_worker.cli.entry import run_cli


def main() -> None:
    """Entry point of `streams-producer`."""
    run_cli("streams-producer", "producer.cli", "main")
