"""The environment a pod really gets: every Service of k8s/ and k8s/redis/ rendered the
way the kubelet injects service links (`REDIS_PORT=tcp://...` among them, should a
manifest ever lose `enableServiceLinks: false`), plus each container's own env and
ConfigMaps, with REDIS_URL pointed at a test server. Worker, producer and ops
commands must all start on it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Names
from tests.k8s.manifests import K8S, build
from tests.support.cli import clean_env, run

OBJECTS = build(K8S) + build(K8S / "redis")
#: Credentials come from Secrets mounted as files; the ACL tests cover them
#: (tests/integration/test_acl_roles.py), the test server here has no users.
CREDENTIALS = ("REDIS_USERNAME", "REDIS_PASSWORD_FILE")


def service_links() -> dict[str, str]:
    env: dict[str, str] = {}
    services = [o for o in OBJECTS if o["kind"] == "Service"]
    assert any(s["metadata"]["name"] == "redis" for s in services)
    for i, svc in enumerate(services):
        name = svc["metadata"]["name"].upper().replace("-", "_")
        ip = f"10.0.0.{i + 1}"
        ports = svc["spec"]["ports"]
        first = ports[0]["port"]
        env |= {f"{name}_SERVICE_HOST": ip, f"{name}_SERVICE_PORT": str(first),
                f"{name}_PORT": f"tcp://{ip}:{first}"}  # fmt: skip
        for p in ports:
            proto, port = p.get("protocol", "TCP"), p["port"]
            base = f"{name}_PORT_{port}_{proto}"
            env |= {base: f"{proto.lower()}://{ip}:{port}", f"{base}_PROTO": proto.lower(),
                    f"{base}_PORT": str(port), f"{base}_ADDR": ip}  # fmt: skip
            if "name" in p:
                env[f"{name}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(port)
    return env


def _data(kind: str, name: str) -> dict[str, str]:
    obj = next(o for o in OBJECTS if o["kind"] == kind and o["metadata"]["name"] == name)
    return {k: str(v) for k, v in (obj.get("data") or obj.get("stringData") or {}).items()}


def container_env(deployment: str) -> dict[str, str]:
    dep = next(
        o for o in OBJECTS if o["kind"] == "Deployment" and o["metadata"]["name"] == deployment
    )
    pod: dict[str, Any] = dep["spec"]["template"]["spec"]
    assert pod.get("enableServiceLinks") is False
    (c,) = pod["containers"]
    env: dict[str, str] = {}
    for source in c.get("envFrom") or []:
        if "configMapRef" in source:
            env |= _data("ConfigMap", source["configMapRef"]["name"])
        else:
            env |= _data("Secret", source["secretRef"]["name"])
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif "fieldRef" in e.get("valueFrom", {}):
            env[e["name"]] = f"{deployment}-7d9f8-abcde"
    return {k: v for k, v in env.items() if k not in CREDENTIALS}


@pytest.mark.parametrize("deployment", ["streams-worker", "streams-producer"])
def test_every_command_starts_with_the_environment_a_pod_gets(
    redis_url: str, names: Names, deployment: str
) -> None:
    env = clean_env(**service_links(), **container_env(deployment))
    env |= {
        "REDIS_URL": redis_url, "WORKER_STREAM": names.stream, "WORKER_GROUP": names.group,
        "WORKER_HANDLER": "tests.support.handlers:recorder", "WORKER_HTTP_PORT": "0",
    }  # fmt: skip
    assert env["REDIS_PORT"].startswith("tcp://")
    enqueued = run(["streams-producer", "enqueue", "urn:article:service-links"], env)
    assert enqueued.returncode == 0, enqueued.stderr
    info = run(["streams-worker", "info"], env)
    assert info.returncode == 0, info.stderr
    burst = {"WORKER_BURST": "true", "WORKER_CONSUMER": names.consumer}
    worker = run(["streams-worker", "run"], env | burst, timeout=60)
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert '"burst_drained"' in worker.stderr
