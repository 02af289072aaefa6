"""`streams-worker pause` returns only once every live replica reads nothing more.

Two in-process replicas block in XREADGROUP for 2 s at a time: before the pause was
confirmed, an entry added just after the flag was set reached the blocked read.
"""

from __future__ import annotations

import json
import time

import anyio
from redis.asyncio import Redis

from streams_worker import WorkerSettings
from streams_worker.core.presence import replicas
from tests.support.cli import clean_env, run
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually
from tests.support.workers import serving

BLOCK_MS = 2000


async def test_entries_added_after_pause_returned_are_not_read(
    redis_url: str, names: Names
) -> None:
    handled = Recorder()
    r = Redis.from_url(redis_url)
    key = f"{names.stream}:replicas"

    def settings(consumer: str) -> WorkerSettings:
        return WorkerSettings(**names.settings(
            redis_url=redis_url, consumer=consumer, block_ms=BLOCK_MS, http_port=0))  # fmt: skip

    async with serving(settings("a"), handled) as a, serving(settings("b"), handled) as b:
        before = await r.xadd(names.stream, {"article_id": "urn:article:before"})
        await eventually(lambda: _async(len(handled.done) == 1), what="the first entry")

        flags = ["--redis-url", redis_url, "--stream", names.stream, "--group", names.group]
        argv = ["streams-worker", "pause", *flags, "--wait", "10s", "--json"]
        done = await anyio.to_thread.run_sync(lambda: run(argv, clean_env()))
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert (doc["confirmed"], doc["unconfirmed"]) == (["a", "b"], [])
        added_at = time.time()
        new = [await r.xadd(names.stream, {"article_id": f"urn:article:after-{i}"})
               for i in range(5)]  # fmt: skip
        assert (a.paused, b.paused) == (True, True), "pause returned before the replicas knew"

        async def both_alive_past_a_whole_block() -> bool:
            found = await replicas(r, key)
            cutoff = added_at + BLOCK_MS / 1000 + 1.0
            return len(found) == 2 and all(time.time() - x.age_s > cutoff for x in found)

        await eventually(both_alive_past_a_whole_block, timeout=15, what="two heartbeats later")
        assert [e.fields["article_id"] for e in handled.started] == ["urn:article:before"]
        group = (await r.xinfo_groups(names.stream))[0]
        assert group["last-delivered-id"] == before, f"read after pause: {new}"

        # Paused replicas are idle but alive: pruning idle consumers keeps them.
        await r.xgroup_createconsumer(names.stream, names.group, "dead-pod")
        argv = ["streams-worker", "consumers", "--prune", "--min-idle", "1ms", *flags, "--json"]
        pruned = await anyio.to_thread.run_sync(lambda: run(argv, clean_env()))
        assert json.loads(pruned.stdout)["pruned"] == [{"partition": 0, "name": "dead-pod"}]

        await r.delete(f"{names.stream}:paused")  # resume: now they are read
        await eventually(lambda: _async(len(handled.done) == 6), timeout=10, what="all six")
    assert await r.hlen(key) == 0, "stopped replicas remove their state"
    await r.aclose()


async def _async(value: bool) -> bool:
    return value
