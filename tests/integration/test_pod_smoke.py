"""The worker pod as the manifests define it, minus the container runtime.

`streams-worker run` (the image's ENTRYPOINT + CMD, the console script) is started
with exactly the environment of the worker Deployment: its ConfigMaps, POD_NAME
from the "downward API", the `worker` ACL user with its password in a mounted file.
Only REDIS_URL (a server started with users.acl), the HTTP port (a free one) and
the handler (a recording one instead of the catalog client) are swapped. It must
join the group under the pod's name, work, answer its probes, and on SIGTERM
drain and exit 0 well within terminationGracePeriodSeconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from streams_worker.embedded import RedisProcess, free_port
from tests.k8s import app_facts
from tests.k8s.manifests import K8S, build, env_of, find, pod_spec
from tests.support.handlers import read_records
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
BASE = build(K8S)
DEPLOYMENT = find(BASE, "Deployment", "streams-worker")
SPEC = pod_spec(DEPLOYMENT)
assert SPEC is not None
CONTAINER = SPEC["containers"][0]
SECRET = find(BASE, "Secret", "redis-worker")["stringData"]


def _console_script(name: str) -> list[str]:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    return [found] if found else [sys.executable, "-m", "streams_worker"]


@pytest.fixture
def pod(
    private_redis: Callable[..., RedisProcess], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], RedisProcess, dict[str, str], Path]]:
    server = private_redis(extra_args=["--aclfile", str(K8S / "redis" / "users.acl")])
    password_file = tmp_path / "password"  # the mounted Secret item
    password_file.write_text(SECRET["password"])
    env = {k: v for k, v in env_of(CONTAINER, BASE).items() if v is not None}
    env.update(
        POD_NAME="streams-worker-7d9f8-abcde",
        REDIS_USERNAME=SECRET["username"],  # secretKeyRef redis-worker/username
        REDIS_PASSWORD_FILE=str(password_file),
        REDIS_URL=server.url,
        REDIS_TLS_CA_FILE=str(tmp_path / "absent-ca.crt"),  # optional volume, not mounted
        WORKER_HTTP_PORT=str(free_port()),
        WORKER_HANDLER="tests.support.handlers:recorder",
        WORKER_BLOCK_MS="200",
        RECORD_FILE=str(tmp_path / "records"),
        PYTHONUNBUFFERED="1",  # as in the image
        PYTHONPATH=str(ROOT),
        PATH=os.environ.get("PATH", ""),
    )
    log = (tmp_path / "pod.log").open("wb")
    proc = subprocess.Popen([*_console_script("streams-worker"), *CONTAINER["args"]], env=env,
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    yield proc, server, env, tmp_path
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    log.close()


def test_worker_pod_works_answers_probes_and_drains_on_sigterm(
    pod: tuple[subprocess.Popen[bytes], RedisProcess, dict[str, str], Path],
) -> None:
    proc, server, env, tmp = pod
    admin = _login(server, "operator")
    producer = _login(server, "producer")
    stream, group = env["WORKER_STREAM"], env["WORKER_GROUP"]
    for i in range(5):
        producer.xadd(stream, {"article_id": f"urn:article:smoke-{i}"})

    def log() -> str:
        return (tmp / "pod.log").read_text(errors="replace")

    def consumers() -> list[str]:
        try:
            return [c["name"] for c in admin.xinfo_consumers(stream, group)]
        except redis.ResponseError:
            return []

    wait_for(lambda: env["POD_NAME"] in consumers() or proc.poll() is not None, timeout=15)
    assert proc.poll() is None, log()
    assert consumers() == [env["POD_NAME"]]  # consumer name = pod name
    records = Path(env["RECORD_FILE"])
    wait_for(lambda: sum(r[0] == "done" for r in read_records(records)) == 5, timeout=10)
    wait_for(lambda: admin.xpending(stream, group)["pending"] == 0, timeout=10)

    routes = app_facts.routes()
    if "streams_worker.http.create_app" not in app_facts.PENDING:
        port = int(env["WORKER_HTTP_PORT"])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            path = CONTAINER[probe]["httpGet"]["path"]
            assert path in routes
            wait_for(lambda p=path: _get(port, p) == 200, timeout=10)

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=SPEC["terminationGracePeriodSeconds"])
    elapsed = time.monotonic() - started
    assert code == 0, log()
    assert elapsed < float(env["WORKER_SHUTDOWN_GRACE_S"]), "idle worker drains at once"
    admin.close()
    producer.close()


def _login(server: RedisProcess, role: str) -> redis.Redis:
    password = find(BASE, "Secret", f"redis-{role}")["stringData"]["password"]
    return redis.Redis(port=server.port, username=role, password=password, decode_responses=True)


def _get(port: int, path: str) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except httpx.HTTPError:
        return 0
