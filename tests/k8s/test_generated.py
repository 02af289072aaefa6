"""The PrometheusRule and the dashboard ConfigMap are exact copies of monitoring/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.k8s.manifests import K8S, ROOT, load_generate

ALERTS = ROOT / "monitoring" / "alerts.yaml"
DASHBOARD = ROOT / "monitoring" / "dashboard.json"
RULE = K8S / "monitoring" / "prometheusrule.yaml"
ALERT_NAMES = [
    r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]
    if "alert" in r
] if ALERTS.exists() else []  # fmt: skip
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
    generate = load_generate()
    rules = yaml.safe_load(ALERTS.read_text())
    rules["groups"][0]["rules"][0]["expr"] += " > 0"
    root = ROOT.__class__(str(tmp_path))
    (root / "monitoring").mkdir()
    (root / "k8s" / "monitoring").mkdir(parents=True)
    (root / "monitoring" / "alerts.yaml").write_text(yaml.safe_dump(rules))
    (root / "monitoring" / "dashboard.json").write_text(DASHBOARD.read_text())
    changed = generate.outputs(root)[root / "k8s" / "monitoring" / "prometheusrule.yaml"]
    assert changed != RULE.read_text()


NEW_ALERT = """\
      - alert: StreamsWorkerSomethingNew
        expr: vector(1)
        labels:
          severity: info
        annotations:
          summary: "added on another branch, without a runbook link"
"""


def test_runbook_urls_follow_the_base_for_every_alert_including_new_ones(tmp_path: Path) -> None:
    generate = load_generate()
    root = tmp_path
    (root / "monitoring").mkdir()
    (root / "k8s" / "monitoring").mkdir(parents=True)
    relative = ALERTS.read_text().replace(
        "runbook_url: " + generate.RUNBOOK_BASE, "runbook: docs/runbook.md"
    )
    (root / "monitoring" / "alerts.yaml").write_text(relative + "\n" + NEW_ALERT)
    (root / "monitoring" / "dashboard.json").write_text(DASHBOARD.read_text())
    base = "https://runbooks.example.com/streams-worker"
    out = generate.outputs(root, runbook_base=base)
    source = yaml.safe_load(out[root / "monitoring" / "alerts.yaml"])
    rule = yaml.safe_load(out[root / "k8s" / "monitoring" / "prometheusrule.yaml"])
    assert rule["spec"]["groups"] == source["groups"]
    alerts = [r for g in source["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) == len(ALERT_NAMES) + 1
    for r in alerts:
        assert "runbook" not in r["annotations"]
        assert r["annotations"]["runbook_url"] == f"{base}#{r['alert'].lower()}"
    # comments and the untouched lines stay as written
    assert out[root / "monitoring" / "alerts.yaml"].startswith(ALERTS.read_text().splitlines()[0])


def test_anchor_is_githubs_heading_slug() -> None:
    anchor = load_generate().anchor
    assert anchor("StreamsWorkerDeadLetterBurst") == "streamsworkerdeadletterburst"
    assert anchor("Redis down: what now?") == "redis-down-what-now"
    assert anchor("dead_letter length") == "dead_letter-length"


def test_generate_refuses_a_relative_runbook_base() -> None:
    res = subprocess.run([sys.executable, str(K8S / "generate.py"), "--check",
                          "--runbook-base", "docs/runbook.md"],
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert res.returncode == 2
    assert "absolute" in res.stderr
