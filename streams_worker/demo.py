"""`streams-worker demo`: the whole system on one machine."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo() -> None:
        """Run the whole system locally (not yet available)."""
        typer.echo("streams-worker demo: not yet available")
