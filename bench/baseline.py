"""The baselines: consumer loops written directly on redis-py (asyncio, RESP2, hiredis).

* `pipelined` (the ceiling): one round trip per batch: the XACK of the batch just
  handled and the next XREADGROUP (COUNT 100) go out together in one pipeline.
  Handlers of a batch run concurrently, at most CONCURRENCY at a time (a semaphore);
  the no-op is awaited inline.
* `sequential`: XREADGROUP a batch (COUNT = concurrency), run its handlers, one XACK,
  repeat: two round trips per batch. Kept as a second, labelled row.

No reclaiming, no leases, no dead letters, no metrics: what a consumer costs with
nothing else, which is what our worker's figures are divided by. Both exit once a
read comes back empty (burst), like `streams-worker run --burst`.

    python -m bench.baseline URL STREAM GROUP CONSUMER HANDLER CONCURRENCY
        [--forever] [--sequential]
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from bench.handlers import BY_NAME

PIPELINED_COUNT = 100


def _runner(handler_name: str, concurrency: int) -> Callable[[list[Any]], Awaitable[None]]:
    handler = BY_NAME[handler_name]
    if handler_name == "noop":

        async def inline(entries: list[Any]) -> None:
            for _id, fields in entries:
                await handler(fields)

        return inline
    slots = asyncio.Semaphore(concurrency)

    async def one(fields: Any) -> None:
        async with slots:
            await handler(fields)

    async def concurrent(entries: list[Any]) -> None:
        await asyncio.gather(*(one(fields) for _id, fields in entries))

    return concurrent


async def pipelined(
    r: Redis, stream: str, group: str, consumer: str, run: Callable[[list[Any]], Awaitable[None]],
    forever: bool,
) -> None:  # fmt: skip
    acks: list[Any] = []
    while True:
        pipe = r.pipeline(transaction=False)
        if acks:
            pipe.xack(stream, group, *acks)
        pipe.xreadgroup(group, consumer, {stream: ">"}, count=PIPELINED_COUNT, block=500)
        reply = (await pipe.execute())[-1]
        if not reply:
            acks = []
            if forever:
                continue
            return
        entries = reply[0][1]
        await run(entries)
        acks = [eid for eid, _ in entries]


async def sequential(
    r: Redis, stream: str, group: str, consumer: str, run: Callable[[list[Any]], Awaitable[None]],
    batch: int, forever: bool,
) -> None:  # fmt: skip
    while True:
        reply = await r.xreadgroup(group, consumer, {stream: ">"}, count=batch, block=500)
        if not reply:
            if forever:
                continue
            return
        entries = reply[0][1]
        await run(entries)
        await r.xack(stream, group, *(eid for eid, _ in entries))


async def consume(
    url: str, stream: str, group: str, consumer: str, handler_name: str, concurrency: int,
    *, forever: bool = False, mode: str = "pipelined",
) -> None:  # fmt: skip
    run = _runner(handler_name, concurrency)
    r = Redis.from_url(url, protocol=2)
    try:
        if mode == "sequential":
            await sequential(r, stream, group, consumer, run, concurrency, forever)
        else:
            await pipelined(r, stream, group, consumer, run, forever)
    finally:
        await r.aclose()


if __name__ == "__main__":
    url, stream, group, consumer, handler, concurrency = sys.argv[1:7]
    flags = sys.argv[7:]
    main = consume(url, stream, group, consumer, handler, int(concurrency),
                   forever="--forever" in flags,
                   mode="sequential" if "--sequential" in flags else "pipelined")  # fmt: skip
    asyncio.run(main)  # the worker's loop too: the ratio measures our code, not the loop
