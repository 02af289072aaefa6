"""taskiq-redis's Redis Streams broker, with the benchmark handlers as tasks.

Run by `taskiq worker bench.taskiq_app:broker --workers N --max-async-tasks C
--ack-type when_executed`; the stream and group come from the environment
(BENCH_REDIS_URL, BENCH_STREAM, BENCH_GROUP), the group created beforehand at 0.
"""

from __future__ import annotations

import os

from taskiq_redis import RedisStreamBroker

from bench.handlers import BY_NAME

broker = RedisStreamBroker(
    url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:1/0"),
    queue_name=os.environ.get("BENCH_STREAM", "taskiq"),
    consumer_group_name=os.environ.get("BENCH_GROUP", "taskiq"),
    consumer_id="0",
    xread_count=50,
    xread_block=500,
)


@broker.task(task_name="noop")
async def noop() -> None:
    await BY_NAME["noop"](None)


@broker.task(task_name="sleep_1ms")
async def sleep_1ms() -> None:
    await BY_NAME["sleep_1ms"](None)


TASKS = {"noop": noop, "sleep_1ms": sleep_1ms}


async def sample_message(name: str) -> dict[bytes, bytes]:
    """Kick one task through taskiq's own client and return the fields it wrote."""
    from redis.asyncio import Redis

    broker.queue_name = os.environ["BENCH_STREAM"]  # this run's stream, not import time's
    await broker.startup()
    r = Redis.from_url(os.environ["BENCH_REDIS_URL"])
    try:
        await TASKS[name].kiq()
        stream = os.environ["BENCH_STREAM"]
        entries = await r.xrange(stream, count=1)
        await r.delete(stream)
        return dict(entries[0][1])
    finally:
        await r.aclose()
        await broker.shutdown()
