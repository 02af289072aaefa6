"""Worker and producer processes: the one launcher the demo, the tests and the
benchmarks share.

A worker is `python -m streams_worker run`, a producer `python -m producer ...`, each
configured only by its environment (`child_env`) and writing its output to a log file
kept for post-mortems. `stop` is what Kubernetes does: SIGTERM, a grace, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path


def child_env(redis_url: str, base: Mapping[str, str], **settings: object) -> dict[str, str]:
    """`base` without any WORKER_* or REDIS_* variable, then REDIS_URL and `settings`:
    a lower-case name becomes its WORKER_<NAME> variable, an upper-case one is used as is."""
    env = {k: v for k, v in base.items() if not k.startswith(("WORKER_", "REDIS_"))}
    env["REDIS_URL"] = redis_url
    for key, value in settings.items():
        env[key if key.isupper() else f"WORKER_{key.upper()}"] = str(value)
    return env


def worker_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "streams_worker", "run", *args]


def producer_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "producer", *args]


class Process:
    """One child process; its stdout and stderr go to `log_path`."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        cwd: Path | None = None,
    ) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                list(argv), env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT
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

    def stop(self, grace_s: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `grace_s`; the exit code
        (-9 when it had to be killed)."""
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def close(self) -> None:
        """Kill it if it still runs (the end of a test, an aborted demo)."""
        if self.alive():
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(
    env: Mapping[str, str], log_path: Path, *args: str, cwd: Path | None = None
) -> Process:
    """`streams-worker run` with this environment."""
    return Process(worker_argv(*args), env, log_path, cwd=cwd)


def start_producer(
    env: Mapping[str, str], log_path: Path, *args: str, cwd: Path | None = None
) -> Process:
    """A long-running producer (`sync --every ...`) with this environment."""
    return Process(producer_argv(*args), env, log_path, cwd=cwd)


def run_producer(
    *args: str,
    env: Mapping[str, str],
    stdin: str | None = None,
    timeout: float = 60.0,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """One producer command to completion, its output captured."""
    return subprocess.run(
        producer_argv(*args),
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


def stop_all(procs: Iterable[Process], grace_s: float = 10.0) -> None:
    """SIGTERM every process at once, then SIGKILL whichever outlives one shared grace."""
    procs = list(procs)
    for p in procs:
        p.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
