"""The event loop: uvloop when it is installed (the `[fast]` extra), asyncio otherwise.

uvloop runs the same code on a faster loop and socket layer; nothing depends on it,
and without it nothing changes.
"""

from __future__ import annotations

import importlib.util
from typing import Any


def backend_options() -> dict[str, Any]:
    """`anyio.run(..., backend_options=...)` for the worker's loop."""
    return {"use_uvloop": importlib.util.find_spec("uvloop") is not None}
