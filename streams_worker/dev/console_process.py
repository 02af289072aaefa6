"""The web console as a child process of the demo (`streams-worker console`)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from streams_worker.dev.embedded import free_port
from streams_worker.dev.processes import Process


def start_console(env: Mapping[str, str], log_path: Path) -> tuple[Process, str]:
    """Start the console on a free loopback port with actions on; (process, URL)."""
    port = free_port()
    console_env = {**env, "CONSOLE_HOST": "127.0.0.1", "CONSOLE_PORT": str(port),
                   "CONSOLE_ACTIONS": "true", "CONSOLE_SAMPLE_INTERVAL_S": "1"}  # fmt: skip
    proc = Process([sys.executable, "-m", "streams_worker", "console"], console_env, log_path)
    return proc, f"http://127.0.0.1:{port}/"
