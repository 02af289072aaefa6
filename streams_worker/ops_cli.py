"""Inspection and operations commands (pending, info, dlq, consumers, pause, ...)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ops commands to the main CLI."""
