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
    ("Retries and rate limits", [
        ("Entries waiting to retry", "timeseries", "short", [
            ("waiting", per_partition("streams_worker_delayed_entries")),
            ("set to wait (per s)", f"sum(rate(streams_worker_delayed_total{{{G}}}[{RI}]))"),
        ]),
        ("Rate-limit permits and waits", "timeseries", "short", [
            ("permits (per s)",
             f"sum(rate(streams_worker_rate_limit_permits_total{{{G}}}[{RI}]))"),
            ("waiting replicas (s/s)",
             f"sum(rate(streams_worker_rate_limit_wait_seconds_total{{{G}}}[{RI}]))"),
            ("upstream pauses (per s)",
             f"sum(rate(streams_worker_rate_limit_pauses_total{{{G}}}[{RI}]))"),
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


#: What each panel tells an operator (also the panel's description in Grafana).
DESCRIPTIONS = {
    "Throughput by outcome": "Entries finished per second, by outcome (acked, failed, "
    "dead_lettered, skipped), summed over replicas. failed = a delivery that will be retried.",
    "Handler latency": "Handler duration quantiles over all replicas, from the histogram.",
    "In flight vs concurrency": "Handlers running now vs configured slots, summed over "
    "replicas. In flight pinned at concurrency with a growing backlog means: scale out.",
    "Backlog, lag, pending": "lag = not yet delivered; pending = delivered, not acked; "
    "backlog = lag + pending (the autoscaling signal).",
    "Oldest pending and undelivered age": "Idle time of the oldest pending entry (stuck or "
    "slow work) and age of the oldest entry no replica has read yet (waiting time).",
    "Stream length": "XLEN summed over partitions (bounded by trimming).",
    "Lag estimated / paused": "1 when lag is counted by streams-worker because the server's "
    "figure is missing (Redis 6.2) or invalid (after XDEL/XTRIM); 1 while paused.",
    "Dead-letter length": "Entries in the dead-letter stream(s); inspect with "
    "`streams-worker dlq list`.",
    "Dead-letter rate": "Entries dead-lettered per second by the replicas.",
    "Claims, lease renewals, lease lost": "Entries claimed from dead or slow consumers, "
    "leases renewed by slow handlers, acks that found their entry claimed by another replica, "
    "and pending entries found deleted from the stream.",
    "Entries waiting to retry": "Failed entries waiting for their next delivery "
    "(WORKER_RETRY_DELAYS_MS or the error's retry_after), and how many start waiting per "
    "second. `streams-worker pending` lists them under the consumer (waiting).",
    "Rate-limit permits and waits": "Handler starts granted by WORKER_RATE_LIMIT per second "
    "(at most the limit), seconds per second the replicas spent waiting for permits or an "
    "upstream's pause (1 = one replica waiting all the time), and 429 pauses.",
    "Consumers": "Consumer names in the group vs replicas exporting metrics; names of dead "
    "pods are pruned after WORKER_CONSUMER_IDLE_EXPIRY_MS.",
    "Redis errors by operation": "Redis errors per second, by operation (read, ack, claim, ...).",
    "Reconnects": "Recoveries after a lost Redis connection.",
    "Group recreated (last hour)": "Times the stream or group vanished and was recreated: "
    "Redis lost data (restart without persistence, or a deleted key).",
    "Worker targets up": "Worker targets Prometheus scrapes successfully (job streams-worker*).",
    "Producer enqueued and duplicates": "Entries the producer added, and IDs it skipped "
    "because they were already queued or pending.",
    "Producer errors by reason": "Producer errors per second, by reason.",
}


def panel(pid: int, title: str, kind: str, unit: str, targets: list[tuple[str, str]],
          x: int, y: int) -> dict[str, Any]:  # fmt: skip
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "description": DESCRIPTIONS[title],
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


DOC_HEAD = """# The Grafana dashboard

`monitoring/dashboard.json` (uid `streams-worker`, title "streams-worker") is provisionable
as is: put it in a Grafana dashboards provider directory, or (Kubernetes) in a ConfigMap
picked up by the Grafana sidecar. It is generated by `python monitoring/make_dashboard.py`,
which also writes this page; edit the generator, not the JSON.

## Variables

* `datasource`: any Prometheus data source.
* `stream`: `label_values(streams_worker_concurrency, stream)`, multi-value, "All" = `.*`.
* `group`: `label_values(streams_worker_concurrency{stream=~"$stream"}, group)`, same.

Every worker query filters on `stream=~"$stream", group=~"$group"`; producer queries on
`stream=~"$stream"`. `$__rate_interval` is Grafana's rate window (at least 4 scrapes).

Group gauges (lag, pending, backlog, stream length, dead-letter length) are exported by
every replica for the same group, so they are read as `max by (stream, group, partition)`
and then summed over partitions; ages and consumer counts take `max`.

## Panels

Time-series panels are 8 columns wide, stat panels 4, three or more per row.
"""


def doc() -> str:
    out = [DOC_HEAD]
    for row_title, row_panels in ROWS:
        out.append(f"\n### Row: {row_title}\n")
        for title, kind, unit, targets in row_panels:
            out.append(f"\n**{title}** ({kind}, unit `{unit}`). {DESCRIPTIONS[title]}\n")
            for legend, expr in targets:
                out.append(f"\n* `{legend}`:\n\n  ```promql\n  {expr}\n  ```\n")
    return "".join(out)


if __name__ == "__main__":
    (HERE / "dashboard.json").write_text(json.dumps(build(), indent=2) + "\n")
    (HERE.parent / "docs" / "dashboard.md").write_text(doc())
