"""Monitoring assets checked by the real tools: promtool (rules, rule tests, metrics
exposition) and a real Prometheus scraping a live worker, queried panel by panel."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from producer.metrics import ProducerMetrics
from streams_worker import WorkerSettings
from streams_worker.dev.embedded import free_port
from streams_worker.http.app import create_app, serve_http
from tests.k8s.manifests import load_generate
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.prometheus import PrometheusServer, PrometheusTools
from tests.support.wait import eventually
from tests.support.workers import serving

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
DASHBOARD = json.loads((MONITORING / "dashboard.json").read_text())
RULES = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
ALERTS = [r["alert"] for g in RULES["groups"] for r in g["rules"] if "alert" in r]

#: One series of each standard collector: process, platform, GC.
STANDARD_SERIES = ("process_cpu_seconds_total", "python_info{", "python_gc_objects_collected_total")


def promtool(tools: PrometheusTools, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(tools.promtool), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=MONITORING,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_promtool_check_rules(prometheus_tools: PrometheusTools) -> None:
    out = promtool(prometheus_tools, "check", "rules", "alerts.yaml")
    assert "SUCCESS" in out


def test_promtool_test_rules_covers_every_alert_firing_and_not(
    prometheus_tools: PrometheusTools,
) -> None:
    out = promtool(prometheus_tools, "test", "rules", "alerts_test.yaml")
    assert "SUCCESS" in out
    tests = yaml.safe_load((MONITORING / "alerts_test.yaml").read_text())["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for t in tests:
        for case in t["alert_rule_test"]:
            if case["exp_alerts"]:
                firing.add(case["alertname"])
            # a case is "not firing" for the series it does not list: any input left out
            listed = len(case["exp_alerts"])
            inputs = {re.sub(r',?instance="[^"]*"', "", s["series"]) for s in t["input_series"]}
            if not case["exp_alerts"] or len(inputs) > listed:
                quiet.add(case["alertname"])
    assert firing == set(ALERTS)
    assert quiet == set(ALERTS)
    assert len(ALERTS) >= 7


def test_every_alert_links_its_runbook_section_by_an_absolute_url() -> None:
    generate = load_generate()
    runbook = (MONITORING.parent / "docs" / "runbook.md").read_text()
    anchors = {generate.anchor(h) for h in re.findall(r"^## (.+)$", runbook, re.M)}
    for rule in (r for g in RULES["groups"] for r in g["rules"] if "alert" in r):
        alert, notes = rule["alert"], rule["annotations"]
        assert f"## {alert}" in runbook, alert
        assert "runbook" not in notes, f"{alert}: relative runbook: annotation"
        url = notes["runbook_url"]
        assert url == f"{generate.RUNBOOK_BASE}#{generate.anchor(alert)}", alert
        assert url.split("#")[1] in anchors, alert


class Source:
    """A StatusSource over a bare registry (the producer's sync service looks like this)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def status(self) -> Mapping[str, Any]:
        return {}

    def healthy(self) -> bool:
        return True

    async def ready(self) -> bool:
        return True


async def scrape(registry: CollectorRegistry) -> str:
    async with anyio.create_task_group() as tg:
        port = await tg.start(serve_http, create_app(Source(registry)), "127.0.0.1", 0)
        async with httpx.AsyncClient() as c:
            text = (await c.get(f"http://127.0.0.1:{port}/metrics")).text
        tg.cancel_scope.cancel()
    return text


async def test_promtool_check_metrics_is_clean_on_worker_metrics(
    prometheus_tools: PrometheusTools, redis_url: str, names: Names
) -> None:
    settings = WorkerSettings(
        **names.settings(
            redis_url=redis_url, block_ms=100, http_port=0, group_sample_interval_ms=100
        )
    )
    r = Redis.from_url(redis_url)
    try:
        await r.xadd(names.stream, {"article_id": "urn:article:x"})
        async with serving(settings, Recorder()) as worker:
            text = await scrape(worker.registry)
    finally:
        await r.aclose()
    assert "streams_worker_group_backlog" in text
    assert "streams_worker_handler_seconds_bucket" in text
    for standard in STANDARD_SERIES:
        assert standard in text
    assert re.search(r'^streams_worker_build_info\{.*version=".+".*\} 1\.0$', text, re.M)
    out = await anyio.to_thread.run_sync(
        lambda: promtool(prometheus_tools, "check", "metrics", stdin=text)
    )
    assert out.strip() == ""


async def test_promtool_check_metrics_is_clean_on_producer_metrics(
    prometheus_tools: PrometheusTools,
) -> None:
    registry = CollectorRegistry()
    m = ProducerMetrics(registry, stream="articles")
    m.enqueued.inc(3)
    m.error("redis")
    text = await scrape(registry)
    assert "streams_producer_enqueued_total" in text
    for standard in STANDARD_SERIES:
        assert standard in text
    assert re.search(r'^streams_producer_build_info\{.*redis_py=".+".*\} 1\.0$', text, re.M)
    out = await anyio.to_thread.run_sync(
        lambda: promtool(prometheus_tools, "check", "metrics", stdin=text)
    )
    assert out.strip() == ""


def panel_queries() -> Iterator[tuple[str, str]]:
    for p in DASHBOARD["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]


def test_dashboard_is_provisionable_with_stream_and_group_variables() -> None:
    names = [v["name"] for v in DASHBOARD["templating"]["list"]]
    assert {"stream", "group", "datasource"} <= set(names)
    assert DASHBOARD["uid"] == "streams-worker"
    assert "id" not in DASHBOARD  # provisioning assigns the numeric id
    titles = [p["title"] for p in DASHBOARD["panels"] if p["type"] != "row"]
    assert len(titles) == len(set(titles))
    for title, expr in panel_queries():
        uses_group = "streams_worker_" in expr
        assert not uses_group or "$group" in expr, title
    doc = (MONITORING.parent / "docs" / "dashboard.md").read_text()
    for title, expr in panel_queries():
        assert title in doc
        assert expr in doc, f"docs/dashboard.md lacks the query of {title!r}: {expr}"


@pytest.fixture
def prometheus(prometheus_tools: PrometheusTools, tmp_path: Path) -> Iterator[dict[str, Any]]:
    ports = {"worker": free_port(), "producer": free_port()}
    targets = {"streams-worker": [f"127.0.0.1:{ports['worker']}"]}
    if ProducerMetrics is not None:
        targets["streams-producer"] = [f"127.0.0.1:{ports['producer']}"]
    server = PrometheusServer(prometheus_tools.prometheus, tmp_path, targets).start()
    try:
        yield {"server": server, **ports}
    finally:
        server.stop()


def instantiate(expr: str, names: Names) -> str:
    return (
        expr.replace("$stream", re.escape(names.stream))
        .replace("$group", names.group)
        .replace("$__rate_interval", "20s")
    )


async def test_every_dashboard_panel_returns_data_from_a_live_worker(
    prometheus: dict[str, Any], redis_url: str, names: Names
) -> None:
    server: PrometheusServer = prometheus["server"]
    bad = {f"urn:article:bad-{i}" for i in range(3)}
    rec = Recorder(sleep_s=0.02, permanent=bad, fail={"urn:article:flaky"})
    settings = WorkerSettings(
        **names.settings(
            redis_url=redis_url,
            block_ms=100,
            claim_interval_ms=100,
            claim_min_idle_ms=200,
            max_deliveries=2,
            group_sample_interval_ms=200,
            concurrency=4,
            http_port=0,
        )
    )
    r = Redis.from_url(redis_url)
    producer_registry = CollectorRegistry()
    queries = [(t, instantiate(e, names)) for t, e in panel_queries()]
    pm = ProducerMetrics(producer_registry, stream=names.stream)

    async def traffic() -> None:
        for i in range(120):
            aid = sorted(bad)[i % 3] if i % 40 == 0 else f"urn:article:{i}"
            await r.xadd(names.stream, {"article_id": "urn:article:flaky" if i == 7 else aid})
            pm.enqueued.inc()
            await anyio.sleep(0.05)

    async def missing() -> list[str]:
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as c:
            out = []
            for title, q in queries:
                body = (await c.get("/api/v1/query", params={"query": q})).json()
                assert body["status"] == "success", (q, body)
                if not body["data"]["result"]:
                    out.append(f"{title}: {q}")
            return out

    try:
        async with serving(settings, rec) as worker, anyio.create_task_group() as tg:
            await tg.start(serve_http, create_app(worker), "127.0.0.1", prometheus["worker"])
            await tg.start(
                serve_http,
                create_app(Source(producer_registry)),
                "127.0.0.1",
                prometheus["producer"],
            )
            tg.start_soon(traffic)
            left: list[str] = []

            async def every_panel_has_data() -> bool:
                left[:] = await missing()
                return not left and bool(rec.calls)

            await eventually(
                every_panel_has_data, timeout=60, interval=1, what="data in every panel",
                explain=lambda: f"panels without data: {left}\n{server.log_tail()}",
            )  # fmt: skip
            tg.cancel_scope.cancel()
    finally:
        await r.aclose()
    assert any(e.fields.get("article_id") in bad for e in rec.calls)
