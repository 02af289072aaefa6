"""`streams-worker sample-catalog`: run the bundled sample catalog by hand."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the sample-catalog command to the main CLI."""
