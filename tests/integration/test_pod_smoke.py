"""The pods as the manifests define them, minus the container runtime.

Each process is started with its container's argv (the image's ENTRYPOINT/CMD or
the manifest's command/args, through the installed console scripts) and exactly
its container's environment: the ConfigMaps, the catalog Secret, POD_NAME from the
"downward API", its role's ACL user with the password in a mounted file. Swapped
only: REDIS_URL (a server started with users.acl), DATA_API_URL (the sample
catalog, accepting the example Secret's credentials) and the HTTP ports (free ones).
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
from typing import Any

import httpx
import pytest
import redis

from streams_worker.dev.embedded import RedisProcess, free_port
from streams_worker.enrichment.sample_catalog import SampleCatalog
from tests.k8s import app_facts
from tests.k8s.manifests import K8S, build, env_of, find, pod_spec
from tests.support.acl import TEST_ADMIN, acl_args_with_test_admin
from tests.support.handlers import read_records
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
BASE = build(K8S)
IMAGE_ENTRYPOINT, IMAGE_CMD = ["streams-worker"], ["run"]


def _spec(kind: str, name: str) -> dict[str, Any]:
    spec = pod_spec(find(BASE, kind, name))
    assert spec is not None
    return spec


def _argv(container: dict[str, Any]) -> list[str]:
    entry = container.get("command", IMAGE_ENTRYPOINT)
    args = container.get("args", [] if "command" in container else IMAGE_CMD)
    beside = Path(sys.executable).parent / entry[0]
    found = str(beside) if beside.exists() else shutil.which(entry[0])
    assert found, f"console script {entry[0]} not installed"
    return [found, *entry[1:], *args]


def pod_env(
    container: dict[str, Any], name: str, tmp: Path, server: RedisProcess, **env: str
) -> dict[str, str]:
    """A container's environment as the kubelet would build it, plus `env`."""
    user = next(e for e in container["env"] if e["name"] == "REDIS_USERNAME")
    secret = find(BASE, "Secret", user["valueFrom"]["secretKeyRef"]["name"])["stringData"]
    password = tmp / f"{secret['username']}-password"  # the mounted Secret item
    password.write_text(secret["password"])
    out = {k: v for k, v in env_of(container, BASE).items() if v is not None}
    out.update({
        "POD_NAME": f"{name}-7d9f8-abcde",
        "REDIS_USERNAME": secret["username"],
        "REDIS_PASSWORD_FILE": str(password),
        "REDIS_URL": server.url,
        "REDIS_TLS_CA_FILE": str(tmp / "absent-ca.crt"),  # optional volume, not mounted
        "PYTHONUNBUFFERED": "1",  # as in the image
        "PYTHONPATH": str(ROOT),
        "PATH": os.environ.get("PATH", ""),
    })  # fmt: skip
    out.update(env)
    return out


