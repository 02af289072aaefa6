"""Writes alerts_test.yaml: promtool unit tests, one group per alert, firing AND not firing.

Each test gives several (stream, group) cases at once; `exp_alerts` lists exactly the
cases that must fire, so every other case is asserted NOT to fire. Annotations are
rendered from alerts.yaml (they use only $labels). Run: python monitoring/make_alerts_test.py
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
RULES = yaml.safe_load((HERE / "alerts.yaml").read_text())
ALERTS = {r["alert"]: r for g in RULES["groups"] for r in g["rules"] if "alert" in r}
JOB = 'job="streams-worker"'


def series(
    name: str, stream: str, values: str, *, instance: str = "w1", **labels: str
) -> dict[str, str]:
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    sel = f'{name}{{stream="{stream}",group="enrichment",instance="{instance}",{JOB}{extra}}}'
    return {"series": sel, "values": values}


def producer(name: str, stream: str, values: str, **labels: str) -> dict[str, str]:
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    sel = f'{name}{{stream="{stream}",instance="p1",job="streams-producer"{extra}}}'
    return {"series": sel, "values": values}


def gauge(name: str, stream: str, values: str, **kw: str) -> dict[str, str]:
    return series(name, stream, values, partition="0", **kw)


def expect(alert: str, **labels: str) -> dict[str, Any]:
    rule = ALERTS[alert]
    full = {**rule.get("labels", {}), **labels}
    ann = {
        k: re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m[1], ""), v)
        for k, v in rule.get("annotations", {}).items()
    }
    return {"exp_labels": full, "exp_annotations": ann}


def sg(stream: str) -> dict[str, str]:
    return {"stream": stream, "group": "enrichment"}


def case(
    alert: str, eval_time: str, inputs: list[dict[str, str]], firing: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "name": f"{alert}: fires for {[f.get('stream', f.get('instance')) for f in firing]} only",
        "interval": "1m",
        "input_series": inputs,
        "alert_rule_test": [
            {
                "eval_time": eval_time,
                "alertname": alert,
                "exp_alerts": [expect(alert, **f) for f in firing],
            }
        ],
    }


ACK = "streams_worker_entries_total"
DLS = "streams_worker_dead_letters_total"
rising = "0+60x10 600+120x10 1800+240x10 4200+480x10 9000+960x20"
TESTS = [
    case(
        "StreamsWorkerBacklogGrowing",
        "45m",
        [
            gauge("streams_worker_group_backlog", "flat-throughput", "200+10x60"),
            series(ACK, "flat-throughput", "0+60x60", outcome="acked"),
            gauge("streams_worker_group_backlog", "rising-throughput", "200+10x60"),
            series(ACK, "rising-throughput", rising, outcome="acked"),
            gauge("streams_worker_group_backlog", "shrinking", "800-10x60"),
            series(ACK, "shrinking", "0+60x60", outcome="acked"),
            gauge("streams_worker_group_backlog", "small", "10+1x60"),
            series(ACK, "small", "0+60x60", outcome="acked"),
        ],
        [sg("flat-throughput")],
    ),
    case(
        "StreamsWorkerOldestPendingTooOld",
        "10m",
        [
            gauge("streams_worker_oldest_pending_age_seconds", "stuck", "1000+60x30"),
            gauge("streams_worker_oldest_pending_age_seconds", "stuck", "5x30", instance="w2"),
            gauge("streams_worker_oldest_pending_age_seconds", "fine", "100x30"),
            gauge("streams_worker_oldest_pending_age_seconds", "brief", "0x5 1000x1 0x20"),
        ],
        [sg("stuck")],
    ),
    case(
        "StreamsWorkerOldestUndeliveredTooOld",
        "15m",
        [
            gauge("streams_worker_oldest_undelivered_age_seconds", "waiting", "2000+60x30"),
            gauge("streams_worker_oldest_undelivered_age_seconds", "fine", "10x30"),
        ],
        [sg("waiting")],
    ),
    case(
        "StreamsWorkerDeadLetters",
        "15m",
        [
            gauge("streams_worker_dead_letter_length", "new-dead", "0x10 3x20"),
            series(ACK, "new-dead", "0x30", outcome="dead_lettered"),
            gauge("streams_worker_dead_letter_length", "counted", "0x30"),
            series(ACK, "counted", "0x10 1x20", outcome="dead_lettered"),
            gauge("streams_worker_dead_letter_length", "old-dead", "5x30"),
            series(ACK, "old-dead", "0x30", outcome="dead_lettered"),
        ],
        [sg("new-dead"), sg("counted")],
    ),
    case(
        "StreamsWorkerDeadLetterBurst",
        "10m",
        [
            # every entry fails the same way (issue 18): 50 of 50 in 5m
            series(DLS, "broken", "0+10x20", reason="permanent_error", error="PermanentError"),
            series(ACK, "broken", "0+10x20", outcome="dead_lettered"),
            series(ACK, "broken", "0x20", outcome="acked"),
            # a few bad entries among many good ones
            series(DLS, "busy", "0+5x20", reason="permanent_error", error="ArticleNotFound"),
            series(ACK, "busy", "0+5x20", outcome="dead_lettered"),
            series(ACK, "busy", "0+200x20", outcome="acked"),
            # a trickle, all dead, but few
            series(DLS, "trickle", "0+1x20", reason="malformed", error="MalformedEntryError"),
            series(ACK, "trickle", "0+1x20", outcome="dead_lettered"),
        ],
        [sg("broken") | {"reason": "permanent_error", "error": "PermanentError"}],
    ),
    case(
        "StreamsWorkerNoLiveConsumers",
        "25m",
        [
            gauge("streams_worker_group_backlog", "died", "50x10 _x20"),
            series("streams_worker_paused", "died", "0x10 _x20"),
            gauge("streams_worker_group_backlog", "all-paused", "50x30"),
            series("streams_worker_paused", "all-paused", "1x30"),
            gauge("streams_worker_group_backlog", "live", "50x30"),
            series("streams_worker_paused", "live", "0x30"),
            series("streams_worker_paused", "live", "1x30", instance="w2"),
            gauge("streams_worker_group_backlog", "idle", "0x10 _x20"),
            series("streams_worker_paused", "idle", "0x10 _x20"),
        ],
        [sg("died"), sg("all-paused")],
    ),
    case(
        "StreamsWorkerConsumersAccumulating",
        "130m",
        [
            gauge("streams_worker_group_consumers", "leaky", "20x200"),
            series("streams_worker_concurrency", "leaky", "16x200"),
            series("streams_worker_concurrency", "leaky", "16x200", instance="w2"),
            gauge("streams_worker_group_consumers", "tidy", "5x200"),
            series("streams_worker_concurrency", "tidy", "16x200"),
            series("streams_worker_concurrency", "tidy", "16x200", instance="w2"),
        ],
        [sg("leaky")],
    ),
    case(
        "StreamsWorkerRedisErrors",
        "20m",
        [
            series("streams_worker_redis_errors_total", "flaky", "0+60x30", operation="read"),
            series("streams_worker_redis_errors_total", "rare", "0+1x30", operation="read"),
        ],
        [sg("flaky")],
    ),
    case(
        "StreamsWorkerHandlerFailing",
        "30m",
        [
            series(ACK, "failing", "0+120x40", outcome="failed"),
            series(ACK, "failing", "0+60x40", outcome="acked"),
            series(ACK, "healthy", "0+10x40", outcome="failed"),
            series(ACK, "healthy", "0+60x40", outcome="acked"),
        ],
        [sg("failing")],
    ),
    case(
        "StreamsWorkerGroupRecreated",
        "15m",
        [
            series("streams_worker_group_recreated_total", "lost", "0x10 1x20"),
            series("streams_worker_group_recreated_total", "kept", "0x30"),
        ],
        [sg("lost")],
    ),
    case(
        "StreamsWorkerPausedTooLong",
        "130m",
        [
            series("streams_worker_paused", "forgotten", "1x200"),
            series("streams_worker_paused", "brief", "0x60 1x30 0x110"),
            series("streams_worker_paused", "running", "0x200"),
        ],
        [sg("forgotten")],
    ),
    case(
        "StreamsProducerErrors",
        "30m",
        [
            producer("streams_producer_errors_total", "broken", "0+30x40", reason="catalog"),
            producer("streams_producer_errors_total", "broken", "0+300x40", reason="invalid_id"),
            producer("streams_producer_errors_total", "fine", "0+30x40", reason="invalid_id"),
            producer("streams_producer_errors_total", "fine", "0+1x40", reason="redis"),
        ],
        [{"stream": "broken", "reason": "catalog"}],
    ),
    case(
        "StreamsProducerSyncFailing",
        "100m",
        [
            producer(
                "streams_producer_sync_runs_total", "failing", "0x30 1+1x90", outcome="failed"
            ),
            producer("streams_producer_sync_runs_total", "failing", "5x120", outcome="ok"),
            producer("streams_producer_sync_runs_total", "flaky", "0+1x120", outcome="failed"),
            producer("streams_producer_sync_runs_total", "flaky", "0+1x120", outcome="ok"),
        ],
        [{"stream": "failing"}],
    ),
    case(
        "StreamsWorkerDown",
        "8m",
        [
            {"series": f'up{{{JOB},instance="w1"}}', "values": "0x10"},
            {"series": f'up{{{JOB},instance="w2"}}', "values": "1x10"},
            {"series": 'up{job="other",instance="x"}', "values": "0x10"},
        ],
        [{"job": "streams-worker", "instance": "w1"}],
    ),
    case(
        "StreamsWorkerAbsent",
        "12m",
        [
            {"series": 'up{job="other",instance="x"}', "values": "1x20"},
        ],
        [{}],
    ),
    {
        "name": "StreamsWorkerAbsent: does not fire while a worker target exists",
        "interval": "1m",
        "input_series": [{"series": f'up{{{JOB},instance="w1"}}', "values": "0x20"}],
        "alert_rule_test": [
            {"eval_time": "12m", "alertname": "StreamsWorkerAbsent", "exp_alerts": []}
        ],
    },
]


def main() -> None:
    missing = set(ALERTS) - {t["alert_rule_test"][0]["alertname"] for t in TESTS}
    assert not missing, f"alerts without a test: {missing}"
    doc = {"rule_files": ["alerts.yaml"], "evaluation_interval": "30s", "tests": TESTS}
    head = "# Generated by make_alerts_test.py: promtool test rules monitoring/alerts_test.yaml\n"
    (HERE / "alerts_test.yaml").write_text(head + yaml.safe_dump(doc, sort_keys=False, width=120))


if __name__ == "__main__":
    main()
