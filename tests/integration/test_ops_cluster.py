"""The ops CLI and the sampler against a Redis Cluster of three primaries (hash tags)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from redis.cluster import RedisCluster
from typer.testing import CliRunner

from streams_worker.cli.app import app
from streams_worker.core.connection import create_client
from streams_worker.core.keys import StreamKeys
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.sampler import GroupSampler
from streams_worker.core.settings import CommonSettings
from tests.support.cluster import LocalCluster
from tests.support.names import Names

PARTITIONS = 3
runner = CliRunner()


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster() as c:
        yield c


def cli_json(cluster: LocalCluster, names: Names, *args: str, code: int = 0) -> Any:
    argv = [
        *args,
        "--redis-url",
        cluster.url,
        "--stream",
        names.stream,
        "--group",
        names.group,
        "--partitions",
        str(PARTITIONS),
        "--json",
    ]
    result = runner.invoke(app, argv, env={"REDIS_CLUSTER": "true"})
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_ops_commands_work_across_cluster_partitions(cluster: LocalCluster, names: Names) -> None:
    keys = StreamKeys.for_stream(names.stream, partitions=PARTITIONS, cluster=True)
    rc = RedisCluster.from_url(cluster.url)
    try:
        for p in keys.partitions:
            rc.xadd(p.stream, {"article_id": f"urn:article:{p.index}"})
            rc.xgroup_create(p.stream, names.group, "0")
            rc.xreadgroup(names.group, "dead-pod", {p.stream: ">"})
            rc.xadd(
                p.dead_letter,
                {
                    "reason": "malformed",
                    "source_stream": p.stream,
                    "source_id": "1-0",
                    "payload.article_id": f"urn:article:dl{p.index}",
                },
            )

        pending = cli_json(cluster, names, "pending")
        assert pending["total_pending"] == PARTITIONS
        info = cli_json(cluster, names, "info")
        assert [g["pending"] for p in info["partitions"] for g in p["groups"]] == [1] * PARTITIONS
        caps = cli_json(cluster, names, "capabilities")
        assert caps["supported"] is True

        replay = cli_json(cluster, names, "dlq", "replay", "--all")
        assert sorted(x["partition"] for x in replay["replayed"]) == list(range(PARTITIONS))
        for p in keys.partitions:
            assert rc.xlen(p.dead_letter) == 0
            assert rc.xlen(p.stream) == 2

        for p in keys.partitions:  # the dead pod's entries are acked: it holds nothing now
            ids = [e[0] for e in rc.xrange(p.stream, count=1)]
            rc.xack(p.stream, names.group, *ids)
        pruned = cli_json(cluster, names, "consumers", "--prune", "--min-idle", "0ms")
        assert len(pruned["pruned"]) == PARTITIONS
        assert pruned["consumers"] == []
    finally:
        rc.close()


async def test_sampler_reads_every_partition_of_a_cluster(
    cluster: LocalCluster, names: Names
) -> None:
    settings = CommonSettings(
        redis_url=cluster.url,
        redis_cluster=True,
        stream=names.stream,
        group=names.group,
        partitions=PARTITIONS,
    )
    client = create_client(settings)
    try:
        for p in settings.keys().partitions:
            await client.xadd(p.stream, {"article_id": "x"})
            await client.xgroup_create(p.stream, names.group, "0")
        sampler = GroupSampler(
            client,
            settings.keys(),
            names.group,
            WorkerMetrics(CollectorRegistry(), stream=names.stream, group=names.group),
        )
        sample = await sampler.sample()
    finally:
        await client.aclose()
    assert (sample.length, sample.lag, sample.backlog) == (PARTITIONS, PARTITIONS, PARTITIONS)
