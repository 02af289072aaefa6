"""Worker and producer processes for tests, on the package's own launcher
(`streams_worker.dev.processes`, which the demo uses too), and in-process workers.

Subprocess workers run `tests.support.handlers:recorder` unless told otherwise;
its HANDLER_* variables are passed as upper-case settings.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from streams_worker import Worker, WorkerSettings
from streams_worker.core.handlers import Handler
from streams_worker.dev.processes import (
    Process,
    child_env,
    run_producer,
    start_producer,
    start_worker,
)

ROOT = Path(__file__).resolve().parents[2]

#: A worker subprocess (`streams-worker run`).
WorkerProcess = Process


def worker_env(redis_url: str, **settings: Any) -> dict[str, str]:
    """Environment for a worker or producer subprocess: settings as their WORKER_*
    variables (names given in upper case are used as they are)."""
    defaults = {
        "WORKER_HTTP_PORT": "0",
        "WORKER_LOG_FORMAT": "json",
        "WORKER_HANDLER": "tests.support.handlers:recorder",
        "PYTHONPATH": str(ROOT),
    }
    return child_env(redis_url, os.environ, **{**defaults, **settings})


def spawn_worker(env: Mapping[str, str], log_path: Path) -> Process:
    return start_worker(env, log_path, cwd=ROOT)


def spawn_producer(env: Mapping[str, str], log_path: Path, *args: str) -> Process:
    """A `streams-producer` command left running (to kill, signal or race)."""
    return start_producer(env, log_path, *args, cwd=ROOT)


def producer(
    *args: str, env: Mapping[str, str], stdin: str | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """One `streams-producer` command to completion."""
    return run_producer(*args, env=env, stdin=stdin, timeout=timeout, cwd=ROOT)


def stop(worker: Process, timeout: float = 20.0) -> int:
    """SIGTERM and wait for the graceful drain; SIGKILL (-9) if it does not stop in time."""
    return worker.stop(timeout)


@contextmanager
def workers(env: Mapping[str, str], consumers: list[str], log_dir: Path) -> Iterator[list[Process]]:
    """Worker subprocesses named `consumers`; any still alive at the end is killed."""
    procs = [spawn_worker({**env, "WORKER_CONSUMER": c}, log_dir / f"{c}.log") for c in consumers]
    try:
        yield procs
    finally:
        for p in procs:
            p.close()


@asynccontextmanager
async def serving(
    settings: WorkerSettings, handler: Handler, **kwargs: Any
) -> AsyncIterator[Worker]:
    """Run an in-process worker for the body of the block, then stop it gracefully."""
    async with Worker(settings, handler, **kwargs).background() as worker:
        yield worker
