"""The `streams-worker` command: every subcommand is registered here, explicitly.

Settings are read by each command, once, and passed down. A bad setting prints
one line naming the variable and exits 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from streams_worker.cli import console, dlq, ops, run, trim
from streams_worker.cli.common import version_option
from streams_worker.dev import demo
from streams_worker.enrichment import cli as enrichment


def create_app() -> typer.Typer:
    """The CLI with all its commands; building it has no other effect."""
    app = typer.Typer(
        name="streams-worker",
        help="Redis Streams consumer-group worker.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    app.command("run")(run.run)
    ops.register(app)
    app.add_typer(dlq.dlq_app, name="dlq")
    trim.register(app)
    console.register(app)
    demo.register(app)
    enrichment.register(app)
    return app


def _root(
    version: Annotated[bool, version_option("streams-worker")] = False,
) -> None:
    """Redis Streams consumer-group worker."""


app = create_app()
