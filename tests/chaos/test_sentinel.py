"""Redis Sentinel (REDIS_SENTINELS): the primary fails over under load, SIGKILLed and
by `SENTINEL FAILOVER`; the workers follow it without a restart and lose nothing.

Replication is asynchronous: an XADD the old primary acknowledged but had not yet
sent to the replica can be lost with it. The test's producer therefore counts an
entry as stored only once `WAIT 1` confirms the replica has it (what a producer that
must not lose an entry across a failover does), and reports how many XADDs the
primary alone acknowledged and the failover lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from tests.chaos.harness import (
    Fleet,
    PendingMonitor,
    Producer,
    duplicates,
    finish_load,
    unexpected_duplicates,
    wait_nothing_pending,
)
from tests.conftest import BINARIES
from tests.support.cli import run
from tests.support.names import Names
from tests.support.sentinel import MASTER, SentinelSet
from tests.support.servers import ServerBinary
from tests.support.wait import wait_for
from tests.support.workers import producer, worker_env

#: From the fault to the first entry handled on the new primary: the sentinels'
#: down-after (500 ms) and election, then the workers' reconnect backoff.
RESUME_BOUND_S = 15.0


class ReplicatedProducer(Producer):
    """Counts an XADD as stored once the replica has it too (WAIT 1)."""

    def __init__(self, client: redis.Redis, stream: str, *, rate: float) -> None:
        super().__init__("redis://127.0.0.1:1/0", stream, rate=rate, prefix="sentinel")
        self.r.close()
        self.r = client
        self.unconfirmed: dict[str, str] = {}

    def send(self, batch: list[str]) -> None:
        pipe = self.r.pipeline(transaction=False)
        for aid in batch:
            pipe.xadd(self.stream, {"article_id": aid})
        pipe.execute_command("WAIT", 1, 500)
        *ids, replicas = pipe.execute()
        target = self.acknowledged if int(replicas) >= 1 else self.unconfirmed
        for aid, eid in zip(batch, ids, strict=True):
            target[aid] = eid.decode()


def _started(f: Fleet) -> set[str]:
    return {r.entry_id for r in f.records() if r.event == "start"}


def _role(port: int) -> str:
    with redis.Redis(port=port, socket_timeout=2) as c:
        return str(c.info("replication")["role"])


@pytest.fixture
def sentinels(chaos_binary: ServerBinary | None) -> Iterator[SentinelSet]:
    with SentinelSet(chaos_binary or BINARIES[0]) as s:
        yield s


@pytest.mark.parametrize("how", ["sigkill", "sentinel-failover"])
def test_the_workers_follow_a_failover_and_lose_nothing_replicated(
    how: str, sentinels: SentinelSet, names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None],
) -> None:  # fmt: skip
    f = fleet(
        sentinels.primary.url, concurrency=8, HANDLER_SLEEP_MS=20,
        REDIS_SENTINELS=sentinels.addresses, REDIS_SENTINEL_MASTER=MASTER,
    )  # fmt: skip
    for _ in range(2):
        f.start()
    monitor = PendingMonitor(sentinels.primary.url, names)
    monitor.r.close()
    monitor.r = sentinels.client()
    producer = ReplicatedProducer(sentinels.client(), names.stream, rate=150)
    producer.start()
    monitor.start()
    wait_for(lambda: len(f.working()) == 2, timeout=30, what="two workers taking work")
    wait_for(lambda: len(f.done()) > 100, timeout=30, what="work under way")
    old = sentinels.primary_port()
    started_before = _started(f)
    fault = monitor.fault(how, None, lasting=True)
    if how == "sigkill":
        sentinels.primary.kill()
    else:
        with redis.Redis(port=sentinels.sentinels[0].port) as c:
            c.execute_command("SENTINEL", "FAILOVER", MASTER)
    at = time.monotonic()
    wait_for(lambda: sentinels.primary_port() != old, timeout=30, what="a new primary")
    promoted = time.monotonic() - at
    before = len(f.done())
    wait_for(lambda: len(f.done()) > before + 20, timeout=RESUME_BOUND_S + 5,
             what="work to go on after the promotion")  # fmt: skip
    resumed = time.monotonic() - at
    demoted = 0.0
    if how == "sentinel-failover":
        # The old primary stays up and keeps serving the connections it has until the
        # sentinels demote it (Sentinel checks a role mismatch for about 8 s first):
        # what it delivers meanwhile is pending only there, and the new primary
        # delivers it again. Those entries were in flight at the failover too.
        wait_for(lambda: _role(old) == "slave", timeout=30, what="the old primary demoted")
        demoted = time.monotonic() - at
        fault.touched |= _started(f) - started_before
        before = len(f.done())
        wait_for(lambda: len(f.done()) > before + 20, timeout=RESUME_BOUND_S,
                 what="work to resume on the new primary")  # fmt: skip
        resumed = time.monotonic() - at - demoted
    fault.lift()
    acknowledged = finish_load(f, producer)  # load on the new primary too
    r = sentinels.client()
    wait_nothing_pending(r, names, timeout=30)
    wait_for(lambda: fault.recovered_at is not None, timeout=10, what="the monitor's last look")
    monitor.stop()
    stored = {e[1][b"article_id"].decode() for e in r.xrange(names.stream)}
    lost_unreplicated = set(producer.unconfirmed) - stored - f.done_articles()
    dups = duplicates(f.done())
    alive = all(w.alive() for w in f.workers.values())
    restarts = sum(f.logs().count(e) for e in ('"worker_started"',))
    report(
        f"sentinel {how}: {len(acknowledged)} entries replicated before the ack, "
        f"{len(producer.unconfirmed)} acknowledged by the primary alone "
        f"({len(lost_unreplicated)} of those lost with it), 0 replicated lost, {dups} "
        f"duplicates (all in flight at the failover or delivered by the old primary before its "
        f"demotion), new primary after {promoted:.2f} s, "
        f"{f'old primary demoted after {demoted:.1f} s, ' if demoted else ''}"
        f"work resumed {resumed:.2f} s after the {'demotion' if demoted else 'fault'} "
        f"(bound {RESUME_BOUND_S:.0f} s), "
        f"{producer.errors} producer retries"
    )
    assert alive, f.logs()[-4000:]
    assert restarts == 2, "a worker restarted"
    assert not unexpected_duplicates(f.done(), monitor.faults)
    assert resumed <= RESUME_BOUND_S
    if how == "sentinel-failover":
        assert not lost_unreplicated
    r.close()


def test_the_producer_and_ops_commands_find_the_primary_through_the_sentinels(
    sentinels: SentinelSet, names: Names
) -> None:
    env = worker_env(
        "redis://127.0.0.1:1/0", stream=names.stream, group=names.group,
        REDIS_SENTINELS=sentinels.addresses, REDIS_SENTINEL_MASTER=MASTER,
    )  # fmt: skip
    done = producer("enqueue", "urn:article:via-sentinel", env=env)
    assert done.returncode == 0, done.stderr
    with sentinels.client() as r:
        (entry,) = r.xrange(names.stream)
    assert entry[1][b"article_id"] == b"urn:article:via-sentinel"
    info = run(["streams-worker", "info", "--json"], env)
    assert info.returncode == 0, info.stderr
    assert names.stream in info.stdout
    assert "127.0.0.1:1" not in info.stdout
