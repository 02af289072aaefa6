"""Headless Chromium (Debian's `chromium` package) driven by Playwright, and the
console as a real `streams-worker console` process.

`ensure_chromium()` finds /usr/bin/chromium; when missing and running as root it
installs the package with apt-get (as `prometheus.py` does for Prometheus), else
the browser tests skip saying why. Playwright never downloads a browser here: it
launches the system binary by path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support.prometheus import apt_get
from tests.support.wait import wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]


def ensure_chromium() -> Path | str:
    """The browser's path, or why it is unavailable."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "/usr/bin/chromium missing and cannot install it: apt-get install chromium"
    update = apt_get("update")
    if update.returncode != 0:
        return f"apt-get update failed: {update.stderr.strip()[-300:]}"
    install = apt_get("install", "-y", "--no-install-recommends", "chromium")
    if install.returncode != 0:
        return f"apt-get install chromium failed: {install.stderr.strip()[-300:]}"
    return CHROMIUM if CHROMIUM.exists() else "chromium installed but /usr/bin/chromium absent"


def console_env(redis_url: str, port: int, **settings: Any) -> dict[str, str]:
    """Environment for `streams-worker console`: keys upper-cased as given, or CONSOLE_*."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WORKER_", "REDIS_", "CONSOLE_"))}  # fmt: skip
    env.update(REDIS_URL=redis_url, CONSOLE_PORT=str(port), CONSOLE_SAMPLE_INTERVAL_S="0.2",
               WORKER_LOG_FORMAT="json", PYTHONPATH=str(ROOT))  # fmt: skip
    for key, value in settings.items():
        env[key if key.isupper() else f"CONSOLE_{key.upper()}"] = str(value)
    return env


class ConsoleProcess:
    """One `streams-worker console`; its stderr goes to a log file."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.url = f"http://127.0.0.1:{env['CONSOLE_PORT']}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams_worker", "console"],
            env=dict(env), cwd=ROOT, stdout=self._log, stderr=self._log,
        )  # fmt: skip

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"console exited {self.proc.returncode}: {self.log()}")
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self) -> ConsoleProcess:
        wait_for(self._ready, timeout=20, what="console /healthz")
        return self

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
