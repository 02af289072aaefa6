"""The command line (`[server]` extra). `main` says which extra is missing."""

from __future__ import annotations

from streams_worker.cli.entry import run_cli


def main() -> None:
    """Entry point of `streams-worker`."""
    run_cli("streams-worker", "streams_worker.cli.app", "app")
