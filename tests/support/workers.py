"""Worker and producer subprocesses for end-to-end tests (real processes, real signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def env_for(redis_url: str, **extra: str) -> dict[str, str]:
    """A clean environment: our settings only, the repository importable (tests.support)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "REDIS_"))}
    env.update(
        REDIS_URL=redis_url,
        PYTHONPATH=str(ROOT),
        WORKER_LOG_FORMAT="json",
        WORKER_HTTP_PORT="0",
        **extra,
    )
    return env


def start_worker(env: Mapping[str, str], consumer: str, log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{consumer}.stderr").open("wb")
    return subprocess.Popen(
        [str(BIN / "streams-worker"), "run"],
        env={**env, "WORKER_CONSUMER": consumer},
        stdout=subprocess.DEVNULL,
        stderr=log,
        cwd=ROOT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    """SIGTERM and wait; SIGKILL if it does not stop in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


@contextmanager
def workers(env: Mapping[str, str], names: list[str], log_dir: Path) -> Iterator[
    list[subprocess.Popen[bytes]]
]:
    procs = [start_worker(env, n, log_dir) for n in names]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)


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
