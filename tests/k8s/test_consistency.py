"""The manifests and the application agree: probes, ports, settings, metrics, timing."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from streams_worker.core.settings import WorkerSettings
from tests.k8s import app_facts
from tests.k8s.manifests import (
    K8S,
    ROOT,
    all_objects,
    env_of,
    find,
    pod_spec,
    with_secrets,
)  # fmt: skip

BASE = with_secrets()
KEDA = with_secrets(("keda",))
CRON = with_secrets(("producer-cronjob",))
OBJECTS = [o for _, o in all_objects()]
ALERTS = ROOT / "monitoring" / "alerts.yaml"
DASHBOARD = ROOT / "monitoring" / "dashboard.json"
COMMON = find(BASE, "ConfigMap", "streams-common")["data"]
WORKER_CM = find(BASE, "ConfigMap", "streams-worker")["data"]
#: Margin between the app's drain time and the kubelet's SIGKILL: ack flush,
#: closing connections, a loaded node.
MARGIN_S = 10


def _container(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    spec = pod_spec(find(objs, kind, name))
    assert spec is not None
    return spec["containers"][0]  # type: ignore[no-any-return]


def _app_containers() -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(label, container, objects it resolves references in) for our image only."""
    out = []
    for objs in (BASE, KEDA, CRON):
        for o in objs:
            spec = pod_spec(o)
            for c in spec["containers"] if spec else []:
                if c["image"].startswith("streams-worker"):
                    out.append((f"{o['kind']}/{o['metadata']['name']}", c, objs))
    ops = yaml.safe_load((K8S / "ops" / "operator-pod.yaml").read_text())
    out.append(("Pod/streams-ops", ops["spec"]["containers"][0], BASE))
    return out


# --- probes and ports -------------------------------------------------------


def test_worker_probes_hit_real_routes_on_the_real_port() -> None:
    c = _container(BASE, "Deployment", "streams-worker")
    routes = app_facts.routes()
    port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
    env = env_of(c, BASE)
    assert (
        port
        == int(env["WORKER_HTTP_PORT"] or 0)
        == WorkerSettings.model_fields["http_port"].default
    )
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] in routes
        assert get["port"] == "http"
    sm = find(BASE, "ServiceMonitor", "streams-worker")
    assert {e["path"] for e in sm["spec"]["endpoints"]} <= routes
    svc = find(BASE, "Service", "streams-worker")
    assert svc["spec"]["ports"][0]["targetPort"] == "http"


def test_producer_probes_use_its_port() -> None:
    c = _container(BASE, "Deployment", "streams-producer")
    assert c["command"] == ["streams-producer"]
    assert c["args"][:1] == ["sync"]
    port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
    assert port == int(env_of(c, BASE)["PRODUCER_HTTP_PORT"] or 0) == 8001
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    from producer.settings import ProducerSettings

    assert ProducerSettings.model_fields["http_port"].default == port
    svc = find(BASE, "Service", "streams-producer")
    assert svc["spec"]["ports"][0]["port"] == port


def test_consumer_name_comes_from_the_pod_name() -> None:
    env = _container(BASE, "Deployment", "streams-worker")["env"]
    pod_name = next(e for e in env if e["name"] == "POD_NAME")
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "WORKER_CONSUMER" not in env_of(_container(BASE, "Deployment", "streams-worker"), BASE)


# --- settings -----------------------------------------------------------------


def test_every_variable_set_in_the_manifests_is_a_real_setting() -> None:
    known = app_facts.setting_variables()
    for label, c, objs in _app_containers():
        unknown = set(env_of(c, objs)) - known
        assert not unknown, f"{label} sets variables no settings class reads: {unknown}"


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "operations.md").read_text()
    missing = {v for v in app_facts.setting_variables() if f"`{v}`" not in docs}
    assert not missing, f"docs/operations.md does not mention {sorted(missing)}"


def _settings_of(cls: Any, kind: str, name: str) -> Any:
    """`cls` built from a container's environment, as the process would build it."""
    env = {k: v for k, v in env_of(_container(BASE, kind, name), BASE).items()
           if v is not None and k in app_facts._aliases(cls)}  # fmt: skip
    if "REDIS_PASSWORD_FILE" in env:
        env["REDIS_PASSWORD_FILE"] = __file__  # mounted in the pod; any readable file here
    return cls(**env)


def test_the_manifest_settings_are_valid_values() -> None:
    from producer.settings import ProducerSettings
    from streams_worker.enrichment.settings import EnrichmentSettings

    worker = _settings_of(WorkerSettings, "Deployment", "streams-worker")
    assert worker.keys().partitions[0].stream == "articles"
    assert worker.shutdown_grace_s == 25
    enrichment = _settings_of(EnrichmentSettings, "Deployment", "streams-worker")
    assert enrichment.data_api_url.startswith("https://")
    producer = _settings_of(ProducerSettings, "Deployment", "streams-producer")
    assert producer.keys() == worker.keys()  # same stream layout on both sides
    assert producer.http_port == 8001


