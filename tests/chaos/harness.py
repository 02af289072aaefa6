"""The fault-injection harness: worker subprocesses, a paced producer, a pending-set
monitor, and the end-of-scenario checks.

What was handled is recorded outside the Redis under test (the recording handler of
`tests.support.handlers`: each worker process appends start/done lines to its own
file), so the checks hold even when Redis itself lost data.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.support.handlers import Record, done_articles, done_ids, read_records
from tests.support.names import Names
from tests.support.wait import wait_for
from tests.support.workers import WorkerProcess, spawn_worker, worker_env

#: Claim fast, block briefly, expire idle consumers quickly: faults resolve in seconds.
FAST: dict[str, Any] = {
    "block_ms": 200,
    "claim_min_idle_ms": 600,
    "claim_interval_ms": 200,
    "consumer_idle_expiry_ms": 1000,
    "shutdown_grace_s": 5,
    "redis_socket_timeout_s": 2,
}


def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


@dataclass
class Fault:
    """One fault. `entry_ids`: pending where it hit; `touched`: pending at any look from
    then until the first look after it was lifted (delivered while it lasted, unacked
    or waiting). Only these may be handled twice: `unexpected_duplicates`."""

    kind: str
    at: float
    in_flight: int  # entries the fault could have interrupted (pending where it hit)
    entry_ids: set[str] = field(default_factory=set)
    recovered_at: float | None = None
    lifted_at: float | None = None
    touched: set[str] = field(default_factory=set)
    window_closed: bool = False

    @property
    def recovery_s(self) -> float | None:
        """From the fault lifted to every entry it touched acked."""
        start = self.lifted_at if self.lifted_at is not None else self.at
        return None if self.recovered_at is None else self.recovered_at - start

    def lift(self) -> None:
        self.lifted_at = time.monotonic()

    def may_repeat(self) -> set[str]:
        return self.entry_ids | self.touched


class Fleet:
    """Worker subprocesses on one stream/group, each recording to its own file."""

    def __init__(self, url: str, names: Names, tmp: Path, **settings: Any) -> None:
        self.url, self.names, self.tmp = url, names, tmp
        self.settings = {**FAST, **settings}
        self.records_dir = tmp / "records"
        self.workers: dict[str, WorkerProcess] = {}
        self.retired: list[WorkerProcess] = []
        self.pids: dict[str, int] = {}  # every worker ever started: its record file
        self._n = 0

    def start(self, **extra: Any) -> str:
        name = f"{self.names.consumer}-{self._n}"
        self._n += 1
        env = worker_env(
            self.url, stream=self.names.stream, group=self.names.group, consumer=name,
            HANDLER_RECORD_DIR=self.records_dir, **{**self.settings, **extra},
        )  # fmt: skip
        self.workers[name] = spawn_worker(env, self.tmp / f"log-{name}")
        self.pids[name] = self.workers[name].pid
        return name

    def working(self) -> list[str]:
        """Live workers that have handled something (started, joined, took work)."""
        return [n for n in self.live() if read_records(self.records_dir, self.pids[n])]

    def live(self) -> list[str]:
        return [n for n, w in self.workers.items() if w.alive()]

    def stop(self, name: str, sig: signal.Signals) -> WorkerProcess:
        w = self.workers.pop(name)
        w.signal(sig)
        self.retired.append(w)
        return w

    def records(self) -> list[Record]:
        return read_records(self.records_dir)

    def events(self, name: str, event: str) -> int:
        """How many `event` (start, done) lines worker `name` recorded."""
        return sum(r.event == event for r in read_records(self.records_dir, self.pids[name]))

    def done(self) -> Counter[str]:
        """Times each entry ID was handled to completion."""
        return done_ids(self.records())

    def done_articles(self) -> set[str]:
        return set(done_articles(self.records()))

    def logs(self) -> str:
        return "\n".join(w.log() for w in [*self.workers.values(), *self.retired])

    def close(self) -> None:
        for w in [*self.workers.values(), *self.retired]:
            w.close()


class Producer(threading.Thread):
    """Adds entries at a steady pace; remembers which XADDs Redis acknowledged.

    An XADD that raised is retried with the same article ID (it may or may not
    have landed: either way the article must be handled).
    """

    def __init__(self, url: str, stream: str, *, rate: float, prefix: str = "c") -> None:
        super().__init__(daemon=True)
        self.r = client(url)
        self.stream, self.rate, self.prefix = stream, rate, prefix
        self.acknowledged: dict[str, str] = {}  # article ID -> entry ID
        self.attempted: set[str] = set()
        self.errors = 0
        self._halt = threading.Event()

    def run(self) -> None:
        i = 0
        tick = 0.02
        per_tick = max(1, round(self.rate * tick))
        while not self._halt.is_set():
            batch = [f"urn:article:{self.prefix}-{i + k}" for k in range(per_tick)]
            self.attempted.update(batch)
            try:
                self.send(batch)
                i += per_tick
            except redis.RedisError:
                self.errors += 1  # retried on the next tick with the same IDs
            self._halt.wait(tick)

    def send(self, batch: list[str]) -> None:
        """XADD one tick's articles; record those Redis acknowledged."""
        pipe = self.r.pipeline(transaction=False)
        for aid in batch:
            pipe.xadd(
                self.stream, {"article_id": aid, "enqueued_at": str(time.time_ns() // 1_000_000)}
            )
        for aid, eid in zip(batch, pipe.execute(), strict=True):
            self.acknowledged[aid] = eid.decode()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
        self.r.close()


class PendingMonitor(threading.Thread):
    """Polls the group's pending entries; marks a fault recovered once none of the
    entries it interrupted are pending any more (acked by someone)."""

    def __init__(self, url: str, names: Names) -> None:
        super().__init__(daemon=True)
        self.r = client(url)
        self.names = names
        self.faults: list[Fault] = []
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def pending_ids(self, consumer: str | None = None) -> set[str]:
        kw: dict[str, Any] = {"consumername": consumer} if consumer else {}
        rows = self.r.xpending_range(self.names.stream, self.names.group, "-", "+", 100_000, **kw)
        return {row["message_id"].decode() for row in rows}

    def fault(self, kind: str, consumer: str | None, *, lasting: bool = False) -> Fault:
        """Record a fault hitting now. `lasting`: it stays until `Fault.lift()` (else
        it is over at once, like a SIGKILL)."""
        try:
            ids = self.pending_ids(consumer)
        except redis.RedisError:
            ids = set()  # no group yet: nothing was in flight
        now = time.monotonic()
        f = Fault(kind, now, len(ids), ids, lifted_at=None if lasting else now,
                  window_closed=not lasting)  # fmt: skip
        with self._lock:
            self.faults.append(f)
        return f

    def run(self) -> None:
        while not self._halt.wait(0.05):
            with self._lock:
                open_faults = [f for f in self.faults if f.recovered_at is None]
            if not open_faults:
                continue
            looked = time.monotonic()
            try:
                now_pending = self.pending_ids()
            except redis.RedisError:
                continue  # e.g. BUSY: the next look after the fault closes the window
            now = time.monotonic()
            for f in open_faults:
                if not f.window_closed:
                    f.touched |= now_pending
                    f.window_closed = f.lifted_at is not None and looked > f.lifted_at
                elif not (f.may_repeat() & now_pending):
                    f.recovered_at = now

    def stop(self) -> None:
        self._halt.set()
        self.join(5)
        self.r.close()


def under_load(f: Fleet, *, rate: float, prefix: str) -> tuple[PendingMonitor, Producer]:
    """A paced producer and the pending monitor on the fleet's stream, once every
    worker the fleet started takes work."""
    monitor = PendingMonitor(f.url, f.names)
    producer = Producer(f.url, f.names.stream, rate=rate, prefix=prefix)
    producer.start()
    monitor.start()
    wait_for(lambda: len(f.working()) == len(f.workers), timeout=30,
             what="every worker taking work")  # fmt: skip
    return monitor, producer


def finish_load(f: Fleet, producer: Producer, *, more: int = 50) -> set[str]:
    """Let `more` entries go in after a fault, stop the producer, and wait until every
    entry Redis acknowledged is handled; returns those articles."""
    target = len(producer.attempted) + more  # sent: a new batch follows only a success
    wait_for(lambda: len(producer.attempted) >= target, timeout=30,
             what=f"{more} entries added after the fault")  # fmt: skip
    producer.stop()
    acknowledged = set(producer.acknowledged)
    wait_all_handled(f, acknowledged, timeout=60)
    return acknowledged


def wait_all_handled(fleet: Fleet, articles: set[str], timeout: float) -> None:
    def explain() -> str:
        missing = articles - fleet.done_articles()
        r = client(fleet.url)
        try:
            dead_key = f"{fleet.names.stream}:dead"
            dead = r.xrange(dead_key, count=3) if r.exists(dead_key) else []
            pend = r.xpending(fleet.names.stream, fleet.names.group)
        finally:
            r.close()
        return (f"{len(missing)} articles never handled, e.g. {sorted(missing)[:5]}; "
                f"pending {pend}; dead letters e.g. {dead}")  # fmt: skip

    wait_for(lambda: articles <= fleet.done_articles(), timeout=timeout, interval=0.1,
             what="every article handled", explain=explain)  # fmt: skip


def wait_nothing_pending(r: redis.Redis, names: Names, timeout: float = 20) -> None:
    def clear() -> bool:
        info = next(g for g in r.xinfo_groups(names.stream) if g["name"].decode() == names.group)
        return int(info["pending"]) == 0 and (info.get("lag") in (0, None))

    wait_for(clear, timeout=timeout, what="the group to have nothing pending and no lag")


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def missing_from_stream(r: redis.Redis, stream: str, acknowledged: dict[str, str]) -> set[str]:
    """Articles whose acknowledged XADD is not in the stream and not explained by a trim.

    Trimming after acks is correct behaviour (a soak run lasts long enough for the
    workers' trim to run): it removes a prefix, so an entry below the first one left
    is trimmed, not lost. One at or above it, missing, was lost.
    """
    rows = r.xrange(stream)
    stored = {f[b"article_id"].decode() for _, f in rows}
    if not rows:
        return set()  # all trimmed: the handled-records check speaks for these
    first = _id(rows[0][0].decode())
    return {a for a, eid in acknowledged.items() if a not in stored and _id(eid) >= first}


def duplicates(done: Counter[str]) -> int:
    return sum(n - 1 for n in done.values() if n > 1)


def unexpected_duplicates(done: Counter[str], faults: list[Fault]) -> set[str]:
    """Entries handled more than once that no fault had in flight: must be empty."""
    allowed: set[str] = set()
    for f in faults:
        allowed |= f.may_repeat()
    return {eid for eid, n in done.items() if n > 1} - allowed


def pick(rng: random.Random, names: list[str]) -> str:
    return rng.choice(sorted(names))
