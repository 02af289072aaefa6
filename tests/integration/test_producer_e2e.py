"""Producer process → three worker processes: every ID handled, none twice."""

from __future__ import annotations

from pathlib import Path

import redis

from streams_worker.core.keys import StreamKeys
from tests.support.handlers import done_articles, read_records
from tests.support.names import Names
from tests.support.wait import wait_for
from tests.support.workers import producer, stop, worker_env, workers

N = 5000


def test_5000_ids_through_three_worker_processes(
    redis_url: str, names: Names, tmp_path: Path
) -> None:
    records = tmp_path / "records"
    records.mkdir()
    env = worker_env(
        redis_url,
        WORKER_STREAM=names.stream,
        WORKER_GROUP=names.group,
        WORKER_PARTITIONS="3",
        WORKER_BLOCK_MS="200",
        WORKER_SHUTDOWN_GRACE_S="5",
        WORKER_OWNERSHIP_TTL_MS="1500",  # rebalance in a second, not in ten
        HANDLER_RECORD_DIR=str(records),
    )
    ids = [f"urn:article:e2e-{i}" for i in range(N)]
    id_file = tmp_path / "ids.txt"
    id_file.write_text("\n".join(ids) + "\n")
    keys_client = redis.Redis.from_url(redis_url)
    with workers(env, ["w1", "w2", "w3"], tmp_path) as procs:
        wait_for(lambda: all("worker_started" in p.log() for p in procs), timeout=30,
                 what="three workers reading")  # fmt: skip
        # Partition assignment: each of the three partitions owned by a different worker.
        leases = StreamKeys.for_stream(names.stream, partitions=3).leases(names.group)

        def spread() -> bool:
            owners = {
                v.split(b"|")[0]
                for k, v in keys_client.hgetall(leases).items()
                if k.startswith(b"partition:")
            }
            return len(owners) == 3

        wait_for(spread, timeout=30, what="one partition per worker")
        run = producer("enqueue", "--file", str(id_file), env=env)
        assert run.returncode == 0, run.stderr
        assert f"enqueued {N}, duplicates skipped 0" in run.stdout

        def done() -> bool:
            return sum(done_articles(read_records(records)).values()) >= N

        wait_for(done, timeout=60, interval=0.1, what="every ID to be handled")
        codes = [stop(p) for p in procs]
    assert codes == [0, 0, 0]
    seen = done_articles(read_records(records))
    assert set(seen) == set(ids), "some IDs were never handled"
    assert max(seen.values()) == 1, [a for a, n in seen.items() if n > 1][:5]
    per_worker = [len(p.read_text().splitlines()) for p in records.glob("*.log")]
    assert len(per_worker) == 3, "every worker took part"
    assert all(n > 0 for n in per_worker), per_worker
    for i in range(3):
        stream = f"{names.stream}:{{{i}}}"
        assert keys_client.xpending(stream, names.group)["pending"] == 0
        assert keys_client.hlen(f"{names.stream}:queued:{{{i}}}") == 0  # all marks cleared
