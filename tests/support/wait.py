"""Deadline-bounded waits: tests wait on conditions, never on fixed sleeps.

`explain`, when given, is called at the deadline and its result appended to the
failure message: say what the state was, not only what was awaited.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


def _timed_out(timeout: float, what: str, explanation: object) -> AssertionError:
    message = f"timed out after {timeout}s waiting for {what}"
    if explanation is not None:
        message += f": {explanation}"
    return AssertionError(message)


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "",
    explain: Callable[[], object] | None = None,
) -> T:
    """Poll `predicate` until it returns a truthy value; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(timeout, what or str(predicate), explain() if explain else None)
        time.sleep(interval)


async def eventually(
    predicate: Callable[[], Awaitable[T]],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    interval: float = 0.02,
    what: str = "",
    explain: Callable[[], object] | None = None,
) -> T:
    """Async `wait_for`: await `predicate` until truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(timeout, what or str(predicate), explain() if explain else None)
        await anyio.sleep(interval)
