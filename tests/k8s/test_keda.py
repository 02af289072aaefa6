"""The generated KEDA ScaledObject: one composite metric over every partition's triggers."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
import yaml

from streams_worker.core.keys import StreamKeys
from tests.k8s.manifests import K8S, load_generate

FORMULA = re.compile(
    r"max\(\((?P<lag>[^)]*)\) / (?P<tl>\d+), \((?P<pending>[^)]*)\) / (?P<tp>\d+)\)"
)


def _generated(partitions: int, cluster: bool) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(load_generate().scaled_object(partitions, cluster))
    return doc


@pytest.mark.parametrize("cluster", [False, True], ids=["standalone", "cluster"])
@pytest.mark.parametrize("partitions", [1, 2, 16, 1024])
def test_formula_names_every_trigger_exactly_once(partitions: int, cluster: bool) -> None:
    spec = _generated(partitions, cluster)["spec"]
    triggers = spec["triggers"]
    names = [t["name"] for t in triggers]
    assert len(names) == len(set(names)) == 2 * partitions
    modifiers = spec["advanced"]["scalingModifiers"]
    formula = modifiers["formula"]
    used = Counter(re.findall(r"[A-Za-z_]\w*", formula))
    used.pop("max")
    assert used == Counter(names), "each trigger once, nothing else"
    m = FORMULA.fullmatch(formula)
    assert m, formula
    by_mode = {
        mode: {t["name"] for t in triggers if mode in t["metadata"]}
        for mode in ("lagCount", "pendingEntriesCount")
    }
    assert set(m["lag"].split(" + ")) == by_mode["lagCount"]
    assert set(m["pending"].split(" + ")) == by_mode["pendingEntriesCount"]
    # the divisors are the triggers' own per-replica targets
    assert {t["metadata"]["lagCount"] for t in triggers if t["name"] in by_mode["lagCount"]} == {
        m["tl"]
    }
    assert {
        t["metadata"]["pendingEntriesCount"]
        for t in triggers
        if t["name"] in by_mode["pendingEntriesCount"]
    } == {m["tp"]}
    # target 1 with AverageValue: desired replicas = ceil(formula)
    assert (modifiers["target"], modifiers["metricType"]) == ("1", "AverageValue")
    # one lag and one pending trigger per stream key, the keys the worker uses
    keys = StreamKeys.for_stream("articles", partitions=partitions, cluster=cluster)
    for mode in by_mode:
        streams = sorted(t["metadata"]["stream"] for t in triggers if mode in t["metadata"])
        assert streams == sorted(p.stream for p in keys.partitions)
    kind = "redis-cluster-streams" if cluster else "redis-streams"
    assert {t["type"] for t in triggers} == {kind}
    address = "addresses" if cluster else "address"
    assert all(address in t["metadata"] for t in triggers)


def _desired(formula: str, values: dict[str, int]) -> int:
    """What the HPA computes for target 1, AverageValue: ceil(formula)."""
    m = FORMULA.fullmatch(formula)
    assert m
    lag = sum(values[n] for n in m["lag"].split(" + ")) / int(m["tl"])
    pending = sum(values[n] for n in m["pending"].split(" + ")) / int(m["tp"])
    return math.ceil(max(lag, pending))


def test_sixteen_partitions_scale_on_the_sum_not_the_largest_trigger() -> None:
    formula = _generated(16, False)["spec"]["advanced"]["scalingModifiers"]["formula"]
    # 150 undelivered entries in each of 16 partitions: 2,400 in all, 12 replicas' worth;
    # the largest single trigger (150 / 200) would have asked for 1.
    values = {f"lag{i}": 150 for i in range(16)} | {f"pending{i}": 1 for i in range(16)}
    assert _desired(formula, values) == 12
    # saturated: 16 replicas each holding 16 pending entries keep 16 replicas
    values = {f"lag{i}": 0 for i in range(16)} | {f"pending{i}": 16 for i in range(16)}
    assert _desired(formula, values) == 16


def test_committed_component_is_the_generated_default() -> None:
    committed = (K8S / "components" / "keda" / "scaledobject.yaml").read_text()
    assert committed == load_generate().scaled_object()
    assert "scalingModifiers" in committed


def test_generate_prints_a_variant_without_writing() -> None:
    before = (K8S / "components" / "keda" / "scaledobject.yaml").read_text()
    done = subprocess.run(
        [sys.executable, str(K8S / "generate.py"), "--keda-partitions", "4", "--keda-cluster"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    doc = yaml.safe_load(done.stdout)
    assert len(doc["spec"]["triggers"]) == 8
    assert (K8S / "components" / "keda" / "scaledobject.yaml").read_text() == before
