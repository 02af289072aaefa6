"""The recording handler: what was handled is recorded outside the Redis under test.

One `Recorder` serves both kinds of test. In process, read its lists (`started`,
`calls`, `done`) and counters keyed by entry ID (`ids()`) or by article (`articles()`,
the entry's `article_id` field). In worker subprocesses
(`WORKER_HANDLER=tests.support.handlers:recorder`) it is configured by environment:

    HANDLER_RECORD_DIR   each process appends "<event> <stream> <entry id> <article id>
                         <delivery count>" lines (events: start, done) to
                         <dir>/<pid>.log, one write per line, so a SIGKILL loses at most
                         the line being written; read them with `read_records`
    HANDLER_SLEEP_MS     time each handler takes
    HANDLER_FAIL_PREFIX  articles whose ID starts with it raise PermanentError
    HANDLER_CRASH        article IDs (comma-separated) on which the process dies (os._exit)
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

import anyio

from streams_worker import PermanentError, StreamEntry


def article(entry: StreamEntry) -> str:
    return entry.fields.get("article_id", "")


class Recorder:
    """An async handler that records every call; behaviour set per article ID.

    `started`: every call (`started_at`: its time.monotonic()); `calls`: every call
    that got past its sleep (failing ones included); `done`: every call that returned.
    `error_for(entry)` returns an exception to raise for that call, or None.
    """

    def __init__(
        self,
        *,
        sleep_s: float = 0.0,
        fail: set[str] | None = None,
        permanent: set[str] | None = None,
        fail_prefix: str | None = None,
        crash: set[str] | None = None,
        sleep_for: Callable[[StreamEntry], float] | None = None,
        record_dir: Path | None = None,
        error_for: Callable[[StreamEntry], BaseException | None] | None = None,
    ) -> None:
        self.started: list[StreamEntry] = []
        self.started_at: list[float] = []
        self.error_for = error_for
        self.calls: list[StreamEntry] = []
        self.done: list[StreamEntry] = []
        self.sleep_s = sleep_s
        self.sleep_for = sleep_for
        self.fail = fail or set()
        self.permanent = permanent or set()
        self.fail_prefix = fail_prefix
        self.crash = crash or set()
        self.record_file = record_dir / f"{os.getpid()}.log" if record_dir else None

    @classmethod
    def from_env(cls) -> Recorder:
        directory = os.environ.get("HANDLER_RECORD_DIR")
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
        return cls(
            sleep_s=int(os.environ.get("HANDLER_SLEEP_MS", "0")) / 1000,
            fail_prefix=os.environ.get("HANDLER_FAIL_PREFIX") or None,
            crash=set(filter(None, os.environ.get("HANDLER_CRASH", "").split(","))),
            record_dir=Path(directory) if directory else None,
        )

    async def __call__(self, entry: StreamEntry) -> None:
        aid = article(entry)
        self.started.append(entry)
        self.started_at.append(time.monotonic())
        self._record("start", entry)
        if aid in self.crash:
            os._exit(17)
        delay = self.sleep_for(entry) if self.sleep_for else self.sleep_s
        if delay:
            await anyio.sleep(delay)
        self.calls.append(entry)
        if aid in self.permanent or (self.fail_prefix and aid.startswith(self.fail_prefix)):
            raise PermanentError(f"cannot handle {aid}")
        if aid in self.fail:
            raise RuntimeError(f"failing on purpose: {aid}")
        if self.error_for is not None and (error := self.error_for(entry)) is not None:
            raise error
        self.done.append(entry)
        self._record("done", entry)

    def ids(self) -> Counter[str]:
        """Calls per entry ID."""
        return Counter(e.id for e in self.calls)

    def articles(self) -> Counter[str]:
        """Calls per article."""
        return Counter(article(e) for e in self.calls)

    def _record(self, event: str, entry: StreamEntry) -> None:
        if self.record_file is None:
            return
        line = f"{event} {entry.stream} {entry.id} {article(entry)} {entry.delivery_count}\n"
        fd = os.open(self.record_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def recorder() -> Recorder:
    """Factory for subprocess workers (reads its behaviour from the environment)."""
    return Recorder.from_env()


class Record(NamedTuple):
    event: str  # start | done
    stream: str
    entry_id: str
    article: str
    delivery_count: int


def read_records(directory: Path, pid: int | None = None) -> list[Record]:
    """Every line under a HANDLER_RECORD_DIR (or only process `pid`'s)."""
    paths = [directory / f"{pid}.log"] if pid is not None else sorted(directory.glob("*.log"))
    out = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            parts = line.split(" ")
            if len(parts) == 5:
                out.append(Record(*parts[:4], int(parts[4])))
    return out


def done_ids(records: Iterable[Record]) -> Counter[str]:
    """Times each entry ID was handled to completion."""
    return Counter(r.entry_id for r in records if r.event == "done")


def done_articles(records: Iterable[Record]) -> Counter[str]:
    """Times each article was handled to completion."""
    return Counter(r.article for r in records if r.event == "done")
