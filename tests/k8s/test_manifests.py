"""Every manifest is a valid object of the declared Kubernetes version, offline.

Built-in kinds are checked against the bundled OpenAPI schemas of
kubernetes-validate (strict: unknown fields are errors). Custom resources have no
bundled schema; their required fields are checked here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from tests.k8s.manifests import (
    CUSTOM_KINDS,
    EXAMPLE_SECRETS,
    K8S,
    KUBERNETES_VERSION,
    VARIANTS,
    all_objects,
    build,
    pod_spec,
)

OBJECTS = all_objects()
BUILTIN = [(p, o) for p, o in OBJECTS if o["kind"] not in CUSTOM_KINDS]
CUSTOM = [(p, o) for p, o in OBJECTS if o["kind"] in CUSTOM_KINDS]


def _id(item: tuple[Path, dict[str, Any]]) -> str:
    return f"{item[1]['kind']}/{item[1]['metadata']['name']}"


def test_the_declared_version_is_bundled() -> None:
    assert KUBERNETES_VERSION in all_versions()


@pytest.mark.parametrize("item", BUILTIN, ids=_id)
def test_builtin_objects_validate_strictly(item: tuple[Path, dict[str, Any]]) -> None:
    kubernetes_validate.validate(item[1], KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("item", BUILTIN, ids=_id)
def test_builtin_objects_validate_on_the_newest_bundled_version(
    item: tuple[Path, dict[str, Any]],
) -> None:
    kubernetes_validate.validate(item[1], kubernetes_validate.latest_version(), strict=True)


def test_every_variant_builds_and_has_the_expected_objects() -> None:
    kinds = {comps: {(o["kind"], o["metadata"]["name"]) for o in build(d, comps)}
             for d, comps in VARIANTS if d == K8S}  # fmt: skip
    base = kinds[()]
    assert ("HorizontalPodAutoscaler", "streams-worker") in base
    assert ("Deployment", "streams-producer") in base
    keda = kinds[("keda",)]
    assert ("HorizontalPodAutoscaler", "streams-worker") not in keda  # one autoscaler only
    assert {
        ("ScaledObject", "streams-worker"),
        ("TriggerAuthentication", "redis-autoscaler"),
    } <= keda
    cron = kinds[("producer-cronjob",)]
    assert ("CronJob", "streams-producer-sync") in cron
    assert ("Deployment", "streams-producer") not in cron


def test_every_file_under_k8s_is_used() -> None:
    used = {K8S / "kustomization.yaml", K8S / "redis" / "kustomization.yaml"}
    comps = [K8S / "components" / c for c in ("keda", "producer-cronjob")]
    for d in [K8S, K8S / "redis", EXAMPLE_SECRETS, *comps]:
        kz = yaml.safe_load((d / "kustomization.yaml").read_text())
        used |= {(d / r).resolve() for r in kz.get("resources") or []}
        used |= {(d / f).resolve() for g in kz.get("configMapGenerator", []) +
                 kz.get("secretGenerator", []) for f in g["files"]}  # fmt: skip
        used.add(d / "kustomization.yaml")
    others = {K8S / "README.md", K8S / "generate.py", K8S / "ops" / "operator-pod.yaml",
              K8S / "autoscaling" / "prometheus-adapter-rules.yaml"}  # fmt: skip
    files = {p.resolve() for p in K8S.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files - {p.resolve() for p in used | others} == set()


# --- custom resources: the fields their CRDs require, and what we rely on ------


def _need(obj: dict[str, Any], *path: str) -> Any:
    cur: Any = obj
    for key in path:
        assert isinstance(cur, dict)
        assert key in cur, f"{_id((Path(), obj))}: missing {'.'.join(path)}"
        cur = cur[key]
    return cur


def _check_monitor(obj: dict[str, Any]) -> None:
    _need(obj, "spec", "selector")
    key = "endpoints" if obj["kind"] == "ServiceMonitor" else "podMetricsEndpoints"
    endpoints = _need(obj, "spec", key)
    assert endpoints
    assert all("port" in e and e.get("path", "/metrics") == "/metrics" for e in endpoints)


def _check_rule(obj: dict[str, Any]) -> None:
    groups = _need(obj, "spec", "groups")
    assert groups
    for g in groups:
        assert g["name"]
        assert g["rules"]
        for r in g["rules"]:
            assert ("alert" in r) != ("record" in r)
            assert r["expr"]


def _check_scaled_object(obj: dict[str, Any]) -> None:
    assert _need(obj, "spec", "scaleTargetRef", "name")
    triggers = _need(obj, "spec", "triggers")
    assert triggers
    for t in triggers:
        assert t["type"]
        assert isinstance(t["metadata"], dict)
        assert all(isinstance(v, str) for v in t["metadata"].values()), (
            "metadata values are strings"
        )


def _check_trigger_auth(obj: dict[str, Any]) -> None:
    refs = _need(obj, "spec", "secretTargetRef")
    assert refs
    assert all({"parameter", "name", "key"} <= set(r) for r in refs)


CHECKS = {
    "ServiceMonitor": _check_monitor,
    "PodMonitor": _check_monitor,
    "PrometheusRule": _check_rule,
    "ScaledObject": _check_scaled_object,
    "TriggerAuthentication": _check_trigger_auth,
}
API_VERSIONS = {
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PodMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
    "ScaledObject": "keda.sh/v1alpha1",
    "TriggerAuthentication": "keda.sh/v1alpha1",
}


@pytest.mark.parametrize("item", CUSTOM, ids=_id)
def test_custom_resources_have_their_required_fields(item: tuple[Path, dict[str, Any]]) -> None:
    obj = item[1]
    assert obj["apiVersion"] == API_VERSIONS[obj["kind"]]
    assert obj["metadata"]["name"]
    CHECKS[obj["kind"]](obj)


def test_custom_resources_are_all_present() -> None:
    assert {o["kind"] for _, o in CUSTOM} >= CUSTOM_KINDS - {"PodMonitor"}


# --- the pod security the issue asks for -------------------------------------


PODS = [(p, o) for p, o in OBJECTS if pod_spec(o) is not None]


@pytest.mark.parametrize("item", PODS, ids=_id)
def test_pods_are_locked_down(item: tuple[Path, dict[str, Any]]) -> None:
    spec = pod_spec(item[1])
    assert spec is not None
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec.get("automountServiceAccountToken") is False
    for c in spec["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert "memory" in c["resources"]["limits"]
        assert c["resources"]["requests"]
