"""The web console as a child process of the demo (`streams-worker console`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from streams_worker.dev.embedded import free_port


def start_console(env: Mapping[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the console on a free loopback port with actions on; (process, URL)."""
    port = free_port()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams_worker", "console"],
            env={**env, "CONSOLE_HOST": "127.0.0.1", "CONSOLE_PORT": str(port),
                 "CONSOLE_ACTIONS": "true", "CONSOLE_SAMPLE_INTERVAL_S": "1"},
            stdout=log, stderr=log,
        )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}/"
