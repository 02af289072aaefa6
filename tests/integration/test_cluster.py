"""Against a Redis Cluster of three primaries started by the suite itself."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from redis.cluster import RedisCluster, key_slot

from producer.enqueue import Enqueuer
from streams_worker import StreamEntry, Worker
from streams_worker.core.connection import create_client
from streams_worker.core.keys import StreamKeys
from streams_worker.core.settings import WorkerSettings
from streams_worker.core.trim import safe_trim
from streams_worker.dev.embedded import ServerBinary, available_binaries
from tests.support.cluster import LocalCluster
from tests.support.handlers import done_articles, read_records
from tests.support.names import Names
from tests.support.wait import wait_for
from tests.support.workers import ROOT, producer, stop, worker_env, workers

PARTITIONS = 4
BINARIES = available_binaries()


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster() as c:
        yield c


def test_partitions_spread_over_nodes_and_companions_share_a_slot(
    cluster: LocalCluster, names: Names
) -> None:
    keys = StreamKeys.for_stream(names.stream, partitions=PARTITIONS, cluster=True)
    nodes = set()
    for p in keys.partitions:
        slot = key_slot(p.stream.encode())
        assert key_slot(p.dead_letter.encode()) == slot
        assert key_slot(p.queued.encode()) == slot
        assert key_slot(p.waiting.encode()) == slot
        nodes.add(cluster.node_for_slot(slot))
    assert len(nodes) >= 2, "partitions should not all live on one node"
    # rate_limit.lua touches both of the group's keys
    assert key_slot(keys.rate_limit(names.group).encode()) == key_slot(
        keys.throttled(names.group).encode()
    )


def test_producer_and_two_workers_one_sigkilled_nothing_lost(
    cluster: LocalCluster, names: Names, tmp_path: Path
) -> None:
    records = tmp_path / "records"
    records.mkdir()
    env = worker_env(
        cluster.url,
        REDIS_CLUSTER="true",
        WORKER_STREAM=names.stream,
        WORKER_GROUP=names.group,
        WORKER_PARTITIONS=str(PARTITIONS),
        WORKER_CONCURRENCY="8",
        WORKER_BLOCK_MS="200",
        WORKER_CLAIM_MIN_IDLE_MS="1000",
        WORKER_CLAIM_INTERVAL_MS="200",
        WORKER_SHUTDOWN_GRACE_S="5",
        # Partition assignment: the second worker gets its share within a round.
        WORKER_OWNERSHIP_TTL_MS="1500",
        HANDLER_RECORD_DIR=str(records),
        HANDLER_SLEEP_MS="20",
        HANDLER_FAIL_PREFIX="urn:article:bad-",
    )
    good = [f"urn:article:good-{i}" for i in range(1500)]
    bad = [f"urn:article:bad-{i}" for i in range(40)]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(good + bad) + "\n")
    run = producer("enqueue", "--file", str(ids_file), env=env)
    assert run.returncode == 0, run.stderr
    assert "enqueued 1540, duplicates skipped 0" in run.stdout

    keys = StreamKeys.for_stream(names.stream, partitions=PARTITIONS, cluster=True)
    c = RedisCluster.from_url(cluster.url)
    try:
        with workers(env, ["w1", "w2"], tmp_path) as (w1, w2):

            def both_busy() -> bool:
                done = [done_articles(read_records(records, w.pid)) for w in (w1, w2)]
                return all(sum(d.values()) >= 50 for d in done)

            wait_for(both_busy, timeout=30, what="both workers to be handling entries")
            w1.kill()  # SIGKILL: whatever it held stays pending, w2 must claim it
            held = [
                e["message_id"]
                for p in keys.partitions
                for e in c.xpending_range(p.stream, names.group, "-", "+", 100, consumername="w1")
            ]
            assert held, "w1 was killed mid-run, holding entries"

            def drained() -> bool:
                # Handled, dead-lettered, and nothing pending: then nothing is left to read.
                done = set(done_articles(read_records(records))) >= set(good)
                dead = sum(c.xlen(p.dead_letter) for p in keys.partitions)
                pending = sum(c.xpending(p.stream, names.group)["pending"] for p in keys.partitions)
                return done and dead == len(bad) and pending == 0

            wait_for(drained, timeout=60, interval=0.2, what="every partition to drain")
            assert stop(w2) == 0, w2.log()[-2000:]

        seen = done_articles(read_records(records))
        assert set(seen) == set(good), "an ID was lost"
        assert "entries_claimed" in w2.log(), "w2 claimed what w1 held"
        # At-least-once: only what w1 held when it died may have run twice.
        assert sum(n - 1 for n in seen.values()) <= 8
        dead_total = 0
        for p in keys.partitions:
            assert c.xpending(p.stream, names.group)["pending"] == 0
            assert c.hgetall(p.queued) == {}, "every mark cleared by an ack or a dead letter"
            for _, fields in c.xrange(p.dead_letter):
                assert fields[b"source_stream"] == p.stream.encode()
                assert fields[b"reason"] == b"permanent_error"
                assert fields[b"payload.article_id"].startswith(b"urn:article:bad-")
                dead_total += 1
        assert dead_total == len(bad)

        trim = subprocess.run(
            [sys.executable, "-m", "streams_worker", "trim", "--json"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert trim.returncode == 0, trim.stderr
        report = json.loads(trim.stdout)
        assert report["trimmed"] == len(good) + len(bad)
        assert all(c.xlen(p.stream) == 0 for p in keys.partitions)
    finally:
        c.close()


def test_enqueue_is_idempotent_on_the_cluster(cluster: LocalCluster, names: Names) -> None:
    env = worker_env(cluster.url, REDIS_CLUSTER="true", WORKER_STREAM=names.stream,
                  WORKER_PARTITIONS=str(PARTITIONS))  # fmt: skip
    ids = "".join(f"urn:article:i{i}\n" for i in range(200))
    assert "enqueued 200," in producer("enqueue", "-", env=env, stdin=ids).stdout
    assert "duplicates skipped 200" in producer("enqueue", "-", env=env, stdin=ids).stdout


@pytest.mark.parametrize("binary", BINARIES, ids=[b.label for b in BINARIES])
async def test_producer_worker_and_trim_on_every_server_version(
    binary: ServerBinary, names: Names
) -> None:
    """Redis 6.2, 7.0, 8.2 and Valkey clusters: enqueue, drain every partition (entries
    failing once wait 200 ms, under a group rate limit), trim."""
    with LocalCluster(binary) as cluster:
        settings = WorkerSettings(
            redis_url=cluster.url, redis_cluster=True, partitions=PARTITIONS, burst=True,
            http_port=0, block_ms=100, retry_delays_ms="200", rate_limit="2000/s",
            **names.settings(),
        )  # fmt: skip
        client = create_client(settings)
        try:
            ids = [f"urn:article:v{i}" for i in range(400)]
            assert (await Enqueuer(client, settings.keys()).enqueue(ids)).enqueued == 400
            assert (await Enqueuer(client, settings.keys()).enqueue(ids)).duplicates == 400
            seen: list[str] = []
            retried: list[int] = []

            async def handle(entry: StreamEntry) -> None:
                if entry.fields["article_id"].endswith("7") and entry.delivery_count == 1:
                    raise RuntimeError("fails once")
                if entry.delivery_count > 1:
                    retried.append(entry.delivery_count)
                seen.append(entry.fields["article_id"])

            with anyio.fail_after(30):
                await Worker(settings, handle).serve()
            assert sorted(seen) == sorted(ids)
            assert retried == [2] * 40  # v7, v17, ... v397: each delivered again once
            assert (await safe_trim(client, settings.keys())).trimmed == 400
        finally:
            await client.aclose()
