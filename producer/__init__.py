"""The producer: `Enqueuer` (library, bare install) and `streams-producer` (the [server] extra)."""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of `streams-producer`; one line if the [server] extra is absent."""
    try:
        from producer.cli import main as cli_main
    except ModuleNotFoundError as exc:
        if exc.name not in {"typer", "click", "rich", "starlette", "uvicorn", "httpx"}:
            raise
        print(
            f"streams-producer: the command line needs the [server] extra ({exc.name} is not "
            "installed): pip install 'streams-worker[server]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    cli_main()
