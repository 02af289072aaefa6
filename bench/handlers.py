"""Handlers shared by every system under test, so they all do exactly the same work."""

from __future__ import annotations

import asyncio
from typing import Any


async def noop(entry: Any) -> None:
    """Does nothing: measures the consumer's own overhead."""


async def sleep_1ms(entry: Any) -> None:
    """1 ms of I/O wait: measures how well the consumer overlaps handlers."""
    await asyncio.sleep(0.001)


async def sleep_100ms(entry: Any) -> None:
    """A catalog round trip plus a model call, scaled down: the enrichment's shape."""
    await asyncio.sleep(0.1)


async def hang(entry: Any) -> None:
    """Never returns in a benchmark's time: holds its entries until the process is killed."""
    await asyncio.sleep(3600)


BY_NAME = {"noop": noop, "sleep_1ms": sleep_1ms, "sleep_100ms": sleep_100ms, "hang": hang}
