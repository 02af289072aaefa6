"""The baseline: a consumer loop written directly on redis-py (asyncio + hiredis).

XREADGROUP a batch, run the handlers, acknowledge the whole batch with one XACK,
repeat; exit once a read comes back empty (burst). No reclaiming, no leases, no
dead letters, no metrics: the practical ceiling for a Python consumer, which is
what our worker's figures are divided by.

Handlers that never suspend (the no-op) are awaited inline, one after another;
others run concurrently over the batch with `asyncio.gather` (batch = concurrency).

    python -m bench.baseline URL STREAM GROUP CONSUMER HANDLER CONCURRENCY [--forever]
"""

from __future__ import annotations

import asyncio
import sys

from redis.asyncio import Redis

from bench.handlers import BY_NAME


async def consume(
    url: str, stream: str, group: str, consumer: str, handler_name: str, batch: int, forever: bool
) -> None:
    handler = BY_NAME[handler_name]
    inline = handler_name == "noop"
    r = Redis.from_url(url)
    try:
        while True:
            reply = await r.xreadgroup(group, consumer, {stream: ">"}, count=batch, block=500)
            if not reply:
                if forever:
                    continue
                return
            entries = reply[0][1]
            if inline:
                for _id, fields in entries:
                    await handler(fields)
            else:
                await asyncio.gather(*(handler(fields) for _id, fields in entries))
            await r.xack(stream, group, *(eid for eid, _ in entries))
    finally:
        await r.aclose()


if __name__ == "__main__":
    url, stream, group, consumer, handler, concurrency = sys.argv[1:7]
    forever = "--forever" in sys.argv[7:]
    asyncio.run(consume(url, stream, group, consumer, handler, int(concurrency), forever))