def test_credentials_come_from_each_roles_own_secret() -> None:
    roles = {"Deployment/streams-worker": "redis-worker",
             "Deployment/streams-producer": "redis-producer",
             "CronJob/streams-producer-sync": "redis-producer",
             "Pod/streams-ops": "redis-operator",
             "Deployment/streams-console": "redis-console"}  # fmt: skip
    for label, c, _ in _app_containers():
        user = next(e for e in c["env"] if e["name"] == "REDIS_USERNAME")
        assert user["valueFrom"]["secretKeyRef"]["name"] == roles[label], label
        mount = next(m for m in c["volumeMounts"] if m["name"] == "redis-credentials")
        path = next(e["value"] for e in c["env"] if e["name"] == "REDIS_PASSWORD_FILE")
        assert Path(path).parent == Path(mount["mountPath"]), label
        assert "REDIS_PASSWORD" not in {e["name"] for e in c["env"]}, "password via file only"


def test_example_passwords_match_the_acl_hashes() -> None:
    acl = {}
    for line in (K8S / "redis" / "users.acl").read_text().splitlines():
        words = line.split()
        acl[words[1]] = {w[1:] for w in words if w.startswith("#")}
    for role in ("producer", "worker", "autoscaler", "operator", "console", "console-actions"):
        secret = find(BASE, "Secret", f"redis-{role}")["stringData"]
        assert secret["username"] == role
        digest = hashlib.sha256(secret["password"].encode()).hexdigest()
        assert acl[role] == {digest}, f"users.acl hash for {role} does not match its Secret"


# --- timing: grace, drain, reclaim, scale-down ---------------------------------


def test_termination_grace_exceeds_the_drain_time() -> None:
    grace_s = float(WORKER_CM["WORKER_SHUTDOWN_GRACE_S"])
    spec = pod_spec(find(BASE, "Deployment", "streams-worker"))
    assert spec is not None
    assert spec["terminationGracePeriodSeconds"] >= grace_s + MARGIN_S


def _scale_down_floor_s() -> float:
    """Drain, then the claim threshold, then one claim interval: when a removed
    replica's leftovers are owned by another replica again."""
    return (float(WORKER_CM["WORKER_SHUTDOWN_GRACE_S"])
            + int(WORKER_CM["WORKER_CLAIM_MIN_IDLE_MS"]) / 1000
            + int(WORKER_CM["WORKER_CLAIM_INTERVAL_MS"]) / 1000)  # fmt: skip


