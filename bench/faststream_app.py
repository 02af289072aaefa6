"""FastStream's Redis stream consumer (consumer group), with a benchmark handler.

    python -m bench.faststream_app URL STREAM GROUP CONSUMER HANDLER CONCURRENCY

Runs until SIGTERM. `max_workers` is FastStream's in-process concurrency.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

from faststream.redis import RedisBroker, StreamSub

from bench.handlers import BY_NAME


async def main(
    url: str, stream: str, group: str, consumer: str, handler_name: str, concurrency: int
) -> None:
    handler = BY_NAME[handler_name]
    # No per-message log lines: every system runs with its logging quiet.
    logging.basicConfig(level=logging.WARNING)
    broker = RedisBroker(url, logger=None)

    @broker.subscriber(
        stream=StreamSub(stream, group=group, consumer=consumer, max_records=50),
        max_workers=concurrency,
    )
    async def handle(body: Any) -> None:
        await handler(body)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await broker.start()
    await stop.wait()
    await broker.stop()


if __name__ == "__main__":
    url, stream, group, consumer, handler, concurrency = sys.argv[1:7]
    asyncio.run(main(url, stream, group, consumer, handler, int(concurrency)))
