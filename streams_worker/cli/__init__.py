"""The command line (`[server]` extra). `main` says which extra is missing."""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of `streams-worker`; one line if the [server] extra is absent."""
    try:
        from streams_worker.cli.app import app
    except ModuleNotFoundError as exc:
        if exc.name not in {"typer", "click", "rich", "starlette", "uvicorn", "httpx"}:
            raise
        print(
            f"streams-worker: the command line needs the [server] extra ({exc.name} is not "
            "installed): pip install 'streams-worker[server]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    app()