def _behaviours() -> list[dict[str, Any]]:
    hpa = find(BASE, "HorizontalPodAutoscaler", "streams-worker")["spec"]["behavior"]
    so = find(KEDA, "ScaledObject", "streams-worker")["spec"]
    return [hpa, so["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]]


def test_scale_down_never_races_in_flight_work() -> None:
    floor = _scale_down_floor_s()
    for behavior in _behaviours():
        down = behavior["scaleDown"]
        assert down["stabilizationWindowSeconds"] >= floor
        assert down["selectPolicy"] == "Min"
        for p in down["policies"]:
            # At most one pod per period, and a period outlasts drain + reclaim.
            assert p["type"] == "Pods"
            assert p["value"] == 1
            assert p["periodSeconds"] >= floor


def test_replica_bounds_agree_with_the_disruption_budget() -> None:
    hpa = find(BASE, "HorizontalPodAutoscaler", "streams-worker")["spec"]
    so = find(KEDA, "ScaledObject", "streams-worker")["spec"]
    pdb = find(BASE, "PodDisruptionBudget", "streams-worker")["spec"]
    assert hpa["minReplicas"] > pdb["maxUnavailable"]
    assert hpa["maxReplicas"] == so["maxReplicaCount"]
    assert "replicas" not in find(BASE, "Deployment", "streams-worker")["spec"], (
        "autoscaler owns it"
    )


def test_autoscalers_watch_the_configured_stream_and_group() -> None:
    hpa = find(BASE, "HorizontalPodAutoscaler", "streams-worker")["spec"]
    sel = hpa["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]
    assert sel == {"stream": COMMON["WORKER_STREAM"], "group": COMMON["WORKER_GROUP"]}
    assert COMMON["WORKER_PARTITIONS"] == "1", "KEDA triggers name the single stream key"
    keda = find(KEDA, "ScaledObject", "streams-worker")["spec"]["triggers"]
    for t in keda:
        assert t["type"] == "redis-streams"
        assert t["metadata"]["stream"] == COMMON["WORKER_STREAM"]
        assert t["metadata"]["consumerGroup"] == COMMON["WORKER_GROUP"]
        host = t["metadata"]["address"].split(".")[0]
        assert COMMON["REDIS_URL"].startswith(f"redis://{host}:")
    modes = {k for t in keda for k in t["metadata"] if k in ("lagCount", "pendingEntriesCount")}
    assert modes == {"lagCount", "pendingEntriesCount"}
    pending = next(t for t in keda if "pendingEntriesCount" in t["metadata"])
    assert pending["metadata"]["pendingEntriesCount"] == WORKER_CM["WORKER_CONCURRENCY"]


# --- metrics ------------------------------------------------------------------


def _alert_rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]


def _dashboard_queries() -> list[str]:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("expr", "query", "definition") and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(DASHBOARD.read_text()))
    return out


def _autoscaling_queries() -> list[str]:
    hpa = find(BASE, "HorizontalPodAutoscaler", "streams-worker")["spec"]
    adapter = yaml.safe_load((K8S / "autoscaling" / "prometheus-adapter-rules.yaml").read_text())
    names = [m["external"]["metric"]["name"] for m in hpa["metrics"]]
    rules = adapter["externalRules"]
    assert names == [r["name"]["as"] for r in rules], "the HPA asks for what the adapter serves"
    for r in rules:  # the adapter's templates, without which the query is not scoped
        assert "<<.Series>>" in r["metricsQuery"]
        assert "<<.LabelMatchers>>" in r["metricsQuery"]
        assert "max by" in r["metricsQuery"], "each replica reports the group: dedupe first"
    return names + [r["seriesQuery"] for r in rules] + [r["metricsQuery"] for r in rules]


def test_autoscaling_metrics_are_exported() -> None:
    missing = app_facts.metric_names(_autoscaling_queries()) - app_facts.exported_metrics()
    assert not missing


def test_alert_metrics_are_exported_and_recordings_defined() -> None:
    rules = _alert_rules()
    exprs = [r["expr"] for r in rules]
    _check_metrics(exprs, recorded={r["record"] for r in rules if "record" in r})


def test_dashboard_metrics_are_exported() -> None:
    recorded = {r["record"] for r in _alert_rules() if "record" in r}
    _check_metrics(_dashboard_queries(), recorded)


def _check_metrics(queries: list[str], recorded: set[str]) -> None:
    assert queries
    exported = app_facts.exported_metrics()
    used = app_facts.metric_names(queries)
    missing = used - exported
    assert not missing, f"used but never exported: {sorted(missing)}"
    assert app_facts.recorded_names(queries) <= recorded


def test_metric_name_extraction_sees_through_promql() -> None:
    q = ('sum by (stream) (rate(streams_worker_entries_total{outcome="acked"}[5m])) / '
         'streams_worker:group_backlog:sum + histogram_quantile(0.9, '
         'streams_worker_handler_seconds_bucket)')  # fmt: skip
    assert app_facts.metric_names([q]) == {
        "streams_worker_entries_total",
        "streams_worker_handler_seconds_bucket",
    }
    assert app_facts.recorded_names([q]) == {"streams_worker:group_backlog:sum"}
    assert "streams_worker_nonexistent" not in app_facts.exported_metrics()
    assert re.fullmatch(app_facts.METRIC_RE, "streams_producer_enqueued_total")


def test_operations_doc_links_and_paths_exist() -> None:
    doc = ROOT / "docs" / "operations.md"
    text = doc.read_text()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (doc.parent / target).exists(), f"broken link {target}"
    for path in set(re.findall(r"`((?:k8s|monitoring|docs|tests)/[\w./-]+)`", text)):
        if "*" not in path and not path.startswith("k8s/overlays"):
            assert (ROOT / path.rstrip("/")).exists(), f"operations.md names a missing {path}"


def test_the_console_is_read_only_token_protected_and_probed_on_its_port() -> None:
    from streams_worker.console.settings import ConsoleSettings

    c = _container(BASE, "Deployment", "streams-console")
    assert c["args"] == ["console"]
    env = env_of(c, BASE)
    port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
    default = ConsoleSettings.model_fields["console_port"].default
    assert port == int(env["CONSOLE_PORT"] or 0) == default
    assert env["CONSOLE_ACTIONS"] == "false"
    assert env["CONSOLE_TOKEN_FILE"]  # a token: required to listen beyond loopback
    token_mount = next(m for m in c["volumeMounts"] if m["name"] == "console-token")
    assert Path(env["CONSOLE_TOKEN_FILE"] or "").parent == Path(token_mount["mountPath"])
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    svc = find(BASE, "Service", "streams-console")
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    assert svc["spec"]["type"] == "ClusterIP"
    token = find(BASE, "Secret", "console-token")["stringData"]["token"]
    assert len(token) >= 16
