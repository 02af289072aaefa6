"""`streams-producer`: enqueue article IDs; sync from the catalog."""

from __future__ import annotations

import typer

app = typer.Typer(name="streams-producer", no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """Push article IDs onto the stream."""


def main() -> None:
    app()
