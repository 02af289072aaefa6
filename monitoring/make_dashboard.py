"""Writes dashboard.json (Grafana, provisionable): python monitoring/make_dashboard.py.

Panels are declared once here as (title, kind, unit, [(legend, query)]); docs/dashboard.md
describes the same list. Group gauges are exported by every replica, so they are
read as max by (stream, group, partition), then summed (or maxed) over partitions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
G = 'stream=~"$stream", group=~"$group"'
RI = "$__rate_interval"


def per_partition(metric: str, agg: str = "sum") -> str:
    return f"{agg}(max by (stream, group, partition) ({metric}{{{G}}}))"


ROWS: list[tuple[str, list[tuple[str, str, str, list[tuple[str, str]]]]]] = [
    ("Throughput", [
        ("Throughput by outcome", "timeseries", "ops", [
            ("{{outcome}}", f"sum by (outcome) (rate(streams_worker_entries_total{{{G}}}[{RI}]))"),
        ]),
        ("Handler latency", "timeseries", "s", [
            (f"p{q}", f"histogram_quantile(0.{q}, sum by (le) "
                      f"(rate(streams_worker_handler_seconds_bucket{{{G}}}[{RI}])))")
            for q in (50, 90, 99)
        ]),
        ("In flight vs concurrency", "timeseries", "short", [
            ("in flight", f"sum(streams_worker_in_flight{{{G}}})"),
            ("concurrency", f"sum(streams_worker_concurrency{{{G}}})"),
        ]),
    ]),
    ("Group", [
        ("Backlog, lag, pending", "timeseries", "short", [
            ("backlog", per_partition("streams_worker_group_backlog")),
            ("lag", per_partition("streams_worker_group_lag")),
            ("pending", per_partition("streams_worker_group_pending")),
        ]),
        ("Oldest pending and undelivered age", "timeseries", "s", [
            ("oldest pending", f"max(streams_worker_oldest_pending_age_seconds{{{G}}})"),
            ("oldest undelivered", f"max(streams_worker_oldest_undelivered_age_seconds{{{G}}})"),
        ]),
        ("Stream length", "timeseries", "short", [
            ("length", per_partition("streams_worker_stream_length")),
        ]),
        ("Lag estimated / paused", "stat", "short", [
            ("lag estimated", f"max(streams_worker_group_lag_estimated{{{G}}})"),
            ("paused", f"max(streams_worker_paused{{{G}}})"),
        ]),
    ]),
    ("Dead letters", [
        ("Dead-letter length", "timeseries", "short", [
            ("dead letters", per_partition("streams_worker_dead_letter_length")),
        ]),
        ("Dead-letter rate", "timeseries", "ops", [
            ("dead-lettered",
             f'sum(rate(streams_worker_entries_total{{{G}, outcome="dead_lettered"}}[{RI}]))'),
        ]),
    ]),
    ("Claims and consumers", [
        ("Claims, lease renewals, lease lost", "timeseries", "ops", [
            ("claimed", f"sum(rate(streams_worker_claimed_total{{{G}}}[{RI}]))"),
            ("lease renewals", f"sum(rate(streams_worker_lease_renewals_total{{{G}}}[{RI}]))"),
            ("lease lost", f"sum(rate(streams_worker_lease_lost_total{{{G}}}[{RI}]))"),
            ("deleted while pending",
             f"sum(rate(streams_worker_deleted_pending_total{{{G}}}[{RI}]))"),
        ]),
        ("Consumers", "timeseries", "short", [
            ("consumers in group", f"max(streams_worker_group_consumers{{{G}}})"),
            ("live replicas", f"count(streams_worker_concurrency{{{G}}})"),
            ("pruned (per s)", f"sum(rate(streams_worker_consumers_deleted_total{{{G}}}[{RI}]))"),
        ]),
    ]),
    ("Redis", [
        ("Redis errors by operation", "timeseries", "ops", [
            ("{{operation}}",
             f"sum by (operation) (rate(streams_worker_redis_errors_total{{{G}}}[{RI}]))"),
        ]),
        ("Reconnects", "timeseries", "ops", [
            ("reconnects", f"sum(rate(streams_worker_reconnects_total{{{G}}}[{RI}]))"),
        ]),
        ("Group recreated (last hour)", "stat", "short", [
            ("recreated", f"sum(increase(streams_worker_group_recreated_total{{{G}}}[1h]))"),
        ]),
        ("Worker targets up", "stat", "short", [
            ("up", 'sum(up{job=~"streams-worker.*"})'),
        ]),
    ]),
    ("Producer", [
        ("Producer enqueued and duplicates", "timeseries", "ops", [
            ("enqueued",
             f'sum(rate(streams_producer_enqueued_total{{stream=~"$stream"}}[{RI}]))'),
            ("duplicates skipped",
             f'sum(rate(streams_producer_duplicates_skipped_total{{stream=~"$stream"}}[{RI}]))'),
        ]),
        ("Producer errors by reason", "timeseries", "ops", [
            ("{{reason}}",
             f'sum by (reason) (rate(streams_producer_errors_total{{stream=~"$stream"}}[{RI}]))'),
        ]),
    ]),
]  # fmt: skip


def panel(pid: int, title: str, kind: str, unit: str, targets: list[tuple[str, str]],
          x: int, y: int) -> dict[str, Any]:  # fmt: skip
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 8 if kind == "timeseries" else 4, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}}
        if kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"]}},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend,
             "datasource": {"type": "prometheus", "uid": "${datasource}"}}
            for i, (legend, expr) in enumerate(targets)
        ],
    }  # fmt: skip


def variable(name: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "query": {"query": query, "refId": f"{name}-var"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


def build() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    pid, y = 1, 0
    for row_title, row_panels in ROWS:
        panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})  # fmt: skip
        pid, y, x = pid + 1, y + 1, 0
        for title, kind, unit, targets in row_panels:
            p = panel(pid, title, kind, unit, targets, x, y)
            w = p["gridPos"]["w"]
            if x + w > 24:
                x, y = 0, y + 8
                p["gridPos"].update(x=0, y=y)
            panels.append(p)
            pid, x = pid + 1, x + w
        y += 8
    return {
        "uid": "streams-worker",
        "title": "streams-worker",
        "tags": ["streams-worker", "redis"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                },
                variable("stream", "label_values(streams_worker_concurrency, stream)"),
                variable(
                    "group", 'label_values(streams_worker_concurrency{stream=~"$stream"}, group)'
                ),
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


if __name__ == "__main__":
    (HERE / "dashboard.json").write_text(json.dumps(build(), indent=2) + "\n")
