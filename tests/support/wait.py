"""Deadline-bounded waits: tests wait on conditions, never on fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll `predicate` until it returns a truthy value; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


async def eventually(
    predicate: Callable[[], Awaitable[T]],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    interval: float = 0.02,
    what: str = "",
) -> T:
    """Async `wait_for`: await `predicate` until truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await anyio.sleep(interval)
