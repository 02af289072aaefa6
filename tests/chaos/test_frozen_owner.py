"""A replica frozen (SIGSTOP) past its leases stops reading its partitions: nothing
new reaches it while it is frozen, and after it wakes it reads only what it is
assigned again.

The worker blocks for up to `WORKER_BLOCK_MS` (5 s here) but never longer than its
leases last (1.5 s TTL, fenced at 80%): without that cap its blocking read would
still be waiting on the server while it is frozen and take the entries added
meanwhile, out of the hands of the replica that now owns the partitions.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from tests.chaos.harness import Fleet, client
from tests.chaos.test_partition_churn import owners
from tests.support.names import Names
from tests.support.wait import wait_for

N = 4


def test_a_frozen_owner_stops_reading_before_its_partitions_move(
    redis_url: str, names: Names, fleet: Callable[..., Fleet]
) -> None:
    r = client(redis_url)
    f = fleet(
        partitions=N,
        ownership_ttl_ms=1500,
        block_ms=5000,
        claim_min_idle_ms=3000,
        claim_interval_ms=10_000,
    )  # the lease, not the claim round, bounds a block
    a = f.start()
    wait_for(lambda: len(owners(r, names)) == N, timeout=20, what="A owning all partitions")
    f.workers[a].signal(signal.SIGSTOP)
    try:
        # A's leases run out on the server (1.5 s); B starts and takes everything.
        wait_for(lambda: not owners(r, names), timeout=10, what="A's leases to expire")
        b = f.start()
        wait_for(lambda: len(set(owners(r, names).values())) == 1 and len(owners(r, names)) == N,
                 timeout=20, what="B owning all partitions")  # fmt: skip
        added = []
        for i in range(40):
            key = f"{names.stream}:{{{i % N}}}"
            added.append(f"urn:article:frozen-{i}")
            r.xadd(key, {"article_id": added[-1]})
        wait_for(lambda: set(added) <= f.done_articles(), timeout=20, what="B handling them")
    finally:
        f.workers[a].signal(signal.SIGCONT)
    # A's consumer got none of them: no read of its was still waiting on the server.
    for p in range(N):
        rows = r.xpending_range(f"{names.stream}:{{{p}}}", names.group, "-", "+", 100,
                                consumername=a)  # fmt: skip
        assert rows == [], f"the frozen replica holds entries of partition {p}"
    woke = time.monotonic()
    # Awake, A takes its share back in a round or two; work keeps flowing, once each.
    wait_for(lambda: len(set(owners(r, names).values())) == 2, timeout=20,
             what="A and B sharing the partitions")  # fmt: skip
    more = [f"urn:article:after-{i}" for i in range(40)]
    for i, aid in enumerate(more):
        r.xadd(f"{names.stream}:{{{i % N}}}", {"article_id": aid})
    wait_for(lambda: set(more) <= f.done_articles(), timeout=20, what="everything handled")
    done = [x.article for x in f.records() if x.event == "done"]
    assert len(done) == len(set(done)), "an entry was handled twice"
    assert b in f.live()
    assert time.monotonic() - woke < 30
