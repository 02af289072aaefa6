"""Starting a command line without importing its framework first (no typer here).

A bare install has no typer, rich or uvicorn: the console scripts then print one
line naming the extra to install instead of a traceback.
"""

from __future__ import annotations

import importlib
import sys

#: The frameworks of the extras a command line needs.
FRAMEWORKS = frozenset({"typer", "click", "rich", "starlette", "uvicorn", "httpx", "jinja2"})


def run_cli(prog: str, module: str, attr: str) -> None:
    """Run `module.attr()`, or say in one line (exit 2) which extra is missing."""
    try:
        main = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name not in FRAMEWORKS:
            raise
        print(
            f"{prog}: the command line needs the [server] extra ({exc.name} is not "
            "installed): pip install 'streams-worker[server]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    main()
