"""Running the three command lines as real subprocesses with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_OURS = ("REDIS_", "WORKER_", "KEYCLOAK_", "DATA_API_", "OPENAI_", "LOG_", "POD_NAME")


def clean_env(**env: object) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    base.update({"PYTHONPATH": str(ROOT), "WORKER_HTTP_PORT": "0", "WORKER_LOG_FORMAT": "json"})
    base.update({k: str(v) for k, v in env.items()})
    return base


def run(
    argv: list[str], env: Mapping[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    exe = str(BIN / argv[0])
    return subprocess.run([exe, *argv[1:]], env=dict(env), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def assert_one_clear_line(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """No traceback; the last stderr line says what went wrong in plain words."""
    out = done.stderr + done.stdout
    assert "Traceback" not in out, out[-3000:]
    line = last_line(done.stderr)
    for w in words:
        assert w.lower() in line.lower(), f"{w!r} not in {line!r}"
    return line
