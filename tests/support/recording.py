"""Recording handlers for worker subprocesses: the record lives outside Redis.

`WORKER_HANDLER=tests.support.recording:build` with `RECORD_DIR` set: every handled
entry appends `<article_id> <stream> <entry id>` to `RECORD_DIR/<pid>.log`, one file
per worker process, flushed per line so a SIGKILL loses at most the line being
written (and the entry stays pending, so it is handled again: at-least-once).
`RECORD_FAIL_PREFIX`: article IDs starting with it raise `PermanentError`.
`RECORD_SLEEP_MS`: time each handler takes (so a test can kill a worker mid-run).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from streams_worker import PermanentError, StreamEntry


def build() -> Callable[[StreamEntry], Awaitable[None]]:
    directory = Path(os.environ["RECORD_DIR"])
    fail_prefix = os.environ.get("RECORD_FAIL_PREFIX") or None
    sleep_s = int(os.environ.get("RECORD_SLEEP_MS", "0")) / 1000
    handle_file = (directory / f"{os.getpid()}.log").open("a", buffering=1, encoding="utf-8")

    async def handle(entry: StreamEntry) -> None:
        article = entry.fields.get("article_id", "")
        if fail_prefix and article.startswith(fail_prefix):
            raise PermanentError(f"refusing {article}")
        if sleep_s:
            await anyio.sleep(sleep_s)
        handle_file.write(f"{article} {entry.stream} {entry.id}\n")

    return handle


def read_records(directory: Path) -> Counter[str]:
    """How many times each article was handled, over every worker's file."""
    seen: Counter[str] = Counter()
    for path in directory.glob("*.log"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen[line.split(" ", 1)[0]] += 1
    return seen
