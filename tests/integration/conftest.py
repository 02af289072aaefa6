from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.workers import WorkerProcess, spawn_worker, worker_env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `streams-worker run` subprocesses; all are killed at the end of the test."""
    procs: list[WorkerProcess] = []

    def start(redis_url: str, **settings: Any) -> WorkerProcess:
        env = worker_env(redis_url, **settings)
        proc = spawn_worker(env, tmp_path / f"worker-{len(procs)}.log")
        procs.append(proc)
        return proc

    yield start
    for p in procs:
        p.close()
