"""The producer as a subprocess (`streams-producer ...`) and an environment for it and
for worker subprocesses that record what they handle (`tests.support.recording`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.workers import ROOT, WorkerProcess, worker_env

BIN = Path(sys.executable).parent


def env_for(redis_url: str, **settings: Any) -> dict[str, str]:
    """Settings as environment variables (WORKER_* unless given in upper case)."""
    return worker_env(redis_url, WORKER_HANDLER="tests.support.recording:build", **settings)


def producer(
    *args: str, env: Mapping[str, str], stdin: str | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "streams-producer"), *args],
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def stop(worker: WorkerProcess, timeout: float = 20.0) -> int:
    """SIGTERM and wait for the graceful drain; SIGKILL if it does not stop in time."""
    import signal

    worker.signal(signal.SIGTERM)
    try:
        return worker.wait(timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        return -9


@contextmanager
def workers(
    env: Mapping[str, str], consumers: list[str], log_dir: Path
) -> Iterator[list[WorkerProcess]]:
    """Worker subprocesses named `consumers`; any still alive at the end is killed."""
    procs = [WorkerProcess({**env, "WORKER_CONSUMER": c}, log_dir / f"{c}.log") for c in consumers]
    try:
        yield procs
    finally:
        for p in procs:
            p.close()
