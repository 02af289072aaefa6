"""The PrometheusRule and the dashboard ConfigMap are exact copies of monitoring/."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.k8s.manifests import K8S, ROOT

ALERTS = ROOT / "monitoring" / "alerts.yaml"
DASHBOARD = ROOT / "monitoring" / "dashboard.json"
RULE = K8S / "monitoring" / "prometheusrule.yaml"
CONFIGMAP = K8S / "monitoring" / "dashboard-configmap.yaml"


def test_prometheus_rule_has_exactly_the_rules_of_the_rules_file() -> None:
    rule = yaml.safe_load(RULE.read_text())
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]
    assert rule["metadata"]["labels"]["release"]  # picked up by the operator's ruleSelector


def test_dashboard_configmap_holds_the_dashboard_verbatim() -> None:
    cm = yaml.safe_load(CONFIGMAP.read_text())
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"  # the sidecar's label
    (text,) = cm["data"].values()
    assert text == DASHBOARD.read_text()
    assert json.loads(text)["panels"]
    # `kubectl apply` keeps a last-applied copy in an annotation (max 256 KiB).
    assert len(CONFIGMAP.read_bytes()) < 200 * 1024


def test_generate_check_reports_no_drift() -> None:
    res = subprocess.run([sys.executable, str(K8S / "generate.py"), "--check"],
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr


def test_generate_check_detects_drift(tmp_path: object) -> None:
    sys.path.insert(0, str(K8S))
    try:
        import generate
    finally:
        sys.path.remove(str(K8S))
    rules = yaml.safe_load(ALERTS.read_text())
    rules["groups"][0]["rules"][0]["expr"] += " > 0"
    root = ROOT.__class__(str(tmp_path))
    (root / "monitoring").mkdir()
    (root / "k8s" / "monitoring").mkdir(parents=True)
    (root / "monitoring" / "alerts.yaml").write_text(yaml.safe_dump(rules))
    (root / "monitoring" / "dashboard.json").write_text(DASHBOARD.read_text())
    changed = generate.outputs(root)[root / "k8s" / "monitoring" / "prometheusrule.yaml"]
    assert changed != RULE.read_text()
