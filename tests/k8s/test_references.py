"""Objects that name each other agree, in every variant: what `kubectl apply` would
accept but a running cluster would reveal only later (a Service selecting no pod, a
missing Secret key, a policy that blocks Redis)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.k8s.manifests import (
    EXAMPLE_SECRETS,
    K8S,
    VARIANTS,
    build,
    find,
    pod_spec,
    with_secrets,
)

Obj = dict[str, Any]
APP_VARIANTS = [(d, c) for d, c in VARIANTS if d == K8S]
IDS = ["+".join(c) or "base" for _, c in APP_VARIANTS]
REDIS = build(K8S / "redis")


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _pods(objs: list[Obj]) -> list[tuple[Obj, Obj]]:
    """(object, pod template metadata+spec) for every workload."""
    out = []
    for o in objs:
        spec = pod_spec(o)
        if spec is not None:
            tmpl = o["spec"].get("jobTemplate", {}).get("spec", o["spec"])["template"]
            out.append((o, tmpl))
    return out


def _has(objs: list[Obj], kind: str, name: str) -> bool:
    return any(o["kind"] == kind and o["metadata"]["name"] == name for o in objs)


@pytest.mark.parametrize(("directory", "components"), APP_VARIANTS, ids=IDS)
def test_every_reference_resolves(directory: Any, components: tuple[str, ...]) -> None:
    objs = with_secrets(components)
    for owner, tmpl in _pods(objs):
        spec = tmpl["spec"]
        where = f"{owner['kind']}/{owner['metadata']['name']}"
        if "serviceAccountName" in spec:
            assert _has(objs, "ServiceAccount", spec["serviceAccountName"]), where
        if owner["kind"] == "Deployment":
            assert _matches(owner["spec"]["selector"]["matchLabels"], tmpl["metadata"]["labels"])
        for t in spec.get("topologySpreadConstraints", []):
            assert _matches(t["labelSelector"]["matchLabels"], tmpl["metadata"]["labels"]), where
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            for src in c.get("envFrom", []):
                ref = src.get("configMapRef") or src.get("secretRef")
                kind = "ConfigMap" if "configMapRef" in src else "Secret"
                assert _has(objs, kind, ref["name"]), f"{where}: {kind} {ref['name']}"
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret = find(objs, "Secret", ref["name"])
                    assert ref["key"] in secret.get("stringData", secret.get("data", {})), where
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes, f"{where}: volume {m['name']}"
        for v in volumes.values():
            if "secret" in v and not v["secret"].get("optional"):
                secret = find(objs, "Secret", v["secret"]["secretName"])
                data = secret.get("stringData", secret.get("data", {}))
                assert all(i["key"] in data for i in v["secret"].get("items", [])), where


@pytest.mark.parametrize(("directory", "components"), APP_VARIANTS, ids=IDS)
def test_services_monitors_and_autoscalers_find_their_targets(
    directory: Any, components: tuple[str, ...]
) -> None:
    objs = with_secrets(components)
    pods = _pods(objs)
    services = [o for o in objs if o["kind"] == "Service"]
    monitors = [o for o in objs if o["kind"] == "ServiceMonitor"]
    scraped = {s["metadata"]["name"] for s in services for sm in monitors
               if _matches(sm["spec"]["selector"]["matchLabels"],
                           s["metadata"]["labels"])}  # fmt: skip
    for svc in services:
        selected = [
            t for _, t in pods if _matches(svc["spec"]["selector"], t["metadata"]["labels"])
        ]
        assert selected, f"Service {svc['metadata']['name']} selects no pod"
        ports = {p["name"] for t in selected for c in t["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports
        # Prometheus must keep scraping pods that are unready (e.g. Redis is down);
        # a Service people use (the console) sends traffic to ready pods only.
        ready_only = svc["metadata"]["name"] not in scraped
        assert svc["spec"].get("publishNotReadyAddresses") is (None if ready_only else True)
    for sm in (o for o in objs if o["kind"] == "ServiceMonitor"):
        hits = [s for s in services if _matches(sm["spec"]["selector"]["matchLabels"],
                                                 s["metadata"]["labels"])]  # fmt: skip
        assert len(hits) == 1, sm["metadata"]["name"]
        assert {e["port"] for e in sm["spec"]["endpoints"]} <= {
            p["name"] for p in hits[0]["spec"]["ports"]}  # fmt: skip
    for o in objs:
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject"):
            assert _has(objs, "Deployment", o["spec"]["scaleTargetRef"]["name"])
        if o["kind"] == "ScaledObject":
            for t in o["spec"]["triggers"]:
                auth = find(objs, "TriggerAuthentication", t["authenticationRef"]["name"])
                for ref in auth["spec"]["secretTargetRef"]:
                    assert ref["key"] in find(objs, "Secret", ref["name"])["stringData"]
        if o["kind"] == "PodDisruptionBudget":
            sel = o["spec"]["selector"]["matchLabels"]
            assert any(_matches(sel, t["metadata"]["labels"]) for _, t in pods)


def test_network_policies_let_the_app_reach_redis_and_prometheus_reach_the_app() -> None:
    objs = build(K8S)
    common = find(objs, "ConfigMap", "streams-common")["data"]
    url = urlsplit(common["REDIS_URL"])
    redis_svc = find(REDIS, "Service", "redis")
    assert url.hostname == redis_svc["metadata"]["name"]
    assert url.port == redis_svc["spec"]["ports"][0]["port"]
    redis_pod = next(t for o, t in _pods(REDIS) if o["kind"] == "StatefulSet")
    egress = find(objs, "NetworkPolicy", "streams-worker-egress")["spec"]
    to_redis = [r for r in egress["egress"]
                if any(_matches(p.get("podSelector", {}).get("matchLabels", {"-": "-"}),
                                redis_pod["metadata"]["labels"]) for p in r["to"])]  # fmt: skip
    assert [p["port"] for r in to_redis for p in r["ports"]] == [url.port]
    selected_by_egress = {
        c
        for o, t in _pods(objs)
        for c in [t["metadata"]["labels"]["app.kubernetes.io/component"]]
        if all(t["metadata"]["labels"].get(e["key"]) in e["values"]
               for e in egress["podSelector"]["matchExpressions"])
    }  # fmt: skip
    assert selected_by_egress == {"worker", "producer"}
    # And Redis lets them in (its own policy in the example).
    redis_in = find(REDIS, "NetworkPolicy", "redis")["spec"]["ingress"][0]
    allowed = [p["podSelector"]["matchLabels"] for p in redis_in["from"] if "podSelector" in p]
    for _, t in _pods(objs):
        assert any(_matches(a, t["metadata"]["labels"]) for a in allowed)
    metrics_in = find(objs, "NetworkPolicy", "streams-worker-metrics-ingress")["spec"]
    assert [p["port"] for r in metrics_in["ingress"] for p in r["ports"]] == ["http"]
    for _, t in _pods(objs):
        assert "http" in {p["name"] for c in t["spec"]["containers"] for p in c.get("ports", [])}


@pytest.mark.parametrize(("directory", "components"), APP_VARIANTS, ids=IDS)
def test_applying_the_app_never_overwrites_a_secret(
    directory: Any, components: tuple[str, ...]
) -> None:
    """`kubectl apply -k k8s/` creates no Secret (a real one would get example
    passwords); the example overlay holds Secrets only, each one the app names."""
    assert not [o for o in build(directory, components) if o["kind"] == "Secret"]
    examples = build(EXAMPLE_SECRETS)
    assert {o["kind"] for o in examples} == {"Secret"}
    pods = _pods(with_secrets(components))
    named = {ref["name"] for _, t in pods for c in t["spec"]["containers"]
             for ref in [*(s.get("secretRef") for s in c.get("envFrom", [])),
                         *(e.get("valueFrom", {}).get("secretKeyRef") for e in c.get("env", []))]
             if ref}  # fmt: skip
    assert named <= {o["metadata"]["name"] for o in examples}
