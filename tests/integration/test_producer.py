"""The producer: at most once in the queue, marks cleared by the worker, bad input."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest
import redis
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from producer.enqueue import Enqueuer, partition_index
from producer.metrics import ProducerMetrics
from streams_worker import PermanentError, StreamEntry, Worker
from streams_worker.core.keys import StreamKeys
from streams_worker.core.settings import WorkerSettings
from tests.support.names import Names
from tests.support.servers import RedisProcess
from tests.support.wait import wait_for
from tests.support.workers import producer, spawn_producer, worker_env

A = "urn:article:vitamin-d-and-bone-density"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    async with Redis.from_url(redis_url) as c:
        yield c


def _enqueuer(client: Redis, names: Names, partitions: int = 1) -> Enqueuer:
    keys = StreamKeys.for_stream(names.stream, partitions=partitions)
    return Enqueuer(client, keys, metrics=ProducerMetrics(CollectorRegistry(), stream=names.stream))


async def _burst(redis_url: str, names: Names, handler: object, partitions: int = 1) -> None:
    settings = WorkerSettings(
        redis_url=redis_url, burst=True, http_port=0, block_ms=50, claim_min_idle_ms=0,
        partitions=partitions, **names.settings(),
    )  # fmt: skip
    with anyio.fail_after(20):
        await Worker(settings, handler).serve()  # type: ignore[arg-type]


async def test_waiting_id_is_not_added_twice(client: Redis, names: Names) -> None:
    enq = _enqueuer(client, names)
    first = await enq.enqueue([A, "urn:article:b"])
    again = await enq.enqueue([A, A])
    assert (first.enqueued, again.enqueued, again.duplicates) == (2, 0, 2)
    assert await client.xlen(names.stream) == 2
    assert enq.metrics is not None
    assert enq.metrics.duplicates._value.get() == 2  # type: ignore[attr-defined]


async def test_pending_id_is_not_added_and_force_adds_it(client: Redis, names: Names) -> None:
    enq = _enqueuer(client, names)
    await client.xgroup_create(names.stream, names.group, id="0", mkstream=True)
    await enq.enqueue([A])
    await client.xreadgroup(names.group, "c", {names.stream: ">"})  # now pending
    assert (await enq.enqueue([A])).duplicates == 1
    forced = await enq.enqueue([A], force=True)
    assert forced.enqueued == 1
    assert await client.xlen(names.stream) == 2


async def test_after_the_worker_acks_it_can_be_enqueued_again(
    client: Redis, names: Names, redis_url: str
) -> None:
    enq = _enqueuer(client, names)
    await enq.enqueue([A])
    seen: list[str] = []

    async def handle(entry: StreamEntry) -> None:
        seen.append(entry.fields["article_id"])

    await _burst(redis_url, names, handle)
    assert seen == [A]
    assert not await client.hexists(enq.keys.partitions[0].queued, A)  # mark cleared by ack
    assert (await enq.enqueue([A])).enqueued == 1


async def test_after_dead_lettering_it_can_be_enqueued_again(
    client: Redis, names: Names, redis_url: str
) -> None:
    enq = _enqueuer(client, names, partitions=2)
    await enq.enqueue([A])

    async def refuse(entry: StreamEntry) -> None:
        raise PermanentError("no")

    await _burst(redis_url, names, refuse, partitions=2)
    part = enq.partition_for(A)
    assert await client.xlen(part.dead_letter) == 1
    assert (await enq.enqueue([A])).enqueued == 1


async def test_a_stale_mark_does_not_block_enqueueing(client: Redis, names: Names) -> None:
    enq = _enqueuer(client, names)
    eid = (await enq.enqueue([A])).entry_ids[A]
    await client.xdel(names.stream, eid)  # trimmed or deleted, never acked
    assert (await enq.enqueue([A])).enqueued == 1


async def test_concurrent_producers_add_each_id_once(client: Redis, names: Names) -> None:
    ids = [f"urn:article:c{i}" for i in range(3000)]
    results = []

    async def run(order: list[str]) -> None:
        results.append(await _enqueuer(client, names, partitions=4).enqueue(order))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, ids)
        tg.start_soon(run, ids[::-1])
    assert sum(r.enqueued for r in results) == 3000
    assert sum(r.duplicates for r in results) == 3000
    keys = StreamKeys.for_stream(names.stream, partitions=4)
    lengths = [await client.xlen(p.stream) for p in keys.partitions]
    assert sum(lengths) == 3000
    assert all(n > 500 for n in lengths), lengths  # the hash spreads IDs over partitions


async def test_ids_land_in_their_stable_partition(client: Redis, names: Names) -> None:
    enq = _enqueuer(client, names, partitions=4)
    await enq.enqueue([A])
    assert partition_index(A, 4) == 1  # CRC-32: pinned, the same in every process and version
    assert await client.xlen(enq.keys.partitions[1].stream) == 1
    entry = (await client.xrange(enq.keys.partitions[1].stream))[0][1]
    assert entry[b"article_id"] == A.encode()
    assert int(entry[b"enqueued_at"]) > 1_600_000_000_000


async def test_trace_id_is_stored(client: Redis, names: Names) -> None:
    await _enqueuer(client, names).enqueue([A], trace_id="abc123")
    assert (await client.xrange(names.stream))[0][1][b"trace_id"] == b"abc123"


# --- the command --------------------------------------------------------------------


def test_stdin_reports_bad_lines_by_number_and_enqueues_the_rest(
    redis_url: str, names: Names
) -> None:
    env = worker_env(redis_url, WORKER_STREAM=names.stream)
    text = "urn:article:one\n\n  \nnot-an-id\nurn:article:two\nurn:article:one\nurn:article:x y\n"
    run = producer("enqueue", "-", env=env, stdin=text)
    assert run.returncode == 1, run.stderr
    assert "stdin line 4:" in run.stderr
    assert "stdin line 7:" in run.stderr
    assert "Traceback" not in run.stderr
    assert "enqueued 2, duplicates skipped 1, rejected 2" in run.stdout
    ok = producer("enqueue", "urn:article:three", "--stream", names.stream, env=env)
    assert ok.returncode == 0, ok.stderr


def test_file_input_and_force(redis_url: str, names: Names, tmp_path: Path) -> None:
    env = worker_env(redis_url, WORKER_STREAM=names.stream, WORKER_PARTITIONS="3")
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"urn:article:f{i}\n" for i in range(50)))
    assert "enqueued 50," in producer("enqueue", "--file", str(ids), env=env).stdout
    again = producer("enqueue", "-f", str(ids), env=env)
    assert "enqueued 0, duplicates skipped 50" in again.stdout
    forced = producer("enqueue", "--file", str(ids), "--force", env=env)
    assert "enqueued 50, duplicates skipped 0" in forced.stdout


def test_unreachable_redis_is_one_clear_line(names: Names) -> None:
    from streams_worker.dev.embedded import free_port

    env = worker_env(f"redis://127.0.0.1:{free_port()}/0")
    run = producer("enqueue", A, env=env)
    assert run.returncode == 3
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "cannot reach Redis" in lines[0]


@pytest.mark.parametrize(
    ("var", "value"), [("WORKER_PARTITIONS", "zero"), ("REDIS_URL", "http://x"),
                       ("PRODUCER_BATCH_SIZE", "0")],
)  # fmt: skip
def test_bad_setting_exits_2_naming_it(redis_url: str, var: str, value: str) -> None:
    run = producer("enqueue", A, env={**worker_env(redis_url), var: value})
    assert run.returncode == 2
    assert var in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_missing_file_and_no_input(redis_url: str, tmp_path: Path) -> None:
    env = worker_env(redis_url)
    assert producer("enqueue", "--file", str(tmp_path / "nope"), env=env).returncode == 2
    assert producer("enqueue", env=env).returncode == 2


def test_redis_dying_mid_enqueue_is_reported_and_a_rerun_completes_it(
    private_redis: Callable[..., RedisProcess], names: Names, tmp_path: Path
) -> None:
    """Nothing silently dropped, nothing twice: the run that lost Redis says so (exit 3,
    one line); the same command run again adds exactly what is missing."""
    server = private_redis(appendonly=True)
    env = worker_env(server.url, WORKER_STREAM=names.stream, WORKER_PARTITIONS="2",
                  PRODUCER_BATCH_SIZE="500")  # fmt: skip
    ids = [f"urn:article:k{i}" for i in range(60_000)]
    id_file = tmp_path / "ids.txt"
    id_file.write_text("\n".join(ids) + "\n")
    keys = StreamKeys.for_stream(names.stream, partitions=2)
    probe = redis.Redis.from_url(server.url)
    out = tmp_path / "out.txt"
    proc = spawn_producer(env, out, "enqueue", "--file", str(id_file))
    wait_for(lambda: sum(probe.xlen(p.stream) for p in keys.partitions) > 5000, timeout=30,
             what="the producer to be under way")  # fmt: skip
    server.kill()
    code = proc.wait(30)
    probe.close()
    first = out.read_text()
    assert code == 3, first
    assert "Traceback" not in first
    assert "added before the failure" in first
    server.start()  # the AOF brings back what was written
    again = producer("enqueue", "--file", str(id_file), env=env)
    assert again.returncode == 0, again.stderr
    probe = redis.Redis.from_url(server.url)
    try:
        seen = Counter(
            fields[b"article_id"].decode()
            for p in keys.partitions
            for _, fields in probe.xrange(p.stream)
        )
    finally:
        probe.close()
    assert set(seen) == set(ids)
    assert max(seen.values()) == 1
