"""A primary of the cluster dies mid-run; its replica takes over; nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster, key_slot

from streams_worker.core.keys import StreamKeys
from tests.support.cluster import LocalCluster
from tests.support.handlers import done_articles, read_records
from tests.support.names import Names
from tests.support.wait import wait_for
from tests.support.workers import producer, stop, worker_env, workers

PARTITIONS = 4


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    # Primary 0 has a replica; a short node timeout makes the failover quick.
    with LocalCluster(replicas_of=(0,), node_timeout_ms=1000) as c:
        yield c


def test_workers_survive_a_primary_failover_without_losing_entries(
    cluster: LocalCluster, names: Names, tmp_path: Path
) -> None:
    keys = StreamKeys.for_stream(names.stream, partitions=PARTITIONS, cluster=True)
    on_dying = [
        p for p in keys.partitions if cluster.node_for_slot(key_slot(p.stream.encode())) == 0
    ]
    assert on_dying, "some partition lives on the primary that will die"
    records = tmp_path / "records"
    records.mkdir()
    seed = f"redis://127.0.0.1:{cluster.nodes[1].port}"
    env = worker_env(
        seed, REDIS_CLUSTER="true", WORKER_STREAM=names.stream, WORKER_GROUP=names.group,
        WORKER_PARTITIONS=str(PARTITIONS), WORKER_CONCURRENCY="8", WORKER_BLOCK_MS="200",
        WORKER_CLAIM_MIN_IDLE_MS="1000", WORKER_CLAIM_INTERVAL_MS="200",
        WORKER_SHUTDOWN_GRACE_S="5", HANDLER_RECORD_DIR=str(records),
        HANDLER_SLEEP_MS="30",
    )  # fmt: skip
    ids = [f"urn:article:fo-{i}" for i in range(1200)]
    run = producer("enqueue", "-", env=env, stdin="\n".join(ids))
    assert "enqueued 1200," in run.stdout, run.stderr
    # Replication is asynchronous: only what reached the replica survives the primary.
    wait_for(cluster.replicated, timeout=10, what="the replica to catch up")

    c = RedisCluster.from_url(seed)
    try:
        with workers(env, ["w1", "w2"], tmp_path) as (w1, w2):
            wait_for(lambda: sum(done_articles(read_records(records)).values()) >= 150, timeout=30,
                     what="the workers to get going")  # fmt: skip
            cluster.nodes[0].kill()  # SIGKILL the primary; its replica is promoted
            assert len(done_articles(read_records(records))) < len(ids) // 2, "killed mid-run"

            def drained() -> bool:
                if not set(done_articles(read_records(records))) >= set(ids):
                    return False
                try:
                    return all(
                        c.xpending(p.stream, names.group)["pending"] == 0 for p in keys.partitions
                    )
                except Exception:  # noqa: BLE001 - the test's own client may see the failover
                    return False

            wait_for(drained, timeout=45, interval=0.25, what="every partition to drain")
            assert [stop(w1), stop(w2)] == [0, 0], (w1.log()[-1500:], w2.log()[-1500:])
        seen = done_articles(read_records(records))
        assert set(seen) == set(ids), "an entry was lost in the failover"
        for p in keys.partitions:
            assert c.xpending(p.stream, names.group)["pending"] == 0
        logs = w1.log() + w2.log()
        assert "redis_unavailable" in logs, "the workers did see the primary go"
    finally:
        c.close()