class Pod:
    """One container of a manifest, run as a local process."""

    def __init__(self, kind: str, name: str, tmp: Path, server: RedisProcess, **env: str) -> None:
        self.spec = _spec(kind, name)
        self.container = self.spec["containers"][0]
        self.env = pod_env(self.container, name, tmp, server, **env)
        self.log_path = tmp / f"{self.env['POD_NAME']}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(_argv(self.container), env=self.env, cwd=tmp,
                                     stdout=self._log, stderr=subprocess.STDOUT)  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def terminate(self) -> tuple[int, float]:
        """SIGTERM, as the kubelet does: (exit status, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=self.spec.get("terminationGracePeriodSeconds", 30))
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def server(private_redis: Callable[..., RedisProcess], tmp_path: Path) -> RedisProcess:
    return private_redis(extra_args=acl_args_with_test_admin(tmp_path))


@pytest.fixture
def admin(server: RedisProcess) -> Iterator[redis.Redis]:
    user, password = TEST_ADMIN
    client = redis.Redis(port=server.port, username=user, password=password, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def pods(tmp_path: Path, server: RedisProcess) -> Iterator[Callable[..., Pod]]:
    started: list[Pod] = []

    def start(kind: str, name: str, **env: str) -> Pod:
        pod = Pod(kind, name, tmp_path, server, **env)
        started.append(pod)
        return pod

    yield start
    for p in started:
        p.close()


def _get(port: int, path: str) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except httpx.HTTPError:
        return 0


def _probes_answer(container: dict[str, Any], port: int) -> None:
    routes = app_facts.routes()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if probe in container:
            path = container[probe]["httpGet"]["path"]
            assert path in routes
            wait_for(lambda p=path: _get(port, p) == 200, timeout=10, what=f"{probe} {path}")


def test_worker_pod_works_answers_probes_and_drains_on_sigterm(
    pods: Callable[..., Pod], admin: redis.Redis, tmp_path: Path
) -> None:
    records = tmp_path / "records"
    worker = pods("Deployment", "streams-worker", WORKER_HTTP_PORT=str(free_port()),
                  WORKER_HANDLER="tests.support.handlers:recorder", WORKER_BLOCK_MS="200",
                  HANDLER_RECORD_DIR=str(records))  # fmt: skip
    stream, group = worker.env["WORKER_STREAM"], worker.env["WORKER_GROUP"]
    for i in range(5):
        admin.xadd(stream, {"article_id": f"urn:article:smoke-{i}"})

    def consumers() -> list[str]:
        try:
            return [c["name"] for c in admin.xinfo_consumers(stream, group)]
        except redis.ResponseError:
            return []

    wait_for(lambda: consumers() or not worker.alive(), timeout=15)
    assert worker.alive(), worker.log()
    assert consumers() == [worker.env["POD_NAME"]]  # consumer name = pod name
    wait_for(lambda: sum(r.event == "done" for r in read_records(records)) == 5, timeout=10)
    wait_for(lambda: admin.xpending(stream, group)["pending"] == 0, timeout=10)
    _probes_answer(worker.container, int(worker.env["WORKER_HTTP_PORT"]))
    code, took = worker.terminate()
    assert code == 0, worker.log()
    assert took < float(worker.env["WORKER_SHUTDOWN_GRACE_S"]), "an idle worker drains at once"


def test_the_system_runs_with_the_manifests_settings(
    pods: Callable[..., Pod], admin: redis.Redis, server: RedisProcess, tmp_path: Path
) -> None:
    """Producer and two workers, real enrichment handler, against the sample catalog."""
    creds = find(BASE, "Secret", "catalog-credentials")["stringData"]
    with SampleCatalog.start(articles=12, client_id=creds["KEYCLOAK_CLIENT_ID"],
                             client_secret=creds["KEYCLOAK_CLIENT_SECRET"]) as catalog:  # fmt: skip
        workers = [pods("Deployment", "streams-worker", WORKER_HTTP_PORT=str(free_port()),
                        DATA_API_URL=catalog.url, POD_NAME=f"streams-worker-{i}")
                   for i in range(2)]  # fmt: skip
        producer_cmd = _spec("Deployment", "streams-producer")["containers"][0]
        if "sync" in _cli_commands("streams-producer"):
            producer = pods("Deployment", "streams-producer", DATA_API_URL=catalog.url,
                            PRODUCER_HTTP_PORT=str(free_port()))  # fmt: skip
        else:  # until `sync` lands: enqueue the catalog's articles with the producer CLI
            assert producer_cmd["args"][0] == "sync"
            producer = None
            env = pod_env(producer_cmd, "streams-producer", tmp_path, server)
            argv = _argv({"command": ["streams-producer"], "args": ["enqueue", "-"]})
            urns = "\n".join(sorted(catalog.store.articles))
            res = subprocess.run(argv, input=urns, env=env, text=True, capture_output=True,
                                 timeout=60, check=False)  # fmt: skip
            assert res.returncode == 0, res.stderr
        wait_for(lambda: catalog.enriched_once() or not all(w.alive() for w in workers),
                 timeout=60)  # fmt: skip
        assert catalog.enriched_once(), [w.log()[-2000:] for w in workers]
        if producer is not None:
            _probes_answer(producer.container, int(producer.env["PRODUCER_HTTP_PORT"]))
            code, _ = producer.terminate()
            assert code == 0, producer.log()
        for w in workers:
            code, _ = w.terminate()
            assert code == 0, w.log()
    assert admin.xpending("articles", "enrichment")["pending"] == 0


def _cli_commands(program: str) -> set[str]:
    import typer

    if program == "streams-producer":
        from producer.cli import app
    else:
        from streams_worker.cli.app import app
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
