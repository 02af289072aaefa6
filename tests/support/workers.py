"""Worker replicas as real subprocesses (`streams-worker run`), and in-process helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from streams_worker import Worker, WorkerSettings
from streams_worker.core.handlers import Handler

ROOT = Path(__file__).resolve().parents[2]


def worker_env(redis_url: str, **settings: Any) -> dict[str, str]:
    """Environment for a subprocess worker: settings as their WORKER_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "REDIS_"))}
    env.update(
        REDIS_URL=redis_url,
        WORKER_HTTP_PORT="0",
        WORKER_LOG_FORMAT="json",
        WORKER_HANDLER="tests.support.handlers:recorder",
        PYTHONPATH=str(ROOT),
    )
    for key, value in settings.items():
        name = key if key.isupper() else f"WORKER_{key.upper()}"
        env[name] = str(value)
    return env


class WorkerProcess:
    """One `streams-worker run` process; its stderr goes to a log file for post-mortems."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams_worker", "run"],
            env=dict(env),
            cwd=ROOT,
            stdout=self._log,
            stderr=self._log,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.alive():
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.proc.wait(10)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.alive():
            self.kill()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@asynccontextmanager
async def serving(
    settings: WorkerSettings, handler: Handler, **kwargs: Any
) -> AsyncIterator[Worker]:
    """Run an in-process worker for the body of the block, then stop it gracefully."""
    async with Worker(settings, handler, **kwargs).background() as worker:
        yield worker
