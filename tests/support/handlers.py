"""Handlers for tests: they record what they handled outside the Redis under test.

In-process tests use `Recorder`. Subprocess workers use `recorder` (a factory for
`WORKER_HANDLER=tests.support.handlers:recorder`), configured by environment:

    RECORD_FILE       append "<event> <entry id> <article id> <delivery count>" lines
    HANDLER_SLEEP_MS  time each handler takes
    HANDLER_FAIL      article IDs (comma-separated) whose handler raises
    HANDLER_CRASH     article IDs on which the whole process dies (os._exit)
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import anyio

from streams_worker import PermanentError, StreamEntry


class Recorder:
    """An async handler that records every call; behaviour set per article ID."""

    def __init__(
        self,
        *,
        sleep_s: float = 0.0,
        fail: set[str] | None = None,
        permanent: set[str] | None = None,
        sleep_for: Callable[[StreamEntry], float] | None = None,
    ) -> None:
        self.calls: list[StreamEntry] = []
        self.started: list[StreamEntry] = []
        self.sleep_s = sleep_s
        self.sleep_for = sleep_for
        self.fail = fail or set()
        self.permanent = permanent or set()

    async def __call__(self, entry: StreamEntry) -> None:
        self.started.append(entry)
        delay = self.sleep_for(entry) if self.sleep_for else self.sleep_s
        if delay:
            await anyio.sleep(delay)
        self.calls.append(entry)
        aid = entry.fields.get("article_id", "")
        if aid in self.permanent:
            raise PermanentError(f"cannot handle {aid}")
        if aid in self.fail:
            raise RuntimeError(f"failing on purpose: {aid}")

    def ids(self) -> Counter[str]:
        return Counter(e.id for e in self.calls)


def _record(path: str | None, line: str) -> None:
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def recorder() -> Callable[[StreamEntry], object]:
    """Factory for subprocess workers (reads its behaviour from the environment)."""
    path = os.environ.get("RECORD_FILE")
    sleep_s = int(os.environ.get("HANDLER_SLEEP_MS", "0")) / 1000
    fail = set(filter(None, os.environ.get("HANDLER_FAIL", "").split(",")))
    crash = set(filter(None, os.environ.get("HANDLER_CRASH", "").split(",")))

    async def handle(entry: StreamEntry) -> None:
        aid = entry.fields.get("article_id", "")
        _record(path, f"start {entry.id} {aid} {entry.delivery_count}")
        if aid in crash:
            os._exit(17)
        if sleep_s:
            await anyio.sleep(sleep_s)
        if aid in fail:
            raise RuntimeError(f"failing on purpose: {aid}")
        _record(path, f"done {entry.id} {aid} {entry.delivery_count}")

    return handle


def read_records(path: Path) -> list[tuple[str, str, str, int]]:
    """Parse a RECORD_FILE: (event, entry id, article id, delivery count)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        parts = line.split(" ")
        if len(parts) == 4:
            out.append((parts[0], parts[1], parts[2], int(parts[3])))
    return out
